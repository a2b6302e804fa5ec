package config

import (
	"path"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/mcphost/mcphost/sdk/base"
)

// Profile is one `profile "NAME"` block: a subset of the proxy served at
// <listen path>/p/NAME (and by `mcphost run --stdio --profile NAME`).
type Profile struct {
	// Name is a safe path segment (the form of server names).
	Name string
	// Servers are the servers the profile reaches; empty is all of them.
	Servers []string
	// Tools are path.Match globs on exposed tool names; empty is every
	// tool of Servers.
	Tools []string
	// Scopes are OAuth scopes an access token needs for this profile
	// (beside the listener's own), on a listener with an oauth block.
	Scopes []string
	// Token, when set, is a bearer token of the profile's own. A secret:
	// print Redacted() instead.
	Token     string
	DeclRange hcl.Range

	// serverRanges locate each entry of servers, to report one naming no
	// server.
	serverRanges map[string]hcl.Range
	scopesRange  hcl.Range
}

// MinProfileTokenBytes is the shortest profile token written in the file
// itself; one read with env() or file() is the operator's to choose.
const MinProfileTokenBytes = 32

var profileSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "servers"}, {Name: "tools"}, {Name: "scopes"}, {Name: "token"}},
}

// profileSecrets marks the profile attributes diagnostics never quote.
var profileSecrets = base.Schema{Attributes: []base.Attribute{{Name: "token", Sensitive: true}}}

// decodeProfiles decodes every profile block, reporting duplicates.
func (d *decoder) decodeProfiles(blocks []*hcl.Block) []Profile {
	var out []Profile
	for _, b := range d.uniqueNames(blocks, "profile") {
		if p, ok := d.decodeProfile(b); ok {
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) decodeProfile(b *hcl.Block) (Profile, bool) {
	p := Profile{Name: b.Labels[0], DeclRange: b.DefRange, serverRanges: map[string]hcl.Range{}}
	start := len(d.diags)
	defer func() { hideSecretSources(d.diags[start:], b.Body, profileSecrets) }()
	if !nameRE.MatchString(p.Name) {
		d.errorf(b.LabelRanges[0], "Invalid profile name",
			"A profile name is served as a path segment: 1 to 32 characters of A-Z, a-z, 0-9, \"_\" and \"-\"; got %q.", p.Name)
	}
	content, diags := b.Body.Content(profileSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["servers"]; ok {
		p.Servers = d.evalNameList(attr, p.serverRanges)
	}
	if attr, ok := attrs["tools"]; ok {
		for _, pattern := range d.evalNameList(attr, nil) {
			if _, err := path.Match(pattern, ""); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid tools pattern",
					"profile.tools: %q is not a valid glob (%s); patterns use Go's path.Match syntax: *, ?, [a-z], \\ escapes.", pattern, err)
				continue
			}
			p.Tools = append(p.Tools, pattern)
		}
	}
	if attr, ok := attrs["scopes"]; ok {
		p.Scopes = d.evalScopes(attr, cty.NilVal)
		p.scopesRange = attr.Expr.Range()
	}
	if attr, ok := attrs["token"]; ok {
		if s, ok := d.evalString(attr); ok {
			switch {
			case s == "":
				d.errorf(attr.Expr.Range(), "Invalid token", "A profile token must not be empty; leave token out for a profile without one.")
			case len(s) < MinProfileTokenBytes && !readsSecret(attr.Expr):
				d.errorf(attr.Expr.Range(), "Invalid token",
					"A profile token written in the file must be at least %d bytes (generate one with `openssl rand -base64 32`), or be read with env() or file().",
					MinProfileTokenBytes)
			default:
				p.Token = s
			}
		}
	}
	return p, len(d.diags) == start || !d.diags[start:].HasErrors()
}

// evalNameList evaluates a list of non-empty distinct strings, noting in
// ranges (when set) where each element is written.
func (d *decoder) evalNameList(attr *hcl.Attribute, ranges map[string]hcl.Range) []string {
	v, ok := d.eval(attr, cty.List(cty.String))
	if !ok || v.IsNull() {
		return nil
	}
	var exprs []hcl.Expression
	if list, diags := hcl.ExprList(attr.Expr); !diags.HasErrors() {
		exprs = list
	}
	var out []string
	for i, it := 0, v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		if e.IsNull() || e.AsString() == "" {
			d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "profile.%s must list non-empty strings.", attr.Name)
			continue
		}
		s := e.AsString()
		if slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
		if ranges != nil {
			ranges[s] = attr.Expr.Range()
			if i < len(exprs) && len(exprs) == v.LengthInt() {
				ranges[s] = exprs[i].Range()
			}
		}
	}
	return out
}

// readsSecret says whether expr calls env() or file(): a token read from
// outside the file, whose strength is the operator's choice.
func readsSecret(expr hcl.Expression) bool {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return false
	}
	found := false
	_ = hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && (call.Name == "env" || call.Name == "file") {
			found = true
		}
		return nil
	})
	return found
}

// checkProfiles reports profile servers that name no server, and scopes on
// a config whose listener cannot check them (no oauth block).
func (d *decoder) checkProfiles(cfg *Config) {
	oauth := slices.ContainsFunc(cfg.Listeners, func(l Listener) bool { return l.OAuth != nil })
	for _, p := range cfg.Profiles {
		for _, name := range p.Servers {
			if _, ok := cfg.Server(name); !ok {
				d.errorf(p.serverRanges[name], "Unknown server in profile",
					"profile %q names server %q, but no server block has that name.", p.Name, name)
			}
		}
		if len(p.Scopes) > 0 && !oauth {
			d.errorf(p.scopesRange, "Profile scopes without OAuth",
				"profile %q requires OAuth scopes, but no listener has an oauth block to check access tokens; add one, or use token.", p.Name)
		}
	}
}

// Redacted returns a copy of p with Token replaced by RedactedValue when
// it is set.
func (p Profile) Redacted() Profile {
	if p.Token != "" {
		p.Token = RedactedValue
	}
	p.Servers = slices.Clone(p.Servers)
	p.Tools = slices.Clone(p.Tools)
	p.Scopes = slices.Clone(p.Scopes)
	return p
}

// Profile finds the profile named name.
func (c *Config) Profile(name string) (Profile, bool) {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
