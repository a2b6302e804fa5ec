//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// startHTTPProxyConfig runs `mcphost run cfg`, where cfg is a whole config
// whose listener serves url, and waits until it has started.
func startHTTPProxyConfig(t *testing.T, url, cfg string) *proxyProcess {
	t.Helper()
	return runProxy(t, writeConfig(t, cfg), url, nil)
}

const (
	httpToken    = "e2e-s3cret"
	initializeJS = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-http","version":"1"}}}`
	pingJS       = `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	initedJS     = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

// rawHTTP is one request to the listener made with net/http alone.
type rawHTTP struct {
	method  string
	session string // Mcp-Session-Id, if any
	token   string // bearer token, if any
	host    string // overrides the Host header
	origin  string
	accept  string // default application/json
	body    io.Reader
	// chunked hides the body's length, so only the read limit can catch it.
	chunked bool
}

func (r rawHTTP) do(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := r.send(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// send makes the request; it may run outside the test's goroutine.
func (r rawHTTP) send(url string) (*http.Response, []byte, error) {
	body := r.body
	if r.chunked {
		body = io.MultiReader(body) // not a type http.NewRequest can size
	}
	req, err := http.NewRequest(r.method, url, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if r.session != "" {
		req.Header.Set("Mcp-Session-Id", r.session)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.host != "" {
		req.Host = r.host
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the response to %s %s: %w", r.method, url, err)
	}
	return resp, out, nil
}

// initSession opens a session with initialize and notifications/initialized.
func initSession(t *testing.T, url, token string) string {
	t.Helper()
	resp, body := rawHTTP{method: http.MethodPost, token: token, body: strings.NewReader(initializeJS)}.do(t, url)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d, session %q: %s", resp.StatusCode, id, body)
	}
	if resp, body := (rawHTTP{method: http.MethodPost, token: token, session: id, body: strings.NewReader(initedJS)}).do(t, url); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", resp.StatusCode, body)
	}
	return id
}

// rpcErrorCode is the error code of a JSON-RPC error body, or 0.
func rpcErrorCode(body []byte) int {
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Error   struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.JSONRPC != "2.0" {
		return 0
	}
	return msg.Error.Code
}

func TestHTTPListener(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	url := "http://" + addr + "/mcp"
	p := startHTTPProxyConfig(t, url, fmt.Sprintf(`
proxy {
  max_message_bytes = 1048576
}
listen "http" {
  address    = %q
  auth_token = %q
}
%s`, addr, httpToken, exampleServer("example")))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("proxy stderr:\n%s", p.Stderr.String())
		}
	})
	session := initSession(t, url, httpToken)

	oversized := func() io.Reader {
		return strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`)
	}
	cases := []struct {
		name string
		req  rawHTTP
		// status is the HTTP status expected; code, when set, the
		// JSON-RPC error code of the body.
		status int
		code   int
	}{
		{"no token", rawHTTP{method: http.MethodPost, session: session, body: strings.NewReader(pingJS)}, http.StatusUnauthorized, -32600},
		{"wrong token", rawHTTP{method: http.MethodPost, session: session, token: "nope", body: strings.NewReader(pingJS)}, http.StatusUnauthorized, -32600},
		{"token", rawHTTP{method: http.MethodPost, session: session, token: httpToken, body: strings.NewReader(pingJS)}, http.StatusOK, 0},
		{"no session id", rawHTTP{method: http.MethodPost, token: httpToken, body: strings.NewReader(pingJS)}, http.StatusBadRequest, -32600},
		{"unknown session id", rawHTTP{method: http.MethodPost, session: "0123456789abcdef", token: httpToken, body: strings.NewReader(pingJS)}, http.StatusNotFound, -32600},
		{"foreign origin", rawHTTP{method: http.MethodPost, session: session, token: httpToken, origin: "http://evil.example", body: strings.NewReader(pingJS)}, http.StatusForbidden, -32600},
		{"loopback origin", rawHTTP{method: http.MethodPost, session: session, token: httpToken, origin: "http://localhost:8080", body: strings.NewReader(pingJS)}, http.StatusOK, 0},
		{"foreign host", rawHTTP{method: http.MethodPost, session: session, token: httpToken, host: "evil.example", body: strings.NewReader(pingJS)}, http.StatusForbidden, -32600},
		{"foreign host with port", rawHTTP{method: http.MethodPost, session: session, token: httpToken, host: "evil.example:" + strings.Split(addr, ":")[1], body: strings.NewReader(pingJS)}, http.StatusForbidden, -32600},
		{"body over the limit", rawHTTP{method: http.MethodPost, session: session, token: httpToken, body: oversized()}, http.StatusRequestEntityTooLarge, -32003},
		{"chunked body over the limit", rawHTTP{method: http.MethodPost, session: session, token: httpToken, body: oversized(), chunked: true}, http.StatusRequestEntityTooLarge, -32003},
		{"notification only", rawHTTP{method: http.MethodPost, session: session, token: httpToken, body: strings.NewReader(`{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`)}, http.StatusAccepted, 0},
		{"not JSON", rawHTTP{method: http.MethodPost, session: session, token: httpToken, body: strings.NewReader("garbage")}, http.StatusBadRequest, -32700},
		{"GET without text/event-stream", rawHTTP{method: http.MethodGet, session: session, token: httpToken}, http.StatusNotAcceptable, -32600},
		{"PUT", rawHTTP{method: http.MethodPut, session: session, token: httpToken, body: strings.NewReader(pingJS)}, http.StatusMethodNotAllowed, -32600},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := tc.req.do(t, url)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusAccepted {
				if len(bytes.TrimSpace(body)) != 0 {
					t.Errorf("202 with a body: %s", body)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if got := rpcErrorCode(body); got != tc.code {
				t.Errorf("JSON-RPC error code %d, want %d; body %s", got, tc.code, body)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
			if tc.status == http.StatusOK && !bytes.Contains(body, []byte(`"result":{}`)) {
				t.Errorf("ping answered %s", body)
			}
		})
	}

	t.Run("DELETE ends the session", func(t *testing.T) {
		t.Parallel()
		own := initSession(t, url, httpToken)
		if resp, body := (rawHTTP{method: http.MethodPost, session: own, token: httpToken, body: strings.NewReader(pingJS)}).do(t, url); resp.StatusCode != http.StatusOK {
			t.Fatalf("ping before DELETE: %d %s", resp.StatusCode, body)
		}
		if resp, body := (rawHTTP{method: http.MethodDelete, session: own, token: httpToken}).do(t, url); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
		}
		for _, req := range []rawHTTP{
			{method: http.MethodPost, session: own, token: httpToken, body: strings.NewReader(pingJS)},
			{method: http.MethodDelete, session: own, token: httpToken},
		} {
			resp, body := req.do(t, url)
			if resp.StatusCode != http.StatusNotFound || rpcErrorCode(body) != -32600 {
				t.Errorf("%s after DELETE: %d %s, want 404", req.method, resp.StatusCode, body)
			}
		}
	})
}

// sleepJS calls the example server's sleep tool for ms milliseconds.
func sleepJS(ms int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"mcp__proxy__example__sleep","arguments":{"ms":%d}}}`, ms)
}

// openCall is a request running in the background.
type openCall struct {
	resp  *http.Response
	body  []byte
	err   error
	ended time.Time
	done  chan struct{}
}

func startCall(url string, req rawHTTP) *openCall {
	c := &openCall{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.resp, c.body, c.err = req.send(url)
		c.ended = time.Now()
	}()
	return c
}

// openCallsToken guards the admin listener of the open-call tests.
const openCallsToken = "open-calls-token-4d1c"

// withAdmin adds an admin listener on a free port to servers (HCL) and
// returns the config and the admin API's base URL.
func withAdmin(t *testing.T, servers string) (string, string) {
	t.Helper()
	addr := freeAddr(t)
	return fmt.Sprintf("admin {\n  address    = %q\n  auth_token = %q\n}\n%s", addr, openCallsToken, servers), "http://" + addr
}

// waitForwarded waits until the admin API counts a request of session in
// flight: the proxy has handed the open call to its backend.
func waitForwarded(t *testing.T, adminBase, session string) {
	t.Helper()
	poll.Within(t, 30*time.Second, "session "+session+"'s call in flight at its backend (admin API)", func() error {
		req, _ := http.NewRequest(http.MethodGet, adminBase+"/api/v1/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+openCallsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var list struct {
			Sessions []struct {
				ID       string `json:"id"`
				InFlight int    `json:"in_flight"`
			} `json:"sessions"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			return fmt.Errorf("GET /api/v1/sessions: %s: %w", resp.Status, err)
		}
		for _, s := range list.Sessions {
			if s.ID == session && s.InFlight > 0 {
				return nil
			}
		}
		return fmt.Errorf("sessions: %+v", list.Sessions)
	})
}

func (c *openCall) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-c.done:
		if c.err != nil {
			t.Fatalf("the open request failed: %v", c.err)
		}
	case <-time.After(within):
		t.Fatalf("the open request did not end within %v", within)
	}
}

// TestHTTPSessionEndEndsOpenRequests: a request open when its session is
// deleted is cancelled at the backend, so it is never answered; its POST
// must end rather than hang until the client gives up.
func TestHTTPSessionEndEndsOpenRequests(t *testing.T) {
	t.Parallel()
	cfg, adminBase := withAdmin(t, exampleServer("example"))
	p := startHTTPProxy(t, cfg)
	cases := []struct {
		name   string
		accept string
		status int
	}{
		{"json", "application/json", http.StatusNotFound},
		// Nothing was streamed yet, so the reply is an error, as in JSON mode.
		{"sse", "application/json, text/event-stream", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			session := initSession(t, p.URL, "")
			call := startCall(p.URL, rawHTTP{method: http.MethodPost, session: session, accept: tc.accept, body: strings.NewReader(sleepJS(20000))})
			waitForwarded(t, adminBase, session)
			deleted := time.Now()
			if resp, body := (rawHTTP{method: http.MethodDelete, session: session}).do(t, p.URL); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
			}
			call.wait(t, 10*time.Second)
			if d := call.ended.Sub(deleted); d > 8*time.Second { // the sleep is 20 s
				t.Errorf("the open request ended %v after DELETE", d)
			}
			if call.resp.StatusCode != tc.status {
				t.Errorf("open request: status %d, want %d; body %s", call.resp.StatusCode, tc.status, call.body)
			}
			if bytes.Contains(call.body, []byte(`"result"`)) {
				t.Errorf("the cancelled request was answered: %s", call.body)
			}
		})
	}
}

// TestHTTPShutdownWithOpenRequest: SIGTERM with a request open waits up to
// shutdown_timeout for it, then answers it with an error and exits.
func TestHTTPShutdownWithOpenRequest(t *testing.T) {
	t.Parallel()
	cfg, adminBase := withAdmin(t, "proxy {\n  shutdown_timeout = \"1s\"\n}\n"+exampleServer("example"))
	p := startHTTPProxy(t, cfg)
	session := initSession(t, p.URL, "")
	call := startCall(p.URL, rawHTTP{method: http.MethodPost, session: session, body: strings.NewReader(sleepJS(30000))})
	waitForwarded(t, adminBase, session)
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("mcphost exited with %v\n%s", err, p.Stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("mcphost did not exit within 20s of SIGTERM\n%s", p.Stderr.String())
	}
	if d := time.Since(start); d > 15*time.Second { // well under the 30 s sleep
		t.Errorf("shutdown with an open request took %v", d)
	}
	call.wait(t, 10*time.Second)
	if call.resp.StatusCode != http.StatusServiceUnavailable || rpcErrorCode(call.body) != -32603 {
		t.Errorf("open request during shutdown: %d %s, want 503 with a JSON-RPC error", call.resp.StatusCode, call.body)
	}
}

// TestHTTPShutdownDrainsOpenRequests: a request open at SIGTERM that ends
// within shutdown_timeout gets its answer before the proxy exits.
func TestHTTPShutdownDrainsOpenRequests(t *testing.T) {
	t.Parallel()
	// Three backends, so that stopping them in parallel is exercised; the
	// marker finds every process they leave behind (none may be).
	marker := uniqueMarker("drain")
	cfg, adminBase := withAdmin(t, serverBlock("example", marker, "")+serverBlock("second", marker, "")+serverBlock("third", marker, ""))
	p := startHTTPProxy(t, cfg)
	if n := testenv.CountProcesses(t, marker); n != 3 {
		t.Fatalf("%d backend processes match %q before shutdown, want 3", n, marker)
	}
	session := initSession(t, p.URL, "")
	call := startCall(p.URL, rawHTTP{method: http.MethodPost, session: session, body: strings.NewReader(sleepJS(1500))})
	waitForwarded(t, adminBase, session)
	children := testenv.Descendants(p.cmd.Process.Pid)
	if len(children) < 4 {
		t.Fatalf("mcphost has %d descendants, want at least its transport plugin and 3 backends", len(children))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	call.wait(t, 15*time.Second)
	if call.resp.StatusCode != http.StatusOK || !bytes.Contains(call.body, []byte("slept 1500ms")) {
		t.Errorf("open request during shutdown: %d %s, want its result", call.resp.StatusCode, call.body)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("mcphost exited with %v\n%s", err, p.Stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("mcphost did not exit within 20s of SIGTERM\n%s", p.Stderr.String())
	}
	if n := testenv.CountProcesses(t, marker); n != 0 {
		t.Fatalf("%d backend processes left after a clean exit", n)
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d (a child of mcphost: plugin or backend) outlived it", pid)
		}
	}
}
