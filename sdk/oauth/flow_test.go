package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// TestDiscovery signs in through each way of finding the authorization
// server, then makes the call, and checks where the client looked.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func(c *worldConfig)
		// wantFetched are metadata paths the client must have read, in
		// this order.
		wantFetched []string
		// notFetched must not have been asked for.
		notFetched []string
	}{
		{"resource metadata from the challenge", func(c *worldConfig) { c.prmPath = "/custom/prm.json" },
			[]string{"/custom/prm.json", "/.well-known/oauth-authorization-server/as"}, []string{"/.well-known/oauth-protected-resource/mcp"}},
		{"resource metadata at the path well-known", func(c *worldConfig) { c.prmInHeader = false },
			[]string{"/.well-known/oauth-protected-resource/mcp"}, []string{"/.well-known/oauth-protected-resource"}},
		{"resource metadata at the root well-known", func(c *worldConfig) { c.prmInHeader, c.prmPath = false, "/.well-known/oauth-protected-resource" },
			[]string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}, nil},
		{"OpenID path-inserted", func(c *worldConfig) { c.asMetadataPath = "/.well-known/openid-configuration/as" },
			[]string{"/.well-known/oauth-authorization-server/as", "/.well-known/openid-configuration/as"}, []string{"/.well-known/oauth-authorization-server"}},
		{"OpenID appended", func(c *worldConfig) { c.asMetadataPath = "/as/.well-known/openid-configuration" },
			[]string{"/.well-known/oauth-authorization-server/as", "/.well-known/openid-configuration/as", "/as/.well-known/openid-configuration"}, []string{"/.well-known/oauth-authorization-server"}},
		{"issuer at the origin", func(c *worldConfig) { c.issuerPath, c.asMetadataPath = "", "/.well-known/oauth-authorization-server" },
			[]string{"/.well-known/oauth-authorization-server"}, nil},
		{"2025-03-26: metadata at the server's origin", func(c *worldConfig) {
			c.prmPath, c.prmInHeader, c.asMetadataPath = "", false, "/.well-known/oauth-authorization-server"
		}, []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server"}, nil},
		{"2025-03-26: default endpoints", func(c *worldConfig) {
			c.prmPath, c.prmInHeader, c.asMetadataPath, c.issuerPath = "", false, "", ""
		}, []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/register", "/authorize", "/token"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			tt.cfg(&cfg)
			w, c := worldAndClient(t, cfg, browser())
			mustCall(t, c, w.mcpURL(), "initialize")
			paths := w.paths()
			i := 0
			for _, p := range paths {
				if i < len(tt.wantFetched) && p == tt.wantFetched[i] {
					i++
				}
			}
			if i < len(tt.wantFetched) {
				t.Errorf("the client asked for %q; want %q among them in this order", paths, tt.wantFetched)
			}
			for _, p := range tt.notFetched {
				if slices.Contains(paths, p) {
					t.Errorf("the client asked for %s; it should have stopped before", p)
				}
			}
			tok := w.seenAt(cfg.issuerPath + "/token")
			if len(tok) != 1 || tok[0].form.Get("resource") != w.mcpURL() {
				t.Errorf("token requests %+v; want one with resource=%s", tok, w.mcpURL())
			}
		})
	}
}

// TestResourceMismatchRefused: metadata naming another resource stops
// the sign-in before any authorization request (RFC 9728 §3.3).
func TestResourceMismatchRefused(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.prmResource = "https://evil.example.com/mcp"
	w, c := worldAndClient(t, cfg, browser())
	_, err := call(context.Background(), c, w.mcpURL(), "initialize")
	if err == nil || !strings.Contains(err.Error(), "evil.example.com") {
		t.Fatalf("call: %v; want an error naming the mismatched resource", err)
	}
	if n := len(w.seenAt("/as/authorize")) + len(w.seenAt("/as/register")); n != 0 {
		t.Errorf("the client went on to register or authorize (%d requests)", n)
	}
}

// TestRegistration covers the three ways a client gets its id.
func TestRegistration(t *testing.T) {
	t.Parallel()
	const cimd = "https://client.example.com/mcphost.json"
	tests := []struct {
		name       string
		settings   func(*oauth.Settings)
		asMetadata map[string]any
		dcr        map[string]any
		wantClient string
		wantDCR    bool
	}{
		{"pre-registered", func(s *oauth.Settings) { s.ClientID, s.ClientSecret = "pre", "pre-secret" },
			map[string]any{"token_endpoint_auth_methods_supported": []string{"client_secret_basic"}}, nil, "pre", false},
		{"client ID metadata document", func(s *oauth.Settings) { s.ClientMetadataURL = cimd },
			map[string]any{"client_id_metadata_document_supported": true}, map[string]any{"client_id": "dcr-client"}, cimd, false},
		{"metadata document not supported: dynamic registration", func(s *oauth.Settings) { s.ClientMetadataURL = cimd },
			nil, map[string]any{"client_id": "dcr-client"}, "dcr-client", true},
		{"dynamic registration", func(*oauth.Settings) {}, nil, map[string]any{"client_id": "dcr-client"}, "dcr-client", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			cfg.asMetadata, cfg.dcr = tt.asMetadata, tt.dcr
			w := newWorld(t, cfg)
			s := browser()
			tt.settings(&s)
			c, _ := newClient(t, w, s, nil)
			for range 2 {
				// The second sign-in reuses the registration.
				login(t, c)
			}
			auths := w.seenAt("/as/authorize")
			if len(auths) != 2 || auths[0].query.Get("client_id") != tt.wantClient || auths[1].query.Get("client_id") != tt.wantClient {
				t.Errorf("authorization requests %+v; want two with client_id %s", auths, tt.wantClient)
			}
			regs := w.seenAt("/as/register")
			if !tt.wantDCR {
				if len(regs) != 0 {
					t.Errorf("the client registered dynamically: %+v", regs)
				}
				return
			}
			if len(regs) != 1 {
				t.Fatalf("%d registrations; want 1, reused by the second sign-in", len(regs))
			}
			b := regs[0].body
			redirects, _ := b["redirect_uris"].([]any)
			if b["client_name"] != "mcphost" || b["token_endpoint_auth_method"] != "none" ||
				!reflect.DeepEqual(b["grant_types"], []any{"authorization_code", "refresh_token"}) ||
				len(redirects) != 1 || !strings.HasPrefix(fmt.Sprint(redirects[0]), "http://127.0.0.1:") || !strings.HasSuffix(fmt.Sprint(redirects[0]), "/callback") {
				t.Errorf("registration request %v", b)
			}
			if got := auths[0].query.Get("redirect_uri"); got != redirects[0] {
				t.Errorf("authorization redirect_uri %s, registered %s", got, redirects[0])
			}
		})
	}
}

// TestTokenEndpointAuthMethods: the client authenticates as the server
// supports, and the server sees that.
func TestTokenEndpointAuthMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method     string
		configured string
		dcr        map[string]any
	}{
		{method: "client_secret_basic", dcr: map[string]any{"client_id": "id:1", "client_secret": "s&cret"}},
		{method: "client_secret_post", dcr: map[string]any{"client_id": "id:1", "client_secret": "s&cret"}},
		{method: "none", dcr: map[string]any{"client_id": "id:1", "client_secret": "s&cret"}},
		{method: "none", dcr: map[string]any{"client_id": "id:1"}},
		// The registration's answer decides, over the server's list.
		{method: "client_secret_post", dcr: map[string]any{"client_id": "id:1", "client_secret": "s&cret", "token_endpoint_auth_method": "client_secret_post"}},
		// Settings decide over both.
		{method: "client_secret_basic", configured: "client_secret_basic", dcr: map[string]any{"client_id": "id:1", "client_secret": "s&cret", "token_endpoint_auth_method": "client_secret_post"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.method, " ", tt.dcr["token_endpoint_auth_method"], tt.configured, len(tt.dcr)), func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			cfg.dcr = tt.dcr
			supported := []string{tt.method}
			if tt.dcr["token_endpoint_auth_method"] != nil {
				supported = []string{"client_secret_basic", "client_secret_post", "none"}
			}
			cfg.asMetadata = map[string]any{"token_endpoint_auth_methods_supported": supported}
			s := browser()
			s.TokenAuthMethod = tt.configured
			_, reqs := getAndRenew(t, cfg, s)
			for _, r := range reqs {
				user, pass, basic := (&http.Request{Header: http.Header{"Authorization": {r.auth}}}).BasicAuth()
				var got string
				switch {
				case basic:
					got = "client_secret_basic"
					if u, _ := url.QueryUnescape(user); u != "id:1" {
						t.Errorf("basic auth user %q", user)
					}
					if p, _ := url.QueryUnescape(pass); p != "s&cret" {
						t.Errorf("basic auth password is not the secret, form-encoded")
					}
					if r.form.Has("client_secret") {
						t.Error("client_secret in the form as well as in the header")
					}
				case r.form.Has("client_secret"):
					got = "client_secret_post"
					if r.form.Get("client_id") != "id:1" || r.form.Get("client_secret") != "s&cret" {
						t.Errorf("form client_id=%q and the wrong secret", r.form.Get("client_id"))
					}
				default:
					got = "none"
					if r.form.Get("client_id") != "id:1" {
						t.Errorf("public client sent client_id=%q", r.form.Get("client_id"))
					}
				}
				if got != tt.method {
					t.Errorf("%s request authenticated with %s; want %s", r.form.Get("grant_type"), got, tt.method)
				}
			}
		})
	}
}

// TestPKCEAndResource: S256 PKCE whose verifier matches its challenge, and
// the resource parameter on the authorization request, the code exchange
// and the refresh.
func TestPKCEAndResource(t *testing.T) {
	t.Parallel()
	w, tokens := getAndRenew(t, standard(), browser())
	auth := w.seenAt("/as/authorize")
	if len(auth) != 1 {
		t.Fatalf("%d authorization requests; want 1", len(auth))
	}
	q := auth[0].query
	sum := sha256.Sum256([]byte(tokens[0].form.Get("code_verifier")))
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("code_challenge %q (%s) does not match the verifier", q.Get("code_challenge"), q.Get("code_challenge_method"))
	}
	if v := tokens[0].form.Get("code_verifier"); len(v) < 43 {
		t.Errorf("code_verifier %d characters; RFC 7636 wants 43 or more", len(v))
	}
	if q.Get("state") == "" || q.Get("response_type") != "code" {
		t.Errorf("authorization request without state or response_type=code: %v", q)
	}
	for i, got := range []string{q.Get("resource"), tokens[0].form.Get("resource"), tokens[1].form.Get("resource")} {
		if got != w.mcpURL() {
			t.Errorf("request %d has resource %q; want %s", i, got, w.mcpURL())
		}
	}
	if tokens[1].form.Get("grant_type") != "refresh_token" {
		t.Errorf("the second token request is %q, want a refresh", tokens[1].form.Get("grant_type"))
	}
}

// TestConcurrentRefresh: many callers of a token about to expire share
// one refresh.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.expiresIn = 3600
	cfg.refreshGate = make(chan struct{})
	// The sign-in itself does not refresh, so the gate does not hold it.
	w, clk, c, _ := signedIn(t, cfg, browser())
	before, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(3600*time.Second - 30*time.Second)

	const callers = 16
	var started, done sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			tokens[i], errs[i] = c.Token(context.Background())
		}()
	}
	started.Wait()
	close(cfg.refreshGate)
	done.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] == before || tokens[i] != tokens[0] {
			t.Errorf("caller %d got %q, %v; want the one new token %q", i, tokens[i], errs[i], tokens[0])
		}
	}
	if n := len(w.seenAt("/as/token")); n != 2 {
		t.Errorf("%d token requests; want the code exchange and one refresh", n)
	}
}

// TestConcurrentSignInOnce: many calls challenged at once lead to one
// sign-in, and all of them go through.
func TestConcurrentSignInOnce(t *testing.T) {
	t.Parallel()
	w, c := worldAndClient(t, standard(), browser())
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := call(context.Background(), c, w.mcpURL(), "tools/list")
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%s", resp.Status)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(w.seenAt("/as/authorize")); n != 1 {
		t.Errorf("%d sign-ins; want 1", n)
	}
}

// TestRefreshMargin: a token is refreshed a tenth of its life (at most a
// minute) before it expires, not sooner.
func TestRefreshMargin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		life                int
		early, late         time.Duration
		wantEarly, wantLate bool
	}{
		{life: 3600, early: 3600*time.Second - 61*time.Second, late: 3600*time.Second - 59*time.Second},
		{life: 100, early: 89 * time.Second, late: 91 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.life), func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			cfg.expiresIn = tt.life
			_, clk, c, _ := signedIn(t, cfg, browser())
			first, _ := c.Token(context.Background())
			clk.Add(tt.early)
			if got, err := c.Token(context.Background()); err != nil || got != first {
				t.Errorf("at %v of %ds: token %q, %v; want the first one still", tt.early, tt.life, got, err)
			}
			clk.Add(tt.late - tt.early)
			if got, err := c.Token(context.Background()); err != nil || got == first {
				t.Errorf("at %v of %ds: token %q, %v; want a refreshed one", tt.late, tt.life, got, err)
			}
		})
	}
}

// TestInvalidGrantNeedsLogin: a refused refresh token means a person must
// sign in again; the registration is kept, the tokens are not.
func TestInvalidGrantNeedsLogin(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.refreshRefused = true
	s := browser()
	s.SignIn = oauth.SignInCommand
	w, clk, c, store := signedIn(t, cfg, s)
	clk.Add(2 * time.Hour)
	_, err := c.Token(context.Background())
	var nle *oauth.NeedsLoginError
	if !errors.As(err, &nle) || nle.Server != "srv" || !strings.Contains(err.Error(), "mcphost auth login srv") || !strings.HasPrefix(err.Error(), oauth.NeedsLoginPrefix) {
		t.Fatalf("Token after a refused refresh: %v; want a NeedsLoginError for srv", err)
	}
	rec, err := store.Load(oauth.Key("srv", w.mcpURL()))
	if err != nil || rec.ClientID != "dcr-client" || rec.AccessToken != "" || rec.RefreshToken != "" {
		t.Fatalf("record after invalid_grant: %v, %v; want the client kept and the tokens gone", rec, err)
	}
	// Through the transport (sign-in "command"), the caller gets the
	// same error rather than a 401.
	_, err = call(context.Background(), c, w.mcpURL(), "tools/list")
	if !errors.As(err, &nle) {
		t.Fatalf("call: %v; want a NeedsLoginError", err)
	}
	st, err := c.Status()
	if err != nil || st.SignedIn || st.ClientID != "dcr-client" {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

// TestRefreshNetworkFailureKeepsToken: when the authorization server is
// unreachable, a token that is still valid is used and kept, and an
// expired one is not thrown away with its refresh token.
func TestRefreshNetworkFailureKeepsToken(t *testing.T) {
	t.Parallel()
	w, clk, c, store := signedIn(t, standard(), browser())
	first, _ := c.Token(context.Background())
	w.tokenDown.Store(true)
	clk.Add(3600*time.Second - 30*time.Second)
	if got, err := c.Token(context.Background()); err != nil || got != first {
		t.Fatalf("Token in the margin, server down: %q, %v; want the old token", got, err)
	}
	clk.Add(time.Minute)
	_, err := c.Token(context.Background())
	var nle *oauth.NeedsLoginError
	if err == nil || errors.As(err, &nle) {
		t.Fatalf("Token when expired and the server is down: %v; want a plain error", err)
	}
	rec, err := store.Load(oauth.Key("srv", w.mcpURL()))
	if err != nil || rec.RefreshToken == "" {
		t.Fatalf("the refresh token was dropped: %v, %v", rec, err)
	}
	w.tokenDown.Store(false)
	if got, err := c.Token(context.Background()); err != nil || got == first || got == "" {
		t.Fatalf("Token once the server is back: %q, %v; want a new token", got, err)
	}
}

// TestScopes: the scopes of the sign-in come from the challenge, else the
// resource's scopes_supported, else none; settings override.
func TestScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		challenge string
		prm       []string
		asScopes  []string
		settings  []string
		want      string
		omitted   bool
	}{
		{name: "from the challenge", challenge: "a b", prm: []string{"x"}, want: "a b"},
		{name: "from scopes_supported", prm: []string{"x", "y"}, want: "x y"},
		{name: "omitted", omitted: true},
		{name: "settings override", challenge: "a", settings: []string{"s"}, want: "s"},
		{name: "offline_access where offered", prm: []string{"x"}, asScopes: []string{"x", "offline_access"}, want: "x offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			cfg.challengeScope, cfg.prmScopes = tt.challenge, tt.prm
			if tt.asScopes != nil {
				cfg.asMetadata = map[string]any{"scopes_supported": tt.asScopes}
			}
			w := newWorld(t, cfg)
			s := browser()
			s.Scopes = tt.settings
			c, _ := newClient(t, w, s, nil)
			mustCall(t, c, w.mcpURL(), "initialize")
			auth := w.seenAt("/as/authorize")
			if len(auth) != 1 {
				t.Fatalf("%d authorization requests", len(auth))
			}
			if tt.omitted {
				if auth[0].query.Has("scope") {
					t.Errorf("scope %q sent; want it omitted", auth[0].query.Get("scope"))
				}
				return
			}
			if got := auth[0].query.Get("scope"); got != tt.want {
				t.Errorf("scope %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStepUp: a 403 insufficient_scope leads to a new sign-in with the
// union of scopes, and the call goes through.
func TestStepUp(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.challengeScope, cfg.required, cfg.toolScopes = "read", []string{"read"}, []string{"write"}
	w, c := worldAndClient(t, cfg, browser())
	mustCall(t, c, w.mcpURL(), "tools/list")
	mustCall(t, c, w.mcpURL(), "tools/call")
	auth := w.seenAt("/as/authorize")
	if len(auth) != 2 || auth[0].query.Get("scope") != "read" || auth[1].query.Get("scope") != "read write" {
		t.Fatalf("authorization requests %+v; want scope read, then read write", auth)
	}
	st, err := c.Status()
	if err != nil || !reflect.DeepEqual(st.Scopes, []string{"read", "write"}) {
		t.Errorf("Status = %+v, %v; want scopes read write", st, err)
	}

	// The server forgets the token and the refresh token fails: the
	// new sign-in asks for what the step-up had won, not just the
	// challenge's scope, so the call needs no second step-up.
	w.mu.Lock()
	clear(w.access)
	w.cfg.refreshRefused = true
	w.mu.Unlock()
	mustCall(t, c, w.mcpURL(), "tools/call")
	auth = w.seenAt("/as/authorize")
	if len(auth) != 3 || auth[2].query.Get("scope") != "read write" {
		t.Fatalf("authorization requests %+v; want a third for read write", auth)
	}
}

// TestStepUpBounded: a server that keeps asking for scope gets a bounded
// number of sign-ins, and one that asks again for scope the token has
// gets no more.
func TestStepUpBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       func(*worldConfig)
		wantAuths int
		// wantStatus is the answer the caller gets; 0 for an error.
		wantStatus int
	}{
		// 401 → sign-in (admin) → 403 for admin, which the token has.
		{"the same scope again", func(c *worldConfig) {
			c.challengeScope, c.required, c.alwaysForbid = "admin", []string{"admin"}, true
		}, 1, 0},
		// 401 → sign-in → 403 extra1 → sign-in → 403 extra2: the
		// caller gets that 403.
		{"always a new scope", func(c *worldConfig) { c.escalate = true }, 2, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			tt.cfg(&cfg)
			w, c := worldAndClient(t, cfg, browser())
			resp, err := call(context.Background(), c, w.mcpURL(), "tools/call")
			switch {
			case tt.wantStatus == 0 && (err == nil || !strings.Contains(err.Error(), "insufficient scope")):
				t.Errorf("call: %v, %v; want an error saying the scope does not help", resp, err)
			case tt.wantStatus != 0 && (err != nil || resp.StatusCode != tt.wantStatus):
				t.Errorf("call: %v, %v; want the server's %d", resp, err, tt.wantStatus)
			}
			if n := len(w.seenAt("/as/authorize")); n != tt.wantAuths {
				t.Errorf("%d sign-ins for one request; want %d", n, tt.wantAuths)
			}
		})
	}
}

// TestStateAndIssuerChecked: a redirect with another state, or from
// another issuer where the server promises iss (RFC 9207), is refused.
func TestStateAndIssuerChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     func(w *worldConfig)
		wantErr string
	}{
		{"state mismatch", func(c *worldConfig) { c.tamperState = true }, "state"},
		{"wrong iss", func(c *worldConfig) {
			c.asMetadata = map[string]any{"authorization_response_iss_parameter_supported": true}
			c.iss = "https://evil.example.com"
		}, "iss"},
		{"missing iss", func(c *worldConfig) {
			c.asMetadata = map[string]any{"authorization_response_iss_parameter_supported": true}
		}, "iss"},
		{"iss not promised is not checked", func(c *worldConfig) { c.iss = "https://whatever.example.com" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := standard()
			tt.cfg(&cfg)
			w, c := worldAndClient(t, cfg, browser())
			err := c.Login(context.Background(), oauth.LoginOptions{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Login: %v; want an error about %s", err, tt.wantErr)
			}
			if n := len(w.seenAt("/as/token")); n != 0 {
				t.Errorf("the code was exchanged (%d token requests)", n)
			}
		})
	}
}

// TestIssuerWithCorrectISS: the iss check passes for the right issuer.
func TestIssuerWithCorrectISS(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.asMetadata = map[string]any{"authorization_response_iss_parameter_supported": true}
	w := newWorld(t, cfg)
	w.cfg.iss = w.issuer()
	c, _ := newClient(t, w, browser(), nil)
	login(t, c)
}

// TestClientCredentials: machine to machine, no person: the token comes
// from the client-credentials grant, with resource, and is renewed the
// same way.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.dcr = nil
	cfg.challengeScope = "m2m"
	cfg.asMetadata = map[string]any{"token_endpoint_auth_methods_supported": []string{"client_secret_basic"}, "grant_types_supported": []string{"client_credentials"}}
	s := oauth.Settings{OAuth: "auto", Grant: oauth.GrantClientCredentials, ClientID: "machine", ClientSecret: "machine-secret", SignIn: oauth.SignInCommand}
	w, reqs := getAndRenew(t, cfg, s)
	for _, r := range reqs {
		user, pass, ok := (&http.Request{Header: http.Header{"Authorization": {r.auth}}}).BasicAuth()
		if r.form.Get("grant_type") != "client_credentials" || r.form.Get("resource") != w.mcpURL() || r.form.Get("scope") != "m2m" ||
			!ok || user != "machine" || pass != "machine-secret" {
			t.Errorf("token request %v (basic %v %q); want client_credentials, resource, scope m2m, basic auth", r.form, ok, user)
		}
	}
	if n := len(w.seenAt("/as/authorize")); n != 0 {
		t.Errorf("%d authorization requests for a machine client", n)
	}
}

// TestNoSecretsInErrorsOrPrints: errors, String, %#v and slog never show
// a token, secret, code or verifier, even when the server echoes them.
func TestNoSecretsInErrorsOrPrints(t *testing.T) {
	t.Parallel()
	const secret = "very-secret-value"
	t.Run("code exchange refused", func(t *testing.T) {
		t.Parallel()
		cfg := standard()
		cfg.echoSecrets = true
		cfg.dcr = map[string]any{"client_id": "c", "client_secret": secret}
		cfg.asMetadata = map[string]any{"token_endpoint_auth_methods_supported": []string{"client_secret_post"}}
		w, c := worldAndClient(t, cfg, browser())
		err := c.Login(context.Background(), oauth.LoginOptions{})
		if err == nil {
			t.Fatal("Login succeeded; the server refuses the code")
		}
		tok := w.seenAt("/as/token")
		if len(tok) != 1 {
			t.Fatalf("%d token requests", len(tok))
		}
		for _, s := range []string{secret, tok[0].form.Get("code"), tok[0].form.Get("code_verifier")} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error %q shows a secret", err)
			}
		}
	})
	t.Run("client credentials refused", func(t *testing.T) {
		t.Parallel()
		cfg := standard()
		cfg.echoSecrets = true
		w := newWorld(t, cfg)
		c, _ := newClient(t, w, oauth.Settings{Grant: oauth.GrantClientCredentials, ClientID: "m", ClientSecret: secret}, nil)
		_, err := call(context.Background(), c, w.mcpURL(), "initialize")
		if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("m:"+secret))) {
			t.Errorf("error %v: want one that does not show the secret", err)
		}
	})
	t.Run("prints", func(t *testing.T) {
		t.Parallel()
		rec := oauth.Record{ClientID: "c", ClientSecret: secret + "1", AccessToken: secret + "2", RefreshToken: secret + "3"}
		set := oauth.Settings{ClientID: "c", ClientSecret: secret + "4"}
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "record", rec, "settings", set, "ptr", &rec)
		for _, out := range []string{fmt.Sprint(rec), fmt.Sprintf("%+v", rec), fmt.Sprintf("%#v", rec), fmt.Sprintf("%v", &rec),
			fmt.Sprint(set), fmt.Sprintf("%#v", set), logged.String()} {
			if strings.Contains(out, secret) {
				t.Errorf("printed a secret: %s", out)
			}
		}
		if !strings.Contains(fmt.Sprint(rec), "[redacted]") {
			t.Errorf("String() = %s; want it to say a secret is held", rec)
		}
	})
}

// TestTransportLeaves covers what the transport sends as it is: the
// server's 401 comes back, with no sign-in.
func TestTransportLeaves(t *testing.T) {
	t.Parallel()
	w := newWorld(t, standard())
	tests := []struct {
		name    string
		oauth   string
		request func() *http.Request
	}{
		{"own Authorization header", "auto", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, w.mcpURL(), strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer static")
			return req
		}},
		{"body without GetBody", "auto", func() *http.Request {
			// A reader net/http does not know cannot be replayed.
			req, _ := http.NewRequest(http.MethodPost, w.mcpURL(), struct{ *strings.Reader }{strings.NewReader(`{}`)})
			return req
		}},
		{"oauth off", "off", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, w.mcpURL(), strings.NewReader(`{}`))
			return req
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := browser()
			s.OAuth = tt.oauth
			c, _ := newClient(t, w, s, nil)
			resp, err := (&http.Client{Transport: &oauth.Transport{Client: c}}).Do(tt.request())
			if err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%v, %v; want the server's 401 as it is", resp, err)
			}
			resp.Body.Close()
		})
	}
	if n := len(w.seenAt("/as/authorize")); n != 0 {
		t.Errorf("%d sign-ins", n)
	}
}

// TestCommandModeNeedsLogin: without a token, a "command" client fails
// the call with a NeedsLoginError carrying the scopes to ask for; after
// Login, the call goes through.
func TestCommandModeNeedsLogin(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.challengeScope = "files:read"
	w := newWorld(t, cfg)
	s := browser()
	s.SignIn = oauth.SignInCommand
	c, _ := newClient(t, w, s, nil)
	_, err := call(context.Background(), c, w.mcpURL(), "initialize")
	var nle *oauth.NeedsLoginError
	if !errors.As(err, &nle) || !reflect.DeepEqual(nle.Scopes, []string{"files:read"}) {
		t.Fatalf("call before sign-in: %v; want a NeedsLoginError asking for files:read", err)
	}
	if n := len(w.seenAt("/as/authorize")); n != 0 {
		t.Fatalf("a command-mode client opened the browser")
	}
	login(t, c)
	mustCall(t, c, w.mcpURL(), "initialize")
}

// TestCommandModeStepUp: a step-up only a person can grant fails the call
// with the scopes to ask for, and the next Login (as from `mcphost auth
// login`, another client on the same store) asks for them.
func TestCommandModeStepUp(t *testing.T) {
	t.Parallel()
	cfg := standard()
	cfg.challengeScope, cfg.required, cfg.toolScopes = "read", []string{"read"}, []string{"write"}
	s := browser()
	s.SignIn = oauth.SignInCommand
	w, _, c, store := signedIn(t, cfg, s)
	mustCall(t, c, w.mcpURL(), "tools/list")
	_, err := call(context.Background(), c, w.mcpURL(), "tools/call")
	var nle *oauth.NeedsLoginError
	if !errors.As(err, &nle) || !reflect.DeepEqual(nle.Scopes, []string{"read", "write"}) {
		t.Fatalf("tools/call: %v; want a NeedsLoginError asking for read write", err)
	}
	cli, err := oauth.New(s, oauth.Options{Server: "srv", URL: w.mcpURL(), Store: store, Open: approve})
	if err != nil {
		t.Fatal(err)
	}
	login(t, cli)
	auth := w.seenAt("/as/authorize")
	if len(auth) != 2 || auth[1].query.Get("scope") != "read write" {
		t.Fatalf("authorization requests %+v; want the second for read write", auth)
	}
	mustCall(t, c, w.mcpURL(), "tools/call")
}

// TestLogoutRevokes: Logout revokes both tokens and forgets them.
func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	w, _, c, _ := signedIn(t, standard(), browser())
	st, err := c.Status()
	if err != nil || !st.SignedIn || !st.Refreshing || st.Issuer != w.issuer() || st.ClientID != "dcr-client" || st.Expiry.IsZero() {
		t.Fatalf("Status after sign-in = %+v, %v", st, err)
	}
	if err := c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	revoked := w.seenAt("/as/revoke")
	if len(revoked) != 2 || revoked[0].form.Get("token_type_hint") != "refresh_token" || revoked[1].form.Get("token_type_hint") != "access_token" {
		t.Errorf("revocations %+v; want the refresh and the access token", revoked)
	}
	if st, err := c.Status(); err != nil || st.SignedIn {
		t.Errorf("Status after Logout = %+v, %v", st, err)
	}
	if tok, err := c.Token(context.Background()); tok != "" || err != nil {
		t.Errorf("Token after Logout = %q, %v; want none", tok, err)
	}
}

// TestLoginTimesOut: with nobody at the browser, Login ends with its
// context.
func TestLoginTimesOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, standard())
	store := oauth.FileStore{Dir: t.TempDir()}
	opened := make(chan struct{})
	c, err := oauth.New(browser(), oauth.Options{Server: "srv", URL: w.mcpURL(), Store: store,
		Open: func(context.Context, string) error { close(opened); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Login(ctx, oauth.LoginOptions{}) }()
	<-opened
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Login: %v; want it to end with its context", err)
	}
}
