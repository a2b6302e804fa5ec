package oauthrs

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signatureAlgorithms are the JWS algorithms accepted: asymmetric only
// ("none" and the HMAC family, whose key the issuer would share, never).
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// accessClaims are the claims of a JWT access token (RFC 9068) read here.
type accessClaims struct {
	jwt.Claims
	Scope    string          `json:"scope"`
	Scp      json.RawMessage `json:"scp"` // a list, or a string, in some issuers' tokens
	ClientID string          `json:"client_id"`
}

func (c accessClaims) scopes() []string {
	out := splitScopes(c.Scope)
	if len(c.Scp) == 0 {
		return out
	}
	var list []string
	if json.Unmarshal(c.Scp, &list) != nil {
		var one string
		if json.Unmarshal(c.Scp, &one) == nil {
			list = splitScopes(one)
		}
	}
	return append(out, list...)
}

func (v *Verifier) verifyJWT(ctx context.Context, token, jwksURL string) (Identity, error) {
	tok, err := jwt.ParseSigned(token, signatureAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return Identity{}, invalidf("malformed", "not a JWT signed with an accepted algorithm")
	}
	header := tok.Headers[0]
	keys, err := v.keys.lookup(ctx, jwksURL, header.KeyID)
	if err != nil {
		return Identity{}, err
	}
	var claims accessClaims
	verified := false
	for _, k := range keys {
		if k.Algorithm != "" && k.Algorithm != header.Algorithm {
			continue // a key bound to another algorithm is not used for this one
		}
		if tok.Claims(k.Key, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Identity{}, invalidf("signature", "the signature does not verify with the issuer's keys")
	}
	if claims.Expiry == nil {
		return Identity{}, invalidf("malformed", "the token has no exp claim")
	}
	err = claims.ValidateWithLeeway(jwt.Expected{
		Issuer: v.opts.Issuer, AnyAudience: jwt.Audience{v.opts.Audience}, Time: v.opts.Now(),
	}, v.opts.Leeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return Identity{}, invalidf("issuer", "the token was issued by another authorization server")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return Identity{}, invalidf("audience", "the token is not for this resource")
	case errors.Is(err, jwt.ErrExpired):
		return Identity{}, invalidf("expired", "the token has expired")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return Identity{}, invalidf("expired", "the token is not valid yet")
	case err != nil:
		return Identity{}, invalidf("invalid", "the token's claims do not validate")
	}
	return Identity{Subject: claims.Subject, ClientID: claims.ClientID, Scopes: claims.scopes(), Expiry: claims.Expiry.Time()}, nil
}

// keySet caches the issuer's JWKS. An unknown key id fetches it again (the
// issuer rotated its keys), at most every RefetchEvery, so that tokens
// with made-up key ids cannot make mcphost hammer the issuer.
type keySet struct {
	v *Verifier

	// fetchMu serializes fetches; mu guards the fields, and is never held
	// across a fetch.
	fetchMu sync.Mutex
	mu      sync.Mutex
	url     string
	keys    *jose.JSONWebKeySet
	fetched time.Time
	lastTry time.Time
	lastErr error
}

// candidates are the keys that may have signed a token with kid (every
// signing key when kid is empty); ok is false when the set has none.
func (ks *keySet) candidates(url, kid string) (keys []jose.JSONWebKey, fresh, ok bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.keys == nil || ks.url != url {
		return nil, false, false
	}
	for _, k := range ks.keys.Keys {
		if (kid == "" || k.KeyID == kid) && (k.Use == "" || k.Use == "sig") {
			keys = append(keys, k)
		}
	}
	return keys, ks.v.opts.Now().Sub(ks.fetched) < keysMaxAge, len(keys) > 0
}

// mayFetch says whether a fetch is due: never fetched, or the last try was
// at least RefetchEvery ago. Else it returns the last error, if any.
func (ks *keySet) mayFetch(url string) (bool, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.url != url || ks.lastTry.IsZero() || ks.v.opts.Now().Sub(ks.lastTry) >= ks.v.opts.RefetchEvery {
		return true, nil
	}
	return false, ks.lastErr
}

func (ks *keySet) lookup(ctx context.Context, url, kid string) ([]jose.JSONWebKey, error) {
	if keys, fresh, ok := ks.candidates(url, kid); ok && fresh {
		return keys, nil
	}
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	keys, fresh, ok := ks.candidates(url, kid)
	if ok && fresh {
		return keys, nil
	}
	due, lastErr := ks.mayFetch(url)
	if !due {
		if ok {
			return keys, nil
		}
		if lastErr != nil {
			return nil, lastErr
		}
		return nil, invalidf("signature", "no key of the issuer has the token's key id")
	}
	var set jose.JSONWebKeySet
	err := ks.v.getJSON(ctx, "JWKS", url, &set)
	now := ks.v.opts.Now()
	ks.mu.Lock()
	ks.lastTry, ks.lastErr = now, err
	if err == nil {
		ks.url, ks.keys, ks.fetched = url, &set, now
	}
	ks.mu.Unlock()
	if err != nil {
		if ok {
			return keys, nil // stale keys beat none while the issuer is down
		}
		return nil, err
	}
	if keys, _, ok = ks.candidates(url, kid); ok {
		return keys, nil
	}
	return nil, invalidf("signature", "no key of the issuer has the token's key id")
}
