package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestReport measures every group and prints its table: each cell's p50
// and p99, calls/s, CPU per call of the system's process tree, the largest
// RSS of its root, the p50 added over its baseline, and the issue's
// targets with "met" or "missed". It is what `task bench` shows, and runs
// only with MCPHOST_BENCH=1 (it takes minutes); one group runs with
// -run 'TestReport/<group>'.
func TestReport(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("skipping: set MCPHOST_BENCH=1 to run the benchmark report (task bench)")
	}
	if runtime.GOOS != "linux" {
		t.Skipf("skipping: the report reads /proc (GOOS=%s)", runtime.GOOS)
	}
	for i := range groups {
		g := &groups[i]
		t.Run(g.name, func(t *testing.T) {
			load := loadAverage()
			gr := startGroup(t, g)
			gr.measure(t)
			var out strings.Builder
			gr.report(&out, load+" → "+loadAverage())
			fmt.Print(out.String())
			// The figures are not asserted (the machine is shared), but
			// every cell must have been measured in every round.
			for _, r := range gr.cells {
				if len(r.rounds) != gr.settings.rounds || summarize(r.rounds).calls == 0 {
					t.Errorf("%s: %d rounds, %d calls", r.cell.name, len(r.rounds), summarize(r.rounds).calls)
				}
			}
		})
	}
}

// report writes the group's table.
func (gr *groupRun) report(w io.Writer, load string) {
	g := gr.g
	fmt.Fprintf(w, "\n== %s: %s\n", g.name, g.title)
	for _, spec := range g.systems {
		line := fmt.Sprintf("   %-14s %s", spec.name, spec.describe())
		if sys := gr.systems[spec.name]; sys != nil && spec.isProxy() {
			if sys.backendVersion != "" {
				line += "; negotiated " + sys.backendVersion + " with the backend"
			}
			if sys.dataPathInHost {
				line += "; the host holds the backend's pipes"
			} else {
				line += "; the backend's pipes are not in the host"
			}
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "   %s %s/%s, %d CPUs; %d rounds, cells interleaved, about %v per cell per round; load average %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), gr.settings.rounds, gr.settings.roundTime, load)
	fmt.Fprintf(w, "   p50, calls/s: median of the rounds; p99: over all calls; CPU: the system's process tree (utime+stime, /proc), per call; "+
		"host: its root process alone; RSS: largest VmRSS of the root; added and ×: against the baseline cell, round by round\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tclient\tc\tpayload\tcalls\tp50 µs\tp99 µs\tcalls/s\tCPU µs/call\thost µs/call\tRSS MiB\tadded p50 µs\tp50 ×\ttarget\tverdict\t")
	for _, r := range gr.cells {
		gr.writeRow(tw, r)
	}
	tw.Flush()
	gr.writeTracing(w)
}

// writeTracing says, for each traced cell, how much the tracing plugin
// stored and whether the host's tracer dropped anything: a tracer that
// drops would look cheap.
func (gr *groupRun) writeTracing(w io.Writer) {
	for _, r := range gr.cells {
		if !r.sys.spec.tracing {
			continue
		}
		s := summarize(r.rounds)
		fmt.Fprintf(w, "   %s: the tracing plugin recorded %.2f tool results per call, %.0f/s over the rounds (a unit is recorded when its response ends); the tracer dropped %.0f\n",
			r.cell.name, s.traced/float64(max(s.calls, 1)), s.traced/max(s.busy.Seconds(), 1e-9), s.dropped)
	}
}

// writeRow writes a cell's figures and its first target, and one more
// line for each further target.
func (gr *groupRun) writeRow(w io.Writer, r *cellRun) {
	c := r.cell
	s := summarize(r.rounds)
	added, ratio := "-", "-"
	if base := gr.baseline(r); base != nil {
		a, x := pairedP50(r.rounds, base.rounds)
		added, ratio = fmt.Sprintf("%+.1f", micros(a)), fmt.Sprintf("%.2f", x)
	}
	client := c.client.short() + " " + c.version
	fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%.1f\t%.1f\t%.0f\t%.1f\t%.1f\t%.1f\t%s\t%s\t", c.name, client, c.workers, formatPayload(c.payload),
		s.calls, micros(s.p50), micros(s.p99), s.rate, micros(s.cpuPerCall), micros(s.hostPerCall), mib(s.rss), added, ratio)
	if len(c.targets) == 0 {
		fmt.Fprintln(w, "\t\t")
		return
	}
	for i, t := range c.targets {
		if i > 0 {
			fmt.Fprint(w, strings.Repeat("\t", 13))
		}
		got, met := t.eval(gr, r)
		fmt.Fprintf(w, "%s\t%s (%s)\t\n", t.desc, verdict(met), got)
	}
}
