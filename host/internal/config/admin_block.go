package config

import (
	"net"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var adminSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address"}, {Name: "auth_token"}, {Name: "enabled"}},
}

func (d *decoder) decodeAdmin(b *hcl.Block, a *Admin) {
	a.DeclRange = b.DefRange
	content, diags := b.Body.Content(adminSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["address"]; ok {
		a.Explicit = true
		decodeAttr(attrs, "address", d.evalString, &a.Address)
		if a.Address != "" {
			if _, _, err := net.SplitHostPort(a.Address); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid admin address", "address must be host:port; %v.", err)
			}
		}
	}
	decodeAttr(attrs, "auth_token", d.evalString, &a.AuthToken)
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() && v.False() {
			a.Address = ""
		}
	}
	if a.Address != "" && a.AuthToken == "" && !loopbackAddress(a.Address) {
		d.errorf(b.DefRange, "Admin API exposed without a token",
			"The admin address %s is not loopback: set auth_token (the generated token file is only for local use).", a.Address)
	}
}
