//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sharedCopy is one copy of mcphost run from the shared config, in its own
// process group (so that a kill takes its plugins and backends with it),
// and a client of it.
type sharedCopy struct {
	name    string
	stdio   bool
	metrics string // the copy's /metrics (every copy has an HTTP listener)
	admin   string // the copy's admin API address
	stderr  *syncBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	client *client.Client
}

func (c *sharedCopy) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd.Process.Pid
}

// kill ends the copy's process group with SIGKILL.
func (c *sharedCopy) kill(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-c.pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", c.name, err)
	}
}

// startSharedCopy runs `mcphost run [--stdio] cfg` with its HTTP listener and
// admin API on free ports (E2E_HTTP_ADDR and E2E_ADMIN_ADDR, so that the
// copies do not compete for ports, which is not what this test is about)
// and connects a client.
func startSharedCopy(t *testing.T, cfg, name string, stdio bool) *sharedCopy {
	t.Helper()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	c := &sharedCopy{name: name, stdio: stdio, metrics: "http://" + addr + "/metrics", admin: adminAddr, stderr: &syncBuffer{}}
	args := []string{"run", cfg}
	if stdio {
		// --serve: a stdio copy takes its configured ports only when asked,
		// and this test reads each copy's metrics and admin API there.
		args = []string{"run", "--stdio", "--serve", cfg}
	}
	newCmd := func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, mcphost(t), args...)
		cmd.Env = append(os.Environ(), "E2E_HTTP_ADDR="+addr, "E2E_ADMIN_ADDR="+adminAddr)
		cmd.Stderr = c.stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.mu.Lock()
		c.cmd = cmd
		c.mu.Unlock()
		return cmd
	}
	if stdio {
		tr := transport.NewStdioWithOptions(mcphost(t), nil, args, transport.WithCommandFunc(
			func(ctx context.Context, _ string, _ []string, _ []string) (*exec.Cmd, error) {
				return newCmd(ctx), nil
			}))
		c.client = connect(t, client.NewClient(tr), clientOptions{})
		t.Cleanup(func() { _ = syscall.Kill(-c.pid(), syscall.SIGKILL) }) // after the client's Close
		// The test reads the copy's metrics on its HTTP listener. A --serve
		// stdio copy skips a port that is taken (another test may have
		// taken the free port picked above): say so plainly if it did.
		poll.Within(t, 60*time.Second, fmt.Sprintf("%s serving mcphost metrics at %s (its port taken by another process?)", name, c.metrics), func() error {
			resp, err := http.Get(c.metrics)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "mcphost_") {
				return fmt.Errorf("%s, no mcphost_ metrics; stderr:\n%s", resp.Status, c.stderr.String())
			}
			return nil
		})
		return c
	}
	cmd := newCmd(context.Background())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Errorf("%s did not stop within 20s of SIGINT\n%s", name, c.stderr.String())
		}
	})
	url := "http://" + addr + "/mcp"
	poll.Within(t, 60*time.Second, name+" serving HTTP", func() error {
		select {
		case err := <-done:
			t.Fatalf("%s exited early: %v\n%s", name, err, c.stderr.String())
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, c.stderr.String())
		}
		return resp.Body.Close()
	})
	c.client = httpClient(t, url, clientOptions{})
	return c
}

// storeOwner is the copy's mcphost_tracing_store_owner (1 while its
// tracing plugin holds the store), or false when it cannot be read.
func storeOwner(metricsURL string) (float64, bool) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil || families["mcphost_tracing_store_owner"] == nil {
		return 0, false
	}
	for _, m := range families["mcphost_tracing_store_owner"].GetMetric() {
		return m.GetGauge().GetValue() + m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// tryGetTrace calls get_trace and reports whether it answered.
func tryGetTrace(ctx context.Context, c *client.Client, id string) (tracedResponse, string, bool) {
	req := mcp.CallToolRequest{}
	req.Params.Name = "mcp__proxy__tracing__get_trace"
	req.Params.Arguments = map[string]any{"response_id": id}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return tracedResponse{}, err.Error(), false
	}
	if res.IsError || res.StructuredContent == nil {
		return tracedResponse{}, fmt.Sprint(res.Content), false
	}
	var tr tracedResponse
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &tr); err != nil {
		return tracedResponse{}, err.Error(), false
	}
	return tr, "", true
}

// TestCopiesShareTheTraceStore runs three copies of one config (two stdio,
// one HTTP), started at once or in turn: all serve; each stdio client's
// get_trace latest is its own call; every copy's traced calls, and the
// feedback given through each, are found through any of them; the copy
// owning the store is killed (SIGKILL, its plugins with it) during a call,
// and the others keep serving and tracing, one of them owning the store,
// with everything get_trace returned before the kill; a copy started after
// that joins them.
const sharedAdminToken = "shared-store-token"

func TestCopiesShareTheTraceStore(t *testing.T) {
	t.Parallel()
	for _, atOnce := range []bool{true, false} {
		name := "in turn"
		if atOnce {
			name = "at once"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCopiesShareTheTraceStore(t, atOnce)
		})
	}
}

func testCopiesShareTheTraceStore(t *testing.T, atOnce bool) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "proxy.hcl")
	// The default tracing block: the store is .mcphost/trace beside the
	// config.
	body := `
listen "http" {
  address = env("E2E_HTTP_ADDR", "127.0.0.1:3000")
}
admin {
  address    = env("E2E_ADMIN_ADDR", "127.0.0.1:3001")
  auth_token = "` + sharedAdminToken + `"
}
tracing {
  weighting = "composite"
}
` + exampleServer("ex")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	specs := []struct {
		name  string
		stdio bool
	}{{"stdio A", true}, {"stdio B", true}, {"http", false}}
	copies := make([]*sharedCopy, len(specs))
	if atOnce {
		var wg sync.WaitGroup
		for i, s := range specs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				copies[i] = startSharedCopy(t, cfg, s.name, s.stdio)
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	} else {
		for i, s := range specs {
			copies[i] = startSharedCopy(t, cfg, s.name, s.stdio)
		}
	}

	// Every copy serves and traces; each one's latest is its own call.
	type traced struct{ copy, response string }
	var calls []traced
	call := func(c *sharedCopy, text string) string {
		t.Helper()
		res := traceCall(ctx, t, c.client, "mcp__proxy__ex__echo", map[string]any{"text": text})
		id, _ := traceIDs(t, res)
		calls = append(calls, traced{c.name, id})
		return id
	}
	for _, c := range copies {
		id := call(c, "called through "+c.name)
		if tr := getTrace(ctx, t, c.client, "latest"); tr.ResponseID != id || len(tr.Contexts) != 1 {
			t.Fatalf("%s: get_trace latest is %+v, want its own response %s", c.name, tr, id)
		}
	}
	// Every copy's responses are found through each of them, and the
	// feedback given through each is in every copy's recent-feedback.
	for _, c := range copies {
		for _, tc := range calls {
			if tr := getTrace(ctx, t, c.client, tc.response); tr.ResponseID != tc.response {
				t.Fatalf("%s's response %s through %s: %+v", tc.copy, tc.response, c.name, tr)
			}
		}
		traceCall(ctx, t, c.client, "mcp__proxy__tracing__submit_feedback", map[string]any{"score": 0.5, "feedback_text": "from " + c.name})
	}
	for _, c := range copies {
		text := readResourceText(ctx, t, c.client, "trace://quality/recent-feedback")
		for _, o := range copies {
			if !strings.Contains(text, "from "+o.name) {
				t.Fatalf("%s's trace://quality/recent-feedback lacks the feedback from %s:\n%s", c.name, o.name, text)
			}
		}
	}

	// `mcphost trace response latest`, the newest response of any session,
	// is the last copy's, through each copy's admin API.
	last := calls[len(calls)-1]
	for _, c := range copies {
		out, err := traceCLIRun(t, c.admin, sharedAdminToken, "response", "latest")
		if err != nil || !strings.Contains(out, last.response) {
			t.Fatalf("mcphost trace response latest through %s: %v, want %s's %s:\n%s", c.name, err, last.copy, last.response, out)
		}
	}

	// One copy owns the store.
	var owner *sharedCopy
	poll.Within(t, time.Until(deadline(ctx)), "exactly one copy owns the store", func() error {
		owner = nil
		var seen []string
		for _, c := range copies {
			v, ok := storeOwner(c.metrics)
			seen = append(seen, fmt.Sprintf("%s=%v/%v", c.name, v, ok))
			if ok && v == 1 {
				if owner != nil {
					return errors.New(strings.Join(seen, " "))
				}
				owner = c
			}
		}
		if owner == nil {
			return errors.New(strings.Join(seen, " "))
		}
		return nil
	})
	var rest []*sharedCopy
	for _, c := range copies {
		if c != owner {
			rest = append(rest, c)
		}
	}

	// Kill the owner during a call: its client calls in a loop, traced,
	// and the kill comes once the loop is going.
	looping := make(chan struct{})
	loopDone := make(chan int, 1)
	go func() {
		n := 0
		defer func() { loopDone <- n }()
		for {
			req := mcp.CallToolRequest{}
			req.Params.Name = "mcp__proxy__ex__echo"
			req.Params.Arguments = map[string]any{"text": fmt.Sprintf("loop %d", n)}
			if _, err := owner.client.CallTool(ctx, req); err != nil {
				return
			}
			if n++; n == 1 {
				close(looping)
			}
		}
	}()
	select {
	case <-looping:
	case <-ctx.Done():
		t.Fatal("the owner's client could not call")
	}
	owner.kill(t)
	killed := time.Now()
	poll.Within(t, time.Until(deadline(ctx)), "another copy owns the store", func() error {
		for _, c := range rest {
			if v, ok := storeOwner(c.metrics); ok && v == 1 {
				return nil
			}
		}
		return errors.New("no owner")
	})
	t.Logf("a copy took the store over %v after the owner's SIGKILL (owner was %s, %d calls made in the loop)",
		time.Since(killed), owner.name, <-loopDone)

	// The others serve and trace; what get_trace returned is still there.
	for _, c := range rest {
		id := call(c, "after the kill, through "+c.name)
		poll.Within(t, time.Until(deadline(ctx)), c.name+"'s latest after the kill", func() error {
			if tr, why, ok := tryGetTrace(ctx, c.client, "latest"); !ok || tr.ResponseID != id {
				return fmt.Errorf("%+v %s", tr, why)
			}
			return nil
		})
		for _, tc := range calls {
			if tr := getTrace(ctx, t, c.client, tc.response); tr.ResponseID != tc.response {
				t.Fatalf("%s's response %s through %s after the kill: %+v", tc.copy, tc.response, c.name, tr)
			}
		}
	}
	// A copy started now joins the store.
	late := startSharedCopy(t, cfg, "stdio late", true)
	id := call(late, "through a copy started after the kill")
	if tr := getTrace(ctx, t, late.client, "latest"); tr.ResponseID != id {
		t.Fatalf("the late copy's latest: %+v, want %s", tr, id)
	}
	for _, tc := range calls {
		if tr := getTrace(ctx, t, rest[0].client, tc.response); tr.ResponseID != tc.response {
			t.Fatalf("%s's response %s through %s: %+v", tc.copy, tc.response, rest[0].name, tr)
		}
	}
}

// TestSharedStoreFigures measures get_trace through MCP, end to end, on a
// copy that owns the trace store and on one that forwards to it. It only
// runs with MCPHOST_BENCH=1.
func TestSharedStoreFigures(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("set MCPHOST_BENCH=1 to measure")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "proxy.hcl")
	body := `
listen "http" {
  address = env("E2E_HTTP_ADDR", "127.0.0.1:3000")
}
tracing {
  weighting = "composite"
}
` + exampleServer("ex")
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	owner := startSharedCopy(t, cfg, "owner", true)
	poll.Within(t, time.Until(deadline(ctx)), "the first copy owns the store", func() bool {
		v, ok := storeOwner(owner.metrics)
		return ok && v == 1
	})
	fwd := startSharedCopy(t, cfg, "forwarder", true)
	var ids []string
	for i := range 200 {
		for _, c := range []*sharedCopy{owner, fwd} {
			res := traceCall(ctx, t, c.client, "mcp__proxy__ex__echo", map[string]any{"text": fmt.Sprintf("call %d", i)})
			id, _ := traceIDs(t, res)
			getTrace(ctx, t, c.client, "latest") // ends the turn
			ids = append(ids, id)
		}
	}
	for round := range 2 {
		for _, c := range []*sharedCopy{owner, fwd} {
			lat := make([]time.Duration, 0, 1000)
			for i := range 1000 {
				start := time.Now()
				getTrace(ctx, t, c.client, ids[(i*7)%len(ids)])
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			t.Logf("round %d, get_trace through the %s copy (stdio, MCP end to end): p50 %v p99 %v",
				round, c.name, lat[len(lat)/2], lat[len(lat)*99/100])
		}
	}
}

// deadline is ctx's deadline: the waits above share the test's time limit.
func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
