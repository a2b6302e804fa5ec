package config

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DefaultNameBudget is Claude's (and OpenAI's) limit on a tool name.
const DefaultNameBudget = 64

// minExposedName is the least room name_budget may leave after
// client_prefix: a shortened name is its start, '_' and an 8-digit hash.
const minExposedName = 16

// exposedNameRE is what a name clients see may hold (the MCP tool-name
// characters the common clients accept).
var exposedNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// decodeNameBudget reads name_budget and client_prefix, which together
// bound the exposed names.
func (d *decoder) decodeNameBudget(attrs hcl.Attributes, p *Proxy) {
	if attr, ok := attrs["client_prefix"]; ok {
		if s, ok := d.evalString(attr); ok {
			if s != "" && !exposedNameRE.MatchString(s) {
				d.errorf(attr.Expr.Range(), "Invalid client_prefix",
					"client_prefix must hold only letters, digits, _ and - (it stands for what a client puts before every name, such as \"mcp__proxy__\"); got %q.", s)
			} else {
				p.ClientPrefix = s
			}
		}
	}
	attr, ok := attrs["name_budget"]
	if !ok {
		if room := p.NameBudget - len(p.ClientPrefix); room < minExposedName {
			d.errorf(attrs["client_prefix"].Expr.Range(), "Invalid client_prefix",
				"client_prefix (%d characters) leaves %d of name_budget (%d) for the names; at least %d are needed.",
				len(p.ClientPrefix), room, p.NameBudget, minExposedName)
		}
		return
	}
	n, ok := d.evalInt(attr)
	if !ok {
		return
	}
	if room := int(n) - len(p.ClientPrefix); n > 1024 || room < minExposedName {
		d.errorf(attr.Expr.Range(), "Invalid name_budget",
			"name_budget must leave at least %d characters after client_prefix (%d characters) and be at most 1024; got %d.",
			minExposedName, len(p.ClientPrefix), n)
		return
	}
	p.NameBudget = int(n)
}

var toolOverrideSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "expose_as"}, {Name: "description"}, {Name: "annotations"}, {Name: "hidden"},
	},
}

// toolAnnotationTypes are the MCP ToolAnnotations members, and their types.
var toolAnnotationTypes = map[string]cty.Type{
	"title":           cty.String,
	"readOnlyHint":    cty.Bool,
	"destructiveHint": cty.Bool,
	"idempotentHint":  cty.Bool,
	"openWorldHint":   cty.Bool,
}

// addToolOverride decodes a server's `tool "NAME"` block onto list,
// refusing a second block for one tool.
func (d *decoder) addToolOverride(list []ToolOverride, b *hcl.Block, proxy Proxy) []ToolOverride {
	o := ToolOverride{Name: b.Labels[0], DeclRange: b.DefRange}
	if o.Name == "" {
		d.errorf(b.LabelRanges[0], "Invalid tool name", "A tool block names one of the server's tools, as the server lists it.")
	}
	for _, prev := range list {
		if prev.Name == o.Name {
			d.errorf(b.DefRange, "Duplicate tool block",
				"Tool %q already has a block at %s; a tool has at most one.", o.Name, rangeStart(prev.DeclRange))
			return list
		}
	}
	content, diags := b.Body.Content(toolOverrideSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["expose_as"]; ok {
		if s, ok := d.evalString(attr); ok {
			room := proxy.NameBudget - len(proxy.ClientPrefix)
			switch {
			case !exposedNameRE.MatchString(s):
				d.errorf(attr.Expr.Range(), "Invalid expose_as",
					"expose_as must be 1 or more letters, digits, _ or -; got %q.", s)
			case len(s) > room:
				d.errorf(attr.Expr.Range(), "Invalid expose_as",
					"expose_as %q is %d characters; with client_prefix %q it must fit name_budget (%d), so at most %d.",
					s, len(s), proxy.ClientPrefix, proxy.NameBudget, room)
			default:
				o.ExposeAs = s
			}
		}
	}
	if attr, ok := attrs["description"]; ok {
		if s, ok := d.evalString(attr); ok {
			o.Description = s
		}
	}
	if attr, ok := attrs["hidden"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			o.Hidden = v.True()
		}
	}
	if attr, ok := attrs["annotations"]; ok {
		o.Annotations = d.decodeToolAnnotations(attr)
	}
	return append(list, o)
}

// decodeToolAnnotations reads an annotations object, checking each member
// against ToolAnnotations so that a typo ("readonlyHint") fails the load
// rather than being sent to clients that ignore it.
func (d *decoder) decodeToolAnnotations(attr *hcl.Attribute) []byte {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags...)
	if diags.HasErrors() || v.IsNull() {
		return nil
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		d.errorf(attr.Expr.Range(), "Invalid annotations",
			"annotations must be an object, such as { readOnlyHint = true, title = \"Search\" }.")
		return nil
	}
	members := map[string]json.RawMessage{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		key := k.AsString()
		want, known := toolAnnotationTypes[key]
		if !known {
			names := make([]string, 0, len(toolAnnotationTypes))
			for n := range toolAnnotationTypes {
				names = append(names, n)
			}
			slices.Sort(names)
			d.errorf(attr.Expr.Range(), "Invalid annotations",
				"annotations has %q; tool annotations are %s.", key, strings.Join(names, ", "))
			continue
		}
		if e.IsNull() || !e.Type().Equals(want) {
			d.errorf(attr.Expr.Range(), "Invalid annotations",
				"annotations.%s must be a %s.", key, want.FriendlyName())
			continue
		}
		js, err := ctyjson.Marshal(e, want)
		if err != nil {
			d.errorf(attr.Expr.Range(), "Invalid annotations", "annotations.%s: %s.", key, err)
			continue
		}
		members[key] = js
	}
	js, err := json.Marshal(members)
	if err != nil {
		d.errorf(attr.Expr.Range(), "Invalid annotations", "annotations: %s.", err)
		return nil
	}
	return js
}

// checkExposeAs refuses two tool blocks that expose one name: the proxy
// would have to pick one, and which one the config meant is not known.
func (d *decoder) checkExposeAs(servers []Server) {
	seen := map[string]hcl.Range{}
	for _, s := range servers {
		for _, o := range s.ToolOverrides {
			if o.ExposeAs == "" {
				continue
			}
			if first, dup := seen[o.ExposeAs]; dup {
				d.errorf(o.DeclRange, "Duplicate expose_as",
					"expose_as %q is already given to another tool at %s; exposed names must be unique.", o.ExposeAs, rangeStart(first))
				continue
			}
			seen[o.ExposeAs] = o.DeclRange
		}
	}
}
