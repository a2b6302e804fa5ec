package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

const oauthServers = `
server "github" {
  transport "stdio" {}
}
server "files" {
  transport "stdio" {}
}
`

func TestListenOAuth(t *testing.T) {
	t.Parallel()
	src := `listen "http" {
  address = "0.0.0.0:3000"
  oauth {
    issuer            = "https://auth.example.com"
    audience          = "https://mcp.example.com/mcp"
    scopes            = ["mcp", "mcp"]
    jwks_url          = "https://auth.example.com/jwks.json"
    introspection_url = "https://auth.example.com/introspect"
    client_id         = "mcphost"
    client_secret     = "s3cret-value"
    server_scopes     = { github = ["mcp:github"], files = ["mcp:files", "mcp:read"] }
    resource_name     = "Team MCP"
  }
}
` + oauthServers
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{Executable: "/bin/mcphost"})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	o := cfg.Listeners[0].OAuth
	if o == nil {
		t.Fatal("no OAuth settings decoded")
	}
	if o.Issuer != "https://auth.example.com" || o.Audience != "https://mcp.example.com/mcp" ||
		o.JWKSURL != "https://auth.example.com/jwks.json" || o.IntrospectionURL != "https://auth.example.com/introspect" ||
		o.ClientID != "mcphost" || o.ClientSecret != "s3cret-value" || o.ResourceName != "Team MCP" {
		t.Errorf("decoded %+v", o)
	}
	if !slices.Equal(o.Scopes, []string{"mcp"}) {
		t.Errorf("scopes = %q, want the duplicate dropped", o.Scopes)
	}
	if !slices.Equal(o.ServerScopes["github"], []string{"mcp:github"}) || !slices.Equal(o.ServerScopes["files"], []string{"mcp:files", "mcp:read"}) {
		t.Errorf("server_scopes = %q", o.ServerScopes)
	}
	red := cfg.Listeners[0].Redacted().OAuth
	if red.ClientSecret != RedactedValue || o.ClientSecret != "s3cret-value" {
		t.Errorf("redacted secret %q, original %q", red.ClientSecret, o.ClientSecret)
	}
}

func TestListenOAuthMinimal(t *testing.T) {
	t.Parallel()
	src := "listen \"http\" {\n  address = \"0.0.0.0:3000\"\n  oauth {\n    issuer = \"http://127.0.0.1:9000\"\n" +
		"    audience = \"http://localhost:3000/mcp\"\n    scopes = []\n  }\n}\n"
	cfg, diags := Parse([]byte(src), "proxy.hcl", LoadOptions{Executable: "/bin/mcphost"})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if o := cfg.Listeners[0].OAuth; o == nil || len(o.Scopes) != 0 || o.JWKSURL != "" {
		t.Errorf("decoded %+v", o)
	}
}

func TestListenOAuthErrors(t *testing.T) {
	t.Parallel()
	block := func(body string) string {
		return "listen \"http\" {\n  oauth {\n" + body + "\n  }\n}\n" + oauthServers
	}
	const base = "    issuer = \"https://a.example\"\n    audience = \"https://m.example/mcp\"\n    scopes = [\"mcp\"]\n"
	tests := []struct {
		name, src, summary, at string
	}{
		{"missing issuer", block("    audience = \"https://m.example/mcp\"\n    scopes = []"), "Missing required argument", "proxy.hcl:2:9"},
		{"missing scopes", block("    issuer = \"https://a.example\"\n    audience = \"https://m.example/mcp\""), "Missing required argument", "proxy.hcl:2:9"},
		{"issuer not a URL", block("    issuer = \"auth.example.com\"\n    audience = \"https://m.example/mcp\"\n    scopes = []"), "Invalid issuer", "proxy.hcl:3:14"},
		{"plain http beyond loopback", block("    issuer = \"http://auth.example.com\"\n    audience = \"https://m.example/mcp\"\n    scopes = []"), "Insecure issuer", "proxy.hcl:3:14"},
		{"audience with fragment", block("    issuer = \"https://a.example\"\n    audience = \"https://m.example/mcp#x\"\n    scopes = []"), "Invalid audience", "proxy.hcl:4:16"},
		{"scope with a space", block("    issuer = \"https://a.example\"\n    audience = \"https://m.example/mcp\"\n    scopes = [\"a b\"]"), "Invalid scope", "proxy.hcl:5:14"},
		{"unknown attribute", block(base + "    token = \"x\""), "Unsupported argument", "proxy.hcl:6:5"},
		{"secret without id", block(base + "    client_secret = \"hidden-secret\""), "client_secret without client_id", "proxy.hcl:6:5"},
		{"unknown server", block(base + "    server_scopes = {\n      files = [\"f\"]\n      nope = [\"n\"]\n    }"), "Unknown server in server_scopes", "proxy.hcl:8:7"},
		{"server scopes not lists", block(base + "    server_scopes = { files = 3 }"), "Incorrect attribute value type", "proxy.hcl:6:21"},
		{"two oauth blocks", "listen \"http\" {\n  oauth {\n" + base + "  }\n  oauth {\n" + base + "  }\n}\n", "Duplicate oauth block", "proxy.hcl:7:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := Parse([]byte(tt.src), "proxy.hcl", LoadOptions{Executable: "/bin/mcphost"})
			got := diagString(diags)
			if !diags.HasErrors() || !strings.Contains(got, tt.at+": Error: "+tt.summary) {
				t.Errorf("diagnostics:\n%s\nwant %s: %s", got, tt.at, tt.summary)
			}
		})
	}
}

// TestListenOAuthSecretNotWritten: a diagnostic on client_secret keeps its
// position but not the source line holding the secret.
func TestListenOAuthSecretNotWritten(t *testing.T) {
	t.Parallel()
	src := "listen \"http\" {\n  oauth {\n    issuer = \"https://a.example\"\n    audience = \"https://m.example/mcp\"\n" +
		"    scopes = []\n    client_secret = \"hidden-secret\"\n  }\n}\n"
	l := NewLoader()
	_, diags := l.Parse([]byte(src), "proxy.hcl", LoadOptions{Executable: "/bin/mcphost"})
	if !diags.HasErrors() {
		t.Fatal("a client_secret without client_id was accepted")
	}
	var buf bytes.Buffer
	if err := l.WriteDiagnostics(&buf, diags); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "hidden-secret") || !strings.Contains(out, "proxy.hcl:6:5") {
		t.Errorf("output:\n%s", out)
	}
}
