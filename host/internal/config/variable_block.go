package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "description"}},
}

// decodeVariables evaluates the variable blocks (defaults may use functions
// and mcphost.*, but not other variables) and applies the overrides.
func (d *decoder) decodeVariables(blocks []*hcl.Block) cty.Value {
	vals := map[string]cty.Value{}
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			d.errorf(b.LabelRanges[0], "Invalid variable name",
				"%q is not a valid variable name: use letters, digits, underscores and dashes, starting with a letter.", name)
			continue
		}
		if first, dup := seen[name]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate variable %q", name),
				"A variable named %q was already declared at %s. Variable names must be unique.", name, rangeStart(first))
			continue
		}
		seen[name] = b.DefRange
		content, diags := b.Body.Content(variableSchema)
		d.add(diags...)
		if attr, ok := content.Attributes["description"]; ok {
			d.evalString(attr)
		}
		if v, ok := d.opts.Vars[name]; ok {
			if v.IsNull() { // also catches the zero cty.Value
				v = cty.NullVal(cty.DynamicPseudoType)
			}
			vals[name] = v
			continue
		}
		attr, ok := content.Attributes["default"]
		if !ok {
			d.errorf(b.DefRange, fmt.Sprintf("No value for variable %q", name),
				"The variable %q has no default, so a value must be given when starting mcphost.", name)
			vals[name] = cty.DynamicVal
			continue
		}
		v, diags := attr.Expr.Value(d.ctx)
		d.add(diags...)
		if diags.HasErrors() {
			v = cty.DynamicVal
		}
		vals[name] = v
	}
	for name := range d.opts.Vars {
		if _, ok := seen[name]; !ok {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Undeclared variable %q", name),
				Detail:   fmt.Sprintf("A value was given for variable %q, but the configuration has no variable %q block.", name, name),
			})
		}
	}
	return cty.ObjectVal(vals)
}
