package bench

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// How a measurement runs. Every cell of a group is measured in rounds; in
// each round every cell runs once, in an order rotated per round, so that
// a change in the machine's load (two cores shared with other work) hits
// all cells alike, and a cell is compared with its baseline round by
// round. Figures are medians over the rounds.
const (
	defaultRounds    = 5
	defaultRoundTime = 400 * time.Millisecond // per cell per round
	warmMin          = 150 * time.Millisecond // a warm-up runs at least this long
	minRoundCalls    = 8                      // per worker
	maxRoundCalls    = 50000
	roundTimeout     = 2 * time.Minute // a round that takes longer is stuck
	// After its calls a round waits for the system to go idle: at most
	// settleMax, judged over windows of settleWindow in which the process
	// tree may use at most one clock tick.
	settleWindow = 50 * time.Millisecond
	settleMax    = 3 * time.Second
)

// settings are the run's length: MCPHOST_BENCH_ROUNDS and
// MCPHOST_BENCH_ROUND_TIME (a Go duration) override the defaults.
type settings struct {
	rounds    int
	roundTime time.Duration
}

func benchSettings(tb testing.TB) settings {
	tb.Helper()
	s := settings{rounds: defaultRounds, roundTime: defaultRoundTime}
	if v := os.Getenv("MCPHOST_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("MCPHOST_BENCH_ROUNDS=%q: want a positive integer", v)
		}
		s.rounds = n
	}
	if v := os.Getenv("MCPHOST_BENCH_ROUND_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("MCPHOST_BENCH_ROUND_TIME=%q: want a positive duration", v)
		}
		s.roundTime = d
	}
	return s
}

// worker is one closed-loop client on its own session.
type worker struct {
	idx int
	s   session
	seq int64
	req []byte
	lat []time.Duration
}

// call makes one tools/call and checks its result; the latency covers
// sending the request and reading the whole response.
func (w *worker) call(spec *callSpec) (time.Duration, error) {
	w.seq++
	// The low byte of an id names the worker: a shared stdio pipe routes
	// answers by it.
	id := w.seq<<8 | int64(w.idx)
	w.req = spec.appendCall(w.req[:0], id)
	t0 := time.Now()
	resp, err := w.s.roundTrip(id, w.req)
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	return d, spec.checkResult(resp, id)
}

// roundResult is one cell's share of one round.
type roundResult struct {
	calls   int
	wall    time.Duration
	lat     []time.Duration // sorted
	cpu     time.Duration   // the system's process tree
	hostCPU time.Duration   // its root process alone
	rss     int64           // the largest VmRSS of the system's root process, bytes
	// traced and dropped count the tool results the tracing plugin
	// recorded and the host's tracer dropped, for a system with tracing.
	traced, dropped float64
}

func (r roundResult) p50() time.Duration { return quantile(r.lat, 0.50) }
func (r roundResult) rate() float64      { return float64(r.calls) / r.wall.Seconds() }

// stopwatch is the part of testing.B a round drives: a benchmark's timer
// runs only while calls are made, not while /proc is read.
type stopwatch interface {
	StartTimer()
	StopTimer()
}

type noStopwatch struct{}

func (noStopwatch) StartTimer() {}
func (noStopwatch) StopTimer()  {}

// cellRun is a cell's open sessions and what it measured.
type cellRun struct {
	cell     *cell
	sys      *system
	spec     *callSpec
	workers  []*worker
	perRound int // calls per round, from the warm-up
	rounds   []roundResult
}

// openCell opens a session for each of the cell's workers and checks that
// one call goes through.
func openCell(c *cell, sys *system) (*cellRun, error) {
	tool := "echo"
	if sys.spec.isProxy() {
		tool = "mcp__proxy__bench__echo"
	}
	r := &cellRun{cell: c, sys: sys, spec: newCallSpec(tool, sys.spec.backend.argKey(), payloadOf(c.payload), c.version == v20260728)}
	if c.workers > maxWorkers {
		return nil, fmt.Errorf("%d workers; at most %d", c.workers, maxWorkers)
	}
	for i := range c.workers {
		s, err := openSession(sys, c, r.spec)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("opening session %d: %w", i, err)
		}
		r.workers = append(r.workers, &worker{idx: i, s: s})
	}
	if _, err := r.workers[0].call(r.spec); err != nil {
		r.close()
		return nil, fmt.Errorf("first call: %w", err)
	}
	return r, nil
}

// openSession opens one session of the cell's kind on sys.
func openSession(sys *system, c *cell, spec *callSpec) (session, error) {
	switch c.client {
	case stdioClient:
		if sys.pipe == nil {
			return nil, errors.New("not a stdio system")
		}
		if err := sys.pipe.initialize(c.version); err != nil {
			return nil, err
		}
		if c.workers > 1 {
			sys.pipe.startMux()
		}
		return &stdioSession{p: sys.pipe, shared: c.workers > 1}, nil
	case streamableJSON, streamableSSE:
		return openStreamable(sys.url(c.client), c.version, c.client == streamableSSE, spec)
	case legacySSEClient:
		return openLegacy(sys.url(c.client), c.version)
	case webSocketClient:
		return openWebSocket(sys.url(c.client), c.version)
	}
	return nil, fmt.Errorf("unknown client kind %d", c.client)
}

func (r *cellRun) close() {
	for _, w := range r.workers {
		w.s.close()
	}
}

// warm runs the cell, recording nothing, until it has run for warmMin,
// and sets perRound so that a round takes about roundTime.
func (r *cellRun) warm(roundTime time.Duration) error {
	calls := len(r.workers) * 4
	for {
		rr, err := r.round(calls, noStopwatch{})
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if rr.wall >= warmMin || calls >= maxRoundCalls {
			perCall := rr.wall / time.Duration(calls)
			n := int(roundTime / max(perCall, time.Nanosecond))
			n = min(max(n, minRoundCalls*len(r.workers)), maxRoundCalls)
			// Every worker gets the same share.
			r.perRound = (n + len(r.workers) - 1) / len(r.workers) * len(r.workers)
			return nil
		}
		calls *= 4
	}
}

// round makes calls calls, all workers pulling from one budget as fast as
// answers come back, and reads the system's CPU time before and after
// and its root's VmRSS throughout.
func (r *cellRun) round(calls int, sw stopwatch) (roundResult, error) {
	pid := r.sys.pid()
	traced0, dropped0 := r.sys.tracingCounts()
	cpu0 := sampleCPU(pid)
	rss := sampleRSS(pid)
	watchdog := time.AfterFunc(roundTimeout, r.abort)
	var budget atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(r.workers))
	start := make(chan struct{})
	for i, w := range r.workers {
		w.lat = w.lat[:0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for budget.Add(1) <= int64(calls) {
				d, err := w.call(r.spec)
				if err != nil {
					errs[i] = err
					budget.Store(int64(calls)) // stop the others too
					return
				}
				w.lat = append(w.lat, d)
			}
		}()
	}
	sw.StartTimer()
	t0 := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(t0)
	sw.StopTimer()
	stuck := !watchdog.Stop()
	cpu1 := settle(pid)
	res := roundResult{calls: calls, wall: wall, rss: rss.stop(), cpu: cpu1.tree - cpu0.tree, hostCPU: cpu1.host - cpu0.host}
	traced1, dropped1 := r.sys.tracingCounts()
	res.traced, res.dropped = traced1-traced0, dropped1-dropped0
	if err := errors.Join(errs...); err != nil {
		if stuck {
			err = fmt.Errorf("round stuck for %v: %w", roundTimeout, err)
		}
		return res, err
	}
	for _, w := range r.workers {
		res.lat = append(res.lat, w.lat...)
	}
	slices.Sort(res.lat)
	return res, nil
}

// settle waits until the process tree of pid is idle and returns its CPU
// time then. What the calls left behind (a tracer's queue, a garbage
// collection) is so counted in the round that caused it, and does not
// slow the next cell. Idleness can only be seen over a window of time,
// hence the ticker.
func settle(pid int) cpuSample {
	cpu := sampleCPU(pid)
	tick := time.NewTicker(settleWindow)
	defer tick.Stop()
	deadline := time.Now().Add(settleMax)
	for range tick.C {
		next := sampleCPU(pid)
		if next.tree-cpu.tree <= clockTick || time.Now().After(deadline) {
			return next
		}
		cpu = next
	}
	return cpu
}

// abort unblocks a stuck round: its sessions are closed and a stdio
// system's output with them.
func (r *cellRun) abort() {
	r.close()
	if r.cell.client == stdioClient {
		r.sys.abort()
	}
}

// ---- statistics ----

// quantile is the nearest-rank quantile of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summary is what a cell's rounds come to.
type summary struct {
	calls           int
	p50             time.Duration // median of the rounds' p50
	p99             time.Duration // over every call of every round
	rate            float64       // median of the rounds' calls/s
	cpuPerCall      time.Duration // the rounds' CPU time over their calls
	hostPerCall     time.Duration // the same for the root process alone
	rss             int64         // the largest VmRSS seen, bytes
	traced, dropped float64       // tracing: tool results recorded and dropped, all rounds
	busy            time.Duration // tracing: the rounds' wall time
}

func summarize(rounds []roundResult) summary {
	var s summary
	var p50s, rates []float64
	var all []time.Duration
	var cpu, host time.Duration
	for _, r := range rounds {
		s.calls += r.calls
		p50s = append(p50s, float64(r.p50()))
		rates = append(rates, r.rate())
		all = append(all, r.lat...)
		cpu += r.cpu
		host += r.hostCPU
		s.rss = max(s.rss, r.rss)
		s.traced += r.traced
		s.dropped += r.dropped
		s.busy += r.wall
	}
	slices.Sort(all)
	s.p50 = time.Duration(median(p50s))
	s.p99 = quantile(all, 0.99)
	s.rate = median(rates)
	if s.calls > 0 {
		s.cpuPerCall = cpu / time.Duration(s.calls)
		s.hostPerCall = host / time.Duration(s.calls)
	}
	return s
}

// pairedP50 compares a cell with its baseline round by round, in rounds
// both ran: the median of the differences of their p50 and of the ratios.
func pairedP50(cell, base []roundResult) (added time.Duration, ratio float64) {
	var diffs, ratios []float64
	for i := range min(len(cell), len(base)) {
		c, b := cell[i].p50(), base[i].p50()
		diffs = append(diffs, float64(c-b))
		if b > 0 {
			ratios = append(ratios, float64(c)/float64(b))
		}
	}
	return time.Duration(median(diffs)), median(ratios)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func formatPayload(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + " KB"
	}
	return strconv.Itoa(n) + " B"
}

// loadAverage is the first three fields of /proc/loadavg, to show how busy
// the machine was.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
