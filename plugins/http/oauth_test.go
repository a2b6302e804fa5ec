package httptransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// challengingServer is an MCP endpoint that requires a token: it answers
// initialize for "Bearer static" and 401 with a challenge otherwise, and
// serves the discovery documents the challenge leads to (no tokens: its
// authorization server has no endpoint that issues one).
type challengingServer struct {
	*httptest.Server
	discovery atomic.Int32 // requests for a discovery document
}

func newChallengingServer(t *testing.T) *challengingServer {
	t.Helper()
	s := &challengingServer{}
	mux := http.NewServeMux()
	document := func(body func() map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			s.discovery.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body())
		}
	}
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", document(func() map[string]any {
		return map[string]any{"resource": s.URL + "/mcp", "authorization_servers": []string{s.URL}}
	}))
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", document(func() map[string]any {
		return map[string]any{"issuer": s.URL, "authorization_endpoint": s.URL + "/authorize", "token_endpoint": s.URL + "/token",
			"registration_endpoint": s.URL + "/register", "response_types_supported": []string{"code"},
			"code_challenge_methods_supported": []string{"S256"}}
	}))
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer static" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, s.URL+"/.well-known/oauth-protected-resource/mcp"))
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jsonrpc.Result(json.RawMessage(`0`), []byte(`{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}`)))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestOAuthChallenge: with oauth "auto" (the default) a 401 challenge
// leads to discovery and, with no token stored and sign-ins left to the
// command, to a connection ended with a NeedsLoginError, which is what
// the host puts in state needs_login; oauth = "off", a bearer_token or an
// Authorization header leave OAuth out altogether.
func TestOAuthChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra string // more attributes of the block, JSON
		// signIn: the connection ends needing a sign-in, after
		// discovery; otherwise initialize is answered (a result, or an
		// error for the 401) and nothing is discovered.
		signIn     bool
		wantResult bool
	}{
		{name: "auto", signIn: true},
		{name: "off", extra: `,"oauth":"off"`},
		{name: "bearer_token", extra: `,"bearer_token":"static"`, wantResult: true},
		{name: "authorization header", extra: `,"headers":{"Authorization":"Bearer static"}`, wantResult: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newChallengingServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := New(quiet()).Open(ctx, transport.OpenRequest{Name: "hosted",
				Config:  json.RawMessage(`{"url":"` + s.URL + `/mcp"` + tt.extra + `}`),
				HostEnv: []string{"MCPHOST_OAUTH_DIR=" + t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Conn.Close(context.Background()) })
			if err := r.Conn.Send(ctx, []byte(initializeMsg)); err != nil && !tt.signIn {
				t.Fatalf("Send: %v", err)
			}
			if tt.signIn {
				var nle *oauth.NeedsLoginError
				err := recvErr(t, r.Conn)
				if !errors.Is(err, transport.ErrClosed) || !errors.As(err, &nle) || nle.Server != "hosted" {
					t.Fatalf("Recv = %v, want the connection closed needing a sign-in", err)
				}
				// What crosses to the host as the close's detail.
				if reason := transport.Reason(err); !strings.HasPrefix(reason, oauth.NeedsLoginPrefix) {
					t.Errorf("the close's words %q do not start with %q", reason, oauth.NeedsLoginPrefix)
				}
				if s.discovery.Load() == 0 {
					t.Error("the challenge led to no discovery")
				}
				return
			}
			resp, err := r.Conn.Recv(ctx)
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if env, _ := jsonrpc.Peek(resp); env.IsError == tt.wantResult {
				t.Errorf("initialize answered %s", resp)
			}
			if n := s.discovery.Load(); n != 0 {
				t.Errorf("%d discovery requests; OAuth should be left out", n)
			}
		})
	}
}
