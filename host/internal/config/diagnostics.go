package config

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/mcphost/mcphost/host/internal/redact"
	"github.com/mcphost/mcphost/sdk/base"
)

// sanitize clears Expression and EvalContext (the text writer would print
// the values of variables used in the expression, which may be secrets) and
// rewrites env() failures into a dedicated diagnostic.
func sanitize(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d); ok && extra.CalledFunctionName() == "env" {
			var unset envUnsetError
			if errors.As(extra.FunctionCallError(), &unset) {
				d.Summary = "Environment variable not set"
				d.Detail = fmt.Sprintf("The environment variable %q is not set and env() was given no default. Set it, or give a default: env(%q, \"...\").", unset.name, unset.name)
			}
		}
		d.Expression = nil
		d.EvalContext = nil
	}
	return diags
}

// FormatDiagnostic formats d on one line as
// "proxy.hcl:12:3: Error: Summary; Detail" (the location is left out when
// d has no subject, the detail when it is empty).
func FormatDiagnostic(d *hcl.Diagnostic) string {
	var b strings.Builder
	if d.Subject != nil {
		fmt.Fprintf(&b, "%s: ", rangeStart(*d.Subject))
	}
	b.WriteString(severityString(d.Severity))
	b.WriteString(": ")
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString("; ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

func severityString(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagWarning {
		return "Warning"
	}
	return "Error"
}

// WriteDiagnostics writes each diagnostic as "proxy.hcl:12:3: " followed by
// hcl's text rendering (severity and summary, the source snippet with the
// subject highlighted, then the detail). files gives the sources for the
// snippets (Config.Files or Loader.Files); a file missing from it is
// reported as "source code not available". Output is not word-wrapped or
// colored.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	tw := hcl.NewDiagnosticTextWriter(w, files, 0, false)
	// A diagnostic on a secret's attribute keeps its position but loses
	// its snippet, which would show the value.
	noSource := hcl.NewDiagnosticTextWriter(w, nil, 0, false)
	for _, d := range diags {
		if d.Subject != nil {
			if _, err := fmt.Fprintf(w, "%s: ", rangeStart(*d.Subject)); err != nil {
				return err
			}
		}
		c := *d
		c.Expression = nil
		c.EvalContext = nil
		out := tw
		if _, secret := hcl.DiagnosticExtra[secretSource](d); secret {
			out = noSource
		}
		if err := out.WriteDiagnostic(&c); err != nil {
			return err
		}
	}
	return nil
}

// secretSource marks a diagnostic positioned on an attribute whose value is
// a secret (redact.Sensitive): WriteDiagnostics leaves its source snippet
// out. It wraps whatever Extra the diagnostic had.
type secretSource struct{ inner any }

func (s secretSource) UnwrapDiagnosticExtra() any { return s.inner }

// hideSecretSources marks the diagnostics whose subject or context touches
// an attribute of body that the schema (or, failing it, the attribute's
// name) says holds a secret, including attributes the schema does not
// declare.
func hideSecretSources(diags hcl.Diagnostics, body hcl.Body, schema base.Schema) {
	if body == nil || len(diags) == 0 {
		return
	}
	attrs, _ := body.JustAttributes()
	var secret []hcl.Range
	for name, a := range attrs {
		if redact.Sensitive(schema, name) {
			secret = append(secret, a.Range)
		}
	}
	for _, d := range diags {
		for _, r := range secret {
			if (d.Subject != nil && d.Subject.Overlaps(r)) || (d.Context != nil && d.Context.Overlaps(r)) {
				if _, done := hcl.DiagnosticExtra[secretSource](d); !done {
					d.Extra = secretSource{inner: d.Extra}
				}
				break
			}
		}
	}
}
