package oauthrs

import (
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// WellKnownPath is where protected resource metadata is served (RFC 9728):
// alone, and followed by the resource's path.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// MetadataURL is the protected resource metadata's address for the
// audience: the well-known path inserted before the audience's path.
func (v *Verifier) MetadataURL() string {
	u, err := url.Parse(v.opts.Audience)
	if err != nil {
		return v.opts.Audience
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: WellKnownPath + strings.TrimSuffix(u.Path, "/")}
	return c.String()
}

// MetadataPaths are the paths, on this listener, the metadata is served
// at: the root form, and the form for mcpPath and for the audience's own
// path (which differs behind a proxy that rewrites paths).
func (v *Verifier) MetadataPaths(mcpPath string) []string {
	paths := []string{WellKnownPath}
	add := func(p string) {
		if p = strings.TrimSuffix(p, "/"); p != "" && !slices.Contains(paths, WellKnownPath+p) {
			paths = append(paths, WellKnownPath+p)
		}
	}
	add(mcpPath)
	if u, err := url.Parse(v.opts.Audience); err == nil {
		add(u.Path)
	}
	return paths
}

// metadata is the protected resource metadata document (RFC 9728 section 2).
type metadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// Metadata is the protected resource metadata document, as JSON.
func (v *Verifier) Metadata() []byte {
	scopes := slices.Clone(v.opts.Scopes)
	for _, name := range slices.Sorted(maps.Keys(v.opts.ServerScopes)) {
		for _, s := range v.opts.ServerScopes[name] {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	if scopes == nil {
		scopes = []string{}
	}
	doc, _ := json.Marshal(metadata{
		Resource: v.opts.Audience, AuthorizationServers: []string{v.opts.Issuer},
		ScopesSupported: scopes, BearerMethodsSupported: []string{"header"}, ResourceName: v.opts.ResourceName,
	})
	return doc
}

// Challenge is the WWW-Authenticate value of a 401: where the metadata
// is, the scopes to ask for, and, when a token was sent (err is not nil),
// that it was invalid. The description is fixed text, never the token.
func (v *Verifier) Challenge(err error) string {
	var b strings.Builder
	b.WriteString(`Bearer resource_metadata="` + v.MetadataURL() + `"`)
	if len(v.opts.Scopes) > 0 {
		b.WriteString(`, scope="` + strings.Join(v.opts.Scopes, " ") + `"`)
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		b.WriteString(`, error="invalid_token", error_description="` + describe(err) + `"`)
	}
	return b.String()
}

// InsufficientScope is the WWW-Authenticate value of a 403 for a request
// that needs the scopes need (RFC 6750 section 3.1; the MCP step-up flow
// asks for exactly these).
func (v *Verifier) InsufficientScope(need []string) string {
	return `Bearer error="insufficient_scope", scope="` + strings.Join(need, " ") +
		`", resource_metadata="` + v.MetadataURL() + `"`
}

// describe is the error_description for err: the invalid reason's fixed
// text, with no quote or backslash that would break the header.
func describe(err error) string {
	var inv *invalid
	if errors.As(err, &inv) {
		return strings.NewReplacer(`"`, "'", `\`, "/").Replace(inv.detail)
	}
	return "the access token is not valid"
}
