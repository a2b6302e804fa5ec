package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/mcphost/mcphost/sdk/base"
)

// TestSecretDiagnosticsHaveNoSnippet: a diagnostic on an attribute the
// plugin's schema marks sensitive (or whose name is a secret's) keeps its
// position but is written without the source line that holds the value;
// others keep their snippet.
func TestSecretDiagnosticsHaveNoSnippet(t *testing.T) {
	t.Parallel()
	src := `server "s" {
  transport "tcp" {
    address = "127.0.0.1:1"
    dsn_url = ["sup3r-secret-value"]
    api_key = "k3y-in-clear"
    port    = "not-a-number"
  }
}
`
	l := NewLoader()
	cfg, diags := l.Parse([]byte(src), "proxy.hcl", LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	body := cfg.Servers[0].Transport.Body
	schema := base.Schema{Attributes: []base.Attribute{
		{Name: "address", Type: base.TypeString},
		{Name: "dsn_url", Type: base.TypeString, Sensitive: true},
		{Name: "port", Type: base.TypeNumber},
	}}
	tests := []struct {
		name     string
		diags    func() hcl.Diagnostics
		hidden   string // must not be written
		snippets []string
	}{
		{name: "decode: wrong type of a sensitive attribute, undeclared secret", diags: func() hcl.Diagnostics {
			_, d := DecodeBody(body, schema, cfg.EvalContext)
			return d
		}, hidden: "sup3r-secret-value", snippets: []string{`port    = "not-a-number"`}},
		{name: "decode: an undeclared attribute named like a secret", diags: func() hcl.Diagnostics {
			_, d := DecodeBody(body, schema, cfg.EvalContext)
			return d
		}, hidden: "k3y-in-clear"},
		{name: "plugin diagnostic on a sensitive attribute", diags: func() hcl.Diagnostics {
			return PluginDiagnostics(body, cfg.Servers[0].Transport.DeclRange, []base.Diagnostic{
				base.Error("dsn_url", "Bad DSN", "cannot parse it"),
				base.Error("address", "Unreachable", "nobody listens"),
			}, schema)
		}, hidden: "sup3r-secret-value", snippets: []string{`address = "127.0.0.1:1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := tt.diags()
			if len(d) == 0 {
				t.Fatal("no diagnostics")
			}
			var b strings.Builder
			if err := l.WriteDiagnostics(&b, d); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if strings.Contains(out, tt.hidden) {
				t.Errorf("a secret is written:\n%s", out)
			}
			if !strings.Contains(out, "proxy.hcl:4:") && !strings.Contains(out, "proxy.hcl:5:") {
				t.Errorf("the secret attribute's diagnostic lost its position:\n%s", out)
			}
			for _, s := range tt.snippets {
				if !strings.Contains(out, s) {
					t.Errorf("snippet %q missing:\n%s", s, out)
				}
			}
		})
	}
}
