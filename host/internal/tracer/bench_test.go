package tracer

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

const benchFiller = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " +
	"incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation "

// benchDelivery is an echo of n bytes of prose, as shared/bench's fastecho
// answers mcpbench: the arguments and the result hold the same text.
func benchDelivery(n int) Delivery {
	p := strings.Repeat(benchFiller, n/len(benchFiller)+1)[:n]
	return Delivery{
		Session: "s1", Server: "fe", Method: "tools/call", Name: "echo",
		Arguments: []byte(`{"message":"` + p + `"}`),
		Result:    []byte(`{"content":[{"type":"text","text":"` + p + `"}]}`), Time: time.Now(),
	}
}

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"100KB", 100000}}

// BenchmarkDelivered is the message path's share of tracing a unit. The
// tracer has no worker: the benchmark empties the queue itself.
func BenchmarkDelivered(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			d := benchDelivery(sz.n)
			t := &Tracer{
				opts:  Options{MaxUnits: 50, IdleGap: time.Hour, Queue: 1 << 10, QueueBytes: DefaultQueueBytes},
				log:   hclog.NewNullLogger(),
				queue: make(chan item, 1<<10), hurry: make(chan struct{}, 1), done: make(chan struct{}), turns: map[string]*turn{},
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t.Delivered(d)
				if i++; i%64 == 0 {
					for len(t.queue) > 0 {
						t.release((<-t.queue).size)
					}
				}
			}
			if st := t.Stats(); st.Dropped > 0 {
				b.Fatalf("dropped %d units", st.Dropped)
			}
		})
	}
}

// BenchmarkDeliveredInTrace is BenchmarkDelivered for a unit of a W3C
// trace's response (Delivery.Response set): no turn to look up.
func BenchmarkDeliveredInTrace(b *testing.B) {
	d := benchDelivery(100)
	d.Response = "resp_4bf92f3577b34da6a3ce929d0e0e4736"
	t := &Tracer{
		opts:  Options{MaxUnits: 50, IdleGap: time.Hour, Queue: 1 << 10, QueueBytes: DefaultQueueBytes},
		log:   hclog.NewNullLogger(),
		queue: make(chan item, 1<<10), hurry: make(chan struct{}, 1), done: make(chan struct{}), turns: map[string]*turn{},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t.Delivered(d)
		if i++; i%64 == 0 {
			for len(t.queue) > 0 {
				t.release((<-t.queue).size)
			}
		}
	}
}

// BenchmarkTraceResponse is the trace id lookup the router makes with the
// context id, while the backend works: params with 1 KB of arguments.
func BenchmarkTraceResponse(b *testing.B) {
	t := &Tracer{}
	for _, tc := range []struct{ name, meta string }{
		{"with traceparent", `,"_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`},
		{"without", ``},
	} {
		b.Run(tc.name, func(b *testing.B) {
			params := []byte(`{"name":"echo","arguments":{"message":"` + strings.Repeat(benchFiller, 1000/len(benchFiller)) + `"}` + tc.meta + `}`)
			b.ReportAllocs()
			for b.Loop() {
				t.TraceResponse(params)
			}
		})
	}
}

// BenchmarkUnitFeatures is the worker's share: a unit's features and
// event.
func BenchmarkUnitFeatures(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			d := benchDelivery(sz.n)
			w := &worker{t: &Tracer{opts: Options{DefaultScore: 0.5}}}
			it := item{unit: d, isUnit: true, response: "resp_x", context: "ctx_x", session: "s1"}
			b.ReportAllocs()
			for b.Loop() {
				w.unitEvent(&it)
			}
		})
	}
}
