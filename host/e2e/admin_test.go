//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// listenAndAdmin is the config blocks of an MCP listener on mcpAddr and
// an admin listener on adminAddr with token.
func listenAndAdmin(mcpAddr, adminAddr, token string) string {
	return fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
`, mcpAddr, adminAddr, token)
}

// waitAdmin waits until the admin API at base answers: it opens once the
// proxy's start-up wait is over (each server has made its first attempt).
func waitAdmin(t *testing.T, base, token string, stderr *syncBuffer) {
	t.Helper()
	poll.Within(t, 60*time.Second, "the admin API at "+base, func() error {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/servers", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%w; stderr:\n%s", err, stderr.String())
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /api/v1/servers: %s", resp.Status)
		}
		return nil
	})
}

// adminGet GETs an admin API path (with the token when set) and decodes it.
func adminGet(t *testing.T, base, token, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// ctl runs `mcphost ctl` against the admin API.
func ctl(t *testing.T, base, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(mcphost(t), append([]string{"ctl", "-admin", base, "-token", token}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestAdminAPIAndLogFiles: the admin API of a running proxy lists servers
// and tools, refuses control without the token and never shows a secret;
// mcphost ctl restarts a server through it; a server's stderr lands in its
// log file, and a live log stream keeps going while the file rotates.
func TestAdminAPIAndLogFiles(t *testing.T) {
	t.Parallel()
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	marker := uniqueMarker("adminex")
	const token = "admin-secret-e2e"
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
proxy {
  log_dir       = "logs"
  log_max_bytes = 4096
  log_max_files = 2
}
server "ex" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", %q]
    env     = { API_KEY = "do-not-show-me" }
  }
}
`, mcpAddr, adminAddr, token, marker)
	path := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, path, "http://"+mcpAddr+"/mcp")
	base := "http://" + adminAddr
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var servers struct {
		Servers []struct{ Name, State, Transport string }
	}
	if code := adminGet(t, base, "", "/api/v1/servers", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET servers from loopback without a token: %d, want 401", code)
	}
	if code := adminGet(t, base, token, "/api/v1/servers", &servers); code != http.StatusOK {
		t.Fatalf("GET servers with the token: %d", code)
	}
	if len(servers.Servers) != 1 || servers.Servers[0].Name != "ex" || servers.Servers[0].State != "running" {
		t.Fatalf("servers: %+v", servers)
	}
	var tools struct {
		Tools []struct {
			Name         string `json:"name"`
			Server       string `json:"server"`
			OriginalName string `json:"original_name"`
		} `json:"tools"`
	}
	adminGet(t, base, token, "/api/v1/tools", &tools)
	found := false
	for _, tool := range tools.Tools {
		found = found || tool.Name == "mcp__proxy__ex__echo" && tool.Server == "ex" && tool.OriginalName == "echo"
	}
	if !found {
		t.Fatalf("tools catalog lacks mcp__proxy__ex__echo: %+v", tools)
	}
	for _, path := range []string{"/api/v1/config", "/api/v1/servers", "/api/v1/sessions", "/api/v1/metrics"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if strings.Contains(body.String(), "do-not-show-me") || strings.Contains(body.String(), token) {
			t.Fatalf("%s shows a secret: %s", path, body.String())
		}
	}
	// The config is in snake_case, with durations as strings and no
	// source ranges.
	var conf struct {
		Listeners []map[string]any `json:"listeners"`
		Servers   []struct {
			Restart map[string]any `json:"restart"`
			Health  map[string]any `json:"health"`
		} `json:"servers"`
	}
	adminGet(t, base, token, "/api/v1/config", &conf)
	if len(conf.Listeners) != 1 || conf.Listeners[0]["metrics_path"] != "/metrics" || conf.Listeners[0]["DeclRange"] != nil ||
		len(conf.Servers) != 1 || conf.Servers[0].Restart["window"] != "5m0s" || conf.Servers[0].Health["interval"] != "30s" {
		t.Fatalf("config: %+v", conf)
	}
	resp, err := http.Post(base+"/api/v1/servers/ex/restart", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("restart without the token: %d, want 401", resp.StatusCode)
	}

	// mcphost ctl restarts the server: a new process, running, answering.
	before := testenv.FindProcesses(t, marker)
	if len(before) != 1 {
		t.Fatalf("%d processes of ex before the restart, want 1", len(before))
	}
	if out, err := ctl(t, base, token, "restart", "ex"); err != nil {
		t.Fatalf("ctl restart: %v\n%s", err, out)
	}
	poll.Within(t, 30*time.Second, "ex restarted", func() error {
		var st struct {
			Restarts int    `json:"restarts"`
			State    string `json:"state"`
		}
		adminGet(t, base, token, "/api/v1/servers/ex", &st)
		now := testenv.FindProcesses(t, marker)
		if st.Restarts < 1 || st.State != "running" || len(now) != 1 || now[0] == before[0] {
			return fmt.Errorf("ex: %+v, processes %v (before %v)", st, now, before)
		}
		_, err := tryCall(ctx, c, "mcp__proxy__ex__whoami", nil)
		return err
	})
	poll.Within(t, 30*time.Second, "ctl status to show ex running", func() error {
		out, err := ctl(t, base, token, "status")
		if err != nil || !strings.Contains(out, "ex") || !strings.Contains(out, "running") {
			return fmt.Errorf("ctl status: %v\n%s", err, out)
		}
		return nil
	})
	if out, err := ctl(t, base, "wrong", "stop", "ex"); err == nil {
		t.Fatalf("ctl with a wrong token succeeded:\n%s", out)
	}

	// A live stream of ex's log, then enough stderr to rotate it several
	// times (4 KiB per file): every line must arrive.
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, base+"/api/v1/logs/ex/stream?tail=0", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- data
			}
		}
		close(lines)
	}()
	const n = 300
	lineMarker := uniqueMarker("logline")
	callReq := mcp.CallToolRequest{}
	callReq.Params.Name = "mcp__proxy__ex__stderr"
	callReq.Params.Arguments = map[string]any{"text": lineMarker, "lines": n}
	if res, err := c.CallTool(ctx, callReq); err != nil || res.IsError {
		t.Fatalf("stderr tool: %v %+v", err, res)
	}
	seen := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the log stream ended after %d of %d lines", len(seen), n)
			}
			if i := strings.Index(line, lineMarker+" #"); i >= 0 {
				seen[strings.Fields(line[i+len(lineMarker)+2:])[0]] = true
			}
		case <-deadline:
			t.Fatalf("the log stream delivered %d of %d lines", len(seen), n)
		}
	}
	rotated, _ := filepath.Glob(filepath.Join(dir, "logs", "ex.log.*"))
	if len(rotated) == 0 {
		t.Fatal("the log file never rotated (the test means to stream across rotations)")
	}
	if len(rotated) > 2 {
		t.Fatalf("%d rotated files kept, want at most log_max_files = 2", len(rotated))
	}
	var tail struct {
		Lines []string `json:"lines"`
	}
	adminGet(t, base, token, "/api/v1/logs/ex?tail=5", &tail)
	if len(tail.Lines) != 5 || !strings.Contains(tail.Lines[4], fmt.Sprintf("%s #%d", lineMarker, n)) {
		t.Fatalf("tail of ex's log: %q", tail.Lines)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "mcphost.log")); err != nil {
		t.Fatalf("no mcphost.log: %v", err)
	}
}
