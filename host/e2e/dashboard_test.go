//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin/ui"
	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// chromium is the Chromium binary for browser tests: $MCPHOST_CHROMIUM, or
// chromium on PATH (Debian's, from .ci/install-tools --with-debian).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MCPHOST_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			testenv.RequireCI(t, "chromium", "$MCPHOST_CHROMIUM: "+err.Error())
		}
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		testenv.RequireCI(t, "chromium", "no $MCPHOST_CHROMIUM and no chromium on PATH (.ci/install-tools --with-debian)")
	}
	return p
}

// otherOriginPage is a page that, loaded from another port of 127.0.0.1,
// tries to read the admin API and to stop a server with the browser's
// cookie, and records what happened in window.__result.
const otherOriginPage = `<!doctype html><title>other origin</title><script>
async function attempt(path, init) {
  try {
    const r = await fetch(%[1]q + path, Object.assign({ credentials: 'include' }, init));
    return 'answered ' + r.status;
  } catch (e) {
    return 'refused: ' + e.message;
  }
}
(async () => {
  window.__result = {
    read: await attempt('/api/v1/servers'),
    stop: await attempt('/api/v1/servers/%[2]s/stop', { method: 'POST' }),
  };
})();
</script>`

// TestDashboard drives the dashboard in headless Chromium against a real
// proxy with nine example servers and one that cannot start
// (testdata/dashboard.mjs): its error, which quotes markup, shown as text; sign-in with a
// `ctl ui` link, the cards following Stop and Start through the event
// stream, no console error or CSP violation, a refetch after the stream
// drops and comes back, 401 without the cookie, the login form, a page of another origin refused, logout; the
// tracing explorer shows an MCP client's response, its contexts and their
// weights, and the quality its feedback form moves. It logs the
// screenshots and the load times.
func TestDashboard(t *testing.T) {
	browser := chromium(t)
	pw := filepath.Dir(testenv.NPMModule(t, "playwright-core/package.json"))
	node := testenv.Node(t)

	const servers = 10
	const token = "dashboard-e2e-token"
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	// ex0's env holds a secret: the dashboard shows it redacted.
	const secret = "dashboard-secret-value"
	var blocks strings.Builder
	fmt.Fprintf(&blocks, `
server "ex0" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "ex0"]
    env     = { EXAMPLE_SECRET = %q }
  }
}
`, secret)
	// ex1's tool blocks and filter: the catalogue marks and lists them.
	blocks.WriteString(strings.Replace(exampleServer("ex1"), "  transport", `  tools {
    deny = ["flood"]
  }
  tool "sleep" {
    expose_as   = "ex1_nap"
    description = "Naps for a while."
  }
  tool "log" {
    hidden = true
  }
  transport`, 1))
	for i := 2; i < servers-1; i++ {
		blocks.WriteString(exampleServer(fmt.Sprintf("ex%d", i)))
	}
	// A server whose error quotes markup: the card must show it as text.
	blocks.WriteString(`
server "markup" {
  transport "stdio" {
    command = "<img src=x onerror=window.__xss=1>"
  }
}
`)
	// The activity view's calls go to ex3; the file keeps their arguments,
	// a password among them redacted.
	const activityServer, activitySecret = "ex3", "activity-secret-value"
	activityFile := filepath.Join(t.TempDir(), "activity.log")
	cfg := writeConfig(t, listenAndAdmin(mcpAddr, adminAddr, token)+fmt.Sprintf(`tracing {
  store_dir = %q
}
activity {
  file              = %q
  include_arguments = true
}
%s`, filepath.Join(t.TempDir(), "trace"), activityFile, blocks.String()))
	p := startProxyAt(t, cfg, "http://"+mcpAddr+"/mcp")
	base := "http://" + adminAddr
	traced := traceForDashboard(t, p, base, token)

	link, err := ctl(t, base, token, "ui")
	if err != nil || !strings.HasPrefix(link, base+"/#login=") {
		t.Fatalf("ctl ui: %v\n%s", err, link)
	}

	relay := startRelay(t, adminAddr)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/cut" {
			// The page behind the relay misses this change: it cannot
			// reconnect until the server is stopped.
			relay.cut(func() error {
				_, err := ctl(t, base, token, "stop", "ex1")
				return err
			})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, otherOriginPage, base, "ex0")
	}))
	defer other.Close()

	shots := os.Getenv("MCPHOST_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "dashboard.mjs"))
	cmd.Env = append(os.Environ(),
		"PLAYWRIGHT_CORE="+pw,
		"CHROMIUM="+browser,
		"DASH_BASE="+base,
		"DASH_LINK="+strings.TrimSpace(link),
		"DASH_TOKEN="+token,
		// The tracing plugin is listed as a server too.
		fmt.Sprintf("DASH_SERVERS=%d", servers+1),
		"DASH_SERVER=ex0",
		"DASH_SECRET="+secret,
		"DASH_CONFIG="+cfg,
		"DASH_MCP="+p.URL,
		"DASH_MISSED=ex1",
		"DASH_TRACED="+traced,
		"DASH_ACTIVITY_SERVER="+activityServer,
		"DASH_ACTIVITY_SECRET="+activitySecret,
		"OTHER_ORIGIN="+other.URL,
		"RELAY=http://"+relay.addr,
		"SCREENSHOTS="+shots,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dashboard.mjs: %v\nstdout:\n%s\nstderr:\n%s\nmcphost:\n%s", err, stdout.String(), stderr.String(), p.Stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res struct {
		Screenshots []string          `json:"screenshots"`
		FCP         float64           `json:"first_contentful_paint_ms"`
		Cards       float64           `json:"cards_ms"`
		OtherOrigin map[string]string `json:"other_origin"`
		Totals      map[string]string `json:"totals"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("dashboard.mjs printed %q: %v", stdout.String(), err)
	}
	// The page of another origin was refused by the API itself (403), not
	// only by the browser's reading rules.
	if !strings.Contains(p.Stderr.String(), "admin request refused: cross-origin") {
		t.Errorf("mcphost logged no cross-origin refusal; the other page got %v", res.OtherOrigin)
	}
	for _, s := range []string{token, secret} {
		if strings.Contains(stdout.String()+stderr.String(), s) {
			t.Errorf("%q appears in the browser script's output", s)
		}
	}
	checkActivityFile(t, activityFile, activityServer, activitySecret)
	for _, s := range res.Screenshots {
		t.Logf("screenshot: %s", s)
	}
	t.Logf("overview with %d server cards (%d servers and tracing): first contentful paint %.0f ms, all cards rendered %.0f ms", servers+1, servers, res.FCP, res.Cards)
	t.Logf("overview totals after the views' calls: %v", res.Totals)
	t.Logf("embedded dashboard assets: %.1f KB", float64(ui.Size())/1024)
}

// checkActivityFile reads the activity file after the dashboard's checks:
// the activity view's calls (dashboard/activity.mjs, client
// "activity-check") are there, one JSON line each, with their outcomes
// and arguments, the password redacted.
func checkActivityFile(t *testing.T, file, server, secret string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("activity file: %v", err)
	}
	if strings.Contains(string(data), secret) {
		t.Errorf("the activity file holds the password an argument carried")
	}
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct {
			Client    string          `json:"client_name"`
			Server    string          `json:"server"`
			Exposed   string          `json:"exposed_name"`
			Outcome   string          `json:"outcome"`
			Code      int             `json:"code"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("activity line %q: %v", line, err)
		}
		if r.Client != "activity-check" {
			continue
		}
		key := fmt.Sprintf("%s %s %s %d", r.Server, strings.TrimPrefix(r.Exposed, "mcp__proxy__"+server+"__"), r.Outcome, r.Code)
		got[key]++
		if key == server+" echo ok 0" && got[key] == 1 && !strings.Contains(string(r.Arguments), `"password":"(redacted)"`) {
			t.Errorf("echo's arguments in the file: %s", r.Arguments)
		}
	}
	want := map[string]int{server + " echo ok 0": 2, server + " add tool_error 0": 1, " missing error -32602": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the activity file's records of the view's calls: %v, want %v", got, want)
	}
}

// traceForDashboard makes the traced response the tracing explorer shows:
// an MCP client calls ex0's echo and add and reads its hello resource, one
// response of three contexts, finalized when the client ends its session;
// an admin API call makes a response of origin admin. It waits until both
// are listed in trace://responses/recent and returns the client's
// response id.
func traceForDashboard(t *testing.T, p *proxyProcess, base, token string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := httpClient(t, p.URL, clientOptions{})
	responseID, _ := traceIDs(t, traceCall(ctx, t, c, "mcp__proxy__ex0__echo", map[string]any{"text": "traced for the <b>dashboard</b>"}))
	if id, _ := traceIDs(t, traceCall(ctx, t, c, "mcp__proxy__ex0__add", map[string]any{"a": 2, "b": 3})); id != responseID {
		t.Fatalf("add went to response %s, not %s", id, responseID)
	}
	readResourceText(ctx, t, c, "mcp+proxy://ex0/example://static/hello")
	if err := c.Close(); err != nil {
		t.Fatalf("close the client: %v", err)
	}
	var a adminCallAnswer
	if code := adminPost(t, base, token, "/api/v1/tools/mcp__proxy__ex1__echo/call", `{"arguments":{"text":"from the admin API"}}`, &a); code != http.StatusOK ||
		a.Result == nil || a.Result.IsError {
		t.Fatalf("admin call: %d %+v", code, a)
	}
	poll.Within(t, 30*time.Second, "the client's and the admin's responses in trace://responses/recent", func() error {
		var view struct {
			Responses []struct {
				ResponseID string `json:"response_id"`
				Origin     string `json:"origin"`
				Contexts   int    `json:"contexts"`
			} `json:"responses"`
		}
		text, err := readRecentResponses(t, base, token, &view)
		if err != nil {
			return err
		}
		var client, admin bool
		for _, r := range view.Responses {
			client = client || r.ResponseID == responseID && r.Origin == "client" && r.Contexts == 3
			admin = admin || r.Origin == "admin"
		}
		if !client || !admin {
			return fmt.Errorf("client %v, admin %v in %s", client, admin, text)
		}
		return nil
	})
	return responseID
}

// relay forwards TCP connections to an address until cut.
type relay struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool // refusing: new connections are closed at once
}

func startRelay(t *testing.T, target string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		r.cut(nil)
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *relay) serve(c net.Conn) {
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	r.conns[c], r.conns[up] = true, true
	r.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

// cut closes every relayed connection and refuses new ones while meanwhile
// runs, then relays again (for good when meanwhile is nil).
func (r *relay) cut(meanwhile func() error) {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
		delete(r.conns, c)
	}
	r.mu.Unlock()
	if meanwhile == nil {
		return
	}
	if err := meanwhile(); err != nil {
		r.t.Errorf("while the relay was cut: %v", err)
	}
	r.mu.Lock()
	r.closed = false
	r.mu.Unlock()
}
