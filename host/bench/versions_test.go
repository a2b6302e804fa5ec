package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// versionPair is a client version and the version of the backend it calls
// through mcphost. The built-in versions translator runs on a call only
// when the two differ.
type versionPair struct {
	name            string
	client, backend string
	// baseline names the untranslated pair the added cost is measured
	// against; "" for an untranslated pair.
	baseline string
	// inprocess runs the built-in versions translator inside mcphost
	// instead of as a subprocess (the default) reached over gRPC.
	inprocess bool
	// hcl is added to the config (the tracing report's settings).
	hcl string
}

var versionPairs = []versionPair{
	{name: "untranslated", client: "2025-11-25", backend: "2025-11-25"},
	{name: "down-legacy", client: "2025-06-18", backend: "2025-11-25", baseline: "untranslated"},
	{name: "untranslated-modern", client: "2026-07-28", backend: "2026-07-28"},
	{name: "down-era", client: "2025-11-25", backend: "2026-07-28", baseline: "untranslated"},
	{name: "down-legacy-inprocess", client: "2025-06-18", backend: "2025-11-25", baseline: "untranslated", inprocess: true},
	{name: "down-era-inprocess", client: "2025-11-25", backend: "2026-07-28", baseline: "untranslated", inprocess: true},
}

// pairTarget is an mcp-go client pinned to a pair's client version, on a
// `mcphost run --stdio` whose one backend is the example server pinned to
// the pair's backend version.
type pairTarget struct {
	pair   versionPair
	c      *client.Client
	req    mcp.CallToolRequest
	stderr *tailBuffer
}

func startPair(tb testing.TB, p versionPair) *pairTarget {
	tb.Helper()
	t := &pairTarget{pair: p, stderr: &tailBuffer{}}
	cfg := filepath.Join(tb.TempDir(), "proxy.hcl")
	hcl := p.hcl
	if p.inprocess {
		hcl = "plugin \"versions\" {\n  mode = \"inprocess\"\n}\n"
	}
	hcl += fmt.Sprintf(`
server "bench" {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", "bench", "-protocol", %q]
  }
}
`, p.backend)
	if err := os.WriteFile(cfg, []byte(hcl), 0o644); err != nil {
		tb.Fatal(err)
	}
	tr := transport.NewStdioWithOptions(mcphost(tb), nil, []string{"run", "--stdio", cfg}, transport.WithCommandFunc(
		func(_ context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := exec.Command(command, args...)
			cmd.Env = append(os.Environ(), env...)
			cmd.Stderr = t.stderr
			return cmd, nil
		}))
	t.c = client.NewClient(tr, client.WithProtocolVersion(p.client))
	if err := t.c.Start(context.Background()); err != nil {
		tb.Fatalf("%s: start: %v", p.name, err)
	}
	tb.Cleanup(func() { t.c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ireq := mcp.InitializeRequest{}
	ireq.Params.ProtocolVersion = p.client
	ireq.Params.ClientInfo = mcp.Implementation{Name: "mcphost-bench-versions", Version: "1"}
	if _, err := t.c.Initialize(ctx, ireq); err != nil {
		tb.Fatalf("%s: initialize: %v\n%s", p.name, err, t.stderr)
	}
	if got := t.c.ProtocolVersion(); got != p.client {
		tb.Fatalf("%s: the client negotiated %s, want %s", p.name, got, p.client)
	}
	t.req.Params.Name = "mcp__proxy__bench__echo"
	t.req.Params.Arguments = map[string]any{"text": "x"}
	// The proxy may answer before its backend is up.
	for {
		err := t.call(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			tb.Fatalf("%s: echo never answered: %v\n%s", p.name, err, t.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return t
}

func (t *pairTarget) call(ctx context.Context) error {
	res, err := t.c.CallTool(ctx, t.req)
	if err != nil {
		return err
	}
	if res.IsError || len(res.Content) == 0 {
		return fmt.Errorf("%s: unexpected result %+v", t.pair.name, res)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "x" {
		return fmt.Errorf("%s: unexpected content %+v", t.pair.name, res.Content[0])
	}
	return nil
}

func (t *pairTarget) measure(tb testing.TB, ctx context.Context, n int, lat []time.Duration) []time.Duration {
	tb.Helper()
	for range n {
		t0 := time.Now()
		err := t.call(ctx)
		d := time.Since(t0)
		if err != nil {
			tb.Fatalf("%s: %v\n%s", t.pair.name, err, t.stderr)
		}
		lat = append(lat, d)
	}
	return lat
}

// measurePairs starts every pair, warms each up, and measures them in
// interleaved rounds (so that drift on a shared machine hits all alike),
// returning the latency of each by name.
func measurePairs(t *testing.T, pairs []versionPair) map[string]latencyStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	targets := make([]*pairTarget, len(pairs))
	for i, p := range pairs {
		targets[i] = startPair(t, p)
		for range warmupCalls {
			if err := targets[i].call(ctx); err != nil {
				t.Fatalf("%s: warm-up: %v", p.name, err)
			}
		}
	}
	lat := make([][]time.Duration, len(targets))
	for round := range reportRounds {
		for k := range targets {
			i := (k + round) % len(targets)
			lat[i] = targets[i].measure(t, ctx, reportCalls, lat[i])
		}
	}
	stats := map[string]latencyStats{}
	for i, p := range pairs {
		stats[p.name] = summarize(lat[i])
	}
	return stats
}

// TestTranslationCostReport measures what the built-in versions translator
// adds to a tools/call echo {text:"x"} through mcphost (stdio front, stdio
// backend): an untranslated pair (client and backend both 2025-11-25)
// against a translated legacy pair (client 2025-06-18, backend 2025-11-25)
// and a pair across the eras (client 2025-11-25, backend 2026-07-28, which
// adds request metadata and strips resultType). The untranslated
// 2026-07-28 pair is shown for reference. The pairs are measured in
// interleaved rounds, after a warm-up, and the report prints p50 and p99 and
// the µs each translated pair adds per call, with the translator as a
// subprocess (the default: a gRPC call for each message the rules send to
// the plugin, none for this echo, whose edits the host makes) and
// in-process. Skipped unless MCPHOST_BENCH=1:
//
//	MCPHOST_BENCH=1 go test -run TestTranslationCostReport -v -count=1 ./host/bench/
func TestTranslationCostReport(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("skipping: set MCPHOST_BENCH=1 to run the translation cost report (task bench)")
	}
	stats := measurePairs(t, versionPairs)

	var out bytes.Buffer
	fmt.Fprintf(&out, "\nmcphost translation cost: tools/call echo {text:\"x\"}, one sequential mcp-go stdio client pinned to the client version,\n")
	fmt.Fprintf(&out, "the example server pinned to the backend version; %s %s/%s, %d CPUs; %d rounds x %d calls per pair, interleaved, after %d warm-up calls\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), reportRounds, reportCalls, warmupCalls)
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "pair\tclient\tbackend\ttranslator\tp50 µs\tp99 µs\tadded p50 µs/call\tadded p99 µs/call\tvs\t")
	for _, p := range versionPairs {
		st := stats[p.name]
		translator := "not called"
		switch {
		case p.baseline != "" && p.inprocess:
			translator = "inprocess"
		case p.baseline != "":
			translator = "subprocess"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%.1f\t%.1f\t", p.name, p.client, p.backend, translator, micros(st.p50), micros(st.p99))
		if p.baseline == "" {
			fmt.Fprintf(w, "%s-\t-\t-\t\n", row)
			continue
		}
		base := stats[p.baseline]
		fmt.Fprintf(w, "%s%+.1f\t%+.1f\t%s\t\n", row, micros(st.p50-base.p50), micros(st.p99-base.p99), p.baseline)
	}
	w.Flush()
	if m, b := stats["untranslated-modern"], stats["untranslated"]; m.n > 0 {
		fmt.Fprintf(&out, "\nuntranslated-modern against untranslated (the era itself, no translator): %+.1f µs p50, %+.1f µs p99\n",
			micros(m.p50-b.p50), micros(m.p99-b.p99))
	}
	fmt.Println(out.String())
}
