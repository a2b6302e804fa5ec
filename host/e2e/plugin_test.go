//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// tcpPluginDir is the example transport plugin, a module of its own.
const tcpPluginDir = "../../examples/plugins/tcp-transport"

// fileSHA256 is the lowercase hex SHA-256 of a file.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// flipHex changes the first hex digit of sum.
func flipHex(sum string) string {
	c := byte('0')
	if sum[0] == '0' {
		c = '1'
	}
	return string(c) + sum[1:]
}

// tcpConfig pins the tcp-transport plugin at path by sum and declares one
// server reached through it.
func tcpConfig(t *testing.T, path, sum, addr string) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf(`
plugin "tcp" {
  source = %q
  sha256 = %q
}

server "tcpex" {
  transport "tcp" {
    address      = %q
    dial_timeout = "5s"
  }
}
`, path, sum, addr))
}

// runMcphost runs mcphost with args and no stdin, returning its exit code
// and output.
func runMcphost(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mcphost(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mcphost %q did not finish: %v\n%s", args, err, errb.String())
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("mcphost %q: %v", args, err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// pluginLine is the `plugins list` row of plugin name, split into fields.
func pluginLine(t *testing.T, out, name string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("plugins list has no %q row:\n%s", name, out)
	return nil
}

// TestExternalPluginPinned runs a third-party transport plugin pinned by
// sha256, and checks that a wrong pin stops everything with a clear error.
func TestExternalPluginPinned(t *testing.T) {
	t.Parallel()
	pluginPath, err := filepath.Abs(testenv.BuildModuleBinary(t, tcpPluginDir))
	if err != nil {
		t.Fatal(err)
	}
	sum := fileSHA256(t, pluginPath)
	wrong := flipHex(sum)
	addr := startNetExample(t, "tcp", "127.0.0.1:0", "tcpex").addr
	good := tcpConfig(t, pluginPath, sum, addr)
	bad := tcpConfig(t, pluginPath, wrong, addr)

	t.Run("call through the plugin", func(t *testing.T) {
		t.Parallel()
		for _, tr := range []string{"stdio", "http"} {
			t.Run(tr, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				if tr == "stdio" {
					c := stdioClient(t, good, clientOptions{})
					if got := callText(ctx, t, c, "mcp__proxy__tcpex__whoami", nil); got != "tcpex" {
						t.Fatalf("whoami = %q, want tcpex", got)
					}
					return
				}
				body, err := os.ReadFile(good)
				if err != nil {
					t.Fatal(err)
				}
				p := startHTTPProxy(t, string(body))
				c := httpClient(t, p.URL, clientOptions{})
				if got := callText(ctx, t, c, "mcp__proxy__tcpex__whoami", nil); got != "tcpex" {
					t.Fatalf("whoami = %q, want tcpex", got)
				}
				if got := callText(ctx, t, c, "mcp__proxy__tcpex__echo", map[string]any{"text": "via tcp"}); got != "via tcp" {
					t.Fatalf("echo = %q", got)
				}
				// The external plugin runs as a child of the proxy.
				if kids := liveDescendants(p.cmd.Process.Pid, pluginPath); len(kids) != 1 {
					t.Errorf("tcp plugin processes under the proxy: %v, want 1", kids)
				}
			})
		}
	})

	cases := []struct {
		name     string
		args     []string
		wantCode int    // 0, or any non-zero when 1
		wantOut  string // in stdout
		wantErr  []string
	}{
		{name: "validate good", args: []string{"validate", good}, wantOut: "is valid"},
		{name: "validate wrong", args: []string{"validate", bad}, wantCode: 1,
			wantErr: []string{"checksum mismatch", "sha256", wrong, sum, pluginPath}},
		{name: "run wrong", args: []string{"run", "--stdio", bad}, wantCode: 1,
			wantErr: []string{"checksum mismatch", "sha256", wrong, sum, pluginPath}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMcphost(t, tc.args...)
			if (code != 0) != (tc.wantCode != 0) {
				t.Fatalf("exit code %d, want %s\nstdout:\n%s\nstderr:\n%s", code,
					map[bool]string{true: "non-zero", false: "0"}[tc.wantCode != 0], stdout, stderr)
			}
			if !strings.Contains(stdout, tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", stdout, tc.wantOut)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}

	t.Run("plugins list", func(t *testing.T) {
		t.Parallel()
		for cfg, want := range map[string]string{good: "pinned", bad: "mismatch"} {
			code, stdout, stderr := runMcphost(t, "plugins", "list", cfg)
			if code != 0 {
				t.Fatalf("plugins list %s: exit %d\n%s", cfg, code, stderr)
			}
			f := pluginLine(t, stdout, "tcp")
			if got := f[len(f)-1]; got != want {
				t.Errorf("tcp checksum = %q, want %q\n%s", got, want, stdout)
			}
			if !strings.Contains(strings.Join(f, " "), pluginPath) {
				t.Errorf("tcp row %q does not show the source %s", f, pluginPath)
			}
			if f := pluginLine(t, stdout, "stdio"); f[len(f)-1] != "builtin" {
				t.Errorf("stdio row = %q, want checksum builtin", f)
			}
		}
	})
}
