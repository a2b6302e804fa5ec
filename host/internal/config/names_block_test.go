package config

import (
	"testing"
)

func TestToolOverrides(t *testing.T) {
	t.Parallel()
	const transport = "  transport \"stdio\" {}\n"
	tests := []struct {
		name    string
		proxy   string // the proxy block's body, if any
		body    string // inside server "s" { ... }, after the transport
		want    []ToolOverride
		summary string // the error expected, "" for none
		at      string
	}{
		{name: "none"},
		{
			name: "all fields",
			body: "  tool \"search_code\" {\n    expose_as = \"find_code\"\n    description = \"Find code.\"\n" +
				"    annotations = { readOnlyHint = true, title = \"Find\" }\n  }\n  tool \"drop_table\" {\n    hidden = true\n  }\n",
			want: []ToolOverride{
				{Name: "search_code", ExposeAs: "find_code", Description: "Find code.", Annotations: []byte(`{"readOnlyHint":true,"title":"Find"}`)},
				{Name: "drop_table", Hidden: true},
			},
		},
		{
			name: "bad expose_as", body: "  tool \"a\" {\n    expose_as = \"has space\"\n  }\n",
			summary: "Invalid expose_as", at: "proxy.hcl:4:17",
		},
		{
			name: "expose_as past the budget", proxy: "  client_prefix = \"mcp__proxy__\"\n  name_budget = 30\n",
			body:    "  tool \"a\" {\n    expose_as = \"a_name_of_nineteen_\"\n  }\n",
			summary: "Invalid expose_as", at: "proxy.hcl:4:17",
		},
		{
			name: "unknown annotation", body: "  tool \"a\" {\n    annotations = { readonlyHint = true }\n  }\n",
			summary: "Invalid annotations", at: "proxy.hcl:4:19",
		},
		{
			name: "annotation of the wrong type", body: "  tool \"a\" {\n    annotations = { readOnlyHint = \"yes\" }\n  }\n",
			summary: "Invalid annotations", at: "proxy.hcl:4:19",
		},
		{
			name: "duplicate block", body: "  tool \"a\" {}\n  tool \"a\" {}\n",
			summary: "Duplicate tool block", at: "proxy.hcl:4:3",
		},
		{
			name: "unknown attribute", body: "  tool \"a\" {\n    rename = \"b\"\n  }\n",
			summary: "Unsupported argument", at: "proxy.hcl:4:5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "server \"s\" {\n" + transport + tt.body + "}\n"
			if tt.proxy != "" {
				src = "server \"s\" {\n" + transport + tt.body + "}\nproxy {\n" + tt.proxy + "}\n"
			}
			cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if tt.summary != "" {
				if len(diags) != 1 || diags[0].Summary != tt.summary || loc(diags[0]) != tt.at {
					t.Fatalf("want %q at %s, got:\n%s", tt.summary, tt.at, diagString(diags))
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			got := cfg.Servers[0].ToolOverrides
			if len(got) != len(tt.want) {
				t.Fatalf("%d overrides, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Name != w.Name || g.ExposeAs != w.ExposeAs || g.Description != w.Description ||
					string(g.Annotations) != string(w.Annotations) || g.Hidden != w.Hidden || g.DeclRange.Filename != "proxy.hcl" {
					t.Errorf("override %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDuplicateExposeAs(t *testing.T) {
	t.Parallel()
	src := "server \"a\" {\n  transport \"stdio\" {}\n  tool \"x\" {\n    expose_as = \"same\"\n  }\n}\n" +
		"server \"b\" {\n  transport \"stdio\" {}\n  tool \"y\" {\n    expose_as = \"same\"\n  }\n}\n"
	_, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
	if len(diags) != 1 || diags[0].Summary != "Duplicate expose_as" || loc(diags[0]) != "proxy.hcl:9:3" {
		t.Fatalf("want Duplicate expose_as at proxy.hcl:9:3, got:\n%s", diagString(diags))
	}
}

func TestNameBudgetConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body   string
		budget       int
		clientPrefix string
		summary, at  string
	}{
		{name: "defaults", budget: 64},
		{name: "claude code", body: "  client_prefix = \"mcp__gateway__\"\n", budget: 64, clientPrefix: "mcp__gateway__"},
		{name: "bigger budget", body: "  name_budget = 128\n", budget: 128},
		{name: "prefix leaves too little", body: "  client_prefix = \"mcp__a_very_long_name_the_user_gave_the_server_x__\"\n",
			summary: "Invalid client_prefix", at: "proxy.hcl:2:19"},
		{name: "budget too small", body: "  name_budget = 20\n  client_prefix = \"mcp__x__\"\n",
			summary: "Invalid name_budget", at: "proxy.hcl:2:17"},
		{name: "bad prefix", body: "  client_prefix = \"mcp::\"\n", summary: "Invalid client_prefix", at: "proxy.hcl:2:19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte("proxy {\n"+tt.body+"}\n"), "proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if tt.summary != "" {
				if len(diags) != 1 || diags[0].Summary != tt.summary || loc(diags[0]) != tt.at {
					t.Fatalf("want %q at %s, got:\n%s", tt.summary, tt.at, diagString(diags))
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			if cfg.Proxy.NameBudget != tt.budget || cfg.Proxy.ClientPrefix != tt.clientPrefix {
				t.Fatalf("name_budget %d, client_prefix %q; want %d, %q", cfg.Proxy.NameBudget, cfg.Proxy.ClientPrefix, tt.budget, tt.clientPrefix)
			}
		})
	}
}
