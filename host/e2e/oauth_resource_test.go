//go:build unix

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcphost/mcphost/host/internal/oauthrs/oauthtest"
)

// authRecorder is an MCP server over streamable HTTP that records the
// Authorization header of every request it gets.
type authRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *authRecorder) headers() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

func startAuthRecorder(t *testing.T) (*authRecorder, string) {
	t.Helper()
	a := &authRecorder{}
	s := server.NewMCPServer("recorder", "1")
	s.AddTool(mcp.NewTool("hello"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("hello from the backend"), nil
	})
	mcpHandler := server.NewStreamableHTTPServer(s)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Get("Authorization"))
		a.mu.Unlock()
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return a, ts.URL + "/mcp"
}

// TestOAuthResourceServer runs mcphost with an oauth listener in front of
// an HTTP backend that has a bearer token of its own: a client without a
// token is sent to the protected resource metadata, which names the
// issuer; a client with an access token from that issuer calls the
// backend's tool; and the backend only ever sees mcphost's own token,
// never the client's (token passthrough is forbidden).
func TestOAuthResourceServer(t *testing.T) {
	t.Parallel()
	iss := oauthtest.NewIssuer(t)
	backend, backendURL := startAuthRecorder(t)
	addr := freeAddr(t)
	mcpURL := "http://" + addr + "/mcp"
	const backendToken = "mcphost-own-backend-token"
	cfg := writeConfig(t, fmt.Sprintf(`
listen "http" {
  address    = %q
  auth_token = "operator-token-for-metrics"
  oauth {
    issuer   = %q
    audience = %q
    scopes   = ["mcp"]
  }
}
server "b" {
  transport "http" {
    url          = %q
    bearer_token = %q
  }
}
`, addr, iss.URL, mcpURL, backendURL, backendToken))
	p := runProxy(t, cfg, mcpURL, nil)

	resp, err := http.Post(p.URL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	metadataURL := "http://" + addr + "/.well-known/oauth-protected-resource/mcp"
	if want := `Bearer resource_metadata="` + metadataURL + `", scope="mcp"`; resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("without a token: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	resp, err = http.Get(metadataURL)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(doc), `"authorization_servers":["`+iss.URL+`"]`) ||
		!strings.Contains(string(doc), `"resource":"`+mcpURL+`"`) {
		t.Fatalf("metadata: %d %s", resp.StatusCode, doc)
	}

	token := iss.Token(t, oauthtest.Claims{Subject: "alice", Audience: []string{mcpURL}, Scope: "mcp"})
	tr, err := transport.NewStreamableHTTP(p.URL, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, client.NewClient(tr), clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := callText(ctx, t, c, "mcp__proxy__b__hello", nil); got != "hello from the backend" {
		t.Fatalf("tool answered %q", got)
	}
	seen := backend.headers()
	if len(seen) == 0 {
		t.Fatal("the backend saw no request")
	}
	for _, h := range seen {
		if strings.Contains(h, token) || h != "Bearer "+backendToken {
			t.Fatalf("the backend saw Authorization %q, want mcphost's own token", h)
		}
	}
	if strings.Contains(p.Stderr.String(), token) {
		t.Error("mcphost logged the client's token")
	}
}
