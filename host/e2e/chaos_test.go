//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// The chaos tests break one part of a running proxy at a time (a plugin
// killed with calls in flight, a backend that stops mid-event or floods,
// a log file or trace store that cannot be written, the host itself
// killed) and check that every client still gets an answer, that the
// proxy keeps serving the others, and that the broken part comes back.
// Each case waits on facts (admin API, /proc, replies), never on sleeps.

const chaosToken = "chaos-admin-token"

// chaosProxy is a running `mcphost run` with an HTTP listener and an admin
// API with a token.
type chaosProxy struct {
	*proxyProcess
	cfg, dir     string
	admin        string // http://addr/api/v1
	metrics      string // the admin listener's /metrics
	mcpURL, base string // base: http://addr of the MCP listener
}

// startChaosProxy writes a config (extra: blocks besides listen and
// admin) and runs it with env added, waiting until every server runs.
func startChaosProxy(t *testing.T, extra string, env []string, servers ...string) *chaosProxy {
	t.Helper()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	extra = fmt.Sprintf("admin {\n  address    = %q\n  auth_token = %q\n}\n%s", adminAddr, chaosToken, extra)
	path := writeConfig(t, reloadConfig(addr, extra, servers...))
	return runChaosProxy(t, path, addr, adminAddr, env)
}

func runChaosProxy(t *testing.T, path, addr, adminAddr string, env []string) *chaosProxy {
	t.Helper()
	cp := &chaosProxy{
		cfg: path, dir: filepath.Dir(path),
		admin: "http://" + adminAddr + "/api/v1", metrics: "http://" + adminAddr + "/metrics",
		mcpURL: "http://" + addr + "/mcp", base: "http://" + addr,
	}
	p := startProxyEnv(t, path, cp.mcpURL, env)
	cp.proxyProcess = p
	poll.Within(t, 90*time.Second, "every server running", func() error {
		if p.exited.Load() {
			t.Fatalf("mcphost exited during start-up:\n%s", p.Stderr.String())
		}
		var st struct {
			Servers []struct {
				Name, State string
			} `json:"servers"`
		}
		if err := cp.get("/servers", &st); err != nil {
			return err
		}
		if len(st.Servers) == 0 {
			return errors.New("no servers yet")
		}
		for _, s := range st.Servers {
			if s.State != "running" {
				return fmt.Errorf("server %s is %s", s.Name, s.State)
			}
		}
		return nil
	})
	return cp
}

// get GETs an admin API path and decodes its JSON; it may run in any
// goroutine.
func (cp *chaosProxy) get(path string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, cp.admin+path, nil)
	req.Header.Set("Authorization", "Bearer "+chaosToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// post POSTs to an admin API path.
func (cp *chaosProxy) post(path, body string) error {
	req, _ := http.NewRequest(http.MethodPost, cp.admin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+chaosToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d: %s", path, resp.StatusCode, out)
	}
	return nil
}

type chaosPlugin struct {
	Name     string `json:"name"`
	Running  bool   `json:"running"`
	PID      int    `json:"pid"`
	Restarts int    `json:"restarts"`
}

func (cp *chaosProxy) plugins() (map[string]chaosPlugin, error) {
	var st struct {
		Plugins []chaosPlugin `json:"plugins"`
	}
	if err := cp.get("/plugins", &st); err != nil {
		return nil, err
	}
	out := map[string]chaosPlugin{}
	for _, p := range st.Plugins {
		out[p.Name] = p
	}
	return out, nil
}

// runningPlugin is the named plugin's pid, failing the test unless it runs.
func (cp *chaosProxy) runningPlugin(t *testing.T, name string) int {
	t.Helper()
	ps, err := cp.plugins()
	if err != nil {
		t.Fatal(err)
	}
	if p := ps[name]; !p.Running || p.PID == 0 {
		t.Fatalf("plugin %s is not running as a process: %+v", name, p)
	}
	return ps[name].PID
}

// waitPluginRestarted waits until the named plugin runs again as a
// process other than old.
func (cp *chaosProxy) waitPluginRestarted(t *testing.T, name string, old int) int {
	t.Helper()
	var pid int
	poll.Within(t, 30*time.Second, "plugin "+name+" running again as a new process", func() error {
		ps, err := cp.plugins()
		if err != nil {
			return err
		}
		p := ps[name]
		if !p.Running || p.PID == 0 || p.PID == old {
			return fmt.Errorf("plugin %s: %+v (killed pid %d)", name, p, old)
		}
		pid = p.PID
		return nil
	})
	return pid
}

// callers are four client sessions calling in a loop until stopAll:
// each call is judged by call, which says whether it counts as answered
// (ok, and afterKill once killed is set) or, in bad, what was wrong: the
// first such is kept in firstBad and its session stops calling.
type callers struct {
	ok, afterKill atomic.Int64
	killed        atomic.Bool
	firstBad      atomic.Value
	stop          chan struct{}
	once          sync.Once
	wg            sync.WaitGroup
}

func startCallers(t *testing.T, url, version string, call func(s *chaosSession, w, i int) (ok bool, bad string)) *callers {
	t.Helper()
	c := &callers{stop: make(chan struct{})}
	for w := range 4 {
		s := openChaosSession(t, url, version)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-c.stop:
					return
				default:
				}
				ok, bad := call(s, w, i)
				if bad != "" {
					c.firstBad.CompareAndSwap(nil, bad)
					return
				}
				if ok {
					c.ok.Add(1)
					if c.killed.Load() {
						c.afterKill.Add(1)
					}
				}
			}
		}()
	}
	return c
}

// stopAll stops the callers and waits for them.
func (c *callers) stopAll() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

// killUnderLoad kills the named plugin's process (-9) while c keep
// calling, marks c killed, and waits until need calls (what) were
// answered since, failing at once on the first bad answer. It returns the
// killed pid.
func killUnderLoad(t *testing.T, cp *chaosProxy, plugin string, c *callers, need int64, what string) int {
	t.Helper()
	old := cp.runningPlugin(t, plugin)
	c.killed.Store(true)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, 30*time.Second, what+" after the kill", func() error {
		if b := c.firstBad.Load(); b != nil {
			t.Fatal(b)
		}
		if n := c.afterKill.Load(); n < need {
			return fmt.Errorf("%d %s since the kill", n, what)
		}
		return nil
	})
	return old
}

func (cp *chaosProxy) inFlight(server string) (int, error) {
	var st struct {
		Servers []struct {
			Name     string `json:"name"`
			InFlight int    `json:"in_flight"`
		} `json:"servers"`
	}
	if err := cp.get("/servers", &st); err != nil {
		return 0, err
	}
	for _, s := range st.Servers {
		if s.Name == server {
			return s.InFlight, nil
		}
	}
	return 0, fmt.Errorf("no server %s", server)
}

// chaosSession is a streamable HTTP session at a chosen protocol revision,
// driven with net/http so that error codes and raw results can be checked.
type chaosSession struct {
	url, id string
	hc      *http.Client
	nextID  atomic.Int64
}

func openChaosSession(t testing.TB, url, version string) *chaosSession {
	t.Helper()
	s := &chaosSession{url: url, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	t.Cleanup(s.hc.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	init := fmt.Sprintf(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"chaos","version":"1"}}}`, version)
	resp, body, err := s.post(ctx, init, "application/json")
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if s.id = resp.Header.Get("Mcp-Session-Id"); s.id == "" || !bytes.Contains(body, []byte(version)) {
		t.Fatalf("initialize at %s: session %q: %s", version, s.id, body)
	}
	if resp, body, err := s.post(ctx, initedJS, "application/json"); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %v %s", err, body)
	}
	return s
}

func (s *chaosSession) post(ctx context.Context, msg, accept string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(msg))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return resp, body, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return resp, body, nil
}

// chaosReply is one answer, its id checked against the request's.
type chaosReply struct {
	Result json.RawMessage
	Error  *rawError
}

// call sends a tools/call and returns its answer; an error means no
// answer (the reply was lost, or its id was not the request's).
func (s *chaosSession) call(ctx context.Context, tool string, args map[string]any) (chaosReply, error) {
	id := s.nextID.Add(1)
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	_, body, err := s.post(ctx, string(msg), "application/json")
	if err != nil {
		return chaosReply{}, err
	}
	var r rawResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return chaosReply{}, fmt.Errorf("reply %q: %v", body, err)
	}
	if string(r.ID) != strconv.FormatInt(id, 10) {
		return chaosReply{}, fmt.Errorf("reply to request %d carries id %s: %s", id, r.ID, body)
	}
	return chaosReply{Result: r.Result, Error: r.Error}, nil
}

// chaosText is the first text content of a tool result.
func chaosText(result json.RawMessage) (string, error) {
	var res struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(result, &res); err != nil {
		return "", err
	}
	if res.IsError || len(res.Content) == 0 || res.Content[0].Type != "text" {
		return "", fmt.Errorf("unexpected result %s", result)
	}
	return res.Content[0].Text, nil
}

// pidsWhere lists live processes (not the test) whose command line or
// environment contains one of the patterns.
func pidsWhere(patterns ...string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || processDead(pid) {
			continue
		}
		cmdline := procCmdline(pid)
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		for _, p := range patterns {
			if strings.Contains(cmdline, p) || bytes.Contains(environ, []byte(p)) {
				out = append(out, fmt.Sprintf("%d (%s)", pid, cmdline))
				break
			}
		}
	}
	return out
}

func TestChaos(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"transport-plugin-killed", chaosTransportKilled},
		{"translator-plugin-killed", chaosTranslatorKilled},
		{"tracing-plugin-killed", chaosTracingKilled},
		{"sse-stops-mid-event", chaosHalfSSE},
		{"notification-flood", chaosFlood},
		{"log-file-unwritable", chaosLogUnwritable},
		{"trace-store-full", chaosTraceStoreFull},
		{"host-killed", chaosHostKilled},
	}
	mcphost(t) // built once, before the first case's clock starts
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			c.run(t)
			t.Logf("%s took %s", c.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// chaosTransportKilled: kill -9 of the stdio transport plugin with calls
// in flight: they fail at once with -32000, and the backend serves again
// through a new plugin process.
func chaosTransportKilled(t *testing.T) {
	cp := startChaosProxy(t, "", nil, serverBlock("ex", "ex", `request_timeout = "60s"`))
	s := openChaosSession(t, cp.mcpURL, "2025-06-18")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 6
	type answer struct {
		r   chaosReply
		err error
		at  time.Time
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			r, err := s.call(ctx, "mcp__proxy__ex__sleep", map[string]any{"ms": 60000, "steps": 60})
			answers <- answer{r, err, time.Now()}
		}()
	}
	poll.Within(t, 30*time.Second, "the sleep calls open at the backend", func() error {
		if got, err := cp.inFlight("ex"); err != nil || got < n {
			return fmt.Errorf("in flight %d (%v), want %d", got, err, n)
		}
		return nil
	})
	old := cp.runningPlugin(t, "stdio")
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		select {
		case a := <-answers:
			switch {
			case a.err != nil:
				t.Fatalf("call %d in flight when the transport plugin died got no answer: %v", i, a.err)
			case a.r.Error == nil:
				t.Fatalf("call %d in flight when the transport plugin died succeeded: %s", i, a.r.Result)
			case a.r.Error.Code != -32000:
				t.Errorf("call %d: error %+v, want -32000 (server unavailable)", i, a.r.Error)
			case a.at.Sub(killed) > 20*time.Second:
				t.Errorf("call %d failed %s after the kill, not at once", i, a.at.Sub(killed))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d calls in flight were not answered within 30s of the transport plugin's death\n%s", n-i, n, cp.Stderr.String())
		}
	}
	t.Logf("%d calls in flight failed with -32000 within %s of the kill", n, time.Since(killed).Round(time.Millisecond))
	poll.Within(t, 30*time.Second, "ex answers echo again", func() error {
		r, err := s.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": "back"})
		if err != nil {
			return err
		}
		if r.Error != nil {
			return fmt.Errorf("%+v", r.Error)
		}
		if text, err := chaosText(r.Result); err != nil || text != "back" {
			return fmt.Errorf("echo = %q, %v", text, err)
		}
		return nil
	})
	cp.waitPluginRestarted(t, "stdio", old)
}

// chaosTranslatorKilled: kill -9 of the versions translator while a
// 2025-03-26 client's calls need it (describe's answer holds
// "lastModified", which only the plugin handles for that revision; a
// 2025-06-18 client's answers from the example server are all host
// edits, so they would never reach the plugin). No answer may reach the
// client untranslated: each is either translated (no structuredContent or
// resultType, which 2025-03-26 lacks) or a -32603 error (the request or the
// answer could not be translated), and the translator restarts and
// translates again.
func chaosTranslatorKilled(t *testing.T) {
	cp := startChaosProxy(t, "", nil, serverBlock("ex", "ex", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var failed atomic.Int64
	c := startCallers(t, cp.mcpURL, "2025-03-26", func(s *chaosSession, w, i int) (bool, string) {
		id := fmt.Sprintf("w%d-%d", w, i)
		r, err := s.call(ctx, "mcp__proxy__ex__describe", map[string]any{"lastModified": "2025-01-01T00:00:00Z", "id": id})
		switch {
		case err != nil:
			return false, fmt.Sprintf("call %s got no answer: %v", id, err)
		case r.Error != nil:
			// The request (into the server's 2026-07-28) or the answer
			// (into the client's 2025-03-26) could not be translated:
			// either way nothing untranslated went on.
			if r.Error.Code != -32603 || !strings.Contains(r.Error.Message, "could not be put into protocol 2025-03-26") &&
				!strings.Contains(r.Error.Message, "could not be put into protocol 2026-07-28") {
				return false, fmt.Sprintf("call %s: error %+v, want -32603 saying the request or the answer could not be translated", id, r.Error)
			}
			failed.Add(1)
			return false, ""
		}
		for _, field := range []string{`"structuredContent"`, `"resultType"`, `"io.modelcontextprotocol/`} {
			if bytes.Contains(r.Result, []byte(field)) {
				return false, fmt.Sprintf("call %s: an untranslated answer (%s) reached a 2025-03-26 client: %s", id, field, r.Result)
			}
		}
		if text, err := chaosText(r.Result); err != nil || !strings.Contains(text, `"`+id+`"`) {
			return false, fmt.Sprintf("call %s: answer %q (%v) is not its own", id, text, err)
		}
		return true, ""
	})
	defer c.stopAll()
	poll.Within(t, 30*time.Second, "translated calls before the kill", func() error {
		if b := c.firstBad.Load(); b != nil {
			t.Fatal(b)
		}
		if n := c.ok.Load(); n < 20 {
			return fmt.Errorf("%d calls answered", n)
		}
		return nil
	})
	old := killUnderLoad(t, cp, "versions", c, 20, "translated answers")
	c.stopAll()
	if b := c.firstBad.Load(); b != nil {
		t.Fatal(b)
	}
	cp.waitPluginRestarted(t, "versions", old)
	t.Logf("%d answers translated, %d answered -32603 while the translator was down, none untranslated", c.ok.Load(), failed.Load())
}

type chaosTracing struct {
	Up        bool   `json:"up"`
	Reason    string `json:"reason"`
	Responses uint64 `json:"responses"`
}

// chaosTracingKilled: kill -9 of the tracing plugin while clients call:
// no reply is lost or delayed by it, and tracing records again (through
// a new plugin process) afterwards.
func chaosTracingKilled(t *testing.T) {
	store := filepath.Join(t.TempDir(), "trace")
	cp := startChaosProxy(t, fmt.Sprintf("tracing {\n  store_dir = %q\n  idle_gap = \"1s\"\n}\n", store), nil, serverBlock("ex", "ex", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sawDown atomic.Bool
	c := startCallers(t, cp.mcpURL, "2025-06-18", func(s *chaosSession, w, i int) (bool, string) {
		text := fmt.Sprintf("traced-%d-%d", w, i)
		r, err := s.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": text})
		if err == nil && r.Error != nil {
			err = fmt.Errorf("error %+v", r.Error)
		}
		if err == nil {
			var got string
			if got, err = chaosText(r.Result); err == nil && got != text {
				err = fmt.Errorf("answer %q", got)
			}
		}
		if err != nil {
			return false, fmt.Sprintf("echo %s while tracing was killed: %v", text, err)
		}
		return true, ""
	})
	go func() { // notes whether the admin API ever reports tracing down
		for {
			select {
			case <-c.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			var st chaosTracing
			if cp.get("/tracing", &st) == nil && !st.Up {
				sawDown.Store(true)
			}
		}
	}()
	defer c.stopAll()
	var before chaosTracing
	poll.Within(t, 30*time.Second, "responses traced before the kill", func() error {
		if b := c.firstBad.Load(); b != nil {
			t.Fatal(b)
		}
		if err := cp.get("/tracing", &before); err != nil {
			return err
		}
		if !before.Up || before.Responses == 0 {
			return fmt.Errorf("tracing %+v", before)
		}
		return nil
	})
	old := killUnderLoad(t, cp, "tracing", c, 50, "calls answered")
	c.stopAll()
	if b := c.firstBad.Load(); b != nil {
		t.Fatal(b)
	}
	var after chaosTracing
	poll.Within(t, 30*time.Second, "tracing up and recording responses again", func() error {
		if err := cp.get("/tracing", &after); err != nil {
			return err
		}
		if !after.Up || after.Responses <= before.Responses {
			return fmt.Errorf("tracing %+v (before the kill: %d responses)", after, before.Responses)
		}
		return nil
	})
	cp.waitPluginRestarted(t, "tracing", old)
	t.Logf("%d calls answered, none lost; tracing reported down in between: %v; responses %d before the kill, %d after",
		c.ok.Load(), sawDown.Load(), before.Responses, after.Responses)
}

// halfSSEBackend is a streamable HTTP MCP server whose tool "half" answers
// with an SSE stream that stops in the middle of its event: hanging until
// released ("hang") or dropping the connection ("close"). Its tool "ok"
// answers normally.
func halfSSEBackend(t *testing.T, mode string) *httptest.Server {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if len(msg.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		reply := func(result string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, msg.ID, result)
		}
		switch {
		case msg.Method == "initialize":
			w.Header().Set("Mcp-Session-Id", "half-session")
			reply(`{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"half","version":"1"}}`)
		case msg.Method == "ping":
			reply(`{}`)
		case msg.Method == "tools/list":
			reply(`{"tools":[{"name":"half","inputSchema":{"type":"object"}},{"name":"ok","inputSchema":{"type":"object"}}]}`)
		case msg.Method == "tools/call" && msg.Params.Name == "ok":
			reply(`{"content":[{"type":"text","text":"fine"}]}`)
		case msg.Method == "tools/call":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "id: 1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"te", msg.ID)
			w.(http.Flusher).Flush()
			if mode == "close" {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`, msg.ID)
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets a hanging handler end
	return ts
}

// chaosHalfSSE: an HTTP backend whose answer stream stops mid-event
// (hangs, or drops the connection): the call fails with a JSON-RPC error,
// and the proxy keeps serving the other backend and the same one.
func chaosHalfSSE(t *testing.T) {
	for _, mode := range []string{"hang", "close"} {
		t.Run(mode, func(t *testing.T) {
			ts := halfSSEBackend(t, mode)
			half := fmt.Sprintf(`
server "half" {
  request_timeout = "5s"
  transport "http" {
    url  = %q
    mode = "streamable"
  }
}
`, ts.URL+"/mcp")
			cp := startChaosProxy(t, "", nil, half, serverBlock("ex", "ex", ""))
			s := openChaosSession(t, cp.mcpURL, "2025-06-18")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			type answer struct {
				r   chaosReply
				err error
			}
			done := make(chan answer, 1)
			start := time.Now()
			go func() {
				r, err := s.call(ctx, "mcp__proxy__half__half", nil)
				done <- answer{r, err}
			}()
			// The other backend answers while the broken call is open.
			other := openChaosSession(t, cp.mcpURL, "2025-06-18")
			for i := range 5 {
				r, err := other.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": fmt.Sprint("other ", i)})
				if err != nil || r.Error != nil {
					t.Fatalf("echo on ex while half's stream is broken: %v %+v", err, r.Error)
				}
			}
			var a answer
			select {
			case a = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("the call whose stream stopped mid-event was not answered in 30s\n%s", cp.Stderr.String())
			}
			elapsed := time.Since(start)
			if a.err != nil {
				t.Fatalf("the broken call got no JSON-RPC answer: %v", a.err)
			}
			if a.r.Error == nil {
				t.Fatalf("the broken call succeeded: %s", a.r.Result)
			}
			t.Logf("%s: the call failed after %s with %d %q", mode, elapsed.Round(time.Millisecond), a.r.Error.Code, a.r.Error.Message)
			if elapsed > 20*time.Second {
				t.Errorf("the broken call took %s, beyond its 5s request timeout", elapsed)
			}
			poll.Within(t, 30*time.Second, "half's other tool answers", func() error {
				r, err := s.call(ctx, "mcp__proxy__half__ok", nil)
				if err != nil {
					return err
				}
				if r.Error != nil {
					return fmt.Errorf("%+v", r.Error)
				}
				if text, err := chaosText(r.Result); err != nil || text != "fine" {
					return fmt.Errorf("ok = %q %v", text, err)
				}
				return nil
			})
			if r, err := other.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": "after"}); err != nil || r.Error != nil {
				t.Fatalf("echo on ex after: %v %+v", err, r.Error)
			}
		})
	}
}

// chaosFlood: a backend floods one reading client with progress
// notifications; another client's calls stay quick and the proxy's
// memory stays bounded.
func chaosFlood(t *testing.T) {
	cp := startChaosProxy(t, "", nil, serverBlock("ex", "ex", ""), serverBlock("calm", "calm", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pid := cp.cmd.Process.Pid
	baseline := readRSS(pid)
	rss := watchRSS(pid)
	const count, size = 20000, 2048
	flooder := openChaosSession(t, cp.mcpURL, "2025-06-18")
	type floodResult struct {
		progress int
		result   bool
		err      error
	}
	flooded := make(chan floodResult, 1)
	go func() {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__ex__flood","arguments":{"count":%d,"size":%d},"_meta":{"progressToken":"flood"}}}`, count, size)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, flooder.url, strings.NewReader(msg))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", flooder.id)
		resp, err := flooder.hc.Do(req)
		if err != nil {
			flooded <- floodResult{err: err}
			return
		}
		defer resp.Body.Close()
		var fr floodResult
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.HasPrefix(line, []byte("data: ")) {
				continue
			}
			if bytes.Contains(line, []byte(`"notifications/progress"`)) {
				fr.progress++
			} else if bytes.Contains(line, []byte(`"id":1`)) {
				fr.result = bytes.Contains(line, []byte(fmt.Sprintf("flooded %d", count)))
				break
			}
		}
		fr.err = sc.Err()
		flooded <- fr
	}()
	calm := openChaosSession(t, cp.mcpURL, "2025-06-18")
	var lat []time.Duration
	var fr floodResult
	for i := 0; ; i++ {
		text := fmt.Sprint("calm ", i)
		start := time.Now()
		r, err := calm.call(ctx, "mcp__proxy__calm__echo", map[string]any{"text": text})
		lat = append(lat, time.Since(start))
		if err != nil || r.Error != nil {
			t.Fatalf("the other client's call %d during the flood: %v %+v", i, err, r.Error)
		}
		if got, err := chaosText(r.Result); err != nil || got != text {
			t.Fatalf("the other client's call %d: %q %v", i, got, err)
		}
		select {
		case fr = <-flooded:
		default:
			continue
		}
		break
	}
	maxRSS := rss.stop()
	if fr.err != nil || !fr.result {
		t.Fatalf("the flooded client: %d progress notifications, result %v, error %v", fr.progress, fr.result, fr.err)
	}
	var worst time.Duration
	for _, l := range lat {
		worst = max(worst, l)
	}
	t.Logf("flood of %d × %d B: the reader got %d progress notifications and its result; the other client made %d calls, slowest %s; proxy RSS %d MiB before, at most %d MiB",
		count, size, fr.progress, len(lat), worst.Round(time.Millisecond), baseline>>20, maxRSS>>20)
	if worst > 10*time.Second {
		t.Errorf("a call of the other client took %s during the flood", worst)
	}
	if maxRSS-baseline > 512<<20 {
		t.Errorf("the proxy's RSS grew from %d MiB to %d MiB during a %d MiB flood", baseline>>20, maxRSS>>20, count*size>>20)
	}
	if fr.progress < count/2 {
		t.Errorf("the reading client got only %d of %d progress notifications", fr.progress, count)
	}
}

// chaosLogUnwritable: a server's log file becomes a symlink to /dev/full
// (every write fails with ENOSPC): the proxy keeps serving, and once the
// file is writable again the server's lines land in it.
func chaosLogUnwritable(t *testing.T) {
	logDir := filepath.Join(t.TempDir(), "logs")
	cp := startChaosProxy(t, fmt.Sprintf("proxy {\n  log_dir = %q\n}\n", logDir), nil, serverBlock("ex", "ex", ""))
	s := openChaosSession(t, cp.mcpURL, "2025-06-18")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logFile := filepath.Join(logDir, "ex.log")
	stderrLine := func(text string) {
		t.Helper()
		r, err := s.call(ctx, "mcp__proxy__ex__stderr", map[string]any{"text": text})
		if err != nil || r.Error != nil {
			t.Fatalf("stderr %s: %v %+v", text, err, r.Error)
		}
	}
	inLog := func(text string) func() error {
		return func() error {
			data, err := os.ReadFile(logFile)
			if err != nil {
				return err
			}
			if !bytes.Contains(data, []byte(text)) {
				return fmt.Errorf("%s does not hold %q", logFile, text)
			}
			return nil
		}
	}
	stderrLine("before-the-disk-filled")
	poll.Within(t, 20*time.Second, "the server's stderr in its log file", inLog("before-the-disk-filled"))

	if err := os.Remove(logFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", logFile); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		stderrLine(fmt.Sprint("while-full-", i))
		text := fmt.Sprint("served ", i)
		r, err := s.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": text})
		if err != nil || r.Error != nil {
			t.Fatalf("echo while the log file cannot be written: %v %+v", err, r.Error)
		}
		if got, err := chaosText(r.Result); err != nil || got != text {
			t.Fatalf("echo while the log file cannot be written: %q %v", got, err)
		}
	}
	var st struct {
		State string `json:"state"`
	}
	if err := cp.get("/servers/ex", &st); err != nil || st.State != "running" {
		t.Fatalf("server ex while its log cannot be written: %+v %v", st, err)
	}
	// What the proxy says is the fact under test here: once, on stderr
	// (the file itself cannot take it).
	said := func(what string) func() error {
		return func() error {
			for _, line := range strings.Split(cp.Stderr.String(), "\n") {
				if strings.Contains(line, what) && strings.Contains(line, logFile) {
					return nil
				}
			}
			return fmt.Errorf("stderr has no line %q naming %s", what, logFile)
		}
	}
	poll.Within(t, 20*time.Second, "the proxy saying the log file cannot be written", said("log file cannot be written"))
	if n := strings.Count(cp.Stderr.String(), "log file cannot be written"); n != 1 {
		t.Errorf("the unwritable log file was reported %d times, want once", n)
	}

	if err := os.Remove(logFile); err != nil {
		t.Fatal(err)
	}
	stderrLine("after-the-disk-was-freed")
	poll.Within(t, 20*time.Second, "the server's lines in its log file again", inLog("after-the-disk-was-freed"))
	poll.Within(t, 20*time.Second, "the proxy saying the log file is written again", said("log file written again"))
	t.Logf("while ex.log could not be written the proxy served every call and said so once on stderr; it writes the file again")
}

// chaosTraceStoreFull: the trace store's filesystem (a 64 MiB tmpfs)
// fills up: the proxy keeps answering every call, the tracing plugin
// refuses to write rather than dying (Badger writes through memory maps,
// where a full disk is a SIGBUS), and tracing records again once there is
// room. Needs root and a mount that works (not in every container).
func chaosTraceStoreFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the trace store out of space needs a size-limited tmpfs, which needs root; not proven here")
	}
	store := filepath.Join(t.TempDir(), "trace")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", store).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for the trace store (%v: %s); the trace store out of space is not proven here", err, bytes.TrimSpace(out))
	}
	// Registered before the proxy starts, so it runs after the proxy stops.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", store).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", store, err, out)
		}
	})
	cp := startChaosProxy(t, fmt.Sprintf("tracing {\n  store_dir = %q\n  store_content = true\n  idle_gap = \"1s\"\n}\n", store), nil, serverBlock("ex", "ex", ""))
	s := openChaosSession(t, cp.mcpURL, "2025-06-18")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plugin := cp.runningPlugin(t, "tracing")

	// Something else fills the filesystem, leaving 4 MiB.
	var st syscall.Statfs_t
	if err := syscall.Statfs(store, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(store, "filler")
	// Bsize is an int64 on Linux and a uint32 on macOS.
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*int64(st.Bsize)-4<<20), 0o600); err != nil {
		t.Fatalf("filling the tmpfs: %v", err)
	}
	// 32 results of 128 KiB each, stored with their content: the store
	// cannot hold them.
	for i := range 32 {
		r, err := s.call(ctx, "mcp__proxy__ex__bytes", map[string]any{"n": 128<<10 + i})
		if err != nil || r.Error != nil {
			t.Fatalf("bytes call %d with the trace store full: %v %+v", i, err, r.Error)
		}
	}
	var full chaosTracing
	poll.Within(t, 30*time.Second, "tracing failing to record into the full store", func() error {
		errs, err := scrapeValue(cp.metrics, "mcphost_tracing_record_errors_total")
		if err != nil {
			return err
		}
		if err := cp.get("/tracing", &full); err != nil {
			return err
		}
		if errs == 0 {
			return fmt.Errorf("no record errors yet; tracing %+v", full)
		}
		return nil
	})
	if r, err := s.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": "still served"}); err != nil || r.Error != nil {
		t.Fatalf("echo with the trace store full: %v %+v", err, r.Error)
	}
	if ps, err := cp.plugins(); err != nil || !ps["tracing"].Running || ps["tracing"].PID != plugin || ps["tracing"].Restarts != 0 {
		t.Fatalf("the tracing plugin died on a full disk: %+v (was pid %d), %v\n%s", ps["tracing"], plugin, err, cp.Stderr.String())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var after chaosTracing
	poll.Within(t, 60*time.Second, "tracing recording again once the store has room", func() error {
		r, err := s.call(ctx, "mcp__proxy__ex__echo", map[string]any{"text": "room again"})
		if err != nil || r.Error != nil {
			return fmt.Errorf("echo: %v %+v", err, r.Error)
		}
		if err := cp.get("/tracing", &after); err != nil {
			return err
		}
		if !after.Up || after.Responses <= full.Responses {
			return fmt.Errorf("tracing %+v (while full: %d responses)", after, full.Responses)
		}
		return nil
	})
	if ps, err := cp.plugins(); err != nil || ps["tracing"].PID != plugin {
		t.Errorf("the tracing plugin was restarted: %+v (was pid %d), %v", ps["tracing"], plugin, err)
	}
	t.Logf("store full: %d responses recorded, record errors counted, the plugin (pid %d) kept running; with room again: %d responses", full.Responses, plugin, after.Responses)
}

// scrapeValue sums the samples of one family in a Prometheus text page.
func scrapeValue(url, family string) (float64, error) {
	return scrapeValueAuth(url, "", family)
}

// scrapeValueAuth is scrapeValue for a page behind token ("" for none).
func scrapeValueAuth(url, token, family string) (float64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, family) {
			continue
		}
		rest := line[len(family):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %v", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s in %s", family, url)
	}
	return sum, sc.Err()
}

// chaosHostKilled: kill -9 of the host leaves no process behind: its
// plugins (PR_SET_PDEATHSIG) and the backends in their own process
// groups all go. Backends are found by a marker in their command line
// and in their environment (they inherit the host's), plugins by the pids
// the admin API gave.
func chaosHostKilled(t *testing.T) {
	marker := uniqueMarker("chaoshost")
	store := filepath.Join(t.TempDir(), "trace")
	cp := startChaosProxy(t, fmt.Sprintf("tracing {\n  store_dir = %q\n}\n", store),
		[]string{"MCPHOST_CHAOS_MARKER=" + marker},
		serverBlock("a", marker+"-a", ""), serverBlock("b", marker+"-b", ""))
	// Use the translator, so that every plugin kind runs.
	s := openChaosSession(t, cp.mcpURL, "2025-03-26")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r, err := s.call(ctx, "mcp__proxy__a__describe", map[string]any{"lastModified": "x"}); err != nil || r.Error != nil {
		t.Fatalf("describe: %v %+v", err, r.Error)
	}
	ps, err := cp.plugins()
	if err != nil {
		t.Fatal(err)
	}
	var plugins []int
	var names []string
	for name, p := range ps {
		if p.Running && p.PID != 0 {
			plugins = append(plugins, p.PID)
			names = append(names, name)
		}
	}
	for _, want := range []string{"stdio", "versions", "tracing"} {
		if p := ps[want]; !p.Running || p.PID == 0 {
			t.Fatalf("plugin %s is not running before the kill: %+v", want, p)
		}
	}
	if got := pidsWhere(marker); len(got) < 2 {
		t.Fatalf("processes with the marker before the kill: %v, want at least the two backends", got)
	}
	cp.killAndWaitGone(t, 20*time.Second, plugins, func() []string { return pidsWhere(marker, cp.dir) })
	t.Logf("plugins %v (%v) and both backends gone after kill -9 of the host", names, plugins)
}
