package listen

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// TestMaxSessionsRefusesEachTransport: a listener holding max_sessions
// sessions refuses one more on every transport with 503, Retry-After and a
// JSON-RPC error, counts each refusal by transport, and takes sessions
// again once one ends.
func TestMaxSessionsRefusesEachTransport(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	refused := map[string]int{}
	opts := allTransports()
	opts.MaxSessions = 2
	opts.SessionRefused = func(transport string) {
		mu.Lock()
		refused[transport]++
		mu.Unlock()
	}
	h, _ := startListener(t, opts, "echo")
	first := initSession(t, h)
	_, _, cancelSSE := openSSE(t, h)
	waitSessions(t, h, 2)

	check := func(what string, resp *http.Response) {
		t.Helper()
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(body), "too many sessions") || !strings.Contains(string(body), `"jsonrpc":"2.0"`) {
			t.Fatalf("%s on a full listener: %d %q %s", what, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	check("initialize", do(t, http.MethodPost, h.URL(), "", acceptJSON, initializeMsg(`"init"`)))
	check("GET sse", do(t, http.MethodGet, h.SSEURL(), "", acceptSSE, ""))
	_, resp, err := dialWS(t, h, &websocket.DialOptions{Subprotocols: []string{"mcp"}})
	if err == nil {
		t.Fatal("a WebSocket was accepted by a full listener")
	}
	check("WebSocket", resp)
	mu.Lock()
	if refused["http"] != 1 || refused["sse"] != 1 || refused["websocket"] != 1 {
		t.Errorf("refusals counted %v, want one per transport", refused)
	}
	mu.Unlock()
	if n := h.Sessions(); n != 2 {
		t.Fatalf("%d sessions after the refusals, want 2", n)
	}

	// A session that ends makes room.
	cancelSSE()
	waitSessions(t, h, 1)
	if second := initSession(t, h); second == first {
		t.Fatal("the same session id twice")
	}
}
