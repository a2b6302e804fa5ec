package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DecodeBody decodes a plugin-specific body (a server's transport block body
// or a plugin's config block body) against a schema reported by the plugin,
// evaluating expressions in ctx (normally Config.EvalContext).
//
// The result is a JSON object with one member per attribute that is set to
// a non-null value, converted to the attribute's cty type (schema Type is
// cty's JSON type form; an empty Type accepts any value). Attributes that
// are absent or null take the schema's Default, so the plugin gets a
// complete config, or are omitted when they have none. Arguments or blocks the schema does not
// declare are errors ("Unsupported argument"), as are missing or null
// required attributes and values that cannot be converted. Diagnostics are
// positioned in the source and never contain attribute values. A nil body
// is treated as empty. On error the JSON is nil.
func DecodeBody(body hcl.Body, schema base.Schema, ctx *hcl.EvalContext) (json.RawMessage, hcl.Diagnostics) {
	if body == nil {
		body = hcl.EmptyBody()
	}
	var diags hcl.Diagnostics
	missing := body.MissingItemRange()

	types := make(map[string]cty.Type, len(schema.Attributes))
	defaults := map[string]cty.Value{}
	bodySchema := &hcl.BodySchema{}
	for _, a := range schema.Attributes {
		if _, dup := types[a.Name]; dup || a.Name == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid plugin schema",
				Detail:   fmt.Sprintf("The plugin's schema declares attribute %q more than once or with an empty name.", a.Name),
				Subject:  missing.Ptr(),
			})
			continue
		}
		ty := cty.DynamicPseudoType
		if len(a.Type) > 0 {
			t, err := ctyjson.UnmarshalType(a.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid plugin schema",
					Detail:   fmt.Sprintf("The plugin's schema gives attribute %q the invalid type %s: %s.", a.Name, a.Type, err),
					Subject:  missing.Ptr(),
				})
				continue
			}
			ty = t
		}
		types[a.Name] = ty
		if len(a.Default) > 0 {
			v, err := defaultValue(a.Default, ty)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid plugin schema",
					Detail:   fmt.Sprintf("The plugin's schema gives attribute %q a default that is not a %s: %s.", a.Name, ty.FriendlyName(), err),
					Subject:  missing.Ptr(),
				})
				continue
			}
			defaults[a.Name] = v
		}
		bodySchema.Attributes = append(bodySchema.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	if diags.HasErrors() {
		return nil, diags
	}

	content, cdiags := body.Content(bodySchema)
	diags = append(diags, cdiags...)

	vals := map[string]cty.Value{}
	for _, a := range schema.Attributes {
		attr, ok := content.Attributes[a.Name]
		if !ok {
			if v, ok := defaults[a.Name]; ok {
				vals[a.Name] = v
			}
			continue
		}
		v, vdiags := attr.Expr.Value(ctx)
		diags = append(diags, vdiags...)
		if vdiags.HasErrors() {
			continue
		}
		v, ok = convertAttr(attr, v, types[a.Name], &diags)
		if !ok {
			continue
		}
		if v.IsNull() {
			if a.Required {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing required argument",
					Detail:   fmt.Sprintf("The argument %q is required and must not be null.", a.Name),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else if d, ok := defaults[a.Name]; ok {
				vals[a.Name] = d
			}
			continue
		}
		vals[a.Name] = v
	}
	diags = sanitize(diags)
	hideSecretSources(diags, body, schema)
	if diags.HasErrors() {
		return nil, diags
	}
	obj := cty.EmptyObjectVal
	if len(vals) > 0 {
		obj = cty.ObjectVal(vals)
	}
	out, err := ctyjson.Marshal(obj, obj.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode plugin configuration",
			Detail:   fmt.Sprintf("The block's values cannot be encoded as JSON: %s.", err),
			Subject:  missing.Ptr(),
		})
	}
	return out, diags
}

// defaultValue is a schema Default (JSON) as a value of ty.
func defaultValue(js json.RawMessage, ty cty.Type) (cty.Value, error) {
	if ty == cty.DynamicPseudoType {
		implied, err := ctyjson.ImpliedType(js)
		if err != nil {
			return cty.NilVal, err
		}
		ty = implied
	}
	v, err := ctyjson.Unmarshal(js, ty)
	if err == nil && v.IsNull() {
		err = fmt.Errorf("it is null")
	}
	return v, err
}

// PluginDiagnostics turns diagnostics a plugin reported about a body (from
// Validate or Configure) into hcl.Diagnostics. A diagnostic naming an
// attribute that is set in body is positioned at that attribute's value
// (Subject) within the whole `name = value` line (Context); one with an
// empty or absent attribute is positioned at blockRange (the block header,
// e.g. TransportBlock.DeclRange or Plugin.ConfigRange). An attribute such as
// "env.FOO" or "args[0]" is located by its leading name. Severity
// "warning" gives a warning; anything else gives an error. A diagnostic
// on an attribute the schema marks sensitive is written without its source
// snippet (see WriteDiagnostics); the plugin's text is the caller's to
// redact.
func PluginDiagnostics(body hcl.Body, blockRange hcl.Range, diags []base.Diagnostic, schema base.Schema) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, pd := range diags {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  pd.Summary,
			Detail:   pd.Detail,
			Subject:  blockRange.Ptr(),
		}
		if pd.Severity == base.SeverityWarning {
			d.Severity = hcl.DiagWarning
		}
		if attr := findAttribute(body, pd.Attribute); attr != nil {
			d.Subject = attr.Expr.Range().Ptr()
			d.Context = attr.Range.Ptr()
		}
		out = append(out, d)
	}
	hideSecretSources(out, body, schema)
	return out
}

func findAttribute(body hcl.Body, name string) *hcl.Attribute {
	if body == nil {
		return nil
	}
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		return nil
	}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if content == nil {
		return nil
	}
	return content.Attributes[name]
}
