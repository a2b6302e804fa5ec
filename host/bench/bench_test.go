package bench

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// The benchmarks measure the report's cells one by one: each group's
// systems start once, then each cell is a sub-benchmark whose b.N calls
// run in chunks of about a round each, every chunk followed by a chunk
// of its baseline cell, so that the added p50 is still measured round by
// round. The timer runs only while the cell's own calls are made, so
// ns/op is wall time per call (at c=32, the inverse of the throughput).
// Each reports:
//
//	p50-µs, p99-µs   the cell's latency
//	calls/s          its throughput
//	cpu-µs/call      CPU time of the system's process tree per call (/proc)
//	host-cpu-µs/call the same for its root process alone
//	rss-MiB          the largest VmRSS of the system's root process
//	added-p50-µs     p50 over the baseline's (cells that have one)
//	p50-ratio        p50 over the baseline's
//
// Run one group with, for example,
//
//	go test -run '^$' -bench 'HTTP/mcphost' ./host/bench/

func BenchmarkHTTP(b *testing.B)        { benchGroup(b, &httpGroup) }
func BenchmarkFronts(b *testing.B)      { benchGroup(b, &frontsGroup) }
func BenchmarkTracing(b *testing.B)     { benchGroup(b, &tracingGroup) }
func BenchmarkTranslation(b *testing.B) { benchGroup(b, &translationGroup) }

func benchGroup(b *testing.B, g *group) {
	if runtime.GOOS != "linux" {
		b.Skipf("skipping: the harness reads /proc (GOOS=%s)", runtime.GOOS)
	}
	gr := startGroup(b, g)
	for _, r := range gr.cells {
		b.Run(benchName(r), func(b *testing.B) { benchCell(b, gr, r) })
	}
}

// benchName names a cell by its system, client, version, concurrency and
// payload, e.g. mcphost/http-json/2025-06-18/c=32/100B.
func benchName(r *cellRun) string {
	c := r.cell
	return fmt.Sprintf("%s/%s/%s/c=%d/%s", c.system, c.client.short(), c.version, c.workers,
		strings.ReplaceAll(formatPayload(c.payload), " ", ""))
}

func benchCell(b *testing.B, gr *groupRun, r *cellRun) {
	base := gr.baseline(r)
	var cell, paired []roundResult
	b.StopTimer()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(r.perRound, b.N-done)
		rr, err := r.round(n, b)
		if err != nil {
			b.Fatalf("%s: %v\n%s", r.cell.name, err, r.sys.stderr)
		}
		cell = append(cell, rr)
		done += n
		if base == nil {
			continue
		}
		// The baseline's chunk lasts about as long as the cell's.
		bn := max(1, base.perRound*n/r.perRound)
		br, err := base.round(bn, noStopwatch{})
		if err != nil {
			b.Fatalf("%s: %v\n%s", base.cell.name, err, base.sys.stderr)
		}
		paired = append(paired, br)
	}
	s := summarize(cell)
	b.ReportMetric(micros(s.p50), "p50-µs")
	b.ReportMetric(micros(s.p99), "p99-µs")
	b.ReportMetric(s.rate, "calls/s")
	b.ReportMetric(micros(s.cpuPerCall), "cpu-µs/call")
	b.ReportMetric(micros(s.hostPerCall), "host-cpu-µs/call")
	b.ReportMetric(mib(s.rss), "rss-MiB")
	if base != nil {
		added, ratio := pairedP50(cell, paired)
		b.ReportMetric(micros(added), "added-p50-µs")
		b.ReportMetric(ratio, "p50-ratio")
	}
}
