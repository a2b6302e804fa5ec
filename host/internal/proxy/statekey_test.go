package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

// TestRequestStateKeyStaysSecret: a configured request_state_key reaches
// the router and listeners but neither the admin API (every read endpoint
// a proxy without servers answers) nor the logs.
func TestRequestStateKeyStaysSecret(t *testing.T) {
	t.Parallel()
	const key = "the-shared-request-state-key-0123456789"
	src := `proxy {
  translators       = []
  instance_id       = "mcp-a"
  request_state_key = "` + key + `"
  peers             = { "mcp-b" = "http://127.0.0.1:1/mcp" }
}
`
	cfg, diags := config.Parse([]byte(src), "proxy.hcl", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	logs := &syncbuf.Buffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})
	ctx := context.Background()
	p, diags := Build(ctx, cfg, Options{Logger: logger})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if err := p.Start(ctx, StartOptions{SkipListeners: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(ctx) })
	if string(p.stateKey) != key || p.peers == nil {
		t.Fatalf("the configured key and peers are not in use")
	}
	srv, err := admin.New(admin.Options{Control: p.Control(), Addr: "127.0.0.1:0", Token: "admin-token", Logger: logger.Named("admin")})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/config", "/api/v1/servers", "/api/v1/sessions", "/api/v1/plugins", "/api/v1/tracing", "/api/v1/metrics"} {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
		req.Header.Set("Authorization", "Bearer admin-token")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, rec.Code, body)
		}
		if strings.Contains(string(body), key) {
			t.Errorf("GET %s shows the key: %s", path, body)
		}
	}
	if strings.Contains(logs.String(), key) {
		t.Errorf("the logs show the key:\n%s", logs.String())
	}
}
