package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/buildinfo"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/proxy"
)

func TestImportCommand(t *testing.T) {
	t.Parallel()
	const desktop = `{"mcpServers": {
  "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
  "gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "ghp_secret"}}
}}`
	parse := func(t *testing.T, out []byte) *config.Config {
		t.Helper()
		cfg, diags := config.Parse(out, "proxy.hcl", config.LoadOptions{
			Executable: "/x",
			LookupEnv:  func(string) (string, bool) { return "v", true },
		})
		if diags.HasErrors() {
			t.Fatalf("output does not parse: %s\n%s", diags.Error(), out)
		}
		return cfg
	}
	write := func(t *testing.T, dir, name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	tests := []struct {
		name string
		// args after "import"; {in}, {out} and {existing} are replaced by
		// paths in a temporary directory.
		args       []string
		input      string
		wantErr    string
		wantStdout string
		wantFile   bool // {out} must hold a valid config
	}{
		{name: "stdout", args: []string{"{in}"}, input: desktop, wantStdout: `server "fs" {`},
		{name: "to file", args: []string{"{in}", "-o", "{out}"}, input: desktop, wantStdout: "wrote ", wantFile: true},
		{name: "flag first", args: []string{"-o", "{out}", "{in}"}, input: desktop, wantStdout: "GH_GITHUB_TOKEN", wantFile: true},
		{name: "refuses to overwrite", args: []string{"{in}", "-o", "{existing}"}, input: desktop, wantErr: "already exists"},
		{name: "invalid JSON", args: []string{"{in}"}, input: "{\n  \"mcpServers\": [\n", wantErr: "in.json:3:1: invalid JSON"},
		{name: "unknown type", args: []string{"{in}"}, input: `{"mcpServers": {"odd": {"type": "ftp"}}}`, wantErr: `server "odd"`},
		{name: "missing file", args: []string{"{dir}/nope.json"}, wantErr: "nope.json"},
		{name: "no file", args: nil, wantErr: "invalid usage"},
		{name: "two files", args: []string{"{in}", "{in}"}, input: desktop, wantErr: "invalid usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := write(t, dir, "in.json", tt.input)
			existing := write(t, dir, "existing.hcl", "# mine\n")
			out := filepath.Join(dir, "out.hcl")
			args := []string{"import"}
			for _, a := range tt.args {
				a = strings.NewReplacer("{in}", in, "{out}", out, "{existing}", existing, "{dir}", dir).Replace(a)
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if b, _ := os.ReadFile(existing); string(b) != "# mine\n" {
					t.Errorf("existing file changed to %q", b)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("%s was written after an error", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, stdout.String())
			}
			if tt.wantFile {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), "ghp_secret") {
					t.Errorf("secret written literally:\n%s", b)
				}
				if cfg := parse(t, b); len(cfg.Servers) != 2 {
					t.Errorf("%d servers, want 2", len(cfg.Servers))
				}
				return
			}
			if strings.Contains(stdout.String(), "ghp_secret") {
				t.Errorf("secret written literally:\n%s", stdout.String())
			}
			if cfg := parse(t, stdout.Bytes()); len(cfg.Servers) != 2 {
				t.Errorf("%d servers, want 2", len(cfg.Servers))
			}
		})
	}
}

// TestVersionCommand: every spelling prints the build's information, whose
// version is the one mcphost gives in MCP handshakes.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	want := buildinfo.Read().String()
	for _, arg := range []string{"version", "--version", "-v"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{arg}, strings.NewReader(""), &stdout, &stderr); err != nil {
				t.Fatalf("err = %v; stderr: %s", err, stderr.String())
			}
			if stdout.String() != want {
				t.Errorf("stdout = %q, want %q", stdout.String(), want)
			}
			if first, _, _ := strings.Cut(stdout.String(), "\n"); !strings.HasPrefix(first, "mcphost "+proxy.Version) {
				t.Errorf("first line %q does not give the handshake's version %q", first, proxy.Version)
			}
		})
	}
}
