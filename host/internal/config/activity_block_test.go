package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestActivityBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    Activity
		wantErr string // the error's file:line:col and words
	}{
		{name: "absent: memory only", src: "", want: defaultActivity()},
		{name: "file relative to the config dir", src: "activity {\n  file = \"audit/activity.log\"\n  max_bytes = 8192\n  max_files = 3\n  recent = 50\n  include_arguments = true\n  include_results = true\n  max_capture_bytes = 1024\n}\n",
			want: Activity{File: "/cfg/audit/activity.log", MaxBytes: 8192, MaxFiles: 3, Recent: 50, IncludeArguments: true, IncludeResults: true, MaxCaptureBytes: 1024}},
		{name: "absolute file", src: "activity {\n  file = \"/var/log/mcphost/calls.log\"\n}\n",
			want: func() Activity { a := defaultActivity(); a.File = "/var/log/mcphost/calls.log"; return a }()},
		{name: "not .log", src: "activity {\n  file = \"activity.jsonl\"\n}\n", wantErr: `/cfg/proxy.hcl:2:10: Error: Invalid activity file`},
		{name: "in log_dir", src: "activity {\n  file = \".mcphost/logs/activity.log\"\n}\n", wantErr: `/cfg/proxy.hcl:2:10: Error: Invalid activity file`},
		{name: "small max_bytes", src: "activity {\n  max_bytes = 10\n}\n", wantErr: `/cfg/proxy.hcl:2:15: Error: Invalid max_bytes`},
		{name: "recent too large", src: "activity {\n  recent = 1000000\n}\n", wantErr: `/cfg/proxy.hcl:2:12: Error: Invalid recent`},
		{name: "unknown attribute", src: "activity {\n  arguments = true\n}\n", wantErr: `/cfg/proxy.hcl:2:3: Error: Unsupported argument`},
		{name: "two blocks", src: "activity {}\nactivity {}\n", wantErr: `/cfg/proxy.hcl:2:1: Error: Duplicate activity block`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Parse([]byte(tc.src), "/cfg/proxy.hcl", LoadOptions{LookupEnv: noEnv})
			if tc.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diagString(diags), tc.wantErr) {
					t.Fatalf("diagnostics %q, want %q", diagString(diags), tc.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			got := cfg.Activity
			got.DeclRange = hcl.Range{}
			if got != tc.want {
				t.Fatalf("activity %+v, want %+v", got, tc.want)
			}
		})
	}
}
