// Package gcfloor keeps the garbage collector's heap goal from falling
// below a floor. The proxy's live heap is small (a few MiB) while every
// large message it forwards allocates a few copies of itself, so with the
// default GOGC=100 the collector ran after every few 100 KB calls and took
// a third of the host's CPU. After each collection the target percentage
// is raised so that the next one comes no sooner than at the floor; a large
// live heap (full outboxes) is collected at the usual 100%, so memory stays
// bounded by what the proxy holds, not by the floor alone.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// DefaultFloor is the heap goal the proxy keeps at least.
const DefaultFloor = 64 << 20

// maxPercent bounds the target percentage, so that a tiny live heap does
// not make the collector wait for an arbitrary amount of garbage.
const maxPercent = 1000

// Start keeps the heap goal at floor bytes or more until stop is called.
// It does nothing when GOGC or GOMEMLIMIT is set: the operator chose.
func Start(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || floor == 0 {
		return func() {}
	}
	t := &tuner{floor: floor, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return func() {
		t.stopped.Store(true)
		debug.SetGCPercent(100)
	}
}

type tuner struct {
	floor   uint64
	percent int
	sample  []metrics.Sample
	stopped atomic.Bool
}

// sentinel is unreachable from the moment it is made: its cleanup runs
// after the next collection, which is the tuner's cue.
type sentinel struct{ _ [32]byte }

func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *tuner) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets the percentage that puts the next goal at the floor, or at
// twice the live heap when that is larger.
func (t *tuner) adjust() {
	metrics.Read(t.sample)
	live := uint64(1)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = max(t.sample[0].Value.Uint64(), 1)
	}
	percent := 100
	if live < t.floor {
		percent = int(min(uint64(maxPercent), (t.floor-live)*100/live))
		percent = max(percent, 100)
	}
	// Small changes are not worth a call into the runtime.
	if d := percent - t.percent; d > t.percent/8 || -d > t.percent/8 {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}
