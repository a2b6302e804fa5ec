package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
)

var sink []byte

// The floor raises the target percentage while the live heap is small, so
// that a stream of garbage is collected less often than at GOGC=100.
func TestFloorSpacesOutCollections(t *testing.T) {
	// Not parallel: it changes the process's GC settings.
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	count := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	churn := func() uint32 {
		runtime.GC()
		before := count()
		for range 2000 {
			sink = make([]byte, 100<<10) // 200 MB of garbage in all
		}
		return count() - before
	}
	base := churn()
	stop := Start(64 << 20)
	runtime.GC() // a first cycle for the tuner to see
	floored := churn()
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("stop left GOGC at %d", got)
	}
	if floored*2 > base {
		t.Fatalf("%d collections with the floor, %d without: want at most half", floored, base)
	}
	t.Logf("collections for 200 MB of garbage: %d at GOGC=100, %d with a 64 MiB floor", base, floored)
}

func TestGOGCIsLeftAlone(t *testing.T) {
	t.Setenv("GOGC", "150")
	stop := Start(64 << 20)
	defer stop()
	if got := debug.SetGCPercent(100); got != 100 {
		debug.SetGCPercent(got)
		t.Fatalf("with GOGC set the percentage changed to %d", got)
	}
}
