package listen

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/metrics"
)

// TestDNSRebinding: a foreign Host is refused (403) on every path of the
// listener, served or not, with and without a valid token; loopback names
// in any spelling are served.
func TestDNSRebinding(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.AuthToken = "s3cret"
	opts.MetricsPath, opts.Metrics = "/metrics", metrics.New(nil)
	h, _ := startListener(t, opts, "echo")
	_, port, _ := net.SplitHostPort(h.ln.Addr().String())
	paths := []struct{ method, path string }{
		{http.MethodPost, "/mcp"}, {http.MethodGet, "/mcp"}, {http.MethodDelete, "/mcp"},
		{http.MethodGet, "/sse"}, {http.MethodPost, "/message?sessionId=x"},
		{http.MethodGet, "/ws"}, {http.MethodGet, "/metrics"},
		{http.MethodGet, HealthPath}, {http.MethodGet, ReadyPath},
		{http.MethodGet, "/"}, {http.MethodGet, "/api/v1/servers"},
	}
	hosts := []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example:" + port, "localhost.evil.example"}
	for _, p := range paths {
		for _, host := range hosts {
			t.Run(p.method+" "+p.path+" Host "+host, func(t *testing.T) {
				t.Parallel()
				req, err := http.NewRequest(p.method, endpointURL(h, p.path), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Host = host
				req.Header.Set("Authorization", "Bearer s3cret")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.StatusCode)
				}
			})
		}
	}
	for _, host := range []string{"LOCALHOST:" + port, "localhost.:" + port, "127.0.0.1:" + port, "localhost"} {
		t.Run("metrics Host "+host, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, endpointURL(h, "/metrics"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			req.Header.Set("Authorization", "Bearer s3cret")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
		})
	}
}
