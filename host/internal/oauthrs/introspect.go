package oauthrs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// introspection is an RFC 7662 response, as far as it is read here.
type introspection struct {
	Active    bool            `json:"active"`
	Scope     string          `json:"scope"`
	ClientID  string          `json:"client_id"`
	Subject   string          `json:"sub"`
	Issuer    string          `json:"iss"`
	Audience  json.RawMessage `json:"aud"` // a string or a list
	Expiry    int64           `json:"exp"`
	NotBefore int64           `json:"nbf"`
}

func (in introspection) audiences() []string {
	var list []string
	if json.Unmarshal(in.Audience, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(in.Audience, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// introspect asks the authorization server about an opaque token (RFC
// 7662), reusing an active answer for a short while.
func (v *Verifier) introspect(ctx context.Context, token string) (Identity, error) {
	key := tokenKey(token)
	now := v.opts.Now()
	if id, ok := v.cache.get(key, now); ok {
		return id, nil
	}
	endpoint, err := v.introspectionURL(ctx)
	if err != nil {
		return Identity{}, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: introspection URL: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if v.opts.ClientID != "" {
		// RFC 6749 section 2.3.1: both are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(v.opts.ClientID), url.QueryEscape(v.opts.ClientSecret))
	}
	resp, err := v.client.Do(req)
	if err != nil {
		// The error names the URL, never the body that held the token.
		return Identity{}, fmt.Errorf("%w: introspection: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return Identity{}, fmt.Errorf("%w: introspection at %s answered HTTP %d", ErrUnavailable, endpoint, resp.StatusCode)
	}
	var in introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(&in); err != nil {
		return Identity{}, fmt.Errorf("%w: introspection at %s: undecodable answer", ErrUnavailable, endpoint)
	}
	id, until, err := v.checkIntrospection(in, now)
	if err != nil {
		return Identity{}, err
	}
	v.cache.put(key, id, until, now)
	return id, nil
}

// checkIntrospection applies the resource's rules to an introspection
// answer, and says until when it may be reused.
func (v *Verifier) checkIntrospection(in introspection, now time.Time) (Identity, time.Time, error) {
	if !in.Active {
		return Identity{}, time.Time{}, invalidf("inactive", "the authorization server says the token is not active")
	}
	if in.Issuer != "" && in.Issuer != v.opts.Issuer {
		return Identity{}, time.Time{}, invalidf("issuer", "the token was issued by another authorization server")
	}
	if !slices.Contains(in.audiences(), v.opts.Audience) {
		return Identity{}, time.Time{}, invalidf("audience", "the token is not for this resource")
	}
	until := now.Add(introspectionTTL)
	var expiry time.Time
	if in.Expiry != 0 {
		expiry = time.Unix(in.Expiry, 0)
		if !now.Before(expiry.Add(v.opts.Leeway)) {
			return Identity{}, time.Time{}, invalidf("expired", "the token has expired")
		}
		if expiry.Before(until) {
			until = expiry
		}
	}
	if in.NotBefore != 0 && now.Add(v.opts.Leeway).Before(time.Unix(in.NotBefore, 0)) {
		return Identity{}, time.Time{}, invalidf("expired", "the token is not valid yet")
	}
	return Identity{Subject: in.Subject, ClientID: in.ClientID, Scopes: splitScopes(in.Scope), Expiry: expiry}, until, nil
}

// introspectionCache keeps active introspection answers by token hash.
type introspectionCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedIdentity
}

type cachedIdentity struct {
	id    Identity
	until time.Time
}

func newIntrospectionCache() *introspectionCache {
	return &introspectionCache{entries: map[[32]byte]cachedIdentity{}}
}

func (c *introspectionCache) get(key [32]byte, now time.Time) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return Identity{}, false
	}
	return e.id, true
}

func (c *introspectionCache) put(key [32]byte, id Identity, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= introspectionCacheSize {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= introspectionCacheSize {
			clear(c.entries) // many live tokens at once: start over rather than grow
		}
	}
	c.entries[key] = cachedIdentity{id: id, until: until}
}

// splitScopes splits a space-separated scope string (RFC 6749 3.3).
func splitScopes(s string) []string { return strings.Fields(s) }
