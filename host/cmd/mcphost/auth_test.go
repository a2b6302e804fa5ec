package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/testenv/authserver"
	"github.com/mcphost/mcphost/host/internal/testenv/oauthbackend"
)

func TestMain(m *testing.M) {
	// `mcphost auth login` tests run this binary as the browser.
	oauthbackend.ActAsBrowser()
	os.Exit(m.Run())
}

// authConfig writes a config with the given server blocks and returns its
// path.
func authConfig(t *testing.T, servers string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proxy.hcl")
	if err := os.WriteFile(path, []byte(servers), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthUsageAndErrors(t *testing.T) {
	t.Parallel()
	cfg := authConfig(t, `
server "local" {
  transport "stdio" {
    command = "true"
  }
}
server "plain" {
  transport "http" {
    url   = "http://127.0.0.1:9/mcp"
    oauth = "off"
  }
}
`)
	env := envOf(map[string]string{"MCPHOST_OAUTH_DIR": t.TempDir()})
	tests := []struct {
		name    string
		args    []string
		usage   bool   // errUsage, usage on stderr
		wantErr string // else the error holds this ("" for none)
		stdout  string // stdout holds this
	}{
		{name: "no command", args: nil, usage: true},
		{name: "unknown command", args: []string{"frobnicate"}, usage: true},
		{name: "login without a name", args: []string{"login", "-config", cfg}, usage: true},
		{name: "logout with two names", args: []string{"logout", "a", "b", "-config", cfg}, usage: true},
		{name: "status with two names", args: []string{"status", "a", "b"}, usage: true},
		{name: "bad flag", args: []string{"status", "-nope"}, usage: true},
		{name: "help", args: []string{"help"}, stdout: "login SERVER"},
		{name: "unknown server", args: []string{"login", "ghost", "-config", cfg}, wantErr: `declares no server "ghost"`},
		{name: "stdio server", args: []string{"login", "local", "-config", cfg}, wantErr: `server "local" does not sign in with OAuth`},
		{name: "oauth off", args: []string{"logout", "-config", cfg, "plain"}, wantErr: `server "plain" does not sign in with OAuth`},
		{name: "status without oauth servers", args: []string{"status", "-config", cfg}, stdout: "no server of the config signs in with OAuth"},
		{name: "missing config", args: []string{"status", "-config", filepath.Join(t.TempDir(), "none.hcl")}, wantErr: "none.hcl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := authMain(context.Background(), tt.args, &stdout, &stderr, env)
			switch {
			case tt.usage:
				if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "usage: mcphost auth") {
					t.Errorf("err = %v, stderr:\n%s\nwant usage", err, stderr.String())
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout:\n%s\nwant %q in it", stdout.String(), tt.stdout)
			}
		})
	}
}

// TestAuthLoginStatusLogout signs in to a server that requires OAuth, at a
// real authorization server with this test binary as the browser, and
// checks what status shows (never a token) before and after logout; over
// https, the sign-in trusts the block's tls_ca_file as the transport does.
func TestAuthLoginStatusLogout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start func(testing.TB, *authserver.Server, string) *oauthbackend.Backend
	}{
		{"http", oauthbackend.Start},
		{"https with tls_ca_file", oauthbackend.StartTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testAuthLoginStatusLogout(t, tt.start)
		})
	}
}

func testAuthLoginStatusLogout(t *testing.T, start func(testing.TB, *authserver.Server, string) *oauthbackend.Backend) {
	as := authserver.Start(t, authserver.Options{Scopes: []string{"mcp"}})
	backend := start(t, as, "hosted")
	tlsAttr := ""
	if backend.CAFile != "" {
		tlsAttr = fmt.Sprintf("tls_ca_file = %q", backend.CAFile)
	}
	cfg := authConfig(t, fmt.Sprintf(`
server "hosted" {
  transport "http" {
    url = %q
    %s
  }
}
server "local" {
  transport "stdio" {
    command = "true"
  }
}
`, backend.URL, tlsAttr))
	tokenDir := t.TempDir()
	browser := oauthbackend.BrowserEnv(t)
	env := envOf(map[string]string{"MCPHOST_OAUTH_DIR": tokenDir, "BROWSER": strings.TrimPrefix(browser, "BROWSER=")})
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := authMain(context.Background(), args, &stdout, &stderr, env); err != nil {
			t.Fatalf("mcphost auth %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String()
	}

	if out := run("status", "-config", cfg); !strings.Contains(out, "hosted") || strings.Contains(out, "local") || !strings.Contains(out, " no ") {
		t.Errorf("status before login:\n%s", out)
	}
	login := run("login", "hosted", "-config", cfg)
	if !strings.Contains(login, "To sign in, open this URL") || !strings.Contains(login, "signed in to hosted") {
		t.Errorf("login said:\n%s", login)
	}
	status := run("status", "hosted", "-config", cfg)
	if !strings.Contains(status, "yes") || !strings.Contains(status, as.Issuer()) || !strings.Contains(status, "mcp") {
		t.Errorf("status after login:\n%s", status)
	}
	if n := as.CountGrants("authorization_code"); n != 1 {
		t.Errorf("%d authorization_code grants, want 1", n)
	}
	secrets := oauthbackend.StoredSecrets(t, tokenDir)
	if len(secrets) == 0 {
		t.Fatalf("login stored no token in %s", tokenDir)
	}
	for _, s := range secrets {
		if strings.Contains(login+status, s) {
			t.Errorf("the CLI printed a stored secret")
		}
	}
	if out := run("logout", "-config", cfg, "hosted"); !strings.Contains(out, "signed out of hosted") {
		t.Errorf("logout said:\n%s", out)
	}
	if out := run("status", "-config", cfg); strings.Contains(out, "yes") {
		t.Errorf("status after logout:\n%s", out)
	}
}
