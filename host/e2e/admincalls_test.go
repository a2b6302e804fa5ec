//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// adminPost POSTs body to an admin API path with the token and decodes
// the answer into out; it returns the status.
func adminPost(t *testing.T, base, token, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, buf.String())
		}
	}
	return resp.StatusCode
}

// adminCallAnswer is what POST /api/v1/tools/{name}/call answers.
type adminCallAnswer struct {
	Result *struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	} `json:"result"`
	RPCError *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"rpc_error"`
	LatencyMs *float64 `json:"latency_ms"`
	Error     string   `json:"error"`
}

// startAdminProxy runs mcphost with the example server "ex", an HTTP
// listener, the admin API (token adminToken) and tracing; it returns the
// proxy and the admin API's base URL.
func startAdminProxy(t *testing.T, adminToken string) (*proxyProcess, string) {
	t.Helper()
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := listenAndAdmin(mcpAddr, adminAddr, adminToken) + fmt.Sprintf(`tracing {
  store_dir = %q
  idle_gap  = "1h"
}
%s`, filepath.Join(dir, "trace"), exampleServer("ex"))
	path := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return startProxyAt(t, path, "http://"+mcpAddr+"/mcp"), "http://" + adminAddr
}

// TestAdminCalls: the admin API lists the tools with their schemas, calls
// the example server's echo tool through the router (result and latency),
// passes a wrong-typed argument's failure on as the backend gave it,
// refuses a call without the token, and lists the plugins with the pids
// of those running.
func TestAdminCalls(t *testing.T) {
	t.Parallel()
	const token = "admin-calls-e2e-token"
	_, base := startAdminProxy(t, token)

	var tools struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
	}
	adminGet(t, base, token, "/api/v1/tools", &tools)
	var echoSchema string
	for _, tool := range tools.Tools {
		if tool.Name == "mcp__proxy__ex__echo" {
			echoSchema = string(tool.InputSchema)
		}
	}
	if !strings.Contains(echoSchema, `"text"`) || !strings.Contains(echoSchema, `"required"`) {
		t.Fatalf("echo's input_schema: %q", echoSchema)
	}

	tests := []struct {
		name, tool, body string
		wantStatus       int
		check            func(t *testing.T, a adminCallAnswer)
	}{
		{name: "echo", tool: "mcp__proxy__ex__echo", body: `{"arguments":{"text":"hello admin"}}`, wantStatus: 200,
			check: func(t *testing.T, a adminCallAnswer) {
				if a.Result == nil || a.Result.IsError || len(a.Result.Content) == 0 || a.Result.Content[0].Text != "hello admin" {
					t.Fatalf("result: %+v", a.Result)
				}
				if a.LatencyMs == nil || *a.LatencyMs <= 0 {
					t.Fatalf("latency_ms: %v", a.LatencyMs)
				}
			}},
		{name: "wrong-typed argument", tool: "mcp__proxy__ex__echo", body: `{"arguments":{"text":42}}`, wantStatus: 200,
			check: func(t *testing.T, a adminCallAnswer) {
				if a.Result == nil || !a.Result.IsError || len(a.Result.Content) == 0 || !strings.Contains(a.Result.Content[0].Text, "text") {
					t.Fatalf("result: %+v (rpc error %+v)", a.Result, a.RPCError)
				}
			}},
		{name: "unknown tool", tool: "mcp__proxy__ex__nope", body: `{}`, wantStatus: 200,
			check: func(t *testing.T, a adminCallAnswer) {
				if a.RPCError == nil || a.RPCError.Code != -32602 || a.Result != nil {
					t.Fatalf("answer: %+v", a)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a adminCallAnswer
			if code := adminPost(t, base, token, "/api/v1/tools/"+tt.tool+"/call", tt.body, &a); code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %+v", code, tt.wantStatus, a)
			}
			tt.check(t, a)
		})
	}
	if code := adminPost(t, base, "", "/api/v1/tools/mcp__proxy__ex__echo/call", `{"arguments":{"text":"x"}}`, nil); code != http.StatusUnauthorized {
		t.Fatalf("call without the token: %d, want 401", code)
	}

	// The stdio transport and the tracing plugin run as processes of their
	// own; the list shows their pids, which exist.
	poll.Within(t, 30*time.Second, "plugins with pids", func() error {
		var list struct {
			Plugins []struct {
				Name     string `json:"name"`
				Kind     string `json:"kind"`
				Version  string `json:"version"`
				Mode     string `json:"mode"`
				Running  bool   `json:"running"`
				Pid      int    `json:"pid"`
				Checksum string `json:"checksum"`
				Restarts *int   `json:"restarts"`
			} `json:"plugins"`
		}
		if code := adminGet(t, base, token, "/api/v1/plugins", &list); code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		seen := map[string]bool{}
		for _, p := range list.Plugins {
			if p.Checksum != "builtin" || p.Kind == "" || p.Version == "" || p.Restarts == nil {
				return fmt.Errorf("plugin %+v", p)
			}
			if !p.Running {
				continue
			}
			if p.Mode != "subprocess" || p.Pid <= 0 {
				return fmt.Errorf("running plugin without a pid: %+v", p)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.Pid)); err != nil {
				return fmt.Errorf("plugin %s: pid %d: %v", p.Name, p.Pid, err)
			}
			seen[p.Name] = true
		}
		if !seen["stdio"] || !seen["tracing"] {
			return fmt.Errorf("running plugins: %v, want stdio and tracing", seen)
		}
		return nil
	})
}

// TestAdminCallTraced: after an admin API call and an MCP client's call,
// trace://responses/recent lists both responses, the admin one marked
// with origin "admin" and a session of its own, the client's with
// origin "client" and its session's id.
func TestAdminCallTraced(t *testing.T) {
	t.Parallel()
	const token = "admin-traced-e2e-token"
	p, base := startAdminProxy(t, token)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var a adminCallAnswer
	if code := adminPost(t, base, token, "/api/v1/tools/mcp__proxy__ex__echo/call", `{"arguments":{"text":"from the admin API"}}`, &a); code != 200 ||
		a.Result == nil || a.Result.IsError {
		t.Fatalf("admin call: %d %+v", code, a)
	}
	c := httpClient(t, p.URL, clientOptions{})
	if got := callText(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "from a client"}); got != "from a client" {
		t.Fatalf("client call: %q", got)
	}
	var sessions struct {
		Sessions []struct {
			ID       string `json:"id"`
			Listener string `json:"listener"`
		} `json:"sessions"`
	}
	adminGet(t, base, token, "/api/v1/sessions", &sessions)
	var clientSession string
	for _, s := range sessions.Sessions {
		if s.Listener == "http" {
			clientSession = s.ID
		}
	}
	if clientSession == "" {
		t.Fatalf("no http session among %+v", sessions.Sessions)
	}
	// Ending the client's session finalizes its response (the admin
	// call's session ended with the call).
	if err := c.Close(); err != nil {
		t.Fatalf("close the client: %v", err)
	}

	poll.Within(t, 30*time.Second, "both responses in trace://responses/recent", func() error {
		var view struct {
			Responses []struct {
				ResponseID  string `json:"response_id"`
				Session     string `json:"session"`
				Origin      string `json:"origin"`
				TopContexts []struct {
					ContextID string  `json:"context_id"`
					Weight    float64 `json:"weight"`
					Name      string  `json:"name"`
				} `json:"top_contexts"`
			} `json:"responses"`
		}
		text, err := readRecentResponses(t, base, token, &view)
		if err != nil {
			return err
		}
		var admin, client bool
		for _, r := range view.Responses {
			if len(r.TopContexts) == 0 || r.TopContexts[0].Name != "echo" || r.TopContexts[0].Weight <= 0 {
				return fmt.Errorf("response %+v", r)
			}
			switch {
			case r.Origin == "admin" && strings.HasPrefix(r.Session, "admin-"):
				admin = true
			case r.Origin == "client" && r.Session != "" && strings.HasPrefix(clientSession, r.Session):
				client = true
			}
		}
		if !admin || !client {
			return fmt.Errorf("admin %v, client %v in %s", admin, client, text)
		}
		return nil
	})
}

// readRecentResponses reads trace://responses/recent through the admin API
// and decodes its text into view; it returns the text too.
func readRecentResponses(t *testing.T, base, token string, view any) (string, error) {
	t.Helper()
	var read struct {
		Contents []struct {
			Text string `json:"text"`
		} `json:"contents"`
	}
	if code := adminGet(t, base, token, "/api/v1/trace/resource?uri=trace://responses/recent", &read); code != http.StatusOK || len(read.Contents) != 1 {
		return "", fmt.Errorf("status %d, %+v", code, read)
	}
	return read.Contents[0].Text, json.Unmarshal([]byte(read.Contents[0].Text), view)
}

// reloadAnswer is what POST /api/v1/reload answers.
type reloadAnswer struct {
	Error       string   `json:"error"`
	Applied     bool     `json:"applied"`
	Added       []string `json:"added"`
	Removed     []string `json:"removed"`
	Changed     []string `json:"changed"`
	Unchanged   []string `json:"unchanged"`
	Plugins     []string `json:"plugins"`
	Diagnostics []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		File     string `json:"file"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"diagnostics"`
	Partial []struct {
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"partial"`
}

// TestAdminReloadShape: POST /api/v1/reload answers what it added and what
// needs a restart (applied in part), a broken config's diagnostics with
// their places (refused, 422), and mcphost ctl reload prints both.
func TestAdminReloadShape(t *testing.T) {
	t.Parallel()
	const token = "admin-reload-e2e-token"
	mcpAddr, adminAddr := freeAddr(t), freeAddr(t)
	config := func(extra string, servers ...string) string {
		return fmt.Sprintf("listen \"http\" {\n  address = %q\n}\nadmin {\n  address = %q\n  auth_token = %q\n}\n%s%s",
			mcpAddr, adminAddr, token, extra, strings.Join(servers, ""))
	}
	path := filepath.Join(t.TempDir(), "proxy.hcl")
	if err := os.WriteFile(path, []byte(config("", exampleServer("one"))), 0o644); err != nil {
		t.Fatal(err)
	}
	startProxyAt(t, path, "http://"+mcpAddr+"/mcp")
	base := "http://" + adminAddr

	// A new server, and a request timeout (which needs a restart).
	if err := os.WriteFile(path, []byte(config("proxy {\n  request_timeout = \"42s\"\n}\n", exampleServer("one"), exampleServer("two"))), 0o644); err != nil {
		t.Fatal(err)
	}
	var res reloadAnswer
	if code := adminPost(t, base, token, "/api/v1/reload", "", &res); code != http.StatusOK {
		t.Fatalf("reload: %d %+v", code, res)
	}
	if !res.Applied || strings.Join(res.Added, ",") != "two" || strings.Join(res.Unchanged, ",") != "one" ||
		res.Removed == nil || res.Changed == nil || res.Plugins == nil || res.Diagnostics == nil ||
		len(res.Partial) != 1 || res.Partial[0].Kind != "restart_required" || !strings.Contains(res.Partial[0].Reason, "request_timeout") {
		t.Fatalf("reload answer: %+v", res)
	}

	// A typo: refused, with the place of the problem.
	broken := strings.Replace(config("", exampleServer("one")), "command =", "comand =", 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	res = reloadAnswer{}
	if code := adminPost(t, base, token, "/api/v1/reload", "", &res); code != http.StatusUnprocessableEntity {
		t.Fatalf("reload of a broken config: %d %+v", code, res)
	}
	if res.Applied || len(res.Diagnostics) == 0 || res.Error == "" {
		t.Fatalf("refused reload answer: %+v", res)
	}
	d := res.Diagnostics[0]
	if d.Severity != "error" || d.Summary == "" || d.File != path || d.Line <= 0 || d.Column <= 0 {
		t.Fatalf("diagnostic: %+v", d)
	}
	out, err := ctl(t, base, token, "reload")
	if err == nil || !strings.Contains(out, fmt.Sprintf("%s:%d:%d: error: %s", path, d.Line, d.Column, d.Summary)) {
		t.Fatalf("ctl reload of a broken config: %v\n%s", err, out)
	}

	if err := os.WriteFile(path, []byte(config("", exampleServer("one"))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = ctl(t, base, token, "reload")
	if err != nil || !strings.Contains(out, "configuration reloaded in part") || !strings.Contains(out, "removed:   two") ||
		!strings.Contains(out, "needs a restart: ") {
		t.Fatalf("ctl reload: %v\n%s", err, out)
	}
}
