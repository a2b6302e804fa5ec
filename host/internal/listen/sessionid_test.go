package listen

import (
	"net/url"
	"testing"

	"github.com/mcphost/mcphost/host/internal/router"
)

// TestListenersUseRouterSessionIDs: the id a client comes back with
// (Mcp-Session-Id, the legacy sessionId) is the router's session id, the
// one logs, tracing and the admin API show, not a second id.
func TestListenersUseRouterSessionIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open func(t *testing.T, h *HTTP) string
	}{
		{"streamable HTTP", func(t *testing.T, h *HTTP) string { return initSession(t, h) }},
		{"legacy SSE", func(t *testing.T, h *HTTP) string {
			_, endpoint, _ := openSSE(t, h)
			u, err := url.Parse(endpoint)
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("sessionId")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := startListener(t, allTransports(), "echo")
			id := tt.open(t, h)
			if !router.ValidSessionID(id) {
				t.Fatalf("session id %q is not a router session id", id)
			}
			var ids []string
			for _, s := range h.router.Sessions() {
				ids = append(ids, s.ID)
			}
			if len(ids) != 1 || ids[0] != id {
				t.Fatalf("client was given %q; the router's sessions are %q", id, ids)
			}
		})
	}
}
