//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// ---------------------------------------------------------------------------
// Helpers for the robustness tests (and plugin_test.go).

var markerSeq atomic.Int64

// uniqueMarker returns a token that no other process on the machine has in
// its command line: passed as an example backend's -name, it lets a test
// count exactly its own backends.
func uniqueMarker(prefix string) string {
	return fmt.Sprintf("%s%dx%dx%d", prefix, os.Getpid(), time.Now().UnixNano(), markerSeq.Add(1))
}

// serverBlock is an HCL server block running the example backend as server
// name, answering whoami with whoami; extra goes inside the block (for
// example request_timeout).
func serverBlock(name, whoami, extra string) string {
	return fmt.Sprintf(`
server %q {
  %s
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", %q]
  }
}
`, name, extra, whoami)
}

// toolText returns the first text content of a successful tool result.
func toolText(res *mcp.CallToolResult) (string, error) {
	if res.IsError {
		return "", fmt.Errorf("tool error: %+v", res.Content)
	}
	if len(res.Content) == 0 {
		return "", errors.New("no content")
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		return "", fmt.Errorf("first content is %T", res.Content[0])
	}
	return tc.Text, nil
}

// tryCall calls a tool without failing the test, so it can run in any
// goroutine and be polled.
func tryCall(ctx context.Context, c *client.Client, name string, args map[string]any) (string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", err
	}
	return toolText(res)
}

// procStat returns the state letter and parent pid of pid from
// /proc/<pid>/stat; ok is false when the process is gone.
func procStat(pid int) (state string, ppid int, ok bool) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, false
	}
	return f[0], ppid, true
}

// procCmdline is pid's command line, arguments joined with spaces, or "".
func procCmdline(pid int) string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimRight(string(raw), "\x00"), "\x00", " ")
}

// processDead reports whether pid no longer runs: gone, or a zombie waiting
// for a parent (init, in a container, may never reap it).
func processDead(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	state, _, ok := procStat(pid)
	return !ok || state == "Z" || state == "X"
}

// liveDescendants are the descendants of pid that are not dead, whose
// command line contains pattern.
func liveDescendants(pid int, pattern string) []int {
	var out []int
	for _, d := range testenv.Descendants(pid) {
		if !processDead(d) && strings.Contains(procCmdline(d), pattern) {
			out = append(out, d)
		}
	}
	return out
}

// pluginProcesses are the live `plugin serve stdio` children of the proxy.
func pluginProcesses(proxyPID int) []int {
	var out []int
	for _, d := range liveDescendants(proxyPID, "plugin serve stdio") {
		if _, ppid, ok := procStat(d); ok && ppid == proxyPID {
			out = append(out, d)
		}
	}
	return out
}

// rawClient speaks newline-delimited JSON-RPC to `mcphost run --stdio`
// directly, so tests can see error codes that mcp-go folds into strings.
type rawClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	Stderr *syncBuffer

	wmu    sync.Mutex
	mu     sync.Mutex
	wait   map[string]chan rawResponse
	nextID atomic.Int64
	eof    chan struct{}
	exit   chan error
}

type rawError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rawResponse struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *rawError       `json:"error"`
}

// startRawStdio runs `mcphost run --stdio cfg` and initializes a session.
// At cleanup its stdin is closed and a clean exit is required.
func startRawStdio(t *testing.T, cfg string) *rawClient {
	t.Helper()
	rc := &rawClient{
		Stderr: &syncBuffer{}, wait: map[string]chan rawResponse{},
		eof: make(chan struct{}), exit: make(chan error, 1),
	}
	rc.cmd = exec.Command(mcphost(t), "run", "--stdio", cfg)
	rc.cmd.Stderr = rc.Stderr
	var err error
	if rc.stdin, err = rc.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := rc.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go rc.read(stdout)
	t.Cleanup(func() {
		rc.stdin.Close()
		select {
		case err := <-rc.exit:
			if err != nil {
				t.Errorf("mcphost --stdio exited with %v\n%s", err, rc.Stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = rc.cmd.Process.Kill()
			<-rc.exit
			t.Errorf("mcphost --stdio did not exit within 30s of stdin EOF\n%s", rc.Stderr.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := rc.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "mcphost-e2e-raw", "version": "1"},
	})
	if err != nil || resp.Error != nil {
		t.Fatalf("initialize: %v %+v\n%s", err, resp.Error, rc.Stderr.String())
	}
	if err := rc.write(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *rawClient) read(stdout io.Reader) {
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var r rawResponse
			if json.Unmarshal(line, &r) == nil && r.Method == "" && len(r.ID) > 0 {
				rc.mu.Lock()
				ch := rc.wait[string(r.ID)]
				delete(rc.wait, string(r.ID))
				rc.mu.Unlock()
				if ch != nil {
					ch <- r
				}
			}
		}
		if err != nil {
			break
		}
	}
	close(rc.eof)
	rc.exit <- rc.cmd.Wait()
}

func (rc *rawClient) write(msg any) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	_, err = rc.stdin.Write(append(raw, '\n'))
	return err
}

// call sends a request and waits for its response.
func (rc *rawClient) call(ctx context.Context, method string, params any) (rawResponse, error) {
	id := rc.nextID.Add(1)
	ch := make(chan rawResponse, 1)
	rc.mu.Lock()
	rc.wait[strconv.FormatInt(id, 10)] = ch
	rc.mu.Unlock()
	if err := rc.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return rawResponse{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-rc.eof:
		return rawResponse{}, fmt.Errorf("%s: mcphost closed stdout", method)
	case <-ctx.Done():
		return rawResponse{}, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// callTool calls a tool and returns its first text content, or the
// JSON-RPC error.
func (rc *rawClient) callTool(ctx context.Context, name string, args map[string]any) (string, *rawError, error) {
	resp, err := rc.call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", nil, err
	}
	if resp.Error != nil {
		return "", resp.Error, nil
	}
	var res struct {
		IsError bool `json:"isError"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(resp.Result, &res); err != nil {
		return "", nil, err
	}
	if res.IsError || len(res.Content) == 0 || res.Content[0].Type != "text" {
		return "", nil, fmt.Errorf("unexpected result %s", resp.Result)
	}
	return res.Content[0].Text, nil, nil
}

// ---------------------------------------------------------------------------
// Tests.

// TestConcurrentCallsNoLossNoCrossing drives many sessions with several
// calls in flight each through one proxy: every response must carry its
// own request's text. It is deliberately not parallel with other top-level
// tests: it saturates a small machine, and the timing-sensitive tests
// (1s request timeouts) must not run beside it.
func TestConcurrentCallsNoLossNoCrossing(t *testing.T) {
	cases := []struct {
		name                     string
		http                     bool
		clients, calls, inflight int
	}{
		{name: "http", http: true, clients: 32, calls: 1000, inflight: 4},
		{name: "stdio", http: false, clients: 1, calls: 1000, inflight: 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			marker := uniqueMarker("conc")
			servers := serverBlock("example", marker, "")
			var clients []*client.Client
			var stop func()
			if tc.http {
				p := startHTTPProxy(t, servers)
				for range tc.clients {
					clients = append(clients, httpClient(t, p.URL, clientOptions{}))
				}
				stop = func() {
					for _, c := range clients {
						c.Close()
					}
					p.stop(t)
					if code := p.cmd.ProcessState.ExitCode(); code != 0 {
						t.Errorf("mcphost exit code %d after SIGTERM", code)
					}
				}
			} else {
				c := stdioClient(t, writeConfig(t, servers), clientOptions{})
				clients = append(clients, c)
				stop = func() {
					// Close waits for the process: an error is a non-zero exit.
					if err := c.Close(); err != nil {
						t.Errorf("mcphost --stdio did not exit cleanly: %v", err)
					}
				}
			}
			// initialize is answered while the backends start: wait for it.
			poll.Within(t, 30*time.Second, "the backend process", func() error {
				if n := testenv.CountProcesses(t, marker); n != 1 {
					return fmt.Errorf("%d backend processes match %q, want 1", n, marker)
				}
				return nil
			})

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var ok, failed atomic.Int64
			var errMu sync.Mutex
			var errs []string
			report := func(format string, args ...any) {
				failed.Add(1)
				errMu.Lock()
				defer errMu.Unlock()
				if len(errs) < 10 {
					errs = append(errs, fmt.Sprintf(format, args...))
				}
			}
			var wg sync.WaitGroup
			for ci, c := range clients {
				for g := range tc.inflight {
					wg.Go(func() {
						for i := g; i < tc.calls; i += tc.inflight {
							want := fmt.Sprintf("c%d-%d", ci, i)
							req := mcp.CallToolRequest{}
							req.Params.Name = "mcp__proxy__example__echo"
							req.Params.Arguments = map[string]any{"text": want}
							res, err := c.CallTool(ctx, req)
							if err != nil {
								report("%s: %v", want, err)
								continue
							}
							got, err := toolText(res)
							if err != nil {
								report("%s: %v", want, err)
								continue
							}
							sc, _ := res.StructuredContent.(map[string]any)
							if got != want || sc["text"] != want {
								report("crossed: sent %q, got text %q, structured %v", want, got, res.StructuredContent)
								continue
							}
							ok.Add(1)
						}
					})
				}
			}
			wg.Wait()
			if n := failed.Load(); n > 0 {
				t.Errorf("%d of %d calls failed or crossed; first: %s", n, tc.clients*tc.calls, strings.Join(errs, "\n  "))
			}
			if got, want := ok.Load(), int64(tc.clients*tc.calls); got != want {
				t.Errorf("%d correct responses, want %d", got, want)
			}
			if n := testenv.CountProcesses(t, marker); n != 1 {
				t.Errorf("after the load: %d backend processes match %q, want 1", n, marker)
			}

			stop()
			poll.Within(t, 20*time.Second, "backend gone after the proxy stopped", func() error {
				if n := testenv.CountProcesses(t, marker); n != 0 {
					return fmt.Errorf("%d processes still match %q", n, marker)
				}
				return nil
			})
		})
	}
}

// TestLargeResult moves a 50 MiB tool result through the proxy. Not
// parallel with other top-level tests, for the same reason as above.
func TestLargeResult(t *testing.T) {
	const n = 50 << 20
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	want := strings.Repeat(alphabet, n/len(alphabet)+1)[:n]
	for _, tr := range []string{"stdio", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			servers := serverBlock("example", "example", "")
			var c *client.Client
			if tr == "stdio" {
				c = stdioClient(t, writeConfig(t, servers), clientOptions{})
			} else {
				c = httpClient(t, startHTTPProxy(t, servers).URL, clientOptions{})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			got, err := tryCall(ctx, c, "mcp__proxy__example__bytes", map[string]any{"n": n})
			if err != nil {
				t.Fatalf("bytes %d: %v", n, err)
			}
			if len(got) != n {
				t.Fatalf("got %d bytes, want %d", len(got), n)
			}
			if got != want {
				i := 0
				for i < n && got[i] == want[i] {
					i++
				}
				t.Fatalf("payload differs from byte %d: got %q, want %q", i, got[i:min(i+26, n)], want[i:min(i+26, n)])
			}
			// The session still works after the big message.
			if s, err := tryCall(ctx, c, "mcp__proxy__example__whoami", nil); err != nil || s != "example" {
				t.Fatalf("whoami after the large result = %q, %v", s, err)
			}
		})
	}
}

// TestBackendKilledMidCall crashes a backend while a call is open on it:
// its calls fail fast with a JSON-RPC error, the other backend is
// unaffected, and the crashed one comes back.
func TestBackendKilledMidCall(t *testing.T) {
	t.Parallel()
	servers := serverBlock("example", "example", `request_timeout = "10s"`) + serverBlock("other", "other", "")
	for _, tr := range []string{"stdio", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			var listChanged atomic.Int64
			progress := make(chan struct{}, 1)
			opts := clientOptions{notifications: func(n mcp.JSONRPCNotification) {
				switch n.Method {
				case "notifications/tools/list_changed":
					listChanged.Add(1)
				case "notifications/progress":
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}}
			var c *client.Client
			if tr == "stdio" {
				c = stdioClient(t, writeConfig(t, servers), opts)
			} else {
				c = httpClient(t, startHTTPProxy(t, servers).URL, opts)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if got := callText(ctx, t, c, "mcp__proxy__example__whoami", nil); got != "example" {
				t.Fatalf("whoami = %q", got)
			}
			before := listChanged.Load()

			// "other" is called throughout; none of its calls may fail.
			stopOther := make(chan struct{})
			var otherOK atomic.Int64
			otherErr := make(chan error, 1)
			go func() {
				defer close(otherErr)
				for {
					select {
					case <-stopOther:
						return
					default:
					}
					got, err := tryCall(ctx, c, "mcp__proxy__other__whoami", nil)
					if err == nil && got != "other" {
						err = fmt.Errorf("whoami = %q", got)
					}
					if err != nil {
						otherErr <- fmt.Errorf("call to other: %w", err)
						return
					}
					otherOK.Add(1)
					time.Sleep(20 * time.Millisecond) // paces the steady load on "other"
				}
			}()

			// A long sleep reporting progress every 100ms: the first progress
			// notification proves it is running in the backend. Progress
			// also keeps renewing the 10s timeout, so only the crash can end it.
			sleepDone := make(chan error, 1)
			go func() {
				req := mcp.CallToolRequest{}
				req.Params.Name = "mcp__proxy__example__sleep"
				req.Params.Arguments = map[string]any{"ms": 60000, "steps": 600}
				req.Params.Meta = &mcp.Meta{ProgressToken: "long-sleep"}
				_, err := c.CallTool(ctx, req)
				sleepDone <- err
			}()
			select {
			case <-progress:
			case err := <-sleepDone:
				t.Fatalf("sleep ended before any progress: %v", err)
			case <-time.After(60 * time.Second):
				t.Fatal("no progress from the sleep call")
			}

			start := time.Now()
			_, crashErr := tryCall(ctx, c, "mcp__proxy__example__crash", map[string]any{"delay_ms": 100})
			var sleepErr error
			select {
			case sleepErr = <-sleepDone:
			case <-time.After(60 * time.Second):
				t.Fatal("the sleep call was not failed after its backend died")
			}
			elapsed := time.Since(start)
			for what, err := range map[string]error{"crash": crashErr, "sleep": sleepErr} {
				if err == nil {
					t.Errorf("%s call succeeded, want a JSON-RPC error", what)
					continue
				}
				if msg := err.Error(); !strings.Contains(msg, `"example"`) || !strings.Contains(msg, "unavailable") {
					t.Errorf("%s call error %q should name server \"example\" and say it is unavailable", what, msg)
				}
			}
			if elapsed >= 10*time.Second {
				t.Errorf("the calls failed after %s, not before the 10s request timeout", elapsed)
			}

			poll.Within(t, 30*time.Second, "example answers whoami again", func() error {
				got, err := tryCall(ctx, c, "mcp__proxy__example__whoami", nil)
				if err == nil && got != "example" {
					return fmt.Errorf("whoami = %q", got)
				}
				return err
			})
			// Down and up again: at least two changes of the tool list.
			poll.Within(t, 10*time.Second, "tools/list_changed notifications", func() error {
				if n := listChanged.Load() - before; n < 2 {
					return fmt.Errorf("got %d notifications/tools/list_changed, want at least 2", n)
				}
				return nil
			})
			if _, err := tryCall(ctx, c, "mcp__proxy__example__echo", map[string]any{"text": "back"}); err != nil {
				t.Errorf("echo after the restart: %v", err)
			}
			close(stopOther)
			if err := <-otherErr; err != nil {
				t.Error(err)
			}
			if otherOK.Load() == 0 {
				t.Error("no call to other completed")
			}
			if got := callText(ctx, t, c, "mcp__proxy__other__whoami", nil); got != "other" {
				t.Errorf("other whoami after = %q", got)
			}
		})
	}
}

// TestHungBackendTimesOut has a backend that does not answer within its
// request_timeout: the call fails with -32001 and the backend keeps serving.
func TestHungBackendTimesOut(t *testing.T) {
	t.Parallel()
	rc := startRawStdio(t, writeConfig(t, serverBlock("example", "example", `request_timeout = "1s"`)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// echo must work; under heavy machine load one attempt may itself exceed
	// the 1s timeout, so a timeout is retried, but nothing else is accepted.
	echo := func(text string) {
		t.Helper()
		var last *rawError
		for range 3 {
			got, rpcErr, err := rc.callTool(ctx, "mcp__proxy__example__echo", map[string]any{"text": text})
			switch {
			case err != nil:
				t.Fatalf("echo %q: %v", text, err)
			case rpcErr == nil && got == text:
				return
			case rpcErr == nil:
				t.Fatalf("echo %q = %q", text, got)
			case rpcErr.Code != -32001:
				t.Fatalf("echo %q: error %+v", text, rpcErr)
			}
			last = rpcErr
		}
		t.Fatalf("echo %q timed out three times: %+v", text, last)
	}
	echo("before")

	type result struct {
		rpcErr *rawError
		text   string
		err    error
	}
	hung := make(chan result, 1)
	go func() {
		text, rpcErr, err := rc.callTool(ctx, "mcp__proxy__example__sleep", map[string]any{"ms": 60000})
		hung <- result{rpcErr, text, err}
	}()
	echo("while the sleep is open")

	var r result
	select {
	case r = <-hung:
	case <-time.After(50 * time.Second):
		t.Fatalf("the 60s sleep was not timed out by the 1s request timeout\n%s", rc.Stderr.String())
	}
	if r.err != nil {
		t.Fatalf("sleep: %v", r.err)
	}
	if r.rpcErr == nil {
		t.Fatalf("sleep succeeded with %q, want a timeout error", r.text)
	}
	if r.rpcErr.Code != -32001 {
		t.Errorf("sleep error code = %d (%s), want -32001", r.rpcErr.Code, r.rpcErr.Message)
	}
	if !strings.Contains(r.rpcErr.Message, `"example"`) || !strings.Contains(r.rpcErr.Message, "1s") {
		t.Errorf("timeout message %q should name the server and the timeout", r.rpcErr.Message)
	}
	echo("after the timeout")
	for i := range 5 {
		echo(fmt.Sprintf("again %d", i))
	}
}

// TestHostKilledLeavesNoProcesses SIGKILLs the proxy: its plugin process and
// the backends behind it must die with it.
func TestHostKilledLeavesNoProcesses(t *testing.T) {
	t.Parallel()
	marker := uniqueMarker("kill")
	p := startHTTPProxy(t, serverBlock("a", marker+"-a", "")+serverBlock("b", marker+"-b", ""))
	pid := p.cmd.Process.Pid

	if n := testenv.CountProcesses(t, marker); n != 2 {
		t.Fatalf("%d processes match %q, want 2 backends", n, marker)
	}
	plugins := pluginProcesses(pid)
	if len(plugins) != 1 {
		t.Fatalf("plugin processes of the proxy: %v, want exactly one", plugins)
	}
	backends := liveDescendants(pid, marker)
	if len(backends) != 2 {
		t.Fatalf("backend descendants of the proxy: %v, want 2", backends)
	}
	watched := append(append([]int{}, plugins...), backends...)

	p.killAndWaitGone(t, 10*time.Second, watched, func() []string {
		if n := testenv.CountProcesses(t, marker); n != 0 {
			return []string{fmt.Sprintf("%d processes matching %q", n, marker)}
		}
		return nil
	})
}

// killAndWaitGone kills the proxy with SIGKILL, waits until it has exited,
// then until every pid of watched is dead and others (when set) names no
// process still alive.
func (p *proxyProcess) killAndWaitGone(t *testing.T, within time.Duration, watched []int, others func() []string) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not die from SIGKILL")
	}
	poll.Within(t, within, "no process left behind by the killed proxy", func() error {
		var alive []string
		for _, d := range watched {
			if !processDead(d) {
				alive = append(alive, fmt.Sprintf("%d (%s)", d, procCmdline(d)))
			}
		}
		if others != nil {
			alive = append(alive, others()...)
		}
		if len(alive) > 0 {
			return fmt.Errorf("still alive: %s", strings.Join(alive, ", "))
		}
		return nil
	})
}

// TestCrashedPluginIsRestarted SIGKILLs the stdio plugin process: its
// backends go down and come back through a new plugin process.
func TestCrashedPluginIsRestarted(t *testing.T) {
	t.Parallel()
	marker := uniqueMarker("plug")
	p := startHTTPProxy(t, serverBlock("a", marker+"-a", "")+serverBlock("b", marker+"-b", ""))
	pid := p.cmd.Process.Pid
	var listChanged atomic.Int64
	c := httpClient(t, p.URL, clientOptions{notifications: func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			listChanged.Add(1)
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, s := range []string{"a", "b"} {
		if got := callText(ctx, t, c, "mcp__proxy__"+s+"__whoami", nil); got != marker+"-"+s {
			t.Fatalf("%s whoami = %q", s, got)
		}
	}
	plugins := pluginProcesses(pid)
	if len(plugins) != 1 {
		t.Fatalf("plugin processes of the proxy: %v, want exactly one", plugins)
	}
	oldPlugin := plugins[0]
	oldBackends := liveDescendants(oldPlugin, marker)
	if len(oldBackends) != 2 {
		t.Fatalf("backends under the plugin: %v, want 2", oldBackends)
	}
	before := listChanged.Load()

	if err := syscall.Kill(oldPlugin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, 30*time.Second, "both backends answer again", func() error {
		for _, s := range []string{"a", "b"} {
			got, err := tryCall(ctx, c, "mcp__proxy__"+s+"__whoami", nil)
			if err != nil {
				return err
			}
			if got != marker+"-"+s {
				return fmt.Errorf("%s whoami = %q", s, got)
			}
		}
		return nil
	})
	plugins = pluginProcesses(pid)
	if len(plugins) != 1 || plugins[0] == oldPlugin {
		t.Fatalf("plugin processes after the crash: %v, want one new one (the killed one was %d)", plugins, oldPlugin)
	}
	poll.Within(t, 10*time.Second, "old backends dead", func() error {
		for _, d := range oldBackends {
			if !processDead(d) {
				return fmt.Errorf("backend %d (%s) of the killed plugin still runs", d, procCmdline(d))
			}
		}
		return nil
	})
	if got := liveDescendants(plugins[0], marker); len(got) != 2 {
		t.Errorf("backends under the new plugin: %v, want 2", got)
	}
	if n := testenv.CountProcesses(t, marker); n != 2 {
		t.Errorf("%d processes match %q, want 2 backends", n, marker)
	}
	poll.Within(t, 10*time.Second, "tools/list_changed for down and up", func() error {
		if n := listChanged.Load() - before; n < 2 {
			return fmt.Errorf("got %d notifications/tools/list_changed, want at least 2", n)
		}
		return nil
	})

	c.Close()
	p.stop(t)
	poll.Within(t, 20*time.Second, "backends gone after the proxy stopped", func() error {
		if n := testenv.CountProcesses(t, marker); n != 0 {
			return fmt.Errorf("%d processes still match %q", n, marker)
		}
		return nil
	})
}

// TestCrashedPluginReleasesBackendPipes SIGKILLs the stdio plugin while a
// backend's pipes are handed over to the host, with the backend server
// running under a shell: the kernel kills the shell with the plugin, but
// not the server, which still holds the pipes. The host must let go of
// its copies, so that its reads end (and the backend comes back through a
// new plugin) and the orphaned server sees the end of its input and exits.
func TestCrashedPluginReleasesBackendPipes(t *testing.T) {
	t.Parallel()
	marker := uniqueMarker("orphan")
	// Not the last command of the script, so the shell forks rather than
	// execs the server.
	block := fmt.Sprintf(`
server "a" {
  transport "stdio" {
    command = "sh"
    args    = ["-c", "\"$0\" example-server -name %s; exit $?", mcphost.executable]
  }
}
`, marker)
	p := startHTTPProxy(t, block)
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if got := callText(ctx, t, c, "mcp__proxy__a__whoami", nil); got != marker {
		t.Fatalf("whoami = %q", got)
	}
	plugins := pluginProcesses(p.cmd.Process.Pid)
	if len(plugins) != 1 {
		t.Fatalf("plugin processes of the proxy: %v, want exactly one", plugins)
	}
	old := liveDescendants(plugins[0], marker)
	if len(old) != 2 {
		t.Fatalf("shell and server under the plugin: %v, want 2", old)
	}
	hostFDs := openFDs(t, p.cmd.Process.Pid)

	if err := syscall.Kill(plugins[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, 30*time.Second, "the orphaned shell and server gone", func() error {
		for _, d := range old {
			if !processDead(d) {
				return fmt.Errorf("%d (%s) of the killed plugin still runs", d, procCmdline(d))
			}
		}
		return nil
	})
	poll.Within(t, 30*time.Second, "the backend answers again", func() error {
		got, err := tryCall(ctx, c, "mcp__proxy__a__whoami", nil)
		if err == nil && got != marker {
			return fmt.Errorf("whoami = %q", got)
		}
		return err
	})
	if n := testenv.CountProcesses(t, marker); n != 2 {
		t.Errorf("%d processes match %q, want the new shell and server", n, marker)
	}
	// The dead connection's descriptors went with it: the new one holds
	// as many (its pipes, its data socket, the new plugin's).
	poll.Within(t, 10*time.Second, "host descriptors back to their level", func() error {
		if now := openFDs(t, p.cmd.Process.Pid); now > hostFDs {
			return fmt.Errorf("the host had %d open fds before the crash and %d after", hostFDs, now)
		}
		return nil
	})
}

// openFDs is the number of open file descriptors of pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatalf("open fds of %d: %v", pid, err)
	}
	return len(entries)
}

// TestBackendCrashesLeakNothing crashes a backend several times: each
// reconnect must leave the plugin process with no more open files than
// before (the dead connection is closed, its pipes released).
func TestBackendCrashesLeakNothing(t *testing.T) {
	t.Parallel()
	const cycles = 3
	p := startHTTPProxy(t, serverBlock("example", "example", ""))
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	plugins := pluginProcesses(p.cmd.Process.Pid)
	if len(plugins) != 1 {
		t.Fatalf("plugin processes of the proxy: %v, want exactly one", plugins)
	}
	plugin := plugins[0]
	before := openFDs(t, plugin)
	for i := range cycles {
		if _, err := tryCall(ctx, c, "mcp__proxy__example__crash", nil); err == nil {
			t.Fatalf("cycle %d: crash call succeeded", i)
		}
		poll.Within(t, 60*time.Second, "example answers whoami again", func() error {
			_, err := tryCall(ctx, c, "mcp__proxy__example__whoami", nil)
			return err
		})
	}
	if got := pluginProcesses(p.cmd.Process.Pid); len(got) != 1 || got[0] != plugin {
		t.Fatalf("plugin processes %v, want the original %d (only backends crashed)", got, plugin)
	}
	// Fewer new descriptors than cycles: nothing is left behind per crash.
	poll.Within(t, 10*time.Second, "plugin descriptors back to their level before the crashes", func() error {
		if after := openFDs(t, plugin); after-before >= cycles {
			return fmt.Errorf("plugin had %d open fds before %d backend crashes and %d after", before, cycles, after)
		}
		return nil
	})
}
