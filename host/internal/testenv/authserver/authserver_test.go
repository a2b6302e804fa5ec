package authserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
)

const (
	testResource = "http://127.0.0.1:9/mcp"
	testRedirect = "http://127.0.0.1/callback"
)

// noRedirects is an HTTP client that returns redirects instead of
// following them, so the test reads the code from the Location header.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomID(32)
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorize sends the user to /authorize with params and returns the
// redirect's query.
func authorize(t *testing.T, as *Server, params url.Values) url.Values {
	t.Helper()
	resp, err := noRedirects.Get(as.URL() + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %s, want a redirect", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("authorize: Location: %v", err)
	}
	return loc.Query()
}

func authorizeParams(clientID, scope string, p pkce) url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {"http://127.0.0.1:43210/callback"},
		"scope":                 {scope},
		"state":                 {"state-" + randomID(8)},
		"code_challenge":        {p.challenge},
		"code_challenge_method": {"S256"},
		"resource":              {testResource},
	}
}

// postToken posts form to /token and decodes the answer.
func postToken(t *testing.T, as *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(as.TokenURL(), form)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token: decode: %v", err)
	}
	return resp.StatusCode, body
}

// signInPublic runs the authorization code flow for a public client and
// returns the token response.
func signInPublic(t *testing.T, as *Server, clientID, scope string) map[string]any {
	t.Helper()
	p := newPKCE()
	params := authorizeParams(clientID, scope, p)
	q := authorize(t, as, params)
	if q.Get("code") == "" {
		t.Fatalf("authorize: no code in redirect: %v", q)
	}
	if q.Get("state") != params.Get("state") {
		t.Fatalf("authorize: state %q, want %q", q.Get("state"), params.Get("state"))
	}
	status, body := postToken(t, as, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {params.Get("redirect_uri")},
		"client_id":     {clientID},
		"code_verifier": {p.verifier},
		"resource":      {testResource},
	})
	if status != http.StatusOK {
		t.Fatalf("token: status %d: %v", status, body)
	}
	return body
}

type claims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
}

// verify checks token's signature against the server's published JWKS and
// returns its claims and kid.
func verify(t *testing.T, as *Server, token string) (claims, string, error) {
	t.Helper()
	resp, err := http.Get(as.JWKSURL())
	if err != nil {
		t.Fatalf("jwks: %v", err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("jwks: decode: %v", err)
	}
	jws, err := jose.ParseSigned(token)
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return claims{}, kid, errUnknownKey
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return claims{}, kid, err
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return c, kid, nil
}

type testError string

func (e testError) Error() string { return string(e) }

const errUnknownKey = testError("kid not in the JWKS")

func introspect(t *testing.T, as *Server, clientID, secret, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, as.IntrospectionURL(), strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("introspect: status %s", resp.Status)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("introspect: decode: %v", err)
	}
	return body
}

func startWithClients(t *testing.T, opts Options, clients ...Client) *Server {
	t.Helper()
	as := Start(t, opts)
	for _, c := range clients {
		if err := as.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	return as
}

var (
	publicClient = Client{ID: "public", RedirectURIs: []string{testRedirect}}
	rsClient     = Client{ID: "rs", Secret: "rs-secret"}
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	as := Start(t, Options{Scopes: []string{"mcp:read", "mcp:write"}})
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			resp, err := http.Get(as.URL() + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var md struct {
				Issuer        string   `json:"issuer"`
				Authorize     string   `json:"authorization_endpoint"`
				Token         string   `json:"token_endpoint"`
				JWKS          string   `json:"jwks_uri"`
				Introspection string   `json:"introspection_endpoint"`
				Registration  string   `json:"registration_endpoint"`
				PKCE          []string `json:"code_challenge_methods_supported"`
				Scopes        []string `json:"scopes_supported"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
				t.Fatal(err)
			}
			if md.Issuer != as.URL() || md.Token != as.TokenURL() || md.JWKS != as.JWKSURL() ||
				md.Introspection != as.IntrospectionURL() || md.Authorize != as.URL()+"/authorize" ||
				md.Registration != as.URL()+"/register" {
				t.Errorf("metadata endpoints = %+v", md)
			}
			if !slices.Equal(md.PKCE, []string{"S256"}) || !slices.Equal(md.Scopes, []string{"mcp:read", "mcp:write"}) {
				t.Errorf("metadata PKCE %v, scopes %v", md.PKCE, md.Scopes)
			}
		})
	}
}

func TestAuthorizationCodeTokenIsBoundToResource(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{Scopes: []string{"mcp:read", "mcp:write"}}, publicClient)
	tok := signInPublic(t, as, "public", "mcp:read mcp:write")
	c, kid, err := verify(t, as, tok["access_token"].(string))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if kid != as.KeyID() {
		t.Errorf("kid %q, want %q", kid, as.KeyID())
	}
	want := claims{Issuer: as.URL(), Subject: TestUser, Audience: []string{testResource}, Scope: "mcp:read mcp:write", ClientID: "public"}
	if c.Issuer != want.Issuer || c.Subject != want.Subject || !slices.Equal(c.Audience, want.Audience) ||
		c.Scope != want.Scope || c.ClientID != want.ClientID {
		t.Errorf("claims = %+v, want %+v", c, want)
	}
	if left := time.Until(time.Unix(c.Expiry, 0)); left < 50*time.Minute || left > time.Hour+time.Minute {
		t.Errorf("exp in %v, want about 1h", left)
	}
	if tok["refresh_token"] == "" || tok["refresh_token"] == nil {
		t.Errorf("no refresh token: %v", tok)
	}
}

func TestRefreshIsRecorded(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{AccessTokenLifetime: 2 * time.Second}, publicClient)
	tok := signInPublic(t, as, "public", "mcp:read")
	status, refreshed := postToken(t, as, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tok["refresh_token"].(string)},
		"client_id":     {"public"},
	})
	if status != http.StatusOK {
		t.Fatalf("refresh: status %d: %v", status, refreshed)
	}
	if refreshed["access_token"] == tok["access_token"] {
		t.Error("refresh returned the same access token")
	}
	if got := refreshed["expires_in"].(float64); got > 2 || got < 1 {
		t.Errorf("expires_in %v, want the 2s lifetime", got)
	}
	c, _, err := verify(t, as, refreshed["access_token"].(string))
	if err != nil {
		t.Fatalf("verify refreshed: %v", err)
	}
	if !slices.Equal(c.Audience, []string{testResource}) || c.Scope != "mcp:read" {
		t.Errorf("refreshed claims = %+v", c)
	}
	grants := as.Grants()
	if len(grants) != 2 || grants[0].Type != "authorization_code" || grants[1].Type != "refresh_token" {
		t.Fatalf("grants = %+v", grants)
	}
	if as.CountGrants("refresh_token") != 1 || grants[1].ClientID != "public" {
		t.Errorf("refresh grant = %+v", grants[1])
	}
}

func TestApproveScopes(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, publicClient)
	as.ApproveScopes("mcp:read")
	tok := signInPublic(t, as, "public", "mcp:read mcp:admin")
	if tok["scope"] != "mcp:read" {
		t.Errorf("scope %v, want only the approved mcp:read", tok["scope"])
	}
}

func TestAuthorizeRejects(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{Scopes: []string{"mcp:read"}}, publicClient)
	tests := []struct {
		name  string
		edit  func(url.Values)
		error string
	}{
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "mcp:admin") }, "invalid_scope"},
		{"relative resource", func(v url.Values) { v.Set("resource", "/mcp") }, "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			params := authorizeParams("public", "mcp:read", newPKCE())
			tt.edit(params)
			q := authorize(t, as, params)
			if q.Get("error") != tt.error || q.Get("code") != "" {
				t.Errorf("redirect query %v, want error %s", q, tt.error)
			}
		})
	}
}

func TestWrongVerifierIsRefused(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, publicClient)
	params := authorizeParams("public", "mcp:read", newPKCE())
	q := authorize(t, as, params)
	status, body := postToken(t, as, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {params.Get("redirect_uri")},
		"client_id":     {"public"},
		"code_verifier": {newPKCE().verifier},
	})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("status %d body %v, want 400 invalid_grant", status, body)
	}
}

func TestClientCredentialsAndIntrospection(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, rsClient, Client{ID: "m2m", Secret: "m2m-secret"})
	ctx := context.Background()
	tok, err := as.ClientCredentialsToken(ctx, TokenRequest{ClientID: "m2m", ClientSecret: "m2m-secret", Scopes: []string{"mcp:read"}, Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := verify(t, as, tok.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.Subject != "m2m" || c.ClientID != "m2m" || !slices.Equal(c.Audience, []string{testResource}) || c.Scope != "mcp:read" {
		t.Errorf("claims = %+v", c)
	}
	if left := time.Until(time.Unix(c.Expiry, 0)); left < 50*time.Minute || left > time.Hour+time.Minute {
		t.Errorf("exp in %v, want about 1h", left)
	}
	got := introspect(t, as, "rs", "rs-secret", tok.AccessToken)
	if got["active"] != true || got["client_id"] != "m2m" || got["scope"] != "mcp:read" {
		t.Errorf("introspection = %v", got)
	}
	if aud, _ := got["aud"].([]any); len(aud) != 1 || aud[0] != testResource {
		t.Errorf("introspected aud = %v", got["aud"])
	}
	if got := introspect(t, as, "rs", "rs-secret", "not-a-token"); got["active"] != false {
		t.Errorf("introspection of garbage = %v", got)
	}
	if g := as.Grants(); len(g) != 1 || g[0].Type != "client_credentials" {
		t.Errorf("grants = %+v", g)
	}
}

func TestClientCredentialsRefusals(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, publicClient, rsClient)
	tests := []struct {
		name string
		req  TokenRequest
	}{
		{"public client", TokenRequest{ClientID: "public"}},
		{"wrong secret", TokenRequest{ClientID: "rs", ClientSecret: "not-the-secret"}},
		{"unknown client", TokenRequest{ClientID: "nobody", ClientSecret: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := as.ClientCredentialsToken(context.Background(), tt.req)
			if err == nil {
				t.Fatal("token issued, want a refusal")
			}
			if tt.req.ClientSecret != "" && strings.Contains(err.Error(), tt.req.ClientSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestExpiredTokens(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, rsClient, Client{ID: "stale", Secret: "stale-secret", AccessTokenLifetime: -time.Hour})
	tok, err := as.ClientCredentialsToken(context.Background(), TokenRequest{ClientID: "stale", ClientSecret: "stale-secret", Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := verify(t, as, tok.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if ago := time.Since(time.Unix(c.Expiry, 0)); ago < 59*time.Minute || ago > 61*time.Minute {
		t.Errorf("exp %v ago, want an hour ago", ago)
	}
	if got := introspect(t, as, "rs", "rs-secret", tok.AccessToken); got["active"] != false {
		t.Errorf("introspection of an expired token = %v", got)
	}
}

func TestRotateKeyRetiresTheOldKey(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{}, rsClient)
	ctx := context.Background()
	before, err := as.ClientCredentialsToken(ctx, TokenRequest{ClientID: "rs", ClientSecret: "rs-secret", Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	oldKID := as.KeyID()
	if err := as.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if as.KeyID() == oldKID {
		t.Fatal("RotateKey kept the kid")
	}
	if _, kid, err := verify(t, as, before.AccessToken); err != errUnknownKey || kid != oldKID {
		t.Errorf("old token: kid %q err %v, want %q not in the JWKS", kid, err, oldKID)
	}
	if got := introspect(t, as, "rs", "rs-secret", before.AccessToken); got["active"] != false {
		t.Errorf("introspection of a token signed by the retired key = %v", got)
	}
	after, err := as.ClientCredentialsToken(ctx, TokenRequest{ClientID: "rs", ClientSecret: "rs-secret", Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	if _, kid, err := verify(t, as, after.AccessToken); err != nil || kid != as.KeyID() {
		t.Errorf("new token: kid %q err %v, want %q", kid, err, as.KeyID())
	}
}

func TestIssuerOverrideSignsWithAnotherKey(t *testing.T) {
	t.Parallel()
	as := Start(t, Options{})
	impostor := startWithClients(t, Options{Issuer: as.Issuer()}, rsClient)
	tok, err := impostor.ClientCredentialsToken(context.Background(), TokenRequest{ClientID: "rs", ClientSecret: "rs-secret", Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := verify(t, impostor, tok.AccessToken)
	if err != nil || c.Issuer != as.Issuer() {
		t.Fatalf("impostor token: iss %q err %v, want iss %q", c.Issuer, err, as.Issuer())
	}
	if _, _, err := verify(t, as, tok.AccessToken); err != errUnknownKey {
		t.Errorf("verify against the real issuer's JWKS: %v, want %v", err, errUnknownKey)
	}
}

// register posts client metadata to /register and decodes the answer.
func register(t *testing.T, as *Server, metadata string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(as.URL()+"/register", "application/json", strings.NewReader(metadata))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestDynamicClientRegistration(t *testing.T) {
	t.Parallel()
	as := Start(t, Options{Scopes: []string{"mcp:read", "mcp:write"}})
	tests := []struct {
		name       string
		authMethod string
		wantSecret bool
	}{
		{"public", "none", false},
		{"confidential", "client_secret_post", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(map[string]any{
				"redirect_uris":              []string{testRedirect},
				"token_endpoint_auth_method": tt.authMethod,
				"client_name":                "test " + tt.name,
				"scope":                      "mcp:read",
			})
			status, reg := register(t, as, string(body))
			if status != http.StatusCreated || reg["client_id"] == nil {
				t.Fatalf("register: %d %v", status, reg)
			}
			if _, has := reg["client_secret"]; has != tt.wantSecret {
				t.Errorf("client_secret present %v, want %v", has, tt.wantSecret)
			}
			clientID := reg["client_id"].(string)
			if !tt.wantSecret {
				// A step-up asks for an advertised scope beyond the registered one.
				tok := signInPublic(t, as, clientID, "mcp:read mcp:write")
				if tok["scope"] != "mcp:read mcp:write" {
					t.Errorf("token scope %v", tok["scope"])
				}
				return
			}
			p := newPKCE()
			params := authorizeParams(clientID, "mcp:read", p)
			q := authorize(t, as, params)
			status, tok := postToken(t, as, url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {q.Get("code")},
				"redirect_uri":  {params.Get("redirect_uri")},
				"client_id":     {clientID},
				"client_secret": {reg["client_secret"].(string)},
				"code_verifier": {p.verifier},
			})
			if status != http.StatusOK || tok["access_token"] == nil {
				t.Errorf("token: %d %v", status, tok)
			}
		})
	}
}

func TestRegistrationRejects(t *testing.T) {
	t.Parallel()
	as := Start(t, Options{})
	tests := []struct {
		name, body, wantError string
	}{
		{"not JSON", "{", "invalid_client_metadata"},
		{"no redirect", `{"token_endpoint_auth_method":"none"}`, "invalid_redirect_uri"},
		{"relative redirect", `{"redirect_uris":["/cb"]}`, "invalid_redirect_uri"},
		{"unknown auth method", `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := register(t, as, tt.body)
			if status != http.StatusBadRequest || body["error"] != tt.wantError {
				t.Errorf("%d %v, want 400 %s", status, body, tt.wantError)
			}
		})
	}
}

func TestOpaqueTokensAreIntrospected(t *testing.T) {
	t.Parallel()
	as := startWithClients(t, Options{OpaqueAccessTokens: true}, rsClient, Client{ID: "m2m", Secret: "m2m-secret"})
	tok, err := as.ClientCredentialsToken(context.Background(), TokenRequest{ClientID: "m2m", ClientSecret: "m2m-secret", Scopes: []string{"mcp:read"}, Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jose.ParseSigned(tok.AccessToken); err == nil {
		t.Fatalf("access token is a JWT, want an opaque one")
	}
	got := introspect(t, as, "rs", "rs-secret", tok.AccessToken)
	if got["active"] != true || got["client_id"] != "m2m" || got["scope"] != "mcp:read" || got["exp"] == nil {
		t.Errorf("introspection = %v", got)
	}
	if aud, _ := got["aud"].([]any); len(aud) != 1 || aud[0] != testResource {
		t.Errorf("introspected aud = %v", got["aud"])
	}
}
