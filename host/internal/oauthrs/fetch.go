package oauthrs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
)

// getJSON fetches a JSON document into dst; any failure is ErrUnavailable.
func (v *Verifier) getJSON(ctx context.Context, what, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: %s URL: %w", ErrUnavailable, what, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: fetch %s: %w", ErrUnavailable, what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return fmt.Errorf("%w: fetch %s %s: HTTP %d", ErrUnavailable, what, u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(dst); err != nil {
		return fmt.Errorf("%w: decode %s from %s: %w", ErrUnavailable, what, u, err)
	}
	return nil
}

// serverMetadata is what the resource server needs of the authorization
// server's metadata (RFC 8414; OpenID discovery has the same members).
type serverMetadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// discovery fetches the issuer's metadata once, retrying a failure at
// most every RefetchEvery.
type discovery struct {
	v *Verifier

	// fetchMu serializes fetches; mu guards the fields, and is never held
	// across a fetch.
	fetchMu sync.Mutex
	mu      sync.Mutex
	md      *serverMetadata
	lastTry time.Time
	lastErr error
}

func (d *discovery) cached() (*serverMetadata, error, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.md != nil {
		return d.md, nil, true
	}
	if !d.lastTry.IsZero() && d.v.opts.Now().Sub(d.lastTry) < d.v.opts.RefetchEvery {
		return nil, d.lastErr, true
	}
	return nil, nil, false
}

func (d *discovery) get(ctx context.Context) (*serverMetadata, error) {
	if md, err, ok := d.cached(); ok {
		return md, err
	}
	d.fetchMu.Lock()
	defer d.fetchMu.Unlock()
	// Another caller may have fetched meanwhile.
	if md, err, ok := d.cached(); ok {
		return md, err
	}
	md, err := d.fetch(ctx)
	d.mu.Lock()
	d.md, d.lastErr, d.lastTry = md, err, d.v.opts.Now()
	d.mu.Unlock()
	return md, err
}

func (d *discovery) fetch(ctx context.Context) (*serverMetadata, error) {
	var errs []string
	issuer, err := url.Parse(d.v.opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer: %w", ErrUnavailable, err)
	}
	for _, u := range oauth.IssuerMetadataURLs(issuer) {
		var md serverMetadata
		if err := d.v.getJSON(ctx, "authorization server metadata", u, &md); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		// RFC 8414 section 3.3: metadata for another issuer must not be used.
		if md.Issuer != d.v.opts.Issuer {
			return nil, fmt.Errorf("%w: the metadata at %s is for issuer %q, not %q", ErrUnavailable, u, md.Issuer, d.v.opts.Issuer)
		}
		return &md, nil
	}
	return nil, fmt.Errorf("%w: no authorization server metadata for %s (%s)", ErrUnavailable, d.v.opts.Issuer, strings.Join(errs, "; "))
}
