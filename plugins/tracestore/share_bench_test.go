package tracestore

import (
	"bufio"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// BenchmarkSharedRecord is BenchmarkRecord's default case through the
// plugin that owns the store and through one that forwards to it (over
// its Unix socket, in this process).
func BenchmarkSharedRecord(b *testing.B) {
	for _, via := range []string{"owner", "forwarder"} {
		b.Run(via, func(b *testing.B) {
			dir := b.TempDir()
			p := configure(b, dir, nil)
			if via == "forwarder" {
				p = configure(b, dir, nil)
				if p.owns() {
					b.Fatal("the second plugin owns the store")
				}
			}
			benchIngest(b, p, false)
		})
	}
}

// TestSharedFigures measures, on a store of 200,000 units: get_trace p50
// and p99 over random responses, and Record ingestion, through the owner
// and through a forwarder; and how long a forwarder takes to take the
// store over after its owner (another process) is killed with SIGKILL.
// It takes a while, so it only runs with MCPHOST_BENCH=1.
func TestSharedFigures(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("set MCPHOST_BENCH=1 to measure the shared store")
	}
	dir := t.TempDir()
	owner := New(hclog.NewNullLogger())
	configureOn(t, owner, dir, nil)
	fwd := configure(t, dir, nil)
	g := newLoadGen(7, 100_000)
	for g.units < 200_000 {
		record(t, owner, g.batch(100)...)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	getTrace := func(p tracing.Tracing, n int) (p50, p99 time.Duration) {
		lat := make([]time.Duration, 0, n)
		for range n {
			id := responseID(rng.IntN(g.next))
			start := time.Now()
			res := call(t, p, "", toolGetTrace, map[string]any{"response_id": id})
			lat = append(lat, time.Since(start))
			if res.IsError {
				t.Fatalf("get_trace %s: %s", id, res.text())
			}
		}
		slices.Sort(lat)
		return lat[len(lat)/2], lat[len(lat)*99/100]
	}
	ingest := func(p tracing.Tracing, units int) float64 {
		var took time.Duration
		for done := g.units + units; g.units < done; {
			evs := g.batch(10)
			start := time.Now()
			record(t, p, evs...)
			took += time.Since(start)
		}
		return float64(units) / took.Seconds()
	}
	getTrace(owner, 2000) // warm the cache and let compactions settle
	for round := range 2 {
		for _, v := range []struct {
			name string
			p    tracing.Tracing
		}{{"owner", owner}, {"forwarder", fwd}} {
			p50, p99 := getTrace(v.p, 2000)
			rate := ingest(v.p, 50_000)
			t.Logf("round %d, through the %s: get_trace p50 %v p99 %v; Record %.0f units/s (batches of 10 responses)",
				round, v.name, p50, p99, rate)
		}
	}
	stop(t, owner)
	poll.Within(t, 30*time.Second, "the forwarder took the store over", fwd.owns)
	stop(t, fwd)

	// Takeover after SIGKILL: an owner in another process, a forwarder
	// here, over the loaded store.
	var took []time.Duration
	for run := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTakeoverAfterOwnerKilled$")
		cmd.Env = append(os.Environ(), envOwner+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || strings.TrimSpace(line) != "owning" {
			t.Fatalf("helper said %q, %v", line, err)
		}
		p := New(hclog.NewNullLogger())
		configureOn(t, p, dir, nil)
		if run == 0 {
			// The owner in another process, as between copies.
			p50, p99 := getTrace(p, 2000)
			rate := ingest(p, 50_000)
			t.Logf("through a forwarder to an owner process: get_trace p50 %v p99 %v; Record %.0f units/s", p50, p99, rate)
		}
		record(t, p, g.batch(10)...)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		start := time.Now()
		poll.Within(t, 30*time.Second, "took the store over", p.owns)
		took = append(took, time.Since(start))
		_ = cmd.Wait()
		if run == 0 {
			p50, p99 := getTrace(p, 2000)
			rate := ingest(p, 50_000)
			t.Logf("through the same plugin once it owns the store: get_trace p50 %v p99 %v; Record %.0f units/s", p50, p99, rate)
		}
		if tv := traceOf(t, p, "", responseID(g.next-1)); tv.ResponseID != responseID(g.next-1) {
			t.Fatalf("the last response before the kill: %+v", tv)
		}
		stop(t, p)
	}
	slices.Sort(took)
	t.Logf("takeover after the owner's SIGKILL (store of %d units), 5 runs: %v", g.units, took)
}
