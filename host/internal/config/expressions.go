package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decodeAttr evaluates attrs[name], when present, with eval, and stores a
// good value in dst; eval reports a bad one as a diagnostic.
func decodeAttr[T any](attrs hcl.Attributes, name string, eval func(*hcl.Attribute) (T, bool), dst *T) {
	if attr, ok := attrs[name]; ok {
		if v, ok := eval(attr); ok {
			*dst = v
		}
	}
}

// atLeast is evalInt refusing a value below least, as a decodeAttr eval.
func (d *decoder) atLeast(least int64) func(*hcl.Attribute) (int64, bool) {
	return func(attr *hcl.Attribute) (int64, bool) {
		n, ok := d.evalInt(attr)
		if ok && n < least {
			d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "%s must be at least %d; got %d.", attr.Name, least, n)
			return 0, false
		}
		return n, ok
	}
}

// enum is evalEnum for the given allowed values, as a decodeAttr eval.
func (d *decoder) enum(allowed []string) func(*hcl.Attribute) (string, bool) {
	return func(attr *hcl.Attribute) (string, bool) { return d.evalEnum(attr, allowed) }
}

// evalCount returns attr as a whole number of at least 1.
func (d *decoder) evalCount(attr *hcl.Attribute) (int, bool) {
	n, ok := d.evalInt(attr)
	if !ok {
		return 0, false
	}
	if n < 1 || n > 1<<31-1 {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "%s must be a whole number of at least 1; got %d.", attr.Name, n)
		return 0, false
	}
	return int(n), true
}

// eval evaluates attr and converts it to ty. ok is false after an error
// diagnostic. The value may be null (callers treat null as "not set").
func (d *decoder) eval(attr *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return convertAttr(attr, v, ty, &d.diags)
}

func convertAttr(attr *hcl.Attribute, v cty.Value, ty cty.Type, diags *hcl.Diagnostics) (cty.Value, bool) {
	v, err := convert.Convert(v, ty)
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s.", attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown attribute value",
			Detail:   fmt.Sprintf("The value of %q cannot be determined when the configuration is loaded.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	return v, true
}

// evalString returns attr as a string; null counts as not set (ok false,
// no diagnostic).
func (d *decoder) evalString(attr *hcl.Attribute) (string, bool) {
	v, ok := d.eval(attr, cty.String)
	if !ok || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) evalInt(attr *hcl.Attribute) (int64, bool) {
	v, ok := d.eval(attr, cty.Number)
	if !ok || v.IsNull() {
		return 0, false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "%s must be a whole number that fits in 64 bits.", attr.Name)
		return 0, false
	}
	return n, true
}

func (d *decoder) evalDuration(attr *hcl.Attribute) (time.Duration, bool) {
	return d.evalDurationFrom(attr, false)
}

// evalDurationOrZero is evalDuration that also accepts "0s" (and "0").
func (d *decoder) evalDurationOrZero(attr *hcl.Attribute) (time.Duration, bool) {
	return d.evalDurationFrom(attr, true)
}

// evalDurationFrom evaluates a positive duration, or zero too when
// zeroAllowed (the attribute's "off").
func (d *decoder) evalDurationFrom(attr *hcl.Attribute, zeroAllowed bool) (time.Duration, bool) {
	s, ok := d.evalString(attr)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 || (v == 0 && !zeroAllowed) {
		want := "a positive Go duration such as \"30s\", \"1m30s\" or \"500ms\""
		if zeroAllowed {
			want = "\"0s\" (off) or a positive Go duration such as \"30s\" or \"500ms\""
		}
		d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be %s; got %q.", attr.Name, want, s)
		return 0, false
	}
	return v, true
}

func (d *decoder) evalEnum(attr *hcl.Attribute, allowed []string) (string, bool) {
	s, ok := d.evalString(attr)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name,
			"%s must be one of %s; got %q.", attr.Name, quoteList(allowed), s)
		return "", false
	}
	return s, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// rangeStart formats the start of r as file:line:col.
func rangeStart(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
