package config

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source"},
		{Name: "sha256"},
		{Name: "mode"},
		{Name: "version"},
		{Name: "pass_env"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "config"}},
}

func (d *decoder) decodePlugin(b *hcl.Block) Plugin {
	name := b.Labels[0]
	p := Plugin{
		Name:        name,
		Source:      SourceBuiltin,
		Mode:        ModeSubprocess,
		DeclRange:   b.DefRange,
		ConfigRange: b.DefRange,
	}
	if !nameRE.MatchString(name) {
		d.errorf(b.LabelRanges[0], "Invalid plugin name",
			"Plugin name %q must be 1 to 32 letters, digits, underscores or dashes.", name)
	}
	content, diags := b.Body.Content(pluginSchema)
	d.add(diags...)
	attrs := content.Attributes

	sourceOK := true
	if attr, ok := attrs["source"]; ok {
		s, ok := d.evalString(attr)
		sourceOK = ok
		switch {
		case !ok:
		case s == "":
			d.errorf(attr.Expr.Range(), "Invalid plugin source",
				"source must be %q or the path of a plugin binary.", SourceBuiltin)
			sourceOK = false
		case s == SourceBuiltin:
		default:
			path := s
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			path = filepath.Clean(path)
			fi, err := os.Stat(path)
			switch {
			case err != nil:
				d.errorf(attr.Expr.Range(), "Plugin binary not found",
					"The plugin binary %q (resolved relative to the configuration directory) cannot be used: %s.", path, err)
			case fi.IsDir():
				d.errorf(attr.Expr.Range(), "Plugin binary not found",
					"The plugin source %q is a directory; it must be the path of an executable file.", path)
			}
			p.Source = path
		}
	}

	if attr, ok := attrs["pass_env"]; ok {
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() || !envNameRE.MatchString(e.AsString()) {
					d.errorf(attr.Expr.Range(), "Invalid pass_env",
						"pass_env must list environment variable names (letters, digits and underscores, not starting with a digit).")
					continue
				}
				p.PassEnv = append(p.PassEnv, e.AsString())
			}
		}
	}

	if attr, ok := attrs["sha256"]; ok {
		if s, ok := d.evalString(attr); ok {
			if !sha256RE.MatchString(s) {
				d.errorf(attr.Expr.Range(), "Invalid sha256",
					"sha256 must be 64 lowercase hexadecimal characters (the output of `sha256sum`).")
			} else {
				p.SHA256 = s
			}
			if p.Builtin() && sourceOK {
				d.add(&hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "sha256 ignored for a builtin plugin",
					Detail:   "sha256 is only checked when source is the path of a plugin binary.",
					Subject:  attr.Expr.Range().Ptr(),
				})
			}
		}
	} else if !p.Builtin() && sourceOK {
		d.errorf(attrs["source"].Expr.Range(), "Missing sha256",
			"A plugin whose source is a path must set sha256 to the SHA-256 of the binary, in lowercase hex.")
	}

	if attr, ok := attrs["mode"]; ok {
		if s, ok := d.evalEnum(attr, modes); ok {
			if s == ModeInprocess && !p.Builtin() {
				d.errorf(attr.Expr.Range(), "Invalid plugin mode",
					"mode %q is only allowed for builtin plugins; a plugin loaded from a path always runs as a subprocess.", ModeInprocess)
			} else {
				p.Mode = s
			}
		}
	}
	decodeAttr(attrs, "version", d.evalString, &p.Version)
	for i, cb := range content.Blocks {
		if i > 0 {
			d.errorf(cb.DefRange, "Duplicate config block",
				"A plugin has at most one config block; the first is at %s.", rangeStart(content.Blocks[0].DefRange))
			continue
		}
		p.Config = cb.Body
		p.ConfigRange = cb.DefRange
	}
	return p
}
