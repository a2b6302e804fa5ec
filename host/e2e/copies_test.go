//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// waitCopies polls the registry beside cfg until ok holds for the copies
// listed, and returns them.
func waitCopies(t *testing.T, cfg string, what string, ok func([]copies.Entry) bool, exited <-chan error) []copies.Entry {
	t.Helper()
	dir, err := copies.Dir(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := copies.New(dir)
	var listed []copies.Entry
	poll.Within(t, 60*time.Second, "the copies registry showing "+what, func() error {
		select {
		case err := <-exited:
			t.Fatalf("mcphost exited while waiting for %s: %v", what, err)
		default:
		}
		res, err := reg.List(context.Background(), copies.ListRequest{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if listed = res.Copies; !ok(listed) {
			return fmt.Errorf("it lists %+v", listed)
		}
		return nil
	})
	return listed
}

func byMode(es []copies.Entry, mode string) []copies.Entry {
	var out []copies.Entry
	for _, e := range es {
		if e.Mode == mode {
			out = append(out, e)
		}
	}
	return out
}

// TestCopiesStdioThenHTTP: two stdio copies of one config start first and
// leave the configured HTTP and admin ports alone, so `mcphost run` started
// after them gets both; all three serve and are listed by `ctl status`,
// each can be controlled with `ctl -copy PID`, and a second HTTP copy
// exits at once naming the copy that holds the port. Each copy's entry
// goes when it exits.
func TestCopiesStdioThenHTTP(t *testing.T) {
	t.Parallel()
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address = %q
}
%s`, mcpAddr, adminAddr, exampleServer("ex")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Two stdio copies, each with its client making a call.
	for i := range 2 {
		c := stdioClient(t, cfg, clientOptions{})
		if got := callText(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "stdio-" + strconv.Itoa(i)}); !strings.Contains(got, "stdio-"+strconv.Itoa(i)) {
			t.Fatalf("stdio copy %d echoed %q", i, got)
		}
	}
	stdios := waitCopies(t, cfg, "two stdio copies with a client each", func(es []copies.Entry) bool {
		s := byMode(es, copies.ModeStdio)
		return len(s) == 2 && s[0].Clients == 1 && s[1].Clients == 1
	}, nil)
	for _, e := range stdios {
		if len(e.Listeners) != 0 || e.AdminURL != "" || e.AdminSocket == "" {
			t.Errorf("stdio copy %d took ports or has no socket: %+v", e.PID, e)
		}
		if fi, err := os.Stat(e.AdminSocket); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("copy %d's socket: %v %v", e.PID, fi, err)
		}
	}

	// `mcphost run` after them gets the configured ports.
	p := spawnProxy(t, cfg, "", nil)
	all := waitCopies(t, cfg, "the HTTP copy", func(es []copies.Entry) bool {
		return len(byMode(es, copies.ModeHTTP)) == 1 && len(byMode(es, copies.ModeStdio)) == 2
	}, p.done)
	httpCopy := byMode(all, copies.ModeHTTP)[0]
	if httpCopy.PID != p.cmd.Process.Pid || httpCopy.AdminURL != "http://"+adminAddr ||
		len(httpCopy.Listeners) != 1 || httpCopy.Listeners[0] != "http://"+mcpAddr+"/mcp" {
		t.Errorf("HTTP copy entry: %+v (pid %d)", httpCopy, p.cmd.Process.Pid)
	}
	hc := httpClient(t, "http://"+mcpAddr+"/mcp", clientOptions{})
	if got := callText(ctx, t, hc, "mcp__proxy__ex__echo", map[string]any{"text": "over-http"}); !strings.Contains(got, "over-http") {
		t.Fatalf("HTTP copy echoed %q", got)
	}
	// Its admin API needs the token it generated, which ctl reads from
	// the same file.
	_, adminPort, _ := net.SplitHostPort(adminAddr)
	tokenBytes, err := os.ReadFile(admin.DefaultTokenFile(adminPort, nil))
	if err != nil {
		t.Fatalf("the HTTP copy's token file: %v", err)
	}
	if code := adminGet(t, "http://"+adminAddr, "", "/api/v1/servers", nil); code != http.StatusUnauthorized {
		t.Fatalf("admin API of the HTTP copy without the token: %d, want 401", code)
	}
	if code := adminGet(t, "http://"+adminAddr, strings.TrimSpace(string(tokenBytes)), "/api/v1/servers", nil); code != http.StatusOK {
		t.Fatalf("admin API of the HTTP copy: %d", code)
	}

	// ctl status lists the three copies; -copy reaches a stdio copy and
	// acts on it without a token.
	status := runCLI(t, time.Minute, "ctl", "-config", cfg, "-admin", "http://"+adminAddr, "status")
	if status.code != 0 {
		t.Fatalf("ctl status: %d\n%s%s", status.code, status.stdout, status.stderr)
	}
	for _, e := range all {
		if !listsCopy(status.stdout, e.PID, string(e.Mode)) {
			t.Errorf("ctl status does not list copy %d (%s):\n%s", e.PID, e.Mode, status.stdout)
		}
	}
	stdioPID := strconv.Itoa(stdios[0].PID)
	one := runCLI(t, time.Minute, "ctl", "-config", cfg, "-copy", stdioPID, "status")
	if one.code != 0 || !strings.Contains(one.stdout, "servers of the copy at unix:"+stdios[0].AdminSocket) ||
		!regexp.MustCompile(`(?m)^ex\s+running\s`).MatchString(one.stdout) {
		t.Errorf("ctl -copy %s status: %d\n%s%s", stdioPID, one.code, one.stdout, one.stderr)
	}
	restart := runCLI(t, time.Minute, "ctl", "-config", cfg, "-copy", stdioPID, "restart", "ex")
	if restart.code != 0 || !strings.Contains(restart.stdout, "restarted ex") {
		t.Errorf("ctl -copy %s restart ex: %d\n%s%s", stdioPID, restart.code, restart.stdout, restart.stderr)
	}

	// A second HTTP copy exits at once, naming the holder.
	second := runCLI(t, time.Minute, "run", cfg)
	want := fmt.Sprintf("%s is taken by mcphost pid %d (http mode, config %s", mcpAddr, p.cmd.Process.Pid, cfg)
	if second.code == 0 || !strings.Contains(second.stderr, want) {
		t.Errorf("second HTTP copy: exit %d, stderr lacks %q:\n%s", second.code, want, second.stderr)
	}

	// A copy that exits takes its entry and socket with it.
	p.stop(t)
	left := waitCopies(t, cfg, "the HTTP copy gone", func(es []copies.Entry) bool {
		return len(byMode(es, copies.ModeHTTP)) == 0
	}, nil)
	if len(left) != 2 {
		t.Errorf("after the HTTP copy exited: %+v", left)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), ".mcphost", "copies", strconv.Itoa(httpCopy.PID)+".json")); !os.IsNotExist(err) {
		t.Errorf("the HTTP copy's entry file: %v", err)
	}
	if _, err := os.Lstat(httpCopy.AdminSocket); !os.IsNotExist(err) {
		t.Errorf("the HTTP copy's socket: %v", err)
	}
}

// TestCopiesStdioServe: a stdio copy run with --serve takes the configured
// ports, and `mcphost run` then exits naming it; --serve without --stdio
// is a usage error.
func TestCopiesStdioServe(t *testing.T) {
	t.Parallel()
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("listen \"http\" {\n  address = %q\n}\nadmin {\n  address = %q\n}\n%s", mcpAddr, adminAddr, exampleServer("ex")))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr := transport.NewStdio(mcphost(t), nil, "run", "--stdio", "--serve", cfg)
	c := connect(t, client.NewClient(tr), clientOptions{})
	if got := callText(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "served"}); !strings.Contains(got, "served") {
		t.Fatalf("echoed %q", got)
	}
	es := waitCopies(t, cfg, "the stdio copy with its ports", func(es []copies.Entry) bool {
		return len(es) == 1 && len(es[0].Listeners) == 1
	}, nil)
	if es[0].Mode != copies.ModeStdio || es[0].AdminURL != "http://"+adminAddr || es[0].AdminSocket == "" {
		t.Errorf("entry: %+v", es[0])
	}
	hc := httpClient(t, "http://"+mcpAddr+"/mcp", clientOptions{})
	if got := callText(ctx, t, hc, "mcp__proxy__ex__echo", map[string]any{"text": "via-http"}); !strings.Contains(got, "via-http") {
		t.Fatalf("echoed %q over the stdio copy's HTTP listener", got)
	}
	run := runCLI(t, time.Minute, "run", cfg)
	want := fmt.Sprintf("%s is taken by mcphost pid %d (stdio mode, config %s", mcpAddr, es[0].PID, cfg)
	if run.code == 0 || !strings.Contains(run.stderr, want) {
		t.Errorf("mcphost run: exit %d, stderr lacks %q:\n%s", run.code, want, run.stderr)
	}
	if bad := runCLI(t, time.Minute, "run", "--serve", cfg); bad.code == 0 || !strings.Contains(bad.stderr, "--serve goes with --stdio") {
		t.Errorf("run --serve without --stdio: exit %d\n%s", bad.code, bad.stderr)
	}
}

// listsCopy reports whether ctl status output has a row for the copy pid
// in mode. The PID column is padded to its widest value, so a row is
// matched by its fields, not by the spaces between them.
func listsCopy(out string, pid int, mode string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == strconv.Itoa(pid) && f[1] == mode {
			return true
		}
	}
	return false
}
