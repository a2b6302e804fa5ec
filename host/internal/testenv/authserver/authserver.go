// Package authserver is an OAuth 2.1 authorization server for tests, built on
// github.com/ory/fosite. It listens on 127.0.0.1 on a free port (or
// Options.Address) and serves:
//
//	/.well-known/oauth-authorization-server  RFC 8414 metadata
//	/.well-known/openid-configuration        the same document (OpenID discovery)
//	/authorize   authorization code (PKCE S256 required); a test user approves at once
//	/token       authorization_code, refresh_token, client_credentials
//	/jwks.json   the public key that signs access tokens (RS256)
//	/introspect  RFC 7662 introspection (the caller authenticates as a confidential client)
//	/register    RFC 7591 dynamic client registration
//
// Access tokens are RS256 JWTs (fosite's JWT strategy) carrying iss, sub,
// client_id, aud, scope, iat and exp, or, with Options.OpaqueAccessTokens,
// random strings only introspection describes. The audience is the RFC 8707
// resource parameter the client sent, so a token is bound to the resource
// it was asked for.
//
// Typical use:
//
//	as := authserver.Start(t, authserver.Options{Scopes: []string{"mcp:read"}})
//	as.RegisterClient(authserver.Client{ID: "rs", Secret: "rs-secret"})
//	tok, err := as.ClientCredentialsToken(ctx, authserver.TokenRequest{
//		ClientID: "rs", ClientSecret: "rs-secret", Resource: "http://127.0.0.1:8080/mcp",
//	})
package authserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
)

// bcryptMinCost is golang.org/x/crypto/bcrypt.MinCost.
const bcryptMinCost = 4

// TestUser is the subject of every token issued at /authorize.
const TestUser = "test-user"

// Options configure a Server. The zero value is usable.
type Options struct {
	// Scopes are the scopes the server advertises (scopes_supported) and
	// that a client registered without its own scope list may ask for.
	// Empty means any scope may be asked for.
	Scopes []string
	// AccessTokenLifetime is how long access tokens live (default 1h).
	// Tests of expiry and refresh use seconds.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long refresh tokens live (default 24h).
	RefreshTokenLifetime time.Duration
	// Address is the host:port to listen on (default 127.0.0.1:0, a free
	// port).
	Address string
	// OpaqueAccessTokens issues access tokens that are random strings a
	// resource server can only check by introspection, instead of JWTs.
	OpaqueAccessTokens bool
	// Issuer replaces the server's URL as the iss claim and the metadata's
	// issuer: a second server started with the first one's issuer mints
	// tokens that look right but are signed by a key the first never
	// published.
	Issuer string
}

// Client is a client registered through the Go API.
type Client struct {
	ID string
	// Secret makes the client confidential (client_secret_basic or
	// client_secret_post); empty makes it public (PKCE, no secret).
	Secret string
	// RedirectURIs for the authorization code flow. A loopback URI
	// matches any port (RFC 8252).
	RedirectURIs []string
	// Scopes the client may ask for; empty means Options.Scopes.
	Scopes []string
	// AccessTokenLifetime overrides Options.AccessTokenLifetime for this
	// client when non-zero. A negative value issues tokens that are
	// already expired.
	AccessTokenLifetime time.Duration
}

// Grant is one successful token-endpoint exchange.
type Grant struct {
	Type     string // authorization_code, refresh_token or client_credentials
	ClientID string
	Scopes   []string
	Audience []string
}

// Server is a running authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	opts     Options
	url      string
	issuer   string
	keys     *keyRing
	store    *clientStore
	provider fosite.OAuth2Provider
	http     *http.Server
	served   chan error // Serve's result; closed when it returns

	mu       sync.Mutex
	approved []string // nil: the test user approves every requested scope
	grants   []Grant
}

// Start starts a Server for the test and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("authserver: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("authserver: close: %v", err)
		}
	})
	return s
}

// New starts a Server listening on Options.Address. Close stops it.
func New(opts Options) (*Server, error) {
	if opts.Address == "" {
		opts.Address = "127.0.0.1:0"
	}
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = time.Hour
	}
	if opts.RefreshTokenLifetime == 0 {
		opts.RefreshTokenLifetime = 24 * time.Hour
	}
	keys, err := newKeyRing()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		opts:   opts,
		url:    "http://" + ln.Addr().String(),
		keys:   keys,
		served: make(chan error, 1),
	}
	s.issuer = s.url
	if opts.Issuer != "" {
		s.issuer = opts.Issuer
	}
	s.store = newClientStore(opts.Scopes)
	s.provider = s.compose()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.serveMetadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveMetadata)
	mux.HandleFunc("GET /authorize", s.serveAuthorize)
	mux.HandleFunc("POST /authorize", s.serveAuthorize)
	mux.HandleFunc("POST /token", s.serveToken)
	mux.HandleFunc("GET /jwks.json", s.serveJWKS)
	mux.HandleFunc("POST /introspect", s.serveIntrospect)
	mux.HandleFunc("POST /register", s.serveRegister)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		s.served <- s.http.Serve(ln)
		close(s.served)
	}()
	return s, nil
}

// compose builds the fosite provider: the authorization code flow with
// PKCE S256 enforced, refresh tokens, client credentials and introspection,
// with access tokens as JWTs signed by the key ring.
func (s *Server) compose() fosite.OAuth2Provider {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	cfg := &fosite.Config{
		AccessTokenLifespan:            s.opts.AccessTokenLifetime,
		RefreshTokenLifespan:           s.opts.RefreshTokenLifetime,
		AuthorizeCodeLifespan:          5 * time.Minute,
		AccessTokenIssuer:              s.issuer,
		IDTokenIssuer:                  s.issuer,
		TokenURL:                       s.url + "/token",
		GlobalSecret:                   secret,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		JWTScopeClaimKey:               jwt.JWTScopeFieldBoth,
		ScopeStrategy:                  scopeAllowed,
		// The audience comes from the RFC 8707 resource parameter, which this
		// server grants for any resource, so a client has no audience list.
		AudienceMatchingStrategy: func([]string, []string) error { return nil },
		// Refresh tokens keep the scopes of the grant; "offline_access" is
		// not needed to get one.
		RefreshTokenScopes: []string{},
		// Test secrets need no brute-force resistance; the lowest bcrypt cost
		// keeps a loaded CI machine fast.
		HashCost: bcryptMinCost,
	}
	// Set here rather than left to fosite's getter, which assigns it lazily
	// and so races between concurrent first requests.
	cfg.ClientSecretsHasher = &fosite.BCrypt{Config: cfg}
	s.store.hasher = cfg.ClientSecretsHasher
	hmacStrategy := compose.NewOAuth2HMACStrategy(cfg)
	strategy := &compose.CommonStrategy{CoreStrategy: hmacStrategy}
	if !s.opts.OpaqueAccessTokens {
		strategy.CoreStrategy = &oauth2.DefaultJWTStrategy{
			Signer:          &stampingSigner{DefaultSigner: jwt.DefaultSigner{GetPrivateKey: s.keys.signingKey}},
			HMACSHAStrategy: hmacStrategy,
			Config:          cfg,
		}
	}
	return compose.Compose(cfg, s.store, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2PKCEFactory,
	)
}

// scopeAllowed lets a client with no scope list ask for any scope and
// otherwise matches scopes exactly.
func scopeAllowed(allowed []string, scope string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, scope)
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.http.Close()
	if served := <-s.served; served != nil && !errors.Is(served, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", served)
	}
	return err
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// Issuer is the iss claim of the tokens it issues (URL unless
// Options.Issuer is set).
func (s *Server) Issuer() string { return s.issuer }

// JWKSURL is the URL of the JSON Web Key Set.
func (s *Server) JWKSURL() string { return s.url + "/jwks.json" }

// IntrospectionURL is the RFC 7662 endpoint.
func (s *Server) IntrospectionURL() string { return s.url + "/introspect" }

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.url + "/token" }

// RegisterClient adds or replaces a client.
func (s *Server) RegisterClient(c Client) error {
	if c.ID == "" {
		return errors.New("authserver: client id is empty")
	}
	fc, err := s.store.newClient(c)
	if err != nil {
		return fmt.Errorf("authserver: client %q: %w", c.ID, err)
	}
	s.store.put(fc)
	return nil
}

// ApproveScopes sets which of the requested scopes the test user approves
// at /authorize from now on; with no arguments it approves all of them.
func (s *Server) ApproveScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(scopes) == 0 {
		s.approved = nil
		return
	}
	s.approved = slices.Clone(scopes)
}

// RotateKey makes a new signing key current and retires the old one: the
// JWKS publishes only the new key, and tokens signed by the old one no
// longer introspect as active.
func (s *Server) RotateKey() error { return s.keys.rotate() }

// KeyID is the kid of the current signing key.
func (s *Server) KeyID() string { return s.keys.currentID() }

// Grants returns the successful token-endpoint exchanges so far, oldest
// first.
func (s *Server) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants)
}

// CountGrants is how many successful exchanges of grantType happened.
func (s *Server) CountGrants(grantType string) int {
	n := 0
	for _, g := range s.Grants() {
		if g.Type == grantType {
			n++
		}
	}
	return n
}

func (s *Server) recordGrant(ar fosite.AccessRequester) {
	g := Grant{
		ClientID: ar.GetClient().GetID(),
		Scopes:   slices.Clone([]string(ar.GetGrantedScopes())),
		Audience: slices.Clone([]string(ar.GetGrantedAudience())),
	}
	if types := ar.GetGrantTypes(); len(types) > 0 {
		g.Type = types[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants = append(s.grants, g)
}

func (s *Server) approvedScopes(requested []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.approved == nil {
		return requested
	}
	var out []string
	for _, scope := range requested {
		if slices.Contains(s.approved, scope) {
			out = append(out, scope)
		}
	}
	return out
}

// newSession is the fosite session behind one grant.
func (s *Server) newSession(subject, clientID string) *oauth2.JWTSession {
	return &oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{
			Subject: subject,
			Extra:   map[string]any{"client_id": clientID},
		},
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}},
		Subject:   subject,
	}
}

func (s *Server) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	md := map[string]any{
		"issuer":                                        s.issuer,
		"authorization_endpoint":                        s.url + "/authorize",
		"token_endpoint":                                s.url + "/token",
		"jwks_uri":                                      s.JWKSURL(),
		"introspection_endpoint":                        s.IntrospectionURL(),
		"registration_endpoint":                         s.url + "/register",
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{"authorization_code", "refresh_token", "client_credentials"},
		"code_challenge_methods_supported":              []string{"S256"},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		// OpenID discovery requires these two; no ID tokens are issued.
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	if len(s.opts.Scopes) > 0 {
		md["scopes_supported"] = s.opts.Scopes
	}
	writeJSON(w, http.StatusOK, md)
}

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := s.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	resources, err := resourceParams(ar.GetRequestForm())
	if err != nil {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	// No login page: the test user approves at once.
	for _, scope := range s.approvedScopes(ar.GetRequestedScopes()) {
		ar.GrantScope(scope)
	}
	for _, resource := range resources {
		ar.GrantAudience(resource)
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, s.newSession(TestUser, ar.GetClient().GetID()))
	if err != nil {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	s.provider.WriteAuthorizeResponse(ctx, w, ar, resp)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// The authorization_code and refresh_token handlers replace this session
	// with the one stored at /authorize.
	session := s.newSession("", "")
	ar, err := s.provider.NewAccessRequest(ctx, r, session)
	if err != nil {
		s.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		resources, err := resourceParams(ar.GetRequestForm())
		if err != nil {
			s.provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		// The client acts for itself. The session is filled in, not
		// replaced: the handler has already set its expiry.
		clientID := ar.GetClient().GetID()
		session.Subject = clientID
		session.JWTClaims.Subject = clientID
		session.JWTClaims.Extra["client_id"] = clientID
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		for _, resource := range resources {
			ar.GrantAudience(resource)
		}
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.provider.WriteAccessError(ctx, w, ar, err)
		return
	}
	s.recordGrant(ar)
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ir, err := s.provider.NewIntrospectionRequest(ctx, r, s.newSession("", ""))
	if err != nil {
		s.provider.WriteIntrospectionError(ctx, w, err)
		return
	}
	s.provider.WriteIntrospectionResponse(ctx, w, ir)
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.keys.publicSet())
}

// errInvalidTarget is RFC 8707's error for a malformed resource parameter.
var errInvalidTarget = &fosite.RFC6749Error{
	ErrorField:       "invalid_target",
	DescriptionField: "The requested resource is invalid.",
	CodeField:        http.StatusBadRequest,
}

// resourceParams returns the RFC 8707 resource parameters of a request:
// absolute URIs without a fragment.
func resourceParams(form url.Values) ([]string, error) {
	resources := form["resource"]
	for _, resource := range resources {
		u, err := url.Parse(resource)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, errInvalidTarget.WithHintf("resource %q must be an absolute URI without a fragment", resource)
		}
	}
	return resources, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// clientStore is fosite's memory store with a locked client table, so
// clients can be registered while the server runs.
type clientStore struct {
	*storage.MemoryStore
	defaultScopes []string
	hasher        fosite.Hasher

	mu      sync.RWMutex
	clients map[string]fosite.Client
}

func newClientStore(defaultScopes []string) *clientStore {
	return &clientStore{
		MemoryStore:   storage.NewMemoryStore(),
		defaultScopes: defaultScopes,
		clients:       make(map[string]fosite.Client),
	}
}

// GetClient implements fosite.ClientManager.
func (cs *clientStore) GetClient(_ context.Context, id string) (fosite.Client, error) {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	c, ok := cs.clients[id]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return c, nil
}

func (cs *clientStore) put(c fosite.Client) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.clients[c.GetID()] = c
}

// newClient turns c into a fosite client: a hashed secret, every grant
// type this server serves, and c's lifetime override.
func (cs *clientStore) newClient(c Client) (fosite.Client, error) {
	dc := &fosite.DefaultClient{
		ID:            c.ID,
		RedirectURIs:  slices.Clone(c.RedirectURIs),
		ResponseTypes: []string{"code"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		Scopes:        slices.Clone(c.Scopes),
		Public:        c.Secret == "",
	}
	if len(dc.Scopes) == 0 {
		dc.Scopes = slices.Clone(cs.defaultScopes)
	}
	if !dc.Public {
		hash, err := cs.hasher.Hash(context.Background(), []byte(c.Secret))
		if err != nil {
			return nil, fmt.Errorf("hash secret: %w", err)
		}
		dc.Secret = hash
		dc.GrantTypes = append(dc.GrantTypes, "client_credentials")
	}
	if c.AccessTokenLifetime == 0 {
		return dc, nil
	}
	lifetime := c.AccessTokenLifetime
	return &fosite.DefaultClientWithCustomTokenLifespans{
		DefaultClient: dc,
		TokenLifespans: &fosite.ClientLifespanConfig{
			AuthorizationCodeGrantAccessTokenLifespan: &lifetime,
			ClientCredentialsGrantAccessTokenLifespan: &lifetime,
			RefreshTokenGrantAccessTokenLifespan:      &lifetime,
		},
	}, nil
}
