package proxy

import (
	"testing"

	"github.com/mcphost/mcphost/host/internal/config"
)

// TestConfigFilters: a server's filter blocks, as loaded, filter in the
// router as written: deny wins over allow, and warnings name the block.
func TestConfigFilters(t *testing.T) {
	t.Parallel()
	src := "server \"s\" {\n  transport \"stdio\" {}\n  tools {\n    allow = [\"*_user\"]\n    deny  = [\"delete_*\"]\n  }\n  resources {\n    deny = [\"file:///secret/*\"]\n  }\n}\n"
	cfg, diags := config.Parse([]byte(src), "proxy.hcl", config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	s := cfg.Servers[0]
	tests := []struct {
		name  string
		block config.Filter
		item  string
		want  bool
		where string
	}{
		{"allowed", s.Tools, "get_user", true, "proxy.hcl:3"},
		{"deny wins over allow", s.Tools, "delete_user", false, "proxy.hcl:3"},
		{"not allowed", s.Tools, "list_groups", false, "proxy.hcl:3"},
		{"denied uri", s.Resources, "file:///secret/key", false, "proxy.hcl:7"},
		{"no allow: the rest pass", s.Resources, "file:///docs/a", true, "proxy.hcl:7"},
		{"no block", s.Prompts, "anything", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filter(tc.block)
			if got := f.Allows(tc.item); got != tc.want {
				t.Errorf("%+v allows %q = %t, want %t", f, tc.item, got, tc.want)
			}
			if f.Where != tc.where {
				t.Errorf("where = %q, want %q", f.Where, tc.where)
			}
		})
	}
}
