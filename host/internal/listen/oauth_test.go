package listen

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/oauthrs/oauthtest"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

const resourceURI = "https://mcp.example.com/mcp"

// metadataURL is where the challenges send clients for resourceURI.
const metadataURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

// oauthListener is a listener protected by an oauthtest.Issuer, over two
// fake backends: "srv" (tool "echo") and "github" (tool "issues"), which
// needs the scope "mcp:github" besides "mcp".
type oauthListener struct {
	h       *HTTP
	iss     *oauthtest.Issuer
	srv     *fakeBackend
	github  *fakeBackend
	mu      sync.Mutex
	refused []string
}

func (l *oauthListener) refusals() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.refused)
}

func startOAuth(t *testing.T, edit func(*oauthrs.Options, *HTTPOptions)) *oauthListener {
	t.Helper()
	l := &oauthListener{iss: oauthtest.NewIssuer(t), srv: &fakeBackend{tools: []string{"echo"}}, github: &fakeBackend{tools: []string{"issues"}}}
	vopts := oauthrs.Options{
		Issuer: l.iss.URL, Audience: resourceURI, Scopes: []string{"mcp"},
		ServerScopes: map[string][]string{"github": {"mcp:github"}},
		ClientID:     l.iss.ClientID, ClientSecret: l.iss.ClientSecret,
	}
	hopts := allTransports()
	hopts.MetricsPath, hopts.Metrics = "/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("metrics\n"))
	})
	hopts.AuthRefused = func(reason string) {
		l.mu.Lock()
		l.refused = append(l.refused, reason)
		l.mu.Unlock()
	}
	if edit != nil {
		edit(&vopts, &hopts)
	}
	v, err := oauthrs.New(vopts)
	if err != nil {
		t.Fatal(err)
	}
	hopts.OAuth = v
	r := router.New(router.Options{RestartDelay: 10 * time.Millisecond}, []router.BackendSpec{
		{Name: "srv", Prefix: true, Open: l.srv.open},
		{Name: "github", Prefix: true, Open: l.github.open},
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	l.h = serveListener(t, r, hopts)
	return l
}

// token is a valid JWT for subject with scope.
func (l *oauthListener) token(t *testing.T, subject, scope string) string {
	t.Helper()
	return l.iss.Token(t, oauthtest.Claims{Subject: subject, Audience: []string{resourceURI}, Scope: scope})
}

// initialize opens a streamable HTTP session with token.
func (l *oauthListener) initialize(t *testing.T, token string) string {
	t.Helper()
	resp := doAuth(t, http.MethodPost, l.h.URL(), "", acceptJSON, initializeMsg("1"), token)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Mcp-Session-Id")
}

// checkNoToken fails when resp's headers or body hold token.
func checkNoToken(t *testing.T, resp *http.Response, body []byte, token string) {
	t.Helper()
	if token == "" {
		return
	}
	for name, values := range resp.Header {
		for _, v := range values {
			if strings.Contains(v, token) {
				t.Errorf("header %s holds the token", name)
			}
		}
	}
	if strings.Contains(string(body), token) {
		t.Error("the body holds the token")
	}
}

func TestOAuthTokens(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	iss := l.iss
	good := oauthtest.Claims{Subject: "alice", Audience: []string{resourceURI}, Scope: "mcp"}
	with := func(edit func(*oauthtest.Claims)) oauthtest.Claims {
		c := good
		edit(&c)
		return c
	}
	const challenge = `Bearer resource_metadata="` + metadataURL + `", scope="mcp"`
	tests := []struct {
		name   string
		token  string
		status int
		// header is the WWW-Authenticate value, or its prefix when it
		// ends with a comma.
		header, reason string
	}{
		{"valid", iss.Token(t, good), http.StatusOK, "", ""},
		{"missing", "", http.StatusUnauthorized, challenge, "missing"},
		{"expired", iss.Token(t, with(func(c *oauthtest.Claims) { c.Expiry = time.Now().Add(-time.Hour) })),
			http.StatusUnauthorized, challenge + `, error="invalid_token",`, "expired"},
		{"wrong audience", iss.Token(t, with(func(c *oauthtest.Claims) { c.Audience = []string{"https://other.example.com/mcp"} })),
			http.StatusUnauthorized, challenge + `, error="invalid_token",`, "audience"},
		{"wrong issuer", iss.Token(t, with(func(c *oauthtest.Claims) { c.Issuer = "https://evil.example.com" })),
			http.StatusUnauthorized, challenge + `, error="invalid_token",`, "issuer"},
		{"signed by another key", iss.ForeignToken(t, good), http.StatusUnauthorized, challenge + `, error="invalid_token",`, "signature"},
		{"alg none", iss.UnsignedToken(good), http.StatusUnauthorized, challenge + `, error="invalid_token",`, "malformed"},
		{"missing scope", iss.Token(t, with(func(c *oauthtest.Claims) { c.Scope = "other" })), http.StatusForbidden,
			`Bearer error="insufficient_scope", scope="mcp", resource_metadata="` + metadataURL + `"`, "insufficient_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := doAuth(t, http.MethodPost, l.h.URL(), "", acceptJSON, initializeMsg("1"), tt.token)
			body := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			got := resp.Header.Get("WWW-Authenticate")
			if prefix, ok := strings.CutSuffix(tt.header, ","); ok {
				if !strings.HasPrefix(got, prefix+", error_description=") {
					t.Errorf("WWW-Authenticate %s\nwant prefix %s", got, prefix)
				}
			} else if got != tt.header {
				t.Errorf("WWW-Authenticate %s\nwant %s", got, tt.header)
			}
			checkNoToken(t, resp, body, tt.token)
			if tt.reason != "" && !slices.Contains(l.refusals(), tt.reason) {
				t.Errorf("refusals %q lack %q", l.refusals(), tt.reason)
			}
		})
	}
}

// TestOAuthKeyRotation: a token signed with the issuer's new key works as
// soon as the issuer publishes it.
func TestOAuthKeyRotation(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, func(o *oauthrs.Options, _ *HTTPOptions) { o.RefetchEvery = time.Nanosecond })
	l.initialize(t, l.token(t, "alice", "mcp"))
	l.iss.Rotate(t)
	l.initialize(t, l.token(t, "alice", "mcp"))
	if n := l.iss.JWKSFetches(); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
}

// TestOAuthIntrospection: opaque tokens are checked at the introspection
// endpoint the issuer's metadata names.
func TestOAuthIntrospection(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	good := oauthtest.Claims{Subject: "bob", Audience: []string{resourceURI}, Scope: "mcp"}
	l.initialize(t, l.iss.Opaque(good, false))
	for name, token := range map[string]string{
		"inactive":       l.iss.Opaque(good, true),
		"wrong audience": l.iss.Opaque(oauthtest.Claims{Subject: "bob", Audience: []string{"https://x.example"}, Scope: "mcp"}, false),
	} {
		resp := doAuth(t, http.MethodPost, l.h.URL(), "", acceptJSON, initializeMsg("1"), token)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %d %q %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		checkNoToken(t, resp, body, token)
	}
}

func TestOAuthMetadata(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, func(o *oauthrs.Options, _ *HTTPOptions) { o.ResourceName = "Team MCP" })
	want := `{"authorization_servers":["` + l.iss.URL + `"],"bearer_methods_supported":["header"],` +
		`"resource":"` + resourceURI + `","resource_name":"Team MCP","scopes_supported":["mcp","mcp:github"]}`
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp := do(t, http.MethodGet, endpointURL(l.h, path), "", "", "")
		body := readAll(t, resp)
		var doc map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if got, _ := json.Marshal(doc); string(got) != want {
			t.Errorf("GET %s:\n got %s\nwant %s", path, got, want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, endpointURL(l.h, "/.well-known/oauth-protected-resource"), nil)
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign Origin got %d", resp.StatusCode)
	}
}

// callTool is a tools/call of name; the subtests below share one session
// and run at once, so each needs its own id.
func callTool(id, name string) string { return callMsg(id, name, `{}`, "") }

// TestOAuthServerScopes: a call that would reach a server needs that
// server's scopes; the proxy's own methods and other servers do not.
func TestOAuthServerScopes(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	basic := l.token(t, "alice", "mcp")
	session := l.initialize(t, basic)
	const stepUp = `Bearer error="insufficient_scope", scope="mcp mcp:github", resource_metadata="` + metadataURL + `"`
	tests := []struct {
		name, token, msg string
		status           int
	}{
		{"other server", basic, callTool("7", "mcp__proxy__srv__echo"), http.StatusOK},
		{"list", basic, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, http.StatusOK},
		{"server needing a scope", basic, callTool("8", "mcp__proxy__github__issues"), http.StatusForbidden},
		{"in a batch", basic, `[` + callTool("9", "mcp__proxy__srv__echo") + `,` + callTool("10", "mcp__proxy__github__issues") + `]`, http.StatusForbidden},
		{"with the scope, same subject", l.token(t, "alice", "mcp mcp:github"), callTool("11", "mcp__proxy__github__issues"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := doAuth(t, http.MethodPost, l.h.URL(), session, acceptJSON, tt.msg, tt.token)
			body := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == http.StatusForbidden {
				if got := resp.Header.Get("WWW-Authenticate"); got != stepUp {
					t.Errorf("WWW-Authenticate %s\nwant %s", got, stepUp)
				}
				return
			}
			if jsonrpc.Get(body, "error") != nil {
				t.Errorf("answer %s", body)
			}
		})
	}
}

// TestOAuthSessionBinding: a session opened with one subject's token is
// not found with another's, over streamable HTTP and HTTP+SSE.
func TestOAuthSessionBinding(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	alice, bob := l.token(t, "alice", "mcp"), l.token(t, "bob", "mcp")
	session := l.initialize(t, alice)
	if resp := doAuth(t, http.MethodPost, l.h.URL(), session, acceptJSON, callTool("7", "mcp__proxy__srv__echo"), bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob continued alice's session: %d", resp.StatusCode)
	}
	if resp := doAuth(t, http.MethodDelete, l.h.URL(), session, "", "", bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob deleted alice's session: %d", resp.StatusCode)
	}
	if resp := doAuth(t, http.MethodPost, l.h.URL(), session, acceptJSON, callTool("7", "mcp__proxy__srv__echo"), alice); resp.StatusCode != http.StatusOK {
		t.Errorf("alice's own session: %d", resp.StatusCode)
	}

	events, endpoint, _ := openSSEWith(t, l.h, alice)
	if resp := doAuth(t, http.MethodPost, endpoint, "", "", legacyInitialize, bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob posted to alice's SSE session: %d", resp.StatusCode)
	}
	if resp := doAuth(t, http.MethodPost, endpoint, "", "", legacyInitialize, alice); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alice's own SSE session: %d", resp.StatusCode)
	}
	if msg := nextMessage(t, events, "the initialize answer"); jsonrpc.Get(msg, "result") == nil {
		t.Errorf("answer %s", msg)
	}
	// A server-scoped call on the legacy transport is refused on its POST.
	resp := doAuth(t, http.MethodPost, endpoint, "", "", callTool("7", "mcp__proxy__github__issues"), alice)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="mcp mcp:github"`) {
		t.Errorf("SSE call to github: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestOAuthEveryEndpoint: HTTP+SSE, WebSocket and metrics want a token as
// streamable HTTP does; the static auth_token, when set, still opens
// them all.
func TestOAuthEveryEndpoint(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	token := l.token(t, "alice", "mcp")
	for _, url := range []string{l.h.SSEURL(), endpointURL(l.h, "/message?sessionId=x"), l.h.MetricsURL(), l.h.URL()} {
		resp := do(t, http.MethodGet, url, "", acceptSSE, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="`) {
			t.Errorf("GET %s without a token: %d %q", url, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if _, resp, err := dialWS(t, l.h, &websocket.DialOptions{Subprotocols: []string{"mcp"}}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WebSocket without a token: %v", err)
	}
	if resp := doAuth(t, http.MethodGet, l.h.MetricsURL(), "", "", "", token); resp.StatusCode != http.StatusOK {
		t.Errorf("metrics with a token: %d", resp.StatusCode)
	}

	const static = "static-operator-token"
	op := startOAuth(t, func(_ *oauthrs.Options, h *HTTPOptions) { h.AuthToken = static })
	op.initialize(t, static)
	if resp := doAuth(t, http.MethodGet, op.h.MetricsURL(), "", "", "", static); resp.StatusCode != http.StatusOK {
		t.Errorf("metrics with auth_token: %d", resp.StatusCode)
	}
	if resp := doAuth(t, http.MethodGet, op.h.MetricsURL(), "", "", "", op.token(t, "alice", "mcp")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics behind auth_token took an access token: %d", resp.StatusCode)
	}
}

// TestOAuthWebSocket: the token is checked at the upgrade, server scopes
// per message, and the connection ends when the token expires.
func TestOAuthWebSocket(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	dial := func(token string) *websocket.Conn {
		c, _, err := dialWS(t, l.h, &websocket.DialOptions{
			Subprotocols: []string{"mcp"}, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return c
	}
	c := dial(l.token(t, "alice", "mcp"))
	writeWS(t, c, initializeMsg("1"))
	readWS(t, c, "the initialize answer")
	writeWS(t, c, callTool("7", "mcp__proxy__github__issues"))
	denied := readWS(t, c, "the refusal")
	if got := string(jsonrpc.Get(denied, "error.data.scope")); got != `["mcp","mcp:github"]` {
		t.Errorf("refusal %s", denied)
	}
	writeWS(t, c, callTool("7", "mcp__proxy__srv__echo"))
	if msg := readWS(t, c, "the echo"); jsonrpc.Get(msg, "result") == nil {
		t.Errorf("answer %s", msg)
	}

	short := l.iss.Token(t, oauthtest.Claims{Subject: "alice", Audience: []string{resourceURI}, Scope: "mcp", Expiry: time.Now().Add(time.Second)})
	if got := readClose(t, dial(short)); got != websocket.StatusPolicyViolation {
		t.Errorf("close status %v when the token expired", got)
	}
}

// TestOAuthListsPerToken: a token sees in the lists only the servers it
// may use; once the client steps up its scopes, it sees them all.
func TestOAuthListsPerToken(t *testing.T) {
	t.Parallel()
	l := startOAuth(t, nil)
	session := l.initialize(t, l.token(t, "alice", "mcp"))
	for _, tc := range []struct {
		scope string
		want  string
	}{
		{"mcp", `["mcp__proxy__srv__echo"]`},
		{"mcp mcp:github", `["mcp__proxy__github__issues","mcp__proxy__srv__echo"]`},
	} {
		resp := doAuth(t, http.MethodPost, l.h.URL(), session, acceptJSON, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, l.token(t, "alice", tc.scope))
		body := readAll(t, resp)
		var names []string
		if err := json.Unmarshal(jsonrpc.Get(body, "result.tools.#.name"), &names); err != nil {
			t.Fatalf("scope %q: %d %s", tc.scope, resp.StatusCode, body)
		}
		slices.Sort(names)
		if got, _ := json.Marshal(names); string(got) != tc.want {
			t.Errorf("scope %q lists %s, want %s", tc.scope, got, tc.want)
		}
	}
}

// TestOAuthLogsNoSecrets: refused tokens are logged by reason, at trace
// level too, without the token or the introspection secret.
func TestOAuthLogsNoSecrets(t *testing.T) {
	t.Parallel()
	logs := &syncbuf.Buffer{}
	l := startOAuth(t, func(_ *oauthrs.Options, h *HTTPOptions) {
		h.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})
	})
	expired := l.iss.Token(t, oauthtest.Claims{Subject: "alice", Audience: []string{resourceURI}, Scope: "mcp", Expiry: time.Now().Add(-time.Hour)})
	inactive := l.iss.Opaque(oauthtest.Claims{Subject: "alice", Audience: []string{resourceURI}}, true)
	for _, token := range []string{expired, inactive, l.iss.ForeignToken(t, oauthtest.Claims{Subject: "alice"})} {
		resp := doAuth(t, http.MethodPost, l.h.URL(), "", acceptJSON, initializeMsg("1"), token)
		readAll(t, resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if out := logs.String(); strings.Contains(out, token) {
			t.Errorf("the log holds a token:\n%s", out)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "access token refused") || !strings.Contains(out, "reason=expired") {
		t.Errorf("refusals not logged:\n%s", out)
	}
	if strings.Contains(out, l.iss.ClientSecret) {
		t.Errorf("the log holds the introspection secret:\n%s", out)
	}
}
