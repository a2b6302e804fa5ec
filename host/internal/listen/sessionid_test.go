package listen

import (
	"net/http"
	"net/url"
	"strings"
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

// TestInstanceRouting: with an instance id, the ids a client comes back
// with start with it, GET /sse also says its session id in a header, and
// every response (refusals and probes too) names the instance.
func TestInstanceRouting(t *testing.T) {
	t.Parallel()
	const instance = "node-1"
	r, _ := newRouterWith(t, router.Options{InstanceID: instance}, "echo")
	opts := allTransports()
	opts.InstanceID = instance
	h := serveListener(t, r, opts)
	prefix := instance + router.InstanceSeparator

	session := initSession(t, h)
	if !strings.HasPrefix(session, prefix) || !router.ValidSessionID(session) {
		t.Errorf("Mcp-Session-Id %q, want %q and a session id", session, prefix)
	}

	sse, _ := getSSE(t, h, "")
	first := nextEvent(t, readSSE(sse.Body), "the endpoint event")
	endpoint, err := url.Parse(first.data)
	if err != nil {
		t.Fatal(err)
	}
	legacyID := endpoint.Query().Get("sessionId")
	if !strings.HasPrefix(legacyID, prefix) || !router.ValidSessionID(legacyID) {
		t.Errorf("legacy sessionId %q, want %q and a session id", legacyID, prefix)
	}
	if got := sse.Header.Get("Mcp-Session-Id"); got != legacyID {
		t.Errorf("GET /sse Mcp-Session-Id header %q, want the sessionId %q", got, legacyID)
	}
	if got := sse.Header.Get(InstanceHeader); got != instance {
		t.Errorf("GET /sse: %s %q, want %q", InstanceHeader, got, instance)
	}

	responses := []struct {
		name string
		resp *http.Response
	}{
		{"a call", do(t, http.MethodPost, h.URL(), session, acceptJSON, callMsg("2", "mcp__proxy__srv__echo", `{}`, ""))},
		{"an unknown session", do(t, http.MethodPost, h.URL(), prefix+router.NewSessionID(), acceptJSON, callMsg("3", "mcp__proxy__srv__echo", `{}`, ""))},
		{"readiness", do(t, http.MethodGet, endpointURL(h, ReadyPath), "", "", "")},
		{"an unserved path", do(t, http.MethodGet, endpointURL(h, "/nothing"), "", "", "")},
	}
	for _, rr := range responses {
		if got := rr.resp.Header.Get(InstanceHeader); got != instance {
			t.Errorf("%s (%d): %s %q, want %q", rr.name, rr.resp.StatusCode, InstanceHeader, got, instance)
		}
	}
}
