//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/admin"
)

// TestTracingDownDoesNotStopTheProxy: with the tracing store's path taken
// by a regular file (tests run as root, so permissions prove nothing), the
// proxy starts and serves tools/call, reports tracing down with the reason
// in its admin API and as mcphost_tracing_up 0, and answers the tracing
// tools with an error; once the file is gone its retries bring tracing up.
func TestTracingDownDoesNotStopTheProxy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "trace")
	if err := os.WriteFile(store, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, adminAddr := freeAddr(t), freeAddr(t)
	const token = "tracing-down-token"
	cfg := writeConfig(t, fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
tracing {
  store_dir = %q
}
%s`, addr, adminAddr, token, store, exampleServer("ex")))
	p := startProxyAt(t, cfg, "http://"+addr+"/mcp")
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// MCP is served.
	if text := callText(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "served without tracing"}); !strings.Contains(text, "served without tracing") {
		t.Fatalf("echo answered %q", text)
	}
	// Tracing is reported down, with the reason.
	base := "http://" + adminAddr + "/api/v1"
	var st admin.TracingStatus
	if code := adminGet(t, base, token, "/tracing", &st); code != 200 {
		t.Fatalf("GET /tracing: %d", code)
	}
	if !st.Enabled || st.Up || !strings.Contains(st.Reason, store) {
		t.Fatalf("tracing status %+v; want down, naming %s", st, store)
	}
	metricsURL := "http://" + addr + "/metrics"
	if up := scrapeCounter(t, metricsURL, "mcphost_tracing_up", nil); up != 0 {
		t.Fatalf("mcphost_tracing_up = %v while down", up)
	}
	if out, err := ctl(t, "http://"+adminAddr, token, "status"); err != nil || !strings.Contains(out, "tracing: down") {
		t.Fatalf("mcphost ctl status: %v\n%s", err, out)
	}
	if !strings.Contains(p.Stderr.String(), "context tracing is down") {
		t.Fatalf("no warning in the log:\n%s", p.Stderr.String())
	}
	// The operator's tracing calls fail at once with the reason.
	if out, err := traceCLIRun(t, adminAddr, token, "response", "resp_0"); err == nil || !strings.Contains(out, "context tracing is down") {
		t.Fatalf("mcphost trace while tracing is down: %v\n%s", err, out)
	}

	// The store path becomes usable: a retry brings tracing up.
	if err := os.Remove(store); err != nil {
		t.Fatal(err)
	}
	for !st.Up {
		select {
		case <-ctx.Done():
			t.Fatalf("tracing did not come up: %+v", st)
		case <-time.After(50 * time.Millisecond):
		}
		adminGet(t, base, token, "/tracing", &st)
	}
	if up := scrapeCounter(t, metricsURL, "mcphost_tracing_up", nil); up != 1 {
		t.Fatalf("mcphost_tracing_up = %v once up", up)
	}
	if info, err := os.Stat(store); err != nil || !info.IsDir() {
		t.Fatalf("the store was not created: %v", err)
	}
	// Traced again: results carry trace ids, and the tracing tools work
	// once the proxy has listed them again.
	traceIDs(t, traceCall(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "traced"}))
	var tools *mcp.ListToolsResult
	for {
		var err error
		if tools, err = c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
			t.Fatal(err)
		}
		if hasTool(tools, "mcp__proxy__tracing__get_trace") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the tracing tools were not listed once tracing came up")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if tr := getTrace(ctx, t, c, "latest"); len(tr.Contexts) != 1 {
		t.Fatalf("get_trace latest once up: %+v", tr)
	}
}

func hasTool(res *mcp.ListToolsResult, name string) bool {
	for _, tl := range res.Tools {
		if tl.Name == name {
			return true
		}
	}
	return false
}

// traceCLIRun runs `mcphost trace ARGS` against the admin API.
func traceCLIRun(t *testing.T, adminAddr, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(mcphost(t), append([]string{"trace", "-admin", "http://" + adminAddr, "-token", token}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
