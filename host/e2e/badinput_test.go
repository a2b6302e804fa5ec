//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputOnEveryEndpoint: malformed and oversized bodies sent to every
// endpoint of both listeners (MCP and admin) get the right status and an
// error body in the endpoint's own form (a JSON-RPC error on MCP
// endpoints, {"error": ...} on the admin API), and nothing mcphost logs
// holds a secret of its configuration.
func TestBadInputOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	const (
		token      = "badinput-admin-token"
		mcpToken   = "badinput-mcp-token"
		envSecret  = "badinput-env-secret"
		maxMessage = 1 << 20
	)
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
proxy {
  max_message_bytes = %d
}
listen "http" {
  address    = %q
  auth_token = %q
}
admin {
  address    = %q
  auth_token = %q
}
server "ex" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "ex"]
    env     = { EXAMPLE_SECRET = %q }
  }
}
`, maxMessage, mcpAddr, mcpToken, adminAddr, token, envSecret))
	p := startProxyAt(t, cfg, "http://"+mcpAddr+"/mcp")
	mcp, admin := "http://"+mcpAddr, "http://"+adminAddr
	huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"t":"` +
		strings.Repeat("x", maxMessage+10) + `"}}}`
	hugeJSON := `{"arguments":{"t":"` + strings.Repeat("x", 8<<20) + `"}}`

	type want struct {
		status int
		rpc    int // the JSON-RPC error code, on MCP endpoints; 0 on the admin API
	}
	tests := []struct {
		name, method, url, body, auth string
		want                          want
	}{
		// MCP listener.
		{"mcp: not JSON", "POST", mcp + "/mcp", `{"jsonrpc":`, mcpToken, want{400, -32700}},
		{"mcp: not JSON-RPC", "POST", mcp + "/mcp", `{"hello":1}`, mcpToken, want{400, -32600}},
		{"mcp: an array of nothing", "POST", mcp + "/mcp", `[]`, mcpToken, want{400, -32600}},
		{"mcp: empty", "POST", mcp + "/mcp", ``, mcpToken, want{400, -32700}},
		{"mcp: too large", "POST", mcp + "/mcp", huge, mcpToken, want{413, -32003}}, // jsonrpc.CodeMessageTooLarge
		{"mcp: no token", "POST", mcp + "/mcp", `{}`, "", want{401, -32600}},
		{"mcp: no session", "POST", mcp + "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, mcpToken, want{400, -32600}},
		{"mcp: unknown session", "POST", mcp + "/mcp?session=nope", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, mcpToken, want{404, -32600}},
		{"sse message: not JSON", "POST", mcp + "/message?sessionId=nope", `{`, mcpToken, want{404, -32600}},
		{"sse message: too large", "POST", mcp + "/message?sessionId=nope", huge, mcpToken, want{404, -32600}},
		// Admin listener.
		{"admin call: not JSON", "POST", admin + "/api/v1/tools/mcp__proxy__ex__echo/call", `{"arguments":`, token, want{400, 0}},
		{"admin call: not an object", "POST", admin + "/api/v1/tools/mcp__proxy__ex__echo/call", `[1]`, token, want{400, 0}},
		{"admin call: too large", "POST", admin + "/api/v1/tools/mcp__proxy__ex__echo/call", hugeJSON, token, want{413, 0}},
		{"admin prompt: not JSON", "POST", admin + "/api/v1/prompts/mcp__proxy__ex__greet/get", `nope`, token, want{400, 0}},
		{"admin read: not JSON", "POST", admin + "/api/v1/resources/read", `{"uri":`, token, want{400, 0}},
		{"admin read: too large", "POST", admin + "/api/v1/resources/read", hugeJSON, token, want{413, 0}},
		{"admin trace tool: not JSON", "POST", admin + "/api/v1/trace/tools/x", `{`, token, want{400, 0}},
		{"admin trace tool: too large", "POST", admin + "/api/v1/trace/tools/x", hugeJSON, token, want{413, 0}},
		{"admin login: not JSON", "POST", admin + "/api/v1/login", `{"token":`, "", want{400, 0}},
		{"admin login: too large", "POST", admin + "/api/v1/login", `{"token":"` + strings.Repeat("x", 1<<20) + `"}`, "", want{413, 0}},
		{"admin: no token", "POST", admin + "/api/v1/reload", ``, "", want{401, 0}},
		{"admin: unknown path", "GET", admin + "/api/v1/nope", ``, token, want{404, 0}},
		{"admin: wrong method", "DELETE", admin + "/api/v1/servers", ``, token, want{405, 0}},
		{"admin: bad tail", "GET", admin + "/api/v1/logs/ex?tail=-1", ``, token, want{400, 0}},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tt.auth != "" {
			req.Header.Set("Authorization", "Bearer "+tt.auth)
		}
		if strings.HasSuffix(tt.url, "?session=nope") {
			req.URL.RawQuery = ""
			req.Header.Set("Mcp-Session-Id", "nope")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		short := body
		if len(short) > 300 {
			short = short[:300]
		}
		if resp.StatusCode != tt.want.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, resp.StatusCode, tt.want.status, short)
			continue
		}
		if tt.want.rpc != 0 {
			var e struct {
				JSONRPC string `json:"jsonrpc"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.JSONRPC != "2.0" || e.Error.Code != tt.want.rpc || e.Error.Message == "" {
				t.Errorf("%s: body %s, want a JSON-RPC error %d", tt.name, short, tt.want.rpc)
			}
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			t.Errorf("%s: body %s, want {\"error\": ...}", tt.name, short)
		}
	}
	for _, secret := range []string{token, mcpToken, envSecret} {
		if bytes.Contains([]byte(p.Stderr.String()), []byte(secret)) {
			t.Errorf("mcphost's log holds a secret of its configuration (%s…)", secret[:8])
		}
	}
}
