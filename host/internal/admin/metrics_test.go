package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
	"github.com/mcphost/mcphost/host/internal/metrics"
	"github.com/mcphost/mcphost/host/internal/router"
)

// TestMetrics: GET /metrics on the admin listener serves the registry the
// MCP listener serves, in Prometheus text, open to reads on loopback and
// behind the token elsewhere; a foreign Host is refused as on /api/v1.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := metrics.New(nil)
	reg.RequestStarted("alpha", "tools/call", 10)
	reg.RequestFinished("", "alpha", "tools/call", router.OutcomeOK, 5*time.Millisecond, 20)
	tests := []struct {
		name       string
		addr       string
		method     string
		host       string
		token      string
		noMetrics  bool
		wantStatus int
	}{
		{name: "loopback read", addr: "127.0.0.1:3001", method: "GET", host: "127.0.0.1:3001", wantStatus: 200},
		{name: "loopback post", addr: "127.0.0.1:3001", method: "POST", host: "127.0.0.1:3001", token: testToken, wantStatus: 405},
		{name: "foreign host", addr: "127.0.0.1:3001", method: "GET", host: "attacker.example", wantStatus: 403},
		{name: "wildcard without token", addr: "0.0.0.0:3001", method: "GET", host: "mcphost.lan", wantStatus: 401},
		{name: "wildcard with token", addr: "0.0.0.0:3001", method: "GET", host: "mcphost.lan", token: testToken, wantStatus: 200},
		{name: "no registry", addr: "127.0.0.1:3001", method: "GET", host: "127.0.0.1:3001", noMetrics: true, wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := admin.Options{Addr: tt.addr, Token: testToken, Control: admintest.New()}
			if !tt.noMetrics {
				opts.Metrics = reg
			}
			s, err := admin.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tt.method, "/metrics", nil)
			req.Host = tt.host
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Code != http.StatusOK {
				checkHygiene(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, testToken)
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != metrics.ContentType {
				t.Errorf("Content-Type = %q, want %q", ct, metrics.ContentType)
			}
			if body := rec.Body.String(); !strings.Contains(body, `mcphost_requests_total{server="alpha",method="tools/call",outcome="ok"} 1`) {
				t.Errorf("body is not the registry's Prometheus text:\n%s", body)
			}
		})
	}
}
