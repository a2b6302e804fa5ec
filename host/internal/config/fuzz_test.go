package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: loading any text as proxy.hcl (or as HCL's JSON syntax) never
// panics; it gives a Config or errors, never both or neither, and every
// error points into the file with a line and a column.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../../../proxy.hcl", "../../../examples/configs/npm-servers.hcl", "../../../examples/configs/secured-http.hcl"} {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src, false)
		}
	}
	for _, s := range []string{
		`server "a" { transport "stdio" { command = "x" } }`,
		`variable "v" { default = "x" }` + "\n" + `server "a" { transport "stdio" { command = var.v, args = [env("HOME", "h")] } }`,
		`proxy { request_timeout = "nope" max_message_bytes = -1 translators = ["versions", "versions"] }`,
		`listen "http" { address = "127.0.0.1:99999" auth_token = env("TOKEN") }`,
		`server "a" { transport "stdio" { command = file("missing.txt") } }` + "\n" + `server "a" {}`,
		`plugin "p" { source = "./p" sha256 = "zz" mode = "inprocess" }`,
		`admin { address = "unix:/tmp/x" } tracing { }`,
		`server "a" { transport "stdio" { command = "${`,
		"\xff\xfe server",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"server": {"a": {"transport": {"stdio": {"command": "x"}}}}}`), true)
	f.Add([]byte(`{"proxy": {"log_level": 5}}`), true)
	dir := f.TempDir() // one per worker process, which runs one input at a time
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		if s := string(src); strings.Contains(s, "/dev") || strings.Contains(s, "/proc") || strings.Contains(s, "/sys") {
			return // file() of a device or a kernel file reads forever
		}
		name := "proxy.hcl"
		if asJSON {
			name = "proxy.json"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"HOME": "/home/x", "TOKEN": "secret"}
		l := NewLoader()
		cfg, diags := l.Load(path, LoadOptions{
			Executable: "/usr/bin/mcphost",
			LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		})
		if (cfg == nil) != diags.HasErrors() {
			t.Fatalf("Load(%q) = %v, %v", src, cfg != nil, diags)
		}
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Filename != path || d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
				t.Fatalf("Load(%q): %q has no file:line:col (%+v)", src, FormatDiagnostic(d), d.Subject)
			}
			if !strings.HasPrefix(FormatDiagnostic(d), path+":") {
				t.Fatalf("FormatDiagnostic = %q", FormatDiagnostic(d))
			}
			// The token is a secret where it is one (auth_token): an env
			// value put in an address is shown like any address.
			if strings.Contains(d.Detail, "secret") && !strings.Contains(string(src), "secret") &&
				strings.Contains(string(src), "auth_token") {
				t.Fatalf("a diagnostic shows the token: %q", FormatDiagnostic(d))
			}
		}
		var b strings.Builder
		if err := l.WriteDiagnostics(&b, diags); err != nil {
			t.Fatal(err)
		}
	})
}
