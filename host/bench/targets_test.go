package bench

import (
	"fmt"
	"time"
)

// The speed targets. They are reported, never asserted: on a
// shared 2-core machine a timing assertion would fail for reasons that
// have nothing to do with the code.
const (
	targetRate        = 20000                  // calls/s, 100 B, c=32, HTTP front
	targetCPU         = 50 * time.Microsecond  // proxy CPU per call, 100 B, c=32
	targetP50         = 200 * time.Microsecond // 100 B, c=1, HTTP front
	targetLargeRatio  = 3.0                    // 100 KB p50 against direct
	targetLargeSpread = 1.20                   // 100 KB: no front more than 20% over the best
	// stdio front, added p50 over direct: with the host holding the
	// backend's pipes, and with the data path crossing the plugin process.
	targetStdioAddedInHost  = 100 * time.Microsecond
	targetStdioAddedCrossed = 150 * time.Microsecond
	targetTranslation       = 1.10 // a translated client against an untranslated one
	targetTracingAdded      = 0.05 // p50 with tracing on over off
	targetTracingCPU        = 10 * time.Microsecond
	// Host RSS with tracing during 100 KB at c=32: 150 MB plus the tracer
	// queue's byte budget (16 MiB by default).
	targetTracingRSS = 150e6 + 16<<20
)

// target is one figure the issue asks of a cell.
type target struct {
	desc string
	// eval returns the measured figure, as text, and whether it meets
	// the target.
	eval func(g *groupRun, r *cellRun) (string, bool)
}

func p50AtMost(limit time.Duration) target {
	return target{fmt.Sprintf("p50 ≤ %.0f µs", micros(limit)), func(_ *groupRun, r *cellRun) (string, bool) {
		p50 := summarize(r.rounds).p50
		return fmt.Sprintf("%.0f µs", micros(p50)), p50 <= limit
	}}
}

func rateAtLeast(rate float64) target {
	return target{fmt.Sprintf("≥ %.0f calls/s", rate), func(_ *groupRun, r *cellRun) (string, bool) {
		got := summarize(r.rounds).rate
		return fmt.Sprintf("%.0f calls/s", got), got >= rate
	}}
}

func cpuAtMost(limit time.Duration) target {
	return target{fmt.Sprintf("CPU ≤ %.0f µs/call", micros(limit)), func(_ *groupRun, r *cellRun) (string, bool) {
		got := summarize(r.rounds).cpuPerCall
		return fmt.Sprintf("%.0f µs/call", micros(got)), got <= limit
	}}
}

// ratioToBaseline compares the cell's p50 with its baseline's, round by round.
func ratioToBaseline(limit float64) target {
	return target{fmt.Sprintf("p50 ≤ %.0f× direct", limit), func(g *groupRun, r *cellRun) (string, bool) {
		_, ratio := pairedP50(r.rounds, g.baseline(r).rounds)
		return fmt.Sprintf("%.2f×", ratio), ratio <= limit
	}}
}

// withinBestPeer compares the cell's p50 with the lowest p50 among its
// peers: the cells with the same baseline (every front measured against
// one direct connection), the cell itself included.
func withinBestPeer(limit float64) target {
	return target{fmt.Sprintf("p50 ≤ %.0f%% over the best front", 100*(limit-1)), func(g *groupRun, r *cellRun) (string, bool) {
		best := summarize(r.rounds).p50
		for _, peer := range g.cells {
			if peer.cell.baseline == r.cell.baseline {
				best = min(best, summarize(peer.rounds).p50)
			}
		}
		ratio := float64(summarize(r.rounds).p50) / float64(best)
		return fmt.Sprintf("%+.0f%%", 100*(ratio-1)), ratio <= limit
	}}
}

// stdioAddedAtMost is the stdio front's target: added p50 over direct,
// tighter when the data path does not cross the plugin process (the host
// holds the backend's pipes, seen in /proc).
func stdioAddedAtMost() target {
	desc := fmt.Sprintf("added p50 ≤ %.0f µs (host holds the backend's pipes) or ≤ %.0f µs",
		micros(targetStdioAddedInHost), micros(targetStdioAddedCrossed))
	return target{desc, func(g *groupRun, r *cellRun) (string, bool) {
		limit, path := targetStdioAddedCrossed, "data path crosses the plugin"
		if r.sys.dataPathInHost {
			limit, path = targetStdioAddedInHost, "host holds the pipes"
		}
		added, _ := pairedP50(r.rounds, g.baseline(r).rounds)
		return fmt.Sprintf("+%.0f µs, %s: ≤ %.0f µs", micros(added), path, micros(limit)), added <= limit
	}}
}

// addedPercentAtMost compares the cell's p50 with its baseline's.
func addedPercentAtMost(limit float64) target {
	return target{fmt.Sprintf("added p50 ≤ %.0f%%", 100*limit), func(g *groupRun, r *cellRun) (string, bool) {
		_, ratio := pairedP50(r.rounds, g.baseline(r).rounds)
		return fmt.Sprintf("%+.1f%%", 100*(ratio-1)), ratio-1 <= limit
	}}
}

// addedHostCPUAtMost compares the CPU per call of the cell's host
// process (the system's root, without its plugins and backend) with its
// baseline's.
func addedHostCPUAtMost(limit time.Duration) target {
	return target{fmt.Sprintf("added host CPU ≤ %.0f µs/call", micros(limit)), func(g *groupRun, r *cellRun) (string, bool) {
		added := summarize(r.rounds).hostPerCall - summarize(g.baseline(r).rounds).hostPerCall
		return fmt.Sprintf("%+.1f µs/call", micros(added)), added <= limit
	}}
}

// p50Within compares the cell's p50 with another cell's, round by round.
func p50Within(limit float64, other string) target {
	return target{fmt.Sprintf("p50 ≤ %.0f%% over %s", 100*(limit-1), other), func(g *groupRun, r *cellRun) (string, bool) {
		_, ratio := pairedP50(r.rounds, g.cell(other).rounds)
		return fmt.Sprintf("%+.1f%%", 100*(ratio-1)), ratio <= limit
	}}
}

// cpuWithin compares the cell's CPU per call with another cell's.
func cpuWithin(limit float64, other string) target {
	return target{fmt.Sprintf("CPU ≤ %.0f%% over %s", 100*(limit-1), other), func(g *groupRun, r *cellRun) (string, bool) {
		ratio := float64(summarize(r.rounds).cpuPerCall) / float64(summarize(g.cell(other).rounds).cpuPerCall)
		return fmt.Sprintf("%+.1f%%", 100*(ratio-1)), ratio <= limit
	}}
}

// rssAtMost bounds the largest VmRSS of the system's root process.
func rssAtMost(limit int64) target {
	return target{fmt.Sprintf("host RSS ≤ %.0f MiB", mib(limit)), func(_ *groupRun, r *cellRun) (string, bool) {
		got := summarize(r.rounds).rss
		return fmt.Sprintf("%.0f MiB", mib(got)), got <= limit
	}}
}

// verdict is a target's outcome as the report prints it.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
