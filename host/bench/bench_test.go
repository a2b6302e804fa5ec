package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// testMain runs the tests; TestMain (relay_test.go) calls it unless the
// binary was started as a relay.
func testMain(m *testing.M) { testenv.Main(m) }

const mcphostPkg = "github.com/mcphost/mcphost/host/cmd/mcphost"

// Workload sizes.
const (
	warmupCalls     = 200 // per target before anything is recorded
	reportRounds    = 10  // TestOverheadReport: rounds over all targets
	reportCalls     = 500
	throughputConc  = 8 // concurrent callers on one client
	throughputCalls = 20000
	backendCount    = 10
)

// Targets the issue asks for.
const (
	targetAddedSubprocess = 100 * time.Microsecond
	targetAddedInprocess  = 30 * time.Microsecond
)

// mcphost builds the host binary once per test binary.
func mcphost(tb testing.TB) string {
	tb.Helper()
	return testenv.BuildBinary(tb, mcphostPkg)
}

// setup is one way of reaching the example server.
type setup struct {
	name      string
	direct    bool // the example server itself, no proxy
	relays    int  // with direct: do-nothing relay processes in front of the server
	inprocess bool // the stdio transport plugin runs inside mcphost
	backends  int  // example backends behind the proxy
	floor     *setup
}

var (
	direct = setup{name: "direct", direct: true, backends: 1}
	// relay1 and relay2 have as many processes between the client and the
	// example server as proxyInprocess (the host) and proxySubprocess (the
	// host and the plugin): their latency is the floor a proxy with that
	// many hops can reach on this machine.
	relay1          = setup{name: "relay-1", direct: true, relays: 1, backends: 1}
	relay2          = setup{name: "relay-2", direct: true, relays: 2, backends: 1}
	proxyInprocess  = setup{name: "proxy-inprocess", inprocess: true, backends: 1, floor: &relay1}
	proxySubprocess = setup{name: "proxy-subprocess", backends: 1, floor: &relay2}
	latencySetups   = []setup{direct, relay1, proxyInprocess, relay2, proxySubprocess}

	tenSubprocess = setup{name: "plugin-subprocess", backends: backendCount}
	tenInprocess  = setup{name: "plugin-inprocess", inprocess: true, backends: backendCount}
)

// backendName is the name of the i-th backend of a setup.
func backendName(s setup, i int) string {
	if s.backends == 1 {
		return "bench"
	}
	return fmt.Sprintf("b%d", i)
}

// hclConfig is the HCL that runs s's backends behind mcphost.
func hclConfig(s setup) string {
	var b strings.Builder
	mode := "subprocess"
	if s.inprocess {
		mode = "inprocess"
	}
	fmt.Fprintf(&b, "plugin \"stdio\" {\n  mode = %q\n}\n", mode)
	for i := range s.backends {
		fmt.Fprintf(&b, `
server %[1]q {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", %[1]q]
  }
}
`, backendName(s, i))
	}
	return b.String()
}

// tailBuffer keeps the last few KiB a process wrote to stderr, for failure
// messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 16 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailMax; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// target is a started, initialized client of one setup.
type target struct {
	setup  setup
	c      *client.Client
	cmd    *exec.Cmd // the process the client talks to
	stderr *tailBuffer
	calls  []mcp.CallToolRequest // one echo request per backend
}

// start runs s and initializes an MCP client on its stdin/stdout. The
// process is stopped at cleanup.
func start(tb testing.TB, s setup) *target {
	tb.Helper()
	exe := mcphost(tb)
	t := &target{setup: s, stderr: &tailBuffer{}}
	args := []string{"example-server", "-name", backendName(s, 0)}
	if !s.direct {
		cfg := filepath.Join(tb.TempDir(), "proxy.hcl")
		if err := os.WriteFile(cfg, []byte(hclConfig(s)), 0o644); err != nil {
			tb.Fatal(err)
		}
		args = []string{"run", "--stdio", cfg}
	}
	for i := range s.backends {
		tool := "echo"
		if !s.direct {
			tool = "mcp__proxy__" + backendName(s, i) + "__echo"
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = tool
		req.Params.Arguments = map[string]any{"text": "x"}
		t.calls = append(t.calls, req)
	}
	command, env := exe, []string(nil)
	if s.relays > 0 {
		self, err := os.Executable()
		if err != nil {
			tb.Fatal(err)
		}
		argv := append([]string{exe}, args...)
		for range s.relays {
			argv = append([]string{self}, argv...)
		}
		command, args, env = argv[0], argv[1:], []string{relayEnv + "=1"}
	}
	tr := transport.NewStdioWithOptions(command, env, args, transport.WithCommandFunc(
		func(_ context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = append(os.Environ(), env...)
			cmd.Stderr = t.stderr
			t.cmd = cmd
			return cmd, nil
		}))
	t.c = client.NewClient(tr)
	if err := t.c.Start(context.Background()); err != nil {
		tb.Fatalf("%s: start: %v", s.name, err)
	}
	tb.Cleanup(func() { t.c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ireq := mcp.InitializeRequest{}
	ireq.Params.ProtocolVersion = "2025-06-18"
	ireq.Params.ClientInfo = mcp.Implementation{Name: "mcphost-bench", Version: "1"}
	if _, err := t.c.Initialize(ctx, ireq); err != nil {
		tb.Fatalf("%s: initialize: %v\n%s", s.name, err, t.stderr)
	}
	// The proxy answers initialize before slow backends are up; wait until
	// every backend's tool answers.
	for i := range t.calls {
		for {
			err := t.call(ctx, i)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				tb.Fatalf("%s: %s never answered: %v\n%s", s.name, t.calls[i].Params.Name, err, t.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return t
}

// call sends the echo request for backend i and checks the answer.
func (t *target) call(ctx context.Context, i int) error {
	res, err := t.c.CallTool(ctx, t.calls[i])
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("%s: tool error %+v", t.calls[i].Params.Name, res.Content)
	}
	if len(res.Content) == 0 {
		return fmt.Errorf("%s: no content", t.calls[i].Params.Name)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "x" {
		return fmt.Errorf("%s: unexpected content %+v", t.calls[i].Params.Name, res.Content[0])
	}
	return nil
}

// measure makes n sequential calls to the first backend and appends each
// latency to lat.
func (t *target) measure(tb testing.TB, ctx context.Context, n int, lat []time.Duration) []time.Duration {
	tb.Helper()
	for range n {
		t0 := time.Now()
		err := t.call(ctx, 0)
		d := time.Since(t0)
		if err != nil {
			tb.Fatalf("%s: %v\n%s", t.setup.name, err, t.stderr)
		}
		lat = append(lat, d)
	}
	return lat
}

// warm makes n calls spread over every backend.
func (t *target) warm(tb testing.TB, ctx context.Context, n int) {
	tb.Helper()
	for i := range n {
		if err := t.call(ctx, i%len(t.calls)); err != nil {
			tb.Fatalf("%s: warm-up: %v\n%s", t.setup.name, err, t.stderr)
		}
	}
}

// latencyStats summarises a set of latencies.
type latencyStats struct {
	n             int
	p50, p99, max time.Duration
}

func summarize(lat []time.Duration) latencyStats {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return latencyStats{n: len(s), p50: percentile(s, 0.50), p99: percentile(s, 0.99), max: percentile(s, 1)}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// verdict says whether added latency meets goal.
func verdict(added, goal time.Duration) string {
	if added > goal {
		return "OVER"
	}
	return "ok"
}

// BenchmarkToolCall measures one sequential client calling echo {text:"x"}
// directly on the example server, through one and two do-nothing relay
// processes (the floor for the proxy setups), and through mcphost with the
// stdio plugin in-process and as a subprocess. ns/op is the mean latency.
func BenchmarkToolCall(b *testing.B) {
	for _, s := range latencySetups {
		b.Run(s.name, func(b *testing.B) {
			t := start(b, s)
			ctx := context.Background()
			t.warm(b, ctx, warmupCalls)
			lat := make([]time.Duration, 0, 4096)
			for b.Loop() {
				lat = t.measure(b, ctx, 1, lat)
			}
			st := summarize(lat)
			b.ReportMetric(micros(st.p50), "p50-µs")
			b.ReportMetric(micros(st.p99), "p99-µs")
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// throughputResult is what runThroughput measured.
type throughputResult struct {
	calls       int
	elapsed     time.Duration
	hostRSS     int64 // bytes; -1 when unknown
	pluginRSS   int64
	backendsRSS int64
	processes   int // descendants of mcphost
}

func (r throughputResult) perSecond() float64 { return float64(r.calls) / r.elapsed.Seconds() }

// callers runs conc goroutines that call the backend indexes they receive
// on work until it is closed; the first error is returned by wait.
func (t *target) callers(ctx context.Context, conc int, work <-chan int) (wait func() error) {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := t.call(ctx, i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	return func() error { wg.Wait(); return first }
}

// BenchmarkThroughput10Backends has 8 goroutines share one stdio client of
// a proxy with 10 example backends, calling echo round-robin over the
// backends. ns/op is wall time per call; RSS is read after the run.
func BenchmarkThroughput10Backends(b *testing.B) {
	for _, s := range []setup{tenSubprocess, tenInprocess} {
		b.Run(s.name, func(b *testing.B) {
			t := start(b, s)
			ctx := context.Background()
			t.warm(b, ctx, warmupCalls)
			work := make(chan int)
			wait := t.callers(ctx, throughputConc, work)
			n := 0
			for b.Loop() {
				work <- n % len(t.calls)
				n++
			}
			close(work)
			if err := wait(); err != nil {
				b.Fatalf("%v\n%s", err, t.stderr)
			}
			r := t.memory()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(mib(r.hostRSS), "rss-host-MiB")
			if !s.inprocess {
				b.ReportMetric(mib(r.pluginRSS), "rss-plugin-MiB")
			}
			b.ReportMetric(mib(r.backendsRSS), "rss-backends-MiB")
		})
	}
}

// runThroughput makes calls calls at concurrency conc, round-robin over
// the backends, and reads the processes' memory afterwards.
func (t *target) runThroughput(tb testing.TB, ctx context.Context, conc, calls int) throughputResult {
	tb.Helper()
	work := make(chan int)
	wait := t.callers(ctx, conc, work)
	t0 := time.Now()
	for i := range calls {
		work <- i % len(t.calls)
	}
	close(work)
	err := wait()
	elapsed := time.Since(t0)
	if err != nil {
		tb.Fatalf("%s: %v\n%s", t.setup.name, err, t.stderr)
	}
	r := t.memory()
	r.calls, r.elapsed = calls, elapsed
	return r
}

// memory reads the resident set of the process the client talks to, of
// its stdio plugin process and of the example backends under it.
func (t *target) memory() throughputResult {
	r := throughputResult{hostRSS: -1, pluginRSS: -1, backendsRSS: -1}
	pid := t.cmd.Process.Pid
	r.hostRSS = vmRSS(pid)
	kids := testenv.Descendants(pid)
	r.processes = len(kids)
	for _, k := range kids {
		cmdline := cmdline(k)
		switch {
		case strings.Contains(cmdline, " plugin serve "):
			r.pluginRSS = max(r.pluginRSS, 0) + max(vmRSS(k), 0)
		case strings.Contains(cmdline, " example-server "):
			r.backendsRSS = max(r.backendsRSS, 0) + max(vmRSS(k), 0)
		}
	}
	return r
}

// vmRSS returns VmRSS of pid in bytes, or -1.
func vmRSS(pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(raw)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return -1
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// cmdline returns pid's arguments joined by spaces, with a trailing space.
func cmdline(pid int) string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
}

func mib(b int64) float64 {
	if b < 0 {
		return -1
	}
	return float64(b) / (1 << 20)
}

func formatMiB(b int64) string {
	if b < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", mib(b))
}

// TestOverheadReport measures every setup in one run and prints the table
// `task bench` shows. Latency setups are interleaved: each round runs
// reportCalls calls on each, in an order rotated per round, so drift in the
// machine's state hits all of them alike.
func TestOverheadReport(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("skipping: set MCPHOST_BENCH=1 to run the overhead report (task bench)")
	}
	if runtime.GOOS != "linux" {
		t.Skipf("skipping: the report reads /proc (GOOS=%s)", runtime.GOOS)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	targets := make([]*target, len(latencySetups))
	for i, s := range latencySetups {
		targets[i] = start(t, s)
		targets[i].warm(t, ctx, warmupCalls)
	}
	lat := make([][]time.Duration, len(targets))
	for round := range reportRounds {
		for k := range targets {
			i := (k + round) % len(targets)
			lat[i] = targets[i].measure(t, ctx, reportCalls, lat[i])
		}
	}
	stats := make([]latencyStats, len(targets))
	for i := range targets {
		stats[i] = summarize(lat[i])
	}
	base := stats[0]
	statsOf := func(s *setup) latencyStats {
		for i := range latencySetups {
			if latencySetups[i].name == s.name {
				return stats[i]
			}
		}
		t.Fatalf("setup %s is not measured", s.name)
		return latencyStats{}
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "\nmcphost overhead: tools/call echo {text:\"x\"}, one sequential mcp-go stdio client\n")
	fmt.Fprintf(&out, "%s %s/%s, %d CPUs, GOMAXPROCS %d; %d rounds x %d calls per setup, interleaved, after %d warm-up calls\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		reportRounds, reportCalls, warmupCalls)
	fmt.Fprintf(&out, "relay-N: N do-nothing processes copying bytes between client and server, the floor for a proxy with as many hops\n")
	fmt.Fprintf(&out, "vs floor: proxy-inprocess against relay-1 (host), proxy-subprocess against relay-2 (host + plugin)\n\n")
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "setup\tp50 µs\tp99 µs\tmax µs\tadded p50 vs direct\tadded p99 vs direct\tp50 ratio\tp99 ratio\tfloor\tadded p50 vs floor\tadded p99 vs floor\ttarget (added p50)\tvs direct\tvs floor\t")
	for i, s := range latencySetups {
		st := stats[i]
		row := fmt.Sprintf("%s\t%.1f\t%.1f\t%.1f\t", s.name, micros(st.p50), micros(st.p99), micros(st.max))
		if i == 0 {
			fmt.Fprintf(w, "%s-\t-\t1.00x\t1.00x\t-\t-\t-\t-\t-\t-\t\n", row)
			continue
		}
		added := st.p50 - base.p50
		row += fmt.Sprintf("%.1f\t%.1f\t%.2fx\t%.2fx\t", micros(added), micros(st.p99-base.p99),
			float64(st.p50)/float64(base.p50), float64(st.p99)/float64(base.p99))
		if s.floor == nil {
			fmt.Fprintf(w, "%s-\t-\t-\t-\t-\t-\t\n", row)
			continue
		}
		fl := statsOf(s.floor)
		addedFloor := st.p50 - fl.p50
		goal := targetAddedSubprocess
		if s.inprocess {
			goal = targetAddedInprocess
		}
		fmt.Fprintf(w, "%s%s\t%.1f\t%.1f\t≤%.0f µs\t%s\t%s\t\n", row, s.floor.name,
			micros(addedFloor), micros(st.p99-fl.p99), micros(goal), verdict(added, goal), verdict(addedFloor, goal))
	}
	w.Flush()

	fmt.Fprintf(&out, "\nmcphost with %d example backends: %d calls, %d concurrent callers on one stdio client, round-robin over the backends\n\n",
		backendCount, throughputCalls, throughputConc)
	w = tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "stdio plugin\tcalls/s\tRSS host\tRSS plugin\tRSS backends (sum)\tprocesses\t")
	for _, s := range []setup{tenSubprocess, tenInprocess} {
		tt := start(t, s)
		tt.warm(t, ctx, warmupCalls)
		r := tt.runThroughput(t, ctx, throughputConc, throughputCalls)
		plugin := formatMiB(r.pluginRSS)
		if s.inprocess {
			plugin = "(in host)"
		}
		fmt.Fprintf(w, "%s\t%.0f\t%s\t%s\t%s\t%d\t\n", strings.TrimPrefix(s.name, "plugin-"),
			r.perSecond(), formatMiB(r.hostRSS), plugin, formatMiB(r.backendsRSS), r.processes)
		if err := tt.c.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Logf("%s: close: %v", s.name, err)
		}
	}
	w.Flush()
	fmt.Println(out.String())
}
