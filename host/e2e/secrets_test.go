//go:build unix

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestPluginSecretRedacted: the example tcp transport marks its
// preshared_key Sensitive in its schema (a name the key-name fallback does
// not know). The key never shows in the admin API's config or server status, in the log
// files, on stderr, in `ctl status`, nor in a config diagnostic about it.
func TestPluginSecretRedacted(t *testing.T) {
	t.Parallel()
	pluginPath, err := filepath.Abs(testenv.BuildModuleBinary(t, tcpPluginDir))
	if err != nil {
		t.Fatal(err)
	}
	sum := fileSHA256(t, pluginPath)
	secret := uniqueMarker("tcpsecret")
	closed := freeAddr(t) // nothing listens: the server fails to connect
	config := func(dir, adminAddr, token string) string {
		body := fmt.Sprintf(`listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = "admin-token-e2e"
}
proxy {
  log_dir = "logs"
}
plugin "tcp" {
  source = %q
  sha256 = %q
}
server "vault" {
  transport "tcp" {
    address = %q
    preshared_key = %s
  }
}
`, freeAddr(t), adminAddr, pluginPath, sum, closed, token)
		path := filepath.Join(dir, "proxy.hcl")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("running", func(t *testing.T) {
		t.Parallel()
		dir, adminAddr := t.TempDir(), freeAddr(t)
		path := config(dir, adminAddr, fmt.Sprintf("%q", secret))
		proxy := &proxyProcess{Stderr: &syncBuffer{}, done: make(chan error, 1)}
		proxy.cmd = exec.Command(mcphost(t), "run", path)
		proxy.cmd.Stderr = proxy.Stderr
		if err := proxy.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go proxy.wait()
		t.Cleanup(func() { proxy.stop(t) })
		base := "http://" + adminAddr
		waitAdmin(t, base, "admin-token-e2e", proxy.Stderr) // after vault's first attempt
		poll.Within(t, 30*time.Second, "vault to fail connecting", func() error {
			var st struct {
				State     string `json:"state"`
				LastError string `json:"last_error"`
			}
			adminGet(t, base, "admin-token-e2e", "/api/v1/servers/vault", &st)
			if st.LastError == "" {
				return fmt.Errorf("vault: %+v", st)
			}
			return nil
		})
		var conf struct {
			Servers []struct {
				TransportConfig map[string]any `json:"transport_config"`
			} `json:"servers"`
		}
		adminGet(t, base, "admin-token-e2e", "/api/v1/config", &conf)
		if len(conf.Servers) != 1 || conf.Servers[0].TransportConfig["preshared_key"] != "(redacted)" || conf.Servers[0].TransportConfig["address"] != closed {
			t.Errorf("config: %+v", conf)
		}
		// The block leaves dial_timeout out: the host filled in the default
		// the plugin's schema declares (over gRPC), so the plugin got it.
		if len(conf.Servers) == 1 && conf.Servers[0].TransportConfig["dial_timeout"] != "5s" {
			t.Errorf("dial_timeout = %v, want the schema's default 5s", conf.Servers[0].TransportConfig["dial_timeout"])
		}
		for _, path := range []string{"/api/v1/config", "/api/v1/servers", "/api/v1/servers/vault", "/api/v1/logs/vault", "/api/v1/logs/mcphost"} {
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			req.Header.Set("Authorization", "Bearer admin-token-e2e")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: status %d: %s", path, resp.StatusCode, body)
			}
			if strings.Contains(string(body), secret) {
				t.Errorf("%s shows the token: %s", path, body)
			}
		}
		if out, err := ctl(t, base, "admin-token-e2e", "status"); err != nil || strings.Contains(out, secret) || !strings.Contains(out, "vault") {
			t.Errorf("ctl status: %v\n%s", err, out)
		}
		proxy.stop(t)
		logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*"))
		for _, f := range logs {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), secret) {
				t.Errorf("log file %s holds the token", f)
			}
		}
		if strings.Contains(proxy.Stderr.String(), secret) {
			t.Errorf("stderr holds the token:\n%s", proxy.Stderr.String())
		}
	})

	t.Run("diagnostic", func(t *testing.T) {
		t.Parallel()
		// A list where a string is wanted: the diagnostic is positioned on
		// the token's line but does not print it.
		path := config(t.TempDir(), freeAddr(t), fmt.Sprintf("[%q]", secret))
		code, stdout, stderr := runMcphost(t, "run", "--stdio", path)
		if code == 0 || !strings.Contains(stderr, "proxy.hcl:18:") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		if strings.Contains(stderr+stdout, secret) {
			t.Errorf("the diagnostic shows the token:\n%s", stderr)
		}
	})
}
