//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestPluginsGetAMinimalEnvironment: a plugin process gets the minimal
// environment and what its block's pass_env names, never the rest of the
// host's (a token, say); the stdio transport still gives a backend with
// inherit_env (the default) the host's whole environment, and one without
// it none of it.
func TestPluginsGetAMinimalEnvironment(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads the plugin's environment from /proc")
	}
	const token = "pluginenv-token"
	adminAddr := freeAddr(t)
	mcpAddr := freeAddr(t)
	backend := func(name string, inherit bool) string {
		return fmt.Sprintf(`
server %[1]q {
  transport "stdio" {
    command     = "/bin/sh"
    args        = ["-c", "printf 'backend-env:[%%s]\\n' \"$MCPHOST_E2E_SECRET\" >&2; exec \"$0\" example-server -name %[1]s", mcphost.executable]
    inherit_env = %[2]v
  }
}
`, name, inherit)
	}
	cfg := writeConfig(t, listenAndAdmin(mcpAddr, adminAddr, token)+fmt.Sprintf(`plugin "stdio" {
  pass_env = ["MCPHOST_E2E_PASSED"]
}
%s%s`, backend("inherits", true), backend("bare", false)))
	startProxyEnv(t, cfg, "http://"+mcpAddr+"/mcp",
		[]string{"MCPHOST_E2E_SECRET=host-secret", "MCPHOST_E2E_PASSED=passed-on"})
	base := "http://" + adminAddr

	var plugins struct {
		Plugins []struct {
			Name string `json:"name"`
			Pid  int    `json:"pid"`
		} `json:"plugins"`
	}
	if code := adminGet(t, base, token, "/api/v1/plugins", &plugins); code != http.StatusOK {
		t.Fatalf("GET plugins: %d", code)
	}
	pid := 0
	for _, p := range plugins.Plugins {
		if p.Name == "stdio" {
			pid = p.Pid
		}
	}
	if pid == 0 {
		t.Fatalf("no pid for the stdio plugin in %+v", plugins)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(raw, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	if _, ok := env["MCPHOST_E2E_SECRET"]; ok {
		t.Error("the plugin process got a host variable it was not given")
	}
	if env["MCPHOST_E2E_PASSED"] != "passed-on" || env["PATH"] == "" {
		t.Errorf("the plugin process lacks pass_env's variable or PATH: %v", env)
	}

	for server, want := range map[string]string{"inherits": "backend-env:[host-secret]", "bare": "backend-env:[]"} {
		poll.Within(t, 30*time.Second, server+"'s environment line in its log", func() error {
			var logs struct {
				Lines []string `json:"lines"`
			}
			if code := adminGet(t, base, token, "/api/v1/logs/"+server+"?tail=50", &logs); code != http.StatusOK {
				return fmt.Errorf("GET logs: %d", code)
			}
			for _, l := range logs.Lines {
				if strings.Contains(l, "backend-env:") {
					if !strings.Contains(l, want) {
						t.Fatalf("%s: %q, want %s", server, l, want)
					}
					return nil
				}
			}
			return fmt.Errorf("not yet in %q", logs.Lines)
		})
	}
}
