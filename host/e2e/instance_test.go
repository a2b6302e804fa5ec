//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/router"
)

// TestInstanceID: a `mcphost run` names itself on every MCP response
// (Mcphost-Instance), starts the session ids clients come back with by
// that name (streamable HTTP and legacy HTTP+SSE, whose GET also says the
// id in a header), and shows it in the admin API. Without instance_id,
// the name is the host's plus a random suffix.
func TestInstanceID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, block string
		want        *regexp.Regexp
	}{
		{"configured", "proxy {\n  instance_id = \"e2e-node-7\"\n}\n", regexp.MustCompile(`^e2e-node-7$`)},
		{"default", "", regexp.MustCompile(`^[a-z0-9-]{1,25}-[0-9a-f]{6}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			servers, adminBase := withAdmin(t, exampleServer("example"))
			p := startHTTPProxyConfig(t, "http://"+addr+"/mcp",
				fmt.Sprintf("%slisten \"http\" {\n  address = %q\n}\n%s", tt.block, addr, servers))
			var conf struct {
				Proxy struct {
					InstanceID string `json:"instance_id"`
				} `json:"proxy"`
			}
			if status := adminGet(t, adminBase, openCallsToken, "/api/v1/config", &conf); status != http.StatusOK {
				t.Fatalf("GET /api/v1/config: %d", status)
			}
			instance := conf.Proxy.InstanceID
			if !tt.want.MatchString(instance) {
				t.Fatalf("admin API instance_id %q, want %v", instance, tt.want)
			}
			prefix := instance + router.InstanceSeparator

			resp, body := rawHTTP{method: http.MethodPost, body: strings.NewReader(initializeJS)}.do(t, p.URL)
			session := resp.Header.Get("Mcp-Session-Id")
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(session, prefix) || !router.ValidSessionID(session) {
				t.Fatalf("initialize: %d, Mcp-Session-Id %q, want %q and a session id: %s", resp.StatusCode, session, prefix, body)
			}
			if got := resp.Header.Get("Mcphost-Instance"); got != instance {
				t.Errorf("initialize: Mcphost-Instance %q, want %q", got, instance)
			}
			resp, body = rawHTTP{method: http.MethodPost, session: session, body: strings.NewReader(sleepJS(1))}.do(t, p.URL)
			if got := resp.Header.Get("Mcphost-Instance"); resp.StatusCode != http.StatusOK || got != instance {
				t.Errorf("tools/call: %d, Mcphost-Instance %q, want 200 and %q: %s", resp.StatusCode, got, instance, body)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/sse", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/event-stream")
			sse, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer sse.Body.Close()
			var endpoint string
			// The endpoint event is the stream's first.
			_ = readEvents(sse.Body, func(event string, data []byte) bool {
				endpoint = string(data)
				return event != "endpoint"
			})
			u, err := url.Parse(endpoint)
			if err != nil {
				t.Fatal(err)
			}
			legacy := u.Query().Get("sessionId")
			if !strings.HasPrefix(legacy, prefix) || sse.Header.Get("Mcp-Session-Id") != legacy || sse.Header.Get("Mcphost-Instance") != instance {
				t.Errorf("GET /sse: sessionId %q, Mcp-Session-Id %q, Mcphost-Instance %q; want the id, starting %q, in both and %q",
					legacy, sse.Header.Get("Mcp-Session-Id"), sse.Header.Get("Mcphost-Instance"), prefix, instance)
			}
		})
	}
}
