package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestToolSearchConfig(t *testing.T) {
	t.Parallel()
	cfg := mustLoad(t, writeConfig(t, "", nil), LoadOptions{LookupEnv: noEnv})
	if cfg.Proxy.ToolMode != ToolModeAll || cfg.Proxy.PinnedTools != nil {
		t.Errorf("defaults: tool_mode %q, pinned_tools %q; want all and none", cfg.Proxy.ToolMode, cfg.Proxy.PinnedTools)
	}
	src := "proxy {\n  tool_mode = \"search\"\n  pinned_tools = [\"mcp__proxy__files__*\", \"*__echo\"]\n}\n"
	cfg = mustLoad(t, writeConfig(t, src, nil), LoadOptions{LookupEnv: noEnv})
	if cfg.Proxy.ToolMode != ToolModeSearch || !slices.Equal(cfg.Proxy.PinnedTools, []string{"mcp__proxy__files__*", "*__echo"}) {
		t.Errorf("tool_mode %q, pinned_tools %q", cfg.Proxy.ToolMode, cfg.Proxy.PinnedTools)
	}
}

func TestToolSearchConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src, summary, at string
	}{
		{"bad tool_mode", "proxy {\n  tool_mode = \"lazy\"\n}\n", "Invalid tool_mode", "proxy.hcl:2:15"},
		{"bad glob", "proxy {\n  pinned_tools = [\"a[\"]\n}\n", "Invalid pinned_tools", "proxy.hcl:2:18"},
		{"empty glob", "proxy {\n  pinned_tools = [\"\"]\n}\n", "Invalid pinned_tools", "proxy.hcl:2:18"},
		{"not a list", "proxy {\n  pinned_tools = 3\n}\n", "Incorrect attribute value type", "proxy.hcl:2:18"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Load(writeConfig(t, tt.src, nil), LoadOptions{LookupEnv: noEnv})
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("no error; got:\n%s", diagString(diags))
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && strings.Contains(d.Summary, tt.summary) {
					if got := loc(d); got != tt.at {
						t.Errorf("%q at %s; want %s", d.Summary, got, tt.at)
					}
					if d.Detail == "" {
						t.Errorf("%q has no detail", d.Summary)
					}
					return
				}
			}
			t.Errorf("no error with summary %q; got:\n%s", tt.summary, diagString(diags))
		})
	}
}
