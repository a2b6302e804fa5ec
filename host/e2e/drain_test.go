//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// probe GETs a listener's health or readiness path.
func probe(base, path string) (int, string, error) {
	resp, err := http.Get(base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestReadyzDrainDelay: with drain_delay, SIGTERM turns /readyz to 503
// ("draining") while calls are still answered, then the proxy drains and
// exits 0. /healthz stays 200 throughout, and neither probe needs the
// listener's token.
func TestReadyzDrainDelay(t *testing.T) {
	t.Parallel()
	const delay = 5 * time.Second
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := fmt.Sprintf("proxy {\n  drain_delay = %q\n}\nlisten \"http\" {\n  address = %q\n  auth_token = %q\n}\n%s",
		delay.String(), addr, httpToken, exampleServer("example"))
	p := startHTTPProxyConfig(t, base+"/mcp", cfg)
	if status, body, err := probe(base, "/readyz"); err != nil || status != http.StatusOK || body != "ok\n" {
		t.Fatalf("/readyz once started: %d %q %v, want 200 \"ok\"", status, body, err)
	}
	session := initSession(t, p.URL, httpToken)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, delay, "/readyz answers 503 draining after SIGTERM", func() error {
		status, body, err := probe(base, "/readyz")
		if err == nil && (status != http.StatusServiceUnavailable || body != "draining\n") {
			err = fmt.Errorf("/readyz: %d %q", status, body)
		}
		return err
	})
	if status, body, err := probe(base, "/healthz"); err != nil || status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz while draining: %d %q %v, want 200 \"ok\"", status, body, err)
	}
	resp, body := rawHTTP{method: http.MethodPost, token: httpToken, session: session, body: strings.NewReader(sleepJS(10))}.do(t, p.URL)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("slept 10ms")) {
		t.Errorf("call while draining: %d %s, want its result", resp.StatusCode, body)
	}
	if resp, body := (rawHTTP{method: http.MethodPost, token: httpToken, body: strings.NewReader(initializeJS)}).do(t, p.URL); resp.StatusCode != http.StatusOK {
		t.Errorf("initialize while draining: %d %s, want 200 (the drain delay refuses nothing)", resp.StatusCode, body)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("mcphost exited with %v\n%s", err, p.Stderr.String())
		}
	case <-time.After(delay + 20*time.Second):
		t.Fatalf("mcphost did not exit within %v of SIGTERM\n%s", delay+20*time.Second, p.Stderr.String())
	}
	if d := time.Since(signalled); d < delay {
		t.Errorf("mcphost exited %v after SIGTERM, before its drain_delay of %v", d, delay)
	}
}

// TestReadyzStarting: /readyz answers 503 "not ready" while a server is
// still making its first attempt within startup_wait, although the
// listener serves (and /healthz is 200), and 200 once start-up is over.
func TestReadyzStarting(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "gate")
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := writeConfig(t, fmt.Sprintf("proxy {\n  startup_wait = \"2m\"\n}\nlisten \"http\" {\n  address = %q\n}\n%s",
		addr, gatedServer(t, "slow", gate)))
	p := spawnProxy(t, cfg, base+"/mcp", nil)
	poll.Within(t, 60*time.Second, "/healthz answers while the server is held back", func() error {
		if p.exited.Load() {
			t.Fatalf("mcphost exited early\n%s", p.Stderr.String())
		}
		status, body, err := probe(base, "/healthz")
		if err == nil && (status != http.StatusOK || body != "ok\n") {
			err = fmt.Errorf("/healthz: %d %q", status, body)
		}
		return err
	})
	if status, body, err := probe(base, "/readyz"); err != nil || status != http.StatusServiceUnavailable || body != "not ready\n" {
		t.Fatalf("/readyz while starting: %d %q %v, want 503 \"not ready\"", status, body, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, 60*time.Second, "/readyz answers 200 once the server has started", func() error {
		status, body, err := probe(base, "/readyz")
		if err == nil && (status != http.StatusOK || body != "ok\n") {
			err = fmt.Errorf("/readyz: %d %q\n%s", status, body, p.Stderr.String())
		}
		return err
	})
}
