package oauthrs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The errors Verify returns wrap one of these.
var (
	// ErrInvalidToken: the token is malformed, expired, not for this
	// resource, not from the issuer, or its signature does not verify.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrUnavailable: the token could not be checked, as the authorization
	// server's keys, metadata or introspection endpoint did not answer.
	ErrUnavailable = errors.New("the authorization server could not be reached to check the token")
)

// invalid is an ErrInvalidToken with the reason for the refusals metric.
type invalid struct{ reason, detail string }

func (e *invalid) Error() string        { return ErrInvalidToken.Error() + ": " + e.detail }
func (e *invalid) Is(target error) bool { return target == ErrInvalidToken }

func invalidf(reason, format string, args ...any) error {
	return &invalid{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// Reason is a short label for why err refused a token, for metrics:
// "malformed", "expired", "audience", "issuer", "signature", "inactive",
// "unavailable"; "invalid" for others.
func Reason(err error) string {
	var inv *invalid
	switch {
	case errors.As(err, &inv):
		return inv.reason
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "invalid"
}

// Identity is who a valid token speaks for.
type Identity struct {
	// Subject is the token's sub (for a client-credentials token, often
	// the client id).
	Subject  string
	ClientID string
	Scopes   []string
	// Expiry is when the token ends (zero when introspection gave none).
	Expiry time.Time
}

// HasScopes says whether the token grants every scope of need.
func (id Identity) HasScopes(need []string) bool {
	for _, s := range need {
		if !slices.Contains(id.Scopes, s) {
			return false
		}
	}
	return true
}

// Options configure a Verifier; see config.ListenOAuth for their meaning.
type Options struct {
	Issuer           string
	Audience         string
	Scopes           []string
	ServerScopes     map[string][]string
	JWKSURL          string
	IntrospectionURL string
	ClientID         string
	ClientSecret     string
	ResourceName     string

	// HTTPClient fetches metadata and keys and calls introspection;
	// nil is a client with a 10 s timeout.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp and nbf (0: 30 s).
	Leeway time.Duration
	// RefetchEvery bounds how often the JWKS is fetched again for a key id
	// it lacks, and how often failed discovery is retried (0: 10 s).
	RefetchEvery time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

const (
	defaultLeeway       = 30 * time.Second
	defaultRefetchEvery = 10 * time.Second
	// keysMaxAge is how long fetched keys are used before they are
	// fetched again, rotation or not.
	keysMaxAge = time.Hour
	// introspectionTTL is the longest an introspection result is reused:
	// a revoked token stops working within it.
	introspectionTTL = 30 * time.Second
	// introspectionCacheSize bounds the cached results.
	introspectionCacheSize = 10000
	// maxDocumentBytes bounds metadata, key set and introspection bodies.
	maxDocumentBytes = 1 << 20
)

// Verifier checks access tokens for one resource. It is safe for
// concurrent use.
type Verifier struct {
	opts     Options
	client   *http.Client
	metadata *discovery
	keys     *keySet
	cache    *introspectionCache
}

// New builds a Verifier. Nothing is fetched until the first token.
func New(opts Options) (*Verifier, error) {
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("oauth: issuer and audience are required")
	}
	if opts.Leeway <= 0 {
		opts.Leeway = defaultLeeway
	}
	if opts.RefetchEvery <= 0 {
		opts.RefetchEvery = defaultRefetchEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	v := &Verifier{opts: opts, client: client, cache: newIntrospectionCache()}
	v.metadata = &discovery{v: v}
	v.keys = &keySet{v: v}
	return v, nil
}

// Verify checks token and says whom it speaks for. It does not check
// scopes: see Identity.HasScopes and RequiredScopes.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, invalidf("malformed", "no token")
	}
	if looksLikeJWT(token) {
		jwksURL, err := v.jwksURL(ctx)
		if err == nil {
			return v.verifyJWT(ctx, token, jwksURL)
		}
		// Without keys, a JWT may still be introspected.
		if _, ierr := v.introspectionURL(ctx); ierr != nil {
			return Identity{}, err
		}
	}
	return v.introspect(ctx, token)
}

// jwksURL is the configured key set, or the one the issuer's metadata
// names.
func (v *Verifier) jwksURL(ctx context.Context) (string, error) {
	return v.endpoint(ctx, v.opts.JWKSURL, "jwks_uri", func(md *serverMetadata) string { return md.JWKSURI })
}

// introspectionURL is the configured introspection endpoint, or the one
// the issuer's metadata names.
func (v *Verifier) introspectionURL(ctx context.Context) (string, error) {
	return v.endpoint(ctx, v.opts.IntrospectionURL, "introspection_endpoint",
		func(md *serverMetadata) string { return md.IntrospectionEndpoint })
}

// endpoint is configured when set, else the metadata member named.
func (v *Verifier) endpoint(ctx context.Context, configured, name string, member func(*serverMetadata) string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	md, err := v.metadata.get(ctx)
	if err != nil {
		return "", err
	}
	if u := member(md); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("%w: the issuer's metadata names no %s", ErrUnavailable, name)
}

// RequiredScopes are the scopes a request needs: the listener's, and
// those of server when it is not "".
func (v *Verifier) RequiredScopes(server string) []string {
	need := slices.Clone(v.opts.Scopes)
	for _, s := range v.opts.ServerScopes[server] {
		if !slices.Contains(need, s) {
			need = append(need, s)
		}
	}
	return need
}

// HasServerScopes says whether some server needs scopes of its own.
func (v *Verifier) HasServerScopes() bool { return len(v.opts.ServerScopes) > 0 }

// MayUse says whether id may reach server.
func (v *Verifier) MayUse(id Identity, server string) bool {
	return id.HasScopes(v.opts.ServerScopes[server])
}

// tokenKey is what caches key a token by: its hash, never its text.
func tokenKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// looksLikeJWT says whether token is a compact JWS: three base64url parts.
func looksLikeJWT(token string) bool {
	if strings.Count(token, ".") != 2 {
		return false
	}
	for _, part := range strings.Split(token, ".")[:2] {
		if part == "" || strings.ContainsFunc(part, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) {
			return false
		}
	}
	return true
}
