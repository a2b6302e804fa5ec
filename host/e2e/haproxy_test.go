//go:build linux

package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// haproxy is a running HAProxy (Debian's), with a stats socket for
// reading what it thinks of its servers.
type haproxy struct {
	cmd    *exec.Cmd
	sock   string
	stderr *syncBuffer
	done   chan error
}

// haproxyBinary finds haproxy on PATH or in /usr/sbin; where it is
// missing the test is skipped (failed in CI).
func haproxyBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if fi, err := os.Stat("/usr/sbin/haproxy"); err == nil && !fi.IsDir() {
		return "/usr/sbin/haproxy"
	}
	testenv.RequireCI(t, "haproxy", "no haproxy on PATH or in /usr/sbin (.ci/install-tools --with-debian)")
	return ""
}

// startHAProxy runs haproxy in the foreground on cfg (environment
// variables in it come from env), adding a stats socket; it is stopped
// when the test ends.
func startHAProxy(t *testing.T, cfg string, env []string) *haproxy {
	t.Helper()
	bin := haproxyBinary(t)
	dir := t.TempDir()
	h := &haproxy{sock: filepath.Join(dir, "stats.sock"), stderr: &syncBuffer{}, done: make(chan error, 1)}
	stats := filepath.Join(dir, "stats.cfg")
	if err := os.WriteFile(stats, []byte("global\n  stats socket "+h.sock+" mode 600 level admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(bin, "-db", "-f", cfg, "-f", stats)
	h.cmd.Env = append(os.Environ(), env...)
	h.cmd.Stdout, h.cmd.Stderr = h.stderr, h.stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	t.Cleanup(func() {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.done
		}
	})
	return h
}

// serverStates is each server's status in backend ("UP", "DOWN", ...), from
// the stats socket.
func (h *haproxy) serverStates(backend string) (map[string]string, error) {
	c, err := net.DialTimeout("unix", h.sock, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("haproxy stats socket: %w\n%s", err, h.stderr.String())
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("haproxy show stat: %v: %q", err, raw)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	out := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) > col["status"] && row[col["pxname"]] == backend && row[col["svname"]] != "BACKEND" {
			out[row[col["svname"]]] = row[col["status"]]
		}
	}
	return out, nil
}

// waitServers waits until haproxy sees each named server in want's state.
func (h *haproxy) waitServers(t *testing.T, backend string, want map[string]string) {
	t.Helper()
	poll.Within(t, 60*time.Second, fmt.Sprintf("haproxy to see its servers %v", want), func() error {
		got, err := h.serverStates(backend)
		if err != nil {
			return err
		}
		for name, state := range want {
			if !strings.HasPrefix(got[name], state) {
				return fmt.Errorf("servers %v\n%s", got, tail(h.stderr.String(), 2000))
			}
		}
		return nil
	})
}
