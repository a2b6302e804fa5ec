//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/host/internal/testenv/authserver"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// oauthOperatorToken is the listener's static auth_token beside its oauth
// block: the operator's credential, which the harness scrapes metrics with.
const oauthOperatorToken = "oauth-e2e-operator"

// oauthProxy is mcphost protected as an OAuth resource server by a test
// authorization server, with two example backends: "ex" (the listener's
// scope mcp:tools is enough) and "admin" (server_scopes asks mcp:admin too).
type oauthProxy struct {
	proxy *proxyProcess
	as    *authserver.Server
	url   string
}

// Clients registered at the authorization server. "stale" gets tokens
// that expired an hour ago, beyond any clock leeway.
// "mcphost" is the proxy's own client, for introspection.
var oauthClients = []authserver.Client{
	{ID: "mcphost", Secret: "mcphost-introspection-secret"},
	{ID: "m2m", Secret: "m2m-secret-value"},
	{ID: "stale", Secret: "stale-secret-value", AccessTokenLifetime: -time.Hour},
	{ID: "public-app", RedirectURIs: []string{"http://127.0.0.1/callback"}},
}

// startOAuthProxy starts an authorization server with opts, and mcphost
// protected by it.
func startOAuthProxy(t *testing.T, opts authserver.Options) *oauthProxy {
	t.Helper()
	opts.Scopes = []string{"mcp:tools", "mcp:admin"}
	as := authserver.Start(t, opts)
	for _, c := range oauthClients {
		if err := as.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	url := "http://" + addr + "/mcp"
	// Debug logging, where refused tokens are logged about: none may show.
	p := startHTTPProxyConfig(t, url, fmt.Sprintf(`
proxy {
  log_level = "debug"
}
listen "http" {
  address    = %q
  auth_token = %q
  oauth {
    issuer        = %q
    audience      = %q
    scopes        = ["mcp:tools"]
    resource_name = "mcphost e2e"
    client_id     = "mcphost"
    client_secret = %q
    server_scopes = {
      admin = ["mcp:admin"]
    }
  }
}
%s%s`, addr, oauthOperatorToken, as.Issuer(), url, oauthClients[0].Secret, exampleServer("ex"), exampleServer("admin")))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("proxy stderr:\n%s", p.Stderr.String())
		}
	})
	return &oauthProxy{proxy: p, as: as, url: url}
}

// clientToken gets a client_credentials token from as for one of
// oauthClients.
func clientToken(t *testing.T, as *authserver.Server, clientID, resource string, scopes ...string) string {
	t.Helper()
	secret := ""
	for _, c := range oauthClients {
		if c.ID == clientID {
			secret = c.Secret
		}
	}
	tok, err := as.ClientCredentialsToken(context.Background(), authserver.TokenRequest{
		ClientID: clientID, ClientSecret: secret, Scopes: scopes, Resource: resource,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// challengeParam matches one auth-param of a WWW-Authenticate challenge.
var challengeParam = regexp.MustCompile(`([a-z_]+)="([^"]*)"`)

// parseChallenge returns the scheme and the params of a Bearer challenge.
func parseChallenge(header string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(header, " ")
	params := map[string]string{}
	for _, m := range challengeParam.FindAllStringSubmatch(rest, -1) {
		params[m[1]] = m[2]
	}
	return scheme, params
}

// TestOAuthSignInAndRefusals proves mcphost as an OAuth 2.1 resource server
// with real parts: a fosite authorization server started by the test, the
// TypeScript SDK v2 client (testdata/oauth-client.mjs) discovering the
// metadata from the 401, registering, signing in and calling a tool
// through the proxy; then raw requests with tokens the authorization
// server issued that must be refused: expired, for another audience,
// signed by another key (401 invalid_token), without the listener's scope
// or a server's scope (403 insufficient_scope).
func TestOAuthSignInAndRefusals(t *testing.T) {
	t.Parallel()
	node := testenv.Node(t)
	clientPkg := filepath.Dir(testenv.NPMModule(t, "@modelcontextprotocol/client/package.json"))
	o := startOAuthProxy(t, authserver.Options{})

	t.Run("metadata", func(t *testing.T) {
		resp, _ := rawHTTP{method: http.MethodPost, body: strings.NewReader(initializeJS)}.do(t, o.url)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no token: status %d, want 401", resp.StatusCode)
		}
		scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
		if scheme != "Bearer" || params["resource_metadata"] != o.metadataURL() || params["scope"] != "mcp:tools" {
			t.Fatalf("challenge %q", resp.Header.Get("WWW-Authenticate"))
		}
		resp, body := rawHTTP{method: http.MethodGet}.do(t, params["resource_metadata"])
		var prm struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			ScopesSupported      []string `json:"scopes_supported"`
		}
		if err := json.Unmarshal(body, &prm); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("metadata: %d %v: %s", resp.StatusCode, err, body)
		}
		if prm.Resource != o.url || !slices.Equal(prm.AuthorizationServers, []string{o.as.Issuer()}) ||
			!slices.Contains(prm.ScopesSupported, "mcp:tools") || !slices.Contains(prm.ScopesSupported, "mcp:admin") {
			t.Errorf("metadata = %+v", prm)
		}
	})

	// The TypeScript client signs in as a dynamically registered client and
	// as a pre-registered public one.
	for _, tc := range []struct {
		name, clientID string
	}{
		{"ts client, dynamic registration", ""},
		{"ts client, pre-registered", "public-app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runOAuthClient(t, node, clientPkg, o.url, o.as.Issuer(), tc.clientID)
			if !got.Challenged || got.Registered != (tc.clientID == "") {
				t.Errorf("challenged %v registered %v, want a challenge and registration %v", got.Challenged, got.Registered, tc.clientID == "")
			}
			auth := got.Authorization
			if auth.Endpoint != o.as.URL()+"/authorize" || auth.Resource != o.url || auth.CodeChallengeMethod != "S256" ||
				!strings.Contains(auth.Scope, "mcp:tools") || (tc.clientID != "" && auth.ClientID != tc.clientID) {
				t.Errorf("authorization request = %+v", auth)
			}
			if got.Token.Type != "bearer" || !got.Token.Refresh {
				t.Errorf("token = %+v", got.Token)
			}
			// Signed in with mcp:tools only, the list shows no tool of the
			// admin server, which needs mcp:admin too.
			adminTool := func(name string) bool { return strings.HasPrefix(name, "mcp__proxy__admin__") }
			if !slices.Contains(got.Tools, "mcp__proxy__ex__echo") || slices.ContainsFunc(got.Tools, adminTool) {
				t.Errorf("tools = %v, want ex's and none of admin's", got.Tools)
			}
			if !got.Call.says("signed in") {
				t.Errorf("call = %+v", got.Call)
			}
			// The admin server's tool needs mcp:admin too: mcphost answers 403
			// insufficient_scope, the SDK asks for both scopes, and the call
			// made again is served.
			up := got.StepUp
			if !up.Challenged || !strings.Contains(up.Scope, "mcp:admin") || !strings.Contains(up.TokenScope, "mcp:admin") || !up.Call.says("signed in") {
				t.Errorf("step-up = %+v", up)
			}
		})
	}
	grants := o.as.Grants()
	signIns, stepUps := 0, 0
	for _, g := range grants {
		if g.Type == "authorization_code" && slices.Equal(g.Audience, []string{o.url}) {
			signIns++
			if slices.Contains(g.Scopes, "mcp:admin") {
				stepUps++
			}
		}
	}
	if signIns != 4 || stepUps != 2 {
		t.Errorf("grants = %+v, want four authorization_code grants for %s, two of them with mcp:admin", grants, o.url)
	}

	// impostor signs with its own key but names the real issuer.
	impostor := authserver.Start(t, authserver.Options{Issuer: o.as.Issuer()})
	if err := impostor.RegisterClient(oauthClients[1]); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"expired":        clientToken(t, o.as, "stale", o.url, "mcp:tools"),
		"wrong audience": clientToken(t, o.as, "m2m", "http://127.0.0.1:1/other", "mcp:tools"),
		"another key":    clientToken(t, impostor, "m2m", o.url, "mcp:tools"),
	}
	o.checkRefused(t, refused)
	o.checkScopes(t)

	t.Run("key rotation", func(t *testing.T) {
		if err := o.as.RotateKey(); err != nil {
			t.Fatal(err)
		}
		token := clientToken(t, o.as, "m2m", o.url, "mcp:tools")
		// mcphost refetches the JWKS for an unknown kid, but at most every
		// 10s (the "another key" token above may just have spent a fetch):
		// the new key must be accepted once that allows.
		poll.Within(t, 30*time.Second, "a token signed by the rotated key accepted", func() error {
			resp, body := rawHTTP{method: http.MethodPost, token: token, body: strings.NewReader(initializeJS)}.do(t, o.url)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("initialize: %d %s", resp.StatusCode, body)
			}
			return nil
		})
	})

	o.checkNoSecretLogged(t, refused)
}

// TestOAuthIntrospectedTokens is TestOAuthSignInAndRefusals' raw
// part with opaque access tokens, which mcphost can only check by
// introspection (RFC 7662), authenticating as its own client: a token for
// this resource with the scope is served; an expired one, one for another
// audience and one the authorization server never issued get 401; missing
// scopes get 403.
func TestOAuthIntrospectedTokens(t *testing.T) {
	t.Parallel()
	o := startOAuthProxy(t, authserver.Options{OpaqueAccessTokens: true})
	t.Run("served", func(t *testing.T) {
		token := clientToken(t, o.as, "m2m", o.url, "mcp:tools")
		if strings.Count(token, ".") == 2 {
			t.Fatalf("the access token looks like a JWT; want an opaque one")
		}
		session := initSession(t, o.url, token)
		call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"mcp__proxy__ex__echo","arguments":{"text":"introspected"}}}`
		resp, body := rawHTTP{method: http.MethodPost, token: token, session: session, body: strings.NewReader(call)}.do(t, o.url)
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("introspected")) || rpcErrorCode(body) != 0 {
			t.Errorf("tools/call: status %d: %s", resp.StatusCode, body)
		}
	})
	refused := map[string]string{
		"expired":        clientToken(t, o.as, "stale", o.url, "mcp:tools"),
		"wrong audience": clientToken(t, o.as, "m2m", "http://127.0.0.1:1/other", "mcp:tools"),
		"never issued":   "ory_at_never-issued.by-this-server",
	}
	o.checkRefused(t, refused)
	o.checkScopes(t)
	o.checkNoSecretLogged(t, refused)
}

// checkRefused sends initialize with each token and expects 401 with an
// invalid_token challenge that points at the resource metadata.
func (o *oauthProxy) checkRefused(t *testing.T, tokens map[string]string) {
	t.Helper()
	for name, token := range tokens {
		t.Run(name, func(t *testing.T) {
			resp, body := rawHTTP{method: http.MethodPost, token: token, body: strings.NewReader(initializeJS)}.do(t, o.url)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, body)
			}
			scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
			if scheme != "Bearer" || params["error"] != "invalid_token" || params["resource_metadata"] != o.metadataURL() {
				t.Errorf("challenge %q, want invalid_token and resource_metadata %s", resp.Header.Get("WWW-Authenticate"), o.metadataURL())
			}
		})
	}
}

// metadataURL is where RFC 9728 puts the protected resource metadata of
// the proxy's URL: the well-known path before the resource's path.
func (o *oauthProxy) metadataURL() string {
	base, path, _ := strings.Cut(strings.TrimPrefix(o.url, "http://"), "/")
	return "http://" + base + "/.well-known/oauth-protected-resource/" + path
}

// checkScopes expects 403 insufficient_scope, naming the scope needed, for
// a token without the listener's scope, and for a call to the "admin"
// server with a token without its server scope; and the call served once
// the token has it.
func (o *oauthProxy) checkScopes(t *testing.T) {
	t.Helper()
	t.Run("missing scope", func(t *testing.T) {
		token := clientToken(t, o.as, "m2m", o.url, "mcp:admin")
		resp, body := rawHTTP{method: http.MethodPost, token: token, body: strings.NewReader(initializeJS)}.do(t, o.url)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403: %s", resp.StatusCode, body)
		}
		_, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
		if params["error"] != "insufficient_scope" || params["scope"] != "mcp:tools" || params["resource_metadata"] != o.metadataURL() {
			t.Errorf("challenge %q", resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("server scopes", func(t *testing.T) {
		callAdmin := func(token string) (*http.Response, []byte) {
			session := initSession(t, o.url, token)
			call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"mcp__proxy__admin__echo","arguments":{"text":"admin"}}}`
			return rawHTTP{method: http.MethodPost, token: token, session: session, body: strings.NewReader(call)}.do(t, o.url)
		}
		resp, body := callAdmin(clientToken(t, o.as, "m2m", o.url, "mcp:tools"))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("admin tool with mcp:tools only: status %d, want 403: %s", resp.StatusCode, body)
		}
		if _, params := parseChallenge(resp.Header.Get("WWW-Authenticate")); params["error"] != "insufficient_scope" || !strings.Contains(params["scope"], "mcp:admin") {
			t.Errorf("challenge %q", resp.Header.Get("WWW-Authenticate"))
		}
		resp, body = callAdmin(clientToken(t, o.as, "m2m", o.url, "mcp:tools", "mcp:admin"))
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"admin"`)) || rpcErrorCode(body) != 0 {
			t.Errorf("admin tool with mcp:admin: status %d: %s", resp.StatusCode, body)
		}
	})
}

// checkNoSecretLogged fails the test if mcphost's log holds one of tokens
// or a client secret.
func (o *oauthProxy) checkNoSecretLogged(t *testing.T, tokens map[string]string) {
	t.Helper()
	stderr := o.proxy.Stderr.String()
	for name, token := range tokens {
		if strings.Contains(stderr, token) {
			t.Errorf("mcphost's log holds the %s token", name)
		}
	}
	for _, c := range oauthClients {
		if c.Secret != "" && strings.Contains(stderr, c.Secret) {
			t.Errorf("mcphost's log holds client %s's secret", c.ID)
		}
	}
}

// oauthClientResult is what testdata/oauth-client.mjs prints.
type oauthClientResult struct {
	Challenged    bool `json:"challenged"`
	Registered    bool `json:"registered"`
	Authorization struct {
		Endpoint            string `json:"endpoint"`
		ClientID            string `json:"client_id"`
		Resource            string `json:"resource"`
		Scope               string `json:"scope"`
		CodeChallengeMethod string `json:"code_challenge_method"`
	} `json:"authorization"`
	Token struct {
		Type    string `json:"type"`
		Scope   string `json:"scope"`
		Refresh bool   `json:"refresh"`
	} `json:"token"`
	Tools  []string   `json:"tools"`
	Call   toolResult `json:"call"`
	StepUp struct {
		Challenged bool       `json:"challenged"`
		Scope      string     `json:"scope"`       // asked for by the second authorization
		TokenScope string     `json:"token_scope"` // granted by it
		Call       toolResult `json:"call"`
	} `json:"step_up"`
}

// toolResult is a tools/call result as the SDK returns it.
type toolResult struct {
	Content []struct {
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
}

// says reports whether r is a success whose one content item is text.
func (r toolResult) says(text string) bool {
	return !r.IsError && len(r.Content) == 1 && r.Content[0].Text == text
}

// runOAuthClient runs testdata/oauth-client.mjs against url as clientID of
// issuer ("" registers dynamically): it calls mcp__proxy__ex__echo, then
// mcp__proxy__admin__echo, which needs a step-up to mcp:admin.
func runOAuthClient(t *testing.T, node, clientPkg, url, issuer, clientID string) oauthClientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "oauth-client.mjs"))
	cmd.Env = append(os.Environ(),
		"MCP_CLIENT="+clientPkg,
		"MCP_URL="+url,
		"CLIENT_ID="+clientID,
		"ISSUER="+issuer,
		"TOOL=mcp__proxy__ex__echo",
		"STEP_UP_TOOL=mcp__proxy__admin__echo",
		`TOOL_ARGS={"text":"signed in"}`,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oauth-client.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var got oauthClientResult
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("oauth-client.mjs output: %v\n%s", err, stdout.String())
	}
	t.Logf("oauth-client.mjs: %s", bytes.TrimSpace(stdout.Bytes()))
	return got
}
