package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const profileServers = "server \"files\" {\n  transport \"stdio\" {}\n}\nserver \"chat\" {\n  transport \"stdio\" {}\n}\n"

// TestProfileDecode: a profile block's lists and token are read; the token
// is redacted, and one read with env() may be short.
func TestProfileDecode(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("t", MinProfileTokenBytes)
	src := profileServers + `
profile "coding" {
  servers = ["files"]
  tools   = ["*_file", "mcp__proxy__files__list_*"]
  token   = "` + long + `"
}
profile "chat" {
  token = env("CHAT_TOKEN")
}
profile "all" {}
`
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{LookupEnv: mapEnv(map[string]string{"CHAT_TOKEN": "short"})})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if len(cfg.Profiles) != 3 {
		t.Fatalf("%d profiles, want 3", len(cfg.Profiles))
	}
	coding, ok := cfg.Profile("coding")
	if !ok || !slices.Equal(coding.Servers, []string{"files"}) || !slices.Equal(coding.Tools, []string{"*_file", "mcp__proxy__files__list_*"}) || coding.Token != long {
		t.Errorf("coding = %+v", coding)
	}
	if chat, _ := cfg.Profile("chat"); chat.Token != "short" || chat.Servers != nil {
		t.Errorf("chat = %+v", chat)
	}
	if all, _ := cfg.Profile("all"); all.Token != "" || all.Servers != nil || all.Tools != nil {
		t.Errorf("all = %+v", all)
	}
	red := cfg.Redacted()
	for _, p := range red.Profiles {
		if p.Token != "" && p.Token != RedactedValue {
			t.Errorf("Redacted() keeps profile %q's token", p.Name)
		}
	}
	if c, _ := cfg.Profile("coding"); c.Token != long {
		t.Error("Redacted() changed the original")
	}
}

// TestProfileErrors: each mistake is an error at its place in the file,
// and no diagnostic quotes a token.
func TestProfileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary, at string
	}{
		{"unknown server", profileServers + "profile \"p\" {\n  servers = [\"files\", \"nope\"]\n}\n", "Unknown server in profile", "proxy.hcl:8:23"},
		{"bad name", profileServers + "profile \"a/b\" {}\n", "Invalid profile name", "proxy.hcl:7:9"},
		{"empty name", profileServers + "profile \"\" {}\n", "Invalid profile name", "proxy.hcl:7:9"},
		{"duplicate", profileServers + "profile \"p\" {}\nprofile \"p\" {}\n", `Duplicate profile "p"`, "proxy.hcl:8:1"},
		{"bad glob", profileServers + "profile \"p\" {\n  tools = [\"[a-\"]\n}\n", "Invalid tools pattern", "proxy.hcl:8:11"},
		{"short token", profileServers + "profile \"p\" {\n  token = \"hunter2-secret\"\n}\n", "Invalid token", "proxy.hcl:8:11"},
		{"empty token", profileServers + "profile \"p\" {\n  token = env(\"EMPTY\")\n}\n", "Invalid token", "proxy.hcl:8:11"},
		{"scopes without oauth", profileServers + "profile \"p\" {\n  scopes = [\"mcp:coding\"]\n}\n", "Profile scopes without OAuth", "proxy.hcl:8:12"},
		{"bad scope", profileServers + "listen \"http\" {\n  oauth {\n    issuer = \"https://as.example\"\n    audience = \"https://mcp.example/mcp\"\n    scopes = []\n  }\n}\n" +
			"profile \"p\" {\n  scopes = [\"a b\"]\n}\n", "Invalid scope", "proxy.hcl:15:12"},
		{"unknown attribute", profileServers + "profile \"p\" {\n  server = [\"files\"]\n}\n", "Unsupported argument", "proxy.hcl:8:3"},
		{"servers not a list", profileServers + "profile \"p\" {\n  servers = \"files\"\n}\n", "Incorrect attribute value type", "proxy.hcl:8:13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLoader()
			_, diags := l.Parse([]byte(tt.src), "proxy.hcl", LoadOptions{LookupEnv: mapEnv(map[string]string{"EMPTY": ""})})
			found := false
			for _, d := range diags {
				if d.Severity == hcl.DiagError && strings.Contains(d.Summary, tt.summary) {
					found = true
					if got := loc(d); got != tt.at {
						t.Errorf("%q at %s; want %s", d.Summary, got, tt.at)
					}
				}
			}
			if !found {
				t.Fatalf("no %q error; got:\n%s", tt.summary, diagString(diags))
			}
			// Written with the source, as the CLI does: the token's line
			// is never shown.
			var out bytes.Buffer
			if err := l.WriteDiagnostics(&out, diags); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "hunter2") || strings.Contains(diagString(diags), "hunter2") {
				t.Errorf("a diagnostic quotes the token:\n%s", out.String())
			}
		})
	}
}
