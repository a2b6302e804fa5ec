//go:build unix

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestFailureReasons: a backend that cannot start is reported with the
// real cause in plain words (no gRPC or data-socket wording), the same in
// the admin API (reason and last error), `mcphost ctl status` and the log.
func TestFailureReasons(t *testing.T) {
	t.Parallel()
	dir, adminAddr := t.TempDir(), freeAddr(t)
	refused := freeAddr(t) // nothing listens there
	const token = "admin-token-reasons"
	cfg := fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
server "web" {
  transport "http" {
    url = "http://%s/mcp?key=hidden"
  }
}
server "oops" {
  transport "stdio" {
    command = "sh"
    args    = ["-c", "echo oops >&2; exit 3"]
  }
}
server "ghost" {
  transport "stdio" {
    command = "ghost-command-mcphost"
  }
}
`, freeAddr(t), adminAddr, token, refused)
	path := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proxyProcess{Stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(mcphost(t), "run", path)
	p.cmd.Stderr = p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.wait()
	t.Cleanup(func() { p.stop(t) })
	waitAdmin(t, "http://"+adminAddr, token, p.Stderr)

	want := map[string]string{
		"web":   "connection refused (http://" + refused + "/mcp)",
		"oops":  "exited with status 3 before answering initialize; last stderr: oops",
		"ghost": `command "ghost-command-mcphost" not found in PATH`,
	}
	base := "http://" + adminAddr
	for _, name := range []string{"web", "oops", "ghost"} {
		t.Run(name, func(t *testing.T) {
			poll.Within(t, 30*time.Second, name+"'s last error", func() error {
				var st struct {
					Reason    string `json:"reason"`
					LastError string `json:"last_error"`
				}
				adminGet(t, base, token, "/api/v1/servers/"+name, &st)
				if st.LastError != want[name] {
					return fmt.Errorf("%s: %+v, want last_error %q", name, st, want[name])
				}
				return nil
			})
		})
	}
	out, err := ctl(t, base, token, "status")
	if err != nil {
		t.Fatalf("ctl status: %v\n%s", err, out)
	}
	for name, reason := range want {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, name+" ") {
				line = l
			}
		}
		if !strings.Contains(line, reason) {
			t.Errorf("ctl status line of %s = %q, want %q in it", name, line, reason)
		}
	}
	log := p.Stderr.String()
	for _, reason := range want {
		if !strings.Contains(log, strings.ReplaceAll(reason, `"`, `\"`)) && !strings.Contains(log, reason) {
			t.Errorf("the log lacks %q", reason)
		}
	}
	for _, noise := range []string{"rpc error", "desc =", "mcphost-data", "broken pipe", "key=hidden"} {
		if strings.Contains(out, noise) || strings.Contains(log, noise) {
			t.Errorf("%q shows in ctl status or the log:\n%s\n%s", noise, out, log)
		}
	}
}
