// Package oauthbackend is a hosted MCP server that requires OAuth, for
// tests of mcphost signing in to its backends: the example server
// (demoserver) over Streamable HTTP, behind a check of each request's
// access token with a test authorization server (authserver).
package oauthbackend

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/mcphost/mcphost/host/internal/demoserver"
	"github.com/mcphost/mcphost/host/internal/testenv/authserver"
	"github.com/mcphost/mcphost/sdk/oauth/oauthtest"
)

// Backend is a hosted MCP server that requires OAuth: the example server
// over Streamable HTTP at /mcp (Start) or over WebSocket at /ws
// (StartWebSocket), behind a check of every request's (or handshake's)
// access token with the authorization server (RFC 7662 introspection:
// active, and bound to this resource), publishing its protected resource
// metadata (RFC 9728).
type Backend struct {
	// URL is the MCP endpoint, as a transport block's url gives it.
	URL string
	// CAFile is the PEM file of the certificate a backend started with
	// StartTLS serves, for a transport block's tls_ca_file.
	CAFile string
	// resource is the endpoint as an http(s) URL, which tokens are
	// bound to; path is its path.
	resource, path string
	as             *authserver.Server
}

// The resource server's own client at the authorization server, which
// introspection requires.
const (
	introspectorID     = "hosted-resource-server"
	introspectorSecret = "introspector-secret"
)

// Start serves the example server named name over Streamable HTTP,
// protected by as, until the test ends.
func Start(t testing.TB, as *authserver.Server, name string) *Backend {
	t.Helper()
	return serve(t, as, "/mcp", server.NewStreamableHTTPServer(demoserver.New(name), server.WithEndpointPath("/mcp")), nil)
}

// StartTLS is Start over https, with a certificate of its own (CAFile).
func StartTLS(t testing.TB, as *authserver.Server, name string) *Backend {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	return serve(t, as, "/mcp", server.NewStreamableHTTPServer(demoserver.New(name), server.WithEndpointPath("/mcp")), srv)
}

// StartWebSocket serves the example server named name over WebSocket,
// protected by as (at the opening handshake), until the test ends.
func StartWebSocket(t testing.TB, as *authserver.Server, name string) *Backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- demoserver.ServeWS(ctx, ln, name) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("websocket backend: %v", err)
		}
	})
	// The check stands in front, as a gateway would: a reverse proxy
	// passes the upgrade on once the token is good.
	inner := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: ln.Addr().String()})
	b := serve(t, as, "/ws", inner, nil)
	b.URL = "ws" + strings.TrimPrefix(b.resource, "http")
	return b
}

// serve puts h at path behind the token check, over https when tlsServer
// (unstarted) is given, else over http. It registers the resource server's
// own client at as.
func serve(t testing.TB, as *authserver.Server, path string, h http.Handler, tlsServer *httptest.Server) *Backend {
	t.Helper()
	if err := as.RegisterClient(authserver.Client{ID: introspectorID, Secret: introspectorSecret}); err != nil {
		t.Fatal(err)
	}
	b := &Backend{as: as, path: path}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource"+path, b.serveMetadata)
	mux.Handle(path, b.require(h))
	srv := tlsServer
	if srv == nil {
		srv = httptest.NewServer(mux)
	} else {
		srv.Config.Handler = mux
		srv.StartTLS()
		b.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(b.CAFile, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(srv.Close)
	b.resource = srv.URL + path
	b.URL = b.resource
	return b
}

func (b *Backend) metadataURL() string {
	u, _ := url.Parse(b.resource)
	return u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + b.path
}

func (b *Backend) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resource":              b.resource,
		"authorization_servers": []string{b.as.Issuer()},
		"scopes_supported":      []string{"mcp"},
	})
}

// require lets a request through only with an active token for this
// resource.
func (b *Backend) require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !b.active(r.Context(), token) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q, scope="mcp"`, b.metadataURL()))
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// active asks the authorization server whether token is live and meant
// for this resource.
func (b *Backend) active(ctx context.Context, token string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.as.IntrospectionURL(),
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(introspectorID, introspectorSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var answer struct {
		Active bool     `json:"active"`
		Aud    []string `json:"aud"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&answer) != nil {
		return false
	}
	return answer.Active && slices.Contains(answer.Aud, b.resource)
}

// browserArg, as a test binary's first argument, makes it play the browser
// of a sign-in (see ActAsBrowser).
const browserArg = "-mcphost-test-browser"

// Browser is the $BROWSER that makes the running test binary the browser
// of a sign-in; its TestMain must call ActAsBrowser first.
func Browser() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(self, " \t") {
		return "", fmt.Errorf("$BROWSER is split on spaces, and the test binary's path %q has some", self)
	}
	return self + " " + browserArg, nil
}

// BrowserEnv is the environment entry BROWSER=Browser(); it skips the
// test when the test binary cannot be one.
func BrowserEnv(t testing.TB) string {
	t.Helper()
	browser, err := Browser()
	if err != nil {
		t.Skip(err)
	}
	return "BROWSER=" + browser
}

// ActAsBrowser, called first in TestMain, ends a test binary started as
// Browser: it opens the authorization URL (its last argument) and follows
// the redirects, the last of which reaches the client's loopback
// redirect URI (test authorization servers approve at once), and exits 0
// when that page says the sign-in worked.
func ActAsBrowser() {
	if len(os.Args) != 3 || os.Args[1] != browserArg {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := oauthtest.Follow(ctx, os.Args[2])
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// StoredSecrets are the token store's secrets (access and refresh tokens,
// client secret) in dir, which nothing may show.
func StoredSecrets(t testing.TB, dir string) []string {
	t.Helper()
	var secrets []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rec struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			ClientSecret string `json:"client_secret"`
		}
		if json.Unmarshal(data, &rec) == nil {
			for _, s := range []string{rec.AccessToken, rec.RefreshToken, rec.ClientSecret} {
				if s != "" {
					secrets = append(secrets, s)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return secrets
}
