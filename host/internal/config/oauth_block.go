package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/mcphost/mcphost/sdk/base"
)

// ListenOAuth makes an HTTP listener an OAuth 2.1 resource server (the
// `oauth` block of `listen "http"`): every MCP request needs an access
// token the Issuer gave for Audience, with Scopes.
type ListenOAuth struct {
	// Issuer is the authorization server named in the protected resource
	// metadata; tokens must carry it as iss.
	Issuer string
	// Audience is this resource's canonical URI; tokens must name it.
	Audience string
	// Scopes are required of every request (may be empty).
	Scopes []string
	// JWKSURL and IntrospectionURL, when empty, come from the issuer's
	// metadata (RFC 8414, else OpenID discovery).
	JWKSURL          string
	IntrospectionURL string
	// ClientID and ClientSecret authenticate introspection calls. The
	// secret is a secret: print Redacted() instead.
	ClientID     string
	ClientSecret string
	// ServerScopes are the scopes a token needs, besides Scopes, for a
	// request that reaches the named backend server.
	ServerScopes map[string][]string
	// ResourceName is shown in the protected resource metadata.
	ResourceName string
	DeclRange    hcl.Range

	// serverRanges locate each server_scopes key, to report one naming no
	// server.
	serverRanges map[string]hcl.Range
}

var oauthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "issuer", Required: true},
		{Name: "audience", Required: true},
		{Name: "scopes", Required: true},
		{Name: "jwks_url"},
		{Name: "introspection_url"},
		{Name: "client_id"},
		{Name: "client_secret"},
		{Name: "server_scopes"},
		{Name: "resource_name"},
	},
}

// decodeListenOAuth decodes the oauth blocks of a listener (at most one).
func (d *decoder) decodeListenOAuth(blocks hcl.Blocks) *ListenOAuth {
	if len(blocks) == 0 {
		return nil
	}
	for _, extra := range blocks[1:] {
		d.errorf(extra.DefRange, "Duplicate oauth block",
			"A listener has at most one oauth block; the first is at %s.", rangeStart(blocks[0].DefRange))
	}
	b := blocks[0]
	start := len(d.diags)
	defer func() { hideSecretSources(d.diags[start:], b.Body, base.Schema{}) }()
	o := &ListenOAuth{DeclRange: b.DefRange}
	content, diags := b.Body.Content(oauthSchema)
	d.add(diags...)
	attrs := content.Attributes
	decodeAttr(attrs, "issuer", d.evalOAuthURL, &o.Issuer)
	decodeAttr(attrs, "audience", d.evalOAuthURL, &o.Audience)
	decodeAttr(attrs, "jwks_url", d.evalOAuthURL, &o.JWKSURL)
	decodeAttr(attrs, "introspection_url", d.evalOAuthURL, &o.IntrospectionURL)
	decodeAttr(attrs, "client_id", d.evalString, &o.ClientID)
	decodeAttr(attrs, "client_secret", d.evalString, &o.ClientSecret)
	decodeAttr(attrs, "resource_name", d.evalString, &o.ResourceName)
	if attr, ok := attrs["scopes"]; ok {
		o.Scopes = d.evalScopes(attr, cty.NilVal)
	}
	if attr, ok := attrs["server_scopes"]; ok {
		d.decodeServerScopes(attr, o)
	}
	if attr, ok := attrs["audience"]; ok && o.Audience != "" {
		if u, _ := url.Parse(o.Audience); u.Fragment != "" || u.RawQuery != "" {
			d.errorf(attr.Expr.Range(), "Invalid audience",
				"audience is this resource's canonical URI (RFC 8707), without query or fragment, such as \"https://mcp.example.com/mcp\".")
			o.Audience = ""
		}
	}
	if attr, ok := attrs["client_secret"]; ok && o.ClientSecret != "" && o.ClientID == "" {
		d.errorf(attr.Range, "client_secret without client_id",
			"client_secret authenticates introspection calls together with client_id; set client_id too.")
	}
	return o
}

// evalOAuthURL returns attr as an absolute URL that is https, or http to a
// loopback host (a local authorization server in development and tests):
// tokens and keys must not travel in clear beyond this machine.
func (d *decoder) evalOAuthURL(attr *hcl.Attribute) (string, bool) {
	s, ok := d.evalString(attr)
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name,
			"%s must be an absolute https URL, such as \"https://auth.example.com\".", attr.Name)
		return "", false
	}
	if u.Scheme == "http" && !loopbackAddress(u.Host) && !loopbackAddress(u.Host+":0") {
		d.errorf(attr.Expr.Range(), "Insecure "+attr.Name,
			"%s must use https; plain http is accepted only for a loopback host (127.0.0.1, localhost).", attr.Name)
		return "", false
	}
	return s, true
}

// evalScopes returns a list of scope tokens (RFC 6749 3.3: no spaces, no
// quotes), from attr's value or, when v is set, from v.
func (d *decoder) evalScopes(attr *hcl.Attribute, v cty.Value) []string {
	if v == cty.NilVal {
		var ok bool
		if v, ok = d.eval(attr, cty.List(cty.String)); !ok || v.IsNull() {
			return nil
		}
	}
	scopes := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.AsString() == "" || strings.ContainsAny(e.AsString(), " \t\"\\") {
			d.errorf(attr.Expr.Range(), "Invalid scope",
				"%s must list scope tokens: non-empty, without spaces, quotes or backslashes.", attr.Name)
			continue
		}
		if !slices.Contains(scopes, e.AsString()) {
			scopes = append(scopes, e.AsString())
		}
	}
	return scopes
}

// decodeServerScopes reads server_scopes = { SERVER = ["scope", ...] },
// keeping where each server is named for checkServerScopes.
func (d *decoder) decodeServerScopes(attr *hcl.Attribute, o *ListenOAuth) {
	v, ok := d.eval(attr, cty.Map(cty.List(cty.String)))
	if !ok || v.IsNull() {
		return
	}
	o.ServerScopes = map[string][]string{}
	o.serverRanges = map[string]hcl.Range{}
	keyRanges := map[string]hcl.Range{}
	if pairs, diags := hcl.ExprMap(attr.Expr); !diags.HasErrors() {
		for _, p := range pairs {
			if k, diags := p.Key.Value(d.ctx); !diags.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				keyRanges[k.AsString()] = p.Key.Range()
			}
		}
	}
	for it := v.ElementIterator(); it.Next(); {
		k, list := it.Element()
		name := k.AsString()
		o.ServerScopes[name] = d.evalScopes(attr, list)
		if r, ok := keyRanges[name]; ok {
			o.serverRanges[name] = r
		} else {
			o.serverRanges[name] = attr.Expr.Range()
		}
	}
}

// checkServerScopes reports server_scopes keys that name no server.
func (d *decoder) checkServerScopes(cfg *Config) {
	for _, l := range cfg.Listeners {
		if l.OAuth == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(l.OAuth.ServerScopes)) {
			if !slices.ContainsFunc(cfg.Servers, func(s Server) bool { return s.Name == name }) {
				d.errorf(l.OAuth.serverRanges[name], "Unknown server in server_scopes",
					"server_scopes names %q, but no server block has that name.", name)
			}
		}
	}
}

// Redacted returns a copy of o with ClientSecret replaced by RedactedValue
// when it is set.
func (o *ListenOAuth) Redacted() *ListenOAuth {
	if o == nil {
		return nil
	}
	c := *o
	if c.ClientSecret != "" {
		c.ClientSecret = RedactedValue
	}
	c.Scopes = slices.Clone(o.Scopes)
	c.ServerScopes = map[string][]string{}
	for k, v := range o.ServerScopes {
		c.ServerScopes[k] = slices.Clone(v)
	}
	return &c
}
