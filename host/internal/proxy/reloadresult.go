package proxy

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/admin"
)

// refused is the result of a reload whose configuration has errors.
func refused(diags hcl.Diagnostics, files map[string]*hcl.File) ReloadResult {
	return ReloadResult{Diagnostics: formatDiagnostics(diags, files), Details: diagnosticsOf(diags)}
}

// diagnosticsOf turns HCL diagnostics into the admin API's.
func diagnosticsOf(diags hcl.Diagnostics) []admin.Diagnostic {
	out := make([]admin.Diagnostic, 0, len(diags))
	for _, d := range diags {
		ad := admin.Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			ad.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			ad.File, ad.Line, ad.Column = r.Filename, r.Start.Line, r.Start.Column
		}
		out = append(out, ad)
	}
	return out
}

// reasonOf is the first error of diags in a sentence, for a ReloadPartial.
func reasonOf(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Detail == "" {
			return d.Summary
		}
		return fmt.Sprintf("%s: %s", d.Summary, d.Detail)
	}
	return "unknown error"
}

// serverPartial says what became of a server whose new settings could not
// be used.
func serverPartial(name string, existed bool, diags hcl.Diagnostics) admin.ReloadPartial {
	what := "not added"
	if existed {
		what = "new settings not applied; it keeps running with its previous ones"
	}
	return admin.ReloadPartial{Kind: admin.PartialServer, Name: name, Reason: what + ": " + reasonOf(diags)}
}

// adminReload is a reload's result as the admin API reports it.
func adminReload(r ReloadResult) admin.ReloadResult {
	partial := append([]admin.ReloadPartial(nil), r.Partial...)
	for _, w := range r.Warnings {
		partial = append(partial, admin.ReloadPartial{Kind: admin.PartialRestart, Reason: w})
	}
	return admin.ReloadResult{
		Applied: r.Applied, Added: r.Added, Removed: r.Removed, Changed: r.Changed, Unchanged: r.Unchanged,
		Plugins: r.Plugins, Diagnostics: r.Details, Partial: partial,
	}
}
