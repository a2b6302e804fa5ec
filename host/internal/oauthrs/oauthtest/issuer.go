// Package oauthtest is a local authorization server's resource-facing
// side for tests: metadata (RFC 8414), a JWKS whose signing key can be
// rotated, JWT access tokens signed with it, and an introspection endpoint
// (RFC 7662) for opaque tokens the test registers.
package oauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a test authorization server on a loopback httptest server.
type Issuer struct {
	// URL is the issuer identifier and the server's base URL.
	URL string
	// ClientID and ClientSecret are what introspection requires (Basic).
	ClientID, ClientSecret string

	srv *httptest.Server

	mu      sync.Mutex
	key     *ecdsa.PrivateKey
	kid     string
	nextKid int
	opaque  map[string]map[string]any

	jwksFetches    atomic.Int64
	introspections atomic.Int64
}

// NewIssuer starts an Issuer, closed when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{ClientID: "mcphost-rs", ClientSecret: "introspection-secret-value", opaque: map[string]map[string]any{}}
	i.Rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", i.serveMetadata)
	mux.HandleFunc("GET /jwks.json", i.serveJWKS)
	mux.HandleFunc("POST /introspect", i.serveIntrospect)
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	i.URL = i.srv.URL
	return i
}

// JWKSURL and IntrospectionURL are the endpoints the metadata names.
func (i *Issuer) JWKSURL() string          { return i.URL + "/jwks.json" }
func (i *Issuer) IntrospectionURL() string { return i.URL + "/introspect" }

// JWKSFetches and Introspections count the calls to those endpoints.
func (i *Issuer) JWKSFetches() int64    { return i.jwksFetches.Load() }
func (i *Issuer) Introspections() int64 { return i.introspections.Load() }

// Rotate replaces the signing key with a new one under a new key id; the
// JWKS then holds only the new key.
func (i *Issuer) Rotate(t testing.TB) {
	t.Helper()
	key := NewKey(t)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.nextKid++
	i.key, i.kid = key, "key-"+strconv.Itoa(i.nextKid)
}

// NewKey makes a P-256 signing key.
func NewKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Claims describe a token; zero fields get defaults: Issuer the issuer's
// URL, Expiry an hour from now.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Scope     string
	ClientID  string
	Expiry    time.Time
	NotBefore time.Time
}

func (i *Issuer) claims(c Claims) map[string]any {
	if c.Issuer == "" {
		c.Issuer = i.URL
	}
	if c.Expiry.IsZero() {
		c.Expiry = time.Now().Add(time.Hour)
	}
	m := map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "scope": c.Scope,
		"exp": c.Expiry.Unix(), "iat": time.Now().Unix(), "client_id": c.ClientID,
	}
	if !c.NotBefore.IsZero() {
		m["nbf"] = c.NotBefore.Unix()
	}
	return m
}

// Token is a JWT access token with c, signed with the current key.
func (i *Issuer) Token(t testing.TB, c Claims) string {
	t.Helper()
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	return Sign(t, key, kid, i.claims(c))
}

// ForeignToken is a JWT access token with c under the current key id,
// signed with another key.
func (i *Issuer) ForeignToken(t testing.TB, c Claims) string {
	t.Helper()
	i.mu.Lock()
	kid := i.kid
	i.mu.Unlock()
	return Sign(t, NewKey(t), kid, i.claims(c))
}

// UnsignedToken is a JWT with c and alg "none".
func (i *Issuer) UnsignedToken(c Claims) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(i.claims(c))
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + enc.EncodeToString(payload) + "."
}

// Sign signs claims with key (ES256) under kid.
func Sign(t testing.TB, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Opaque registers an opaque token whose introspection answers with c
// (active unless inactive) and returns it.
func (i *Issuer) Opaque(c Claims, inactive bool) string {
	token := "opaque-" + rand.Text()
	m := i.claims(c)
	delete(m, "iat")
	m["active"] = !inactive
	i.mu.Lock()
	i.opaque[token] = m
	i.mu.Unlock()
	return token
}

func (i *Issuer) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer": i.URL, "jwks_uri": i.JWKSURL(), "introspection_endpoint": i.IntrospectionURL(),
		"authorization_endpoint": i.URL + "/authorize", "token_endpoint": i.URL + "/token",
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	i.jwksFetches.Add(1)
	i.mu.Lock()
	pub := jose.JSONWebKey{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.ES256), Use: "sig"}
	i.mu.Unlock()
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
}

func (i *Issuer) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	i.introspections.Add(1)
	if id, secret, ok := r.BasicAuth(); !ok || id != i.ClientID || secret != i.ClientSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
		http.Error(w, "client authentication failed", http.StatusUnauthorized)
		return
	}
	i.mu.Lock()
	m, ok := i.opaque[r.PostFormValue("token")]
	i.mu.Unlock()
	if !ok {
		m = map[string]any{"active": false}
	}
	writeJSON(w, m)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
