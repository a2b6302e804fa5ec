package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// resourceMetadata is an OAuth 2.0 Protected Resource Metadata document
// (RFC 9728 §2), the fields a client uses.
type resourceMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
	ScopesSupported      []string `json:"scopes_supported"`
}

// serverMetadata is Authorization Server Metadata (RFC 8414 §2, and the
// OpenID Connect Discovery document, which shares its fields).
type serverMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	// ClientIDMetadataDocumentSupported: the server accepts an https
	// URL as client_id (Client ID Metadata Documents).
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported"`
	// ISSParameterSupported: the server adds iss to its authorization
	// responses (RFC 9207), which the client must then check.
	ISSParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// discovery is what the client learned about a server's authorization.
type discovery struct {
	// resource is the value of the resource parameter (RFC 8707).
	resource string
	// prm is nil for a server without protected resource metadata
	// (MCP 2025-03-26).
	prm *resourceMetadata
	as  serverMetadata
}

// wellKnownURLs returns the URLs to try for a metadata document named
// suffix (RFC 8615) of the resource or issuer at base: the path-inserted
// form first, then the root. oidcAppend adds OpenID's appended form
// (<path>/.well-known/openid-configuration) after the inserted one.
func wellKnownURLs(base *url.URL, suffix string, oidcAppend bool) []string {
	origin := base.Scheme + "://" + base.Host
	path := strings.TrimSuffix(base.EscapedPath(), "/")
	var out []string
	if path != "" {
		out = append(out, origin+"/.well-known/"+suffix+path)
		if oidcAppend {
			out = append(out, origin+path+"/.well-known/"+suffix)
		}
		return out
	}
	return append(out, origin+"/.well-known/"+suffix)
}

// IssuerMetadataURLs lists, in the order the MCP specification (2025-11-25
// "Authorization Server Metadata Discovery") tries them, where the
// metadata of the authorization server with this issuer is: RFC 8414 (the
// well-known path inserted before the issuer's path), then OpenID
// discovery inserted and appended. A resource server finding its issuer's
// keys uses it too.
func IssuerMetadataURLs(issuer *url.URL) []string {
	return append(wellKnownURLs(issuer, "oauth-authorization-server", false),
		wellKnownURLs(issuer, "openid-configuration", true)...)
}

// authServerMetadataURLs is IssuerMetadataURLs, then, for an issuer with
// a path, the root forms, which some servers use.
func authServerMetadataURLs(issuer *url.URL) []string {
	out := IssuerMetadataURLs(issuer)
	if strings.TrimSuffix(issuer.EscapedPath(), "/") != "" {
		root := &url.URL{Scheme: issuer.Scheme, Host: issuer.Host}
		out = append(out, wellKnownURLs(root, "oauth-authorization-server", false)...)
		out = append(out, wellKnownURLs(root, "openid-configuration", false)...)
	}
	return out
}

// errNoDocument says a metadata document is not at a URL (404 and the
// like), so the next candidate should be tried.
var errNoDocument = errors.New("no metadata document")

// getJSON fetches a JSON document into v. A 4xx answer is errNoDocument.
func (c *Client) getJSON(ctx context.Context, rawURL string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return fmt.Errorf("GET %s: %s: %w", rawURL, resp.Status, errNoDocument)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fmt.Errorf("GET %s: content type %s: %w", rawURL, mt, errNoDocument)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}

// firstDocument fetches the first of urls that has a document; it returns
// the URL that answered, or errNoDocument (wrapping the last failure) when
// none did.
func (c *Client) firstDocument(ctx context.Context, urls []string, v any) (string, error) {
	var last error
	for _, u := range urls {
		err := c.getJSON(ctx, u, v)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, errNoDocument) {
			return "", err
		}
		last = err
	}
	return "", fmt.Errorf("tried %s: %w", strings.Join(urls, ", "), last)
}

// discover finds the server's authorization server from its challenge
// (nil when there was none): protected resource metadata from the
// challenge's resource_metadata URL or the well-known locations, then the
// authorization server's metadata; without resource metadata, the
// 2025-03-26 way (metadata at the server's origin, else fixed endpoints).
func (c *Client) discover(ctx context.Context, ch *challenge) (*discovery, error) {
	canonical, err := canonicalResource(c.opts.URL)
	if err != nil {
		return nil, err
	}
	server, err := url.Parse(c.opts.URL)
	if err != nil {
		return nil, fmt.Errorf("server URL: %w", err)
	}
	var candidates []string
	if ch != nil && ch.params["resource_metadata"] != "" {
		candidates = append(candidates, ch.params["resource_metadata"])
	}
	candidates = append(candidates, wellKnownURLs(server, "oauth-protected-resource", false)...)
	if p := strings.TrimSuffix(server.EscapedPath(), "/"); p != "" {
		candidates = append(candidates, server.Scheme+"://"+server.Host+"/.well-known/oauth-protected-resource")
	}
	var prm resourceMetadata
	if _, err := c.firstDocument(ctx, candidates, &prm); err != nil {
		if !errors.Is(err, errNoDocument) {
			return nil, fmt.Errorf("protected resource metadata: %w", err)
		}
		return c.discoverLegacy(ctx, server, canonical)
	}
	if prm.Resource == "" || !resourceCovers(prm.Resource, canonical) {
		return nil, fmt.Errorf("protected resource metadata names resource %q, not this server (%s): refusing to sign in (RFC 9728 §3.3)", prm.Resource, canonical)
	}
	if len(prm.AuthorizationServers) == 0 {
		return nil, fmt.Errorf("protected resource metadata of %s names no authorization server", canonical)
	}
	issuer, err := url.Parse(prm.AuthorizationServers[0])
	if err != nil || issuer.Scheme == "" || issuer.Host == "" {
		return nil, fmt.Errorf("authorization server %q is not an absolute URL", prm.AuthorizationServers[0])
	}
	d := &discovery{resource: prm.Resource, prm: &prm}
	if _, err := c.firstDocument(ctx, authServerMetadataURLs(issuer), &d.as); err != nil {
		return nil, fmt.Errorf("authorization server metadata: %w", err)
	}
	if strings.TrimSuffix(d.as.Issuer, "/") != strings.TrimSuffix(issuer.String(), "/") {
		return nil, fmt.Errorf("authorization server metadata names issuer %q, not %q (RFC 8414 §3.3)", d.as.Issuer, issuer)
	}
	if err := d.as.check(); err != nil {
		return nil, err
	}
	return d, nil
}

// discoverLegacy is discovery for a server without protected resource
// metadata (MCP 2025-03-26): the authorization server is the server's
// origin, with metadata at its root or else the default endpoints.
func (c *Client) discoverLegacy(ctx context.Context, server *url.URL, canonical string) (*discovery, error) {
	origin := &url.URL{Scheme: server.Scheme, Host: server.Host}
	d := &discovery{resource: canonical}
	_, err := c.firstDocument(ctx, authServerMetadataURLs(origin), &d.as)
	switch {
	case errors.Is(err, errNoDocument):
		d.as = serverMetadata{
			Issuer:                origin.String(),
			AuthorizationEndpoint: origin.String() + "/authorize",
			TokenEndpoint:         origin.String() + "/token",
			RegistrationEndpoint:  origin.String() + "/register",
		}
	case err != nil:
		return nil, fmt.Errorf("authorization server metadata: %w", err)
	}
	if d.as.Issuer == "" {
		d.as.Issuer = origin.String()
	}
	if err := d.as.check(); err != nil {
		return nil, err
	}
	return d, nil
}

// check refuses metadata a client cannot use safely.
func (m *serverMetadata) check() error {
	if m.TokenEndpoint == "" {
		return fmt.Errorf("authorization server %s has no token_endpoint", m.Issuer)
	}
	// MCP requires PKCE S256; metadata that lists methods without S256
	// means the server would accept codes without it.
	if len(m.CodeChallengeMethodsSupported) > 0 && !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		return fmt.Errorf("authorization server %s does not support PKCE S256", m.Issuer)
	}
	return nil
}
