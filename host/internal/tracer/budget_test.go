package tracer

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// bigResult is a fresh tool result of about n bytes of text, so that only
// whoever holds it keeps it alive.
func bigResult(n int) []byte {
	return []byte(`{"content":[{"type":"text","text":"` + strings.Repeat("x", n) + `"}]}`)
}

// A unit that would take the tracer past either bound is dropped and
// counted at once, however stuck the tracing plugin is; the bytes held
// never pass the byte bound.
func TestQueueBoundsDropAndNeverBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        Options
		unitBytes   int
		units       int
		wantDropped int // at least
	}{
		{"byte bound", Options{Queue: 10000, QueueBytes: 1 << 20, MaxUnits: 1}, 100 << 10, 200, 100},
		{"event bound", Options{Queue: 4, QueueBytes: 1 << 30, MaxUnits: 1}, 10, 200, 100},
		{"unit larger than the byte bound", Options{QueueBytes: 64 << 10}, 100 << 10, 20, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeTracing{block: make(chan struct{})}
			tr := newTestTracer(t, f, tc.opts)
			t.Cleanup(func() { close(f.block) }) // runs before the tracer's Close
			start := time.Now()
			for range tc.units {
				tr.Traced("a", "srv", "tools/call", "x", "", "", "", []byte(`{}`), bigResult(tc.unitBytes))
				if st := tr.Stats(); st.QueueBytes > tr.opts.QueueBytes {
					t.Fatalf("holding %d bytes, bound %d", st.QueueBytes, tr.opts.QueueBytes)
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("delivering with a stuck plugin took %s", d)
			}
			st := tr.Stats()
			if st.Dropped < uint64(tc.wantDropped) || st.Events+st.Dropped < uint64(tc.units) {
				t.Fatalf("stats %+v, want at least %d dropped of %d", st, tc.wantDropped, tc.units)
			}
		})
	}
}

// A flood of large units with a plugin that cannot keep up leaves the
// heap at about the byte bound, not at the flood's size.
func TestMemoryStaysBoundedUnderAFlood(t *testing.T) {
	// Not parallel: it measures the process's heap, and the parallel tests
	// (waiting until the serial ones end) would add theirs: with the trace
	// grouping tests beside it, it failed one run in two.
	const bound = 8 << 20
	release := make(chan struct{})
	f := &fakeTracing{block: release}
	tr := newTestTracer(t, f, Options{QueueBytes: bound, MaxUnits: 1, SendContent: true})
	t.Cleanup(func() { close(release) })
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	for i := range 400 { // 400 MiB delivered in all
		tr.Traced("a", "srv", "tools/call", "x", "", "", "", []byte(`{"i":1}`), bigResult(1<<20))
		if i%50 == 49 {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	// The fake plugin, the test's own buffers and the runtime: allow them
	// 48 MiB besides the bound, against a flood of 400 MiB.
	if grown := int64(peak) - int64(before.HeapInuse); grown > bound+48<<20 {
		t.Fatalf("heap in use grew by %d MiB for a bound of %d MiB", grown>>20, bound>>20)
	}
	if st := tr.Stats(); st.QueueBytes > bound || st.Dropped == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Every byte held is let go once recorded, and units that hold too much
// to wait for their response are sent ahead of it.
func TestHeldBytesAreReleased(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		sendContent bool
		queueBytes  int64
		units       int
		wantAhead   bool
	}{
		{"hashes only", false, 1 << 30, 5, false},
		{"with content", true, 1 << 30, 5, false},
		{"units sent ahead by bytes", true, 1 << 20, 20, true}, // ahead at a quarter of the bound
		{"units sent ahead by count", false, 1 << 30, 300, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeTracing{}
			tr := newTestTracer(t, f, Options{SendContent: tc.sendContent, QueueBytes: tc.queueBytes, MaxUnits: 1000, Batch: 256})
			for range tc.units {
				tr.Traced("a", "srv", "tools/call", "x", "", "", "", []byte(`{"q":"x"}`), bigResult(20<<10))
			}
			tr.Flush(context.Background(), "a")
			if st := tr.Stats(); st.QueueBytes != 0 || st.Dropped != 0 || st.Responses != 1 {
				t.Fatalf("after Flush: %+v", st)
			}
			units := f.units()
			if len(units) != tc.units || (units[0].Content != nil) != tc.sendContent {
				t.Fatalf("%d units recorded (content %v)", len(units), units[0].Content != nil)
			}
			f.mu.Lock()
			ahead := len(f.batches) > 1
			last := f.batches[len(f.batches)-1]
			f.mu.Unlock()
			if ahead != tc.wantAhead || last[len(last)-1].Kind != tracing.EventResponse || len(last[len(last)-1].Units) != tc.units {
				t.Fatalf("sent ahead %v, want %v; last batch ends with %+v", ahead, tc.wantAhead, last[len(last)-1].Kind)
			}
		})
	}
}

// The tracer reads the result it is handed and never writes it.
func TestResultIsNotModified(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{SendContent: true})
	msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a \"quoted\" text"}],"_meta":{"score":0.5}}}`)
	orig := bytes.Clone(msg)
	result := msg[bytes.Index(msg, []byte(`{"content"`)) : len(msg)-1]
	tr.Traced("a", "srv", "tools/call", "x", "", "", "", []byte(`{ "b": 1, "a": "quoted" }`), result)
	tr.Flush(context.Background(), "a")
	if !bytes.Equal(msg, orig) {
		t.Fatalf("message changed:\n%s\n%s", msg, orig)
	}
	if u := f.units(); len(u) != 1 || !bytes.Equal(u[0].Content, result) || u[0].RetrievalSource != "meta" {
		t.Fatalf("units: %+v", u)
	}
}

// Deliveries from many sessions at once are all accounted for.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{MaxUnits: 7})
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Go(func() {
			for range 50 {
				tr.Traced(string(rune('a'+s)), "srv", "tools/call", "x", "", "", "", []byte(`{"q":"alpha"}`), bigResult(100))
			}
			tr.SessionClosed(string(rune('a' + s)))
		})
	}
	wg.Wait()
	for s := range 8 {
		tr.Flush(context.Background(), string(rune('a'+s)))
	}
	if st := tr.Stats(); st.Events != 400 || st.QueueBytes != 0 || len(f.units()) != 400 {
		t.Fatalf("stats %+v, %d units recorded", st, len(f.units()))
	}
}

// Arguments larger than the host sends are left out of the event, and let
// go at once, but their size is sent.
func TestLargeArgumentsAreLeftOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     string
		wantSent bool
	}{
		{"small", `{"q":"x"}`, true},
		{"at the bound", `{"q":"` + strings.Repeat("x", tracing.MaxEventArgumentsBytes-8) + `"}`, true},
		{"past the bound", `{"q":"` + strings.Repeat("x", tracing.MaxEventArgumentsBytes) + `"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeTracing{}
			tr := newTestTracer(t, f, Options{})
			tr.Traced("a", "srv", "tools/call", "x", "", "", "", []byte(tc.args), bigResult(10))
			tr.Flush(context.Background(), "a")
			u := f.units()
			if len(u) != 1 || (u[0].Arguments != nil) != tc.wantSent || u[0].ArgumentsBytes != int64(len(tc.args)) {
				t.Fatalf("units %+v", u)
			}
			if st := tr.Stats(); st.QueueBytes != 0 {
				t.Fatalf("still holding %d bytes", st.QueueBytes)
			}
		})
	}
}
