package tracestore

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// weighHost is a tracing.Host that notes what it is asked to weigh.
type weighHost struct {
	mu   sync.Mutex
	reqs []weighting.WeighRequest
}

func (h *weighHost) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = append(h.reqs, req)
	w := make([]float64, len(req.Units))
	for i := range w {
		w[i] = float64(i + 1)
	}
	return weighting.WeighResponse{Weights: w}, nil
}

// The host sends a response's units with it unless they hold too much to
// wait; units sent ahead are weighed from what the store recorded of them.
func TestWeighsUnitsSentAheadOfTheirResponse(t *testing.T) {
	t.Parallel()
	testWeighsUnitsSentAheadOfTheirResponse(t, badgerStore)
}

func testWeighsUnitsSentAheadOfTheirResponse(t *testing.T, s storeUnderTest) {
	tests := []struct {
		name  string
		ahead int // units recorded in a batch before the response's
	}{
		{"all with the response", 0},
		{"some ahead", 2},
		{"all ahead", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := s.open(t, nil)
			host := &weighHost{}
			p.UseHost(host)
			at := time.Now().Add(-time.Minute)
			tr := turn{session: "s", resp: "r1", ctxs: []string{"a/t1", "b/t2", "c/t3"},
				texts: []string{"one", "second text", "the third text of all"}, weights: []float64{1, 1, 1}}
			evs := tr.events(at)
			for i := range 3 {
				evs[i].RetrievalScore = 0.1 * float64(i+1)
				evs[i].TokenEstimate = int64(10 * (i + 1))
			}
			if tc.ahead > 0 {
				record(t, p, evs[:tc.ahead]...)
			}
			record(t, p, evs[tc.ahead:]...)
			if len(host.reqs) != 1 || len(host.reqs[0].Units) != 3 {
				t.Fatalf("weigh requests: %+v", host.reqs)
			}
			for i, u := range host.reqs[0].Units {
				ev := evs[i]
				want := weighting.Unit{ID: ev.ContextID, Type: ev.ContextType, RetrievalScore: ev.RetrievalScore,
					CreatedUnixNano: ev.TimeUnixNano, SizeBytes: ev.SizeBytes, TokenEstimate: ev.TokenEstimate, Source: ev.Server}
				if u != want {
					t.Errorf("unit %d weighed with %+v, want %+v", i, u, want)
				}
			}
			out, _ := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": "r1", "format": "json"})
			want := map[string]float64{"a/t1": 1.0 / 6, "b/t2": 2.0 / 6, "c/t3": 3.0 / 6} // the host's 1:2:3
			for _, c := range out.Contexts {
				if math.Abs(c.Weight-want[c.ContextID]) > 1e-9 || c.Version != 1 {
					t.Errorf("%s: weight %v version %d, want %v and 1", c.ContextID, c.Weight, c.Version, want[c.ContextID])
				}
			}
			if len(out.Contexts) != 3 {
				t.Fatalf("contexts: %+v", out.Contexts)
			}
		})
	}
}

// A response recorded again (a trace's next batch) is weighed through the
// host over all its units: the stored ones, with the features recorded
// for them, and the batch's.
func TestWeighsAResponseRecordedAgainWhole(t *testing.T) {
	t.Parallel()
	testWeighsAResponseRecordedAgainWhole(t, badgerStore)
}

func testWeighsAResponseRecordedAgainWhole(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	host := &weighHost{}
	p.UseHost(host)
	at := time.Now().Add(-time.Minute)
	const resp = "resp_0af7651916cd43dd8448eb211c80319c"
	first := turn{session: "s1", resp: resp, ctxs: []string{"a/t1", "b/t2"}, texts: []string{"one", "two"}, weights: []float64{1, 1}}
	second := turn{session: "s2", resp: resp, ctxs: []string{"c/t3"}, texts: []string{"three"}, weights: []float64{1}}
	firstEvents := first.events(at)
	firstEvents[1].TokenEstimate = 77
	record(t, p, firstEvents...)
	record(t, p, second.events(at.Add(2*time.Second))...)
	if len(host.reqs) != 2 || len(host.reqs[1].Units) != 3 {
		t.Fatalf("weigh requests: %+v; want the second over the 3 units", host.reqs)
	}
	// The batch's unit first, then the stored ones with their features.
	got := host.reqs[1].Units
	if got[0].ID != "c/t3" || got[1].ID != "a/t1" || got[2].ID != "b/t2" || got[2].TokenEstimate != 77 || got[1].Type != tracing.TypeExternal {
		t.Fatalf("second weighing over %+v", got)
	}
	out, _ := callOK[traceView](t, p, "s2", toolGetTrace, map[string]any{"response_id": resp, "format": "json"})
	want := map[string]float64{"c/t3": 1.0 / 6, "a/t1": 2.0 / 6, "b/t2": 3.0 / 6} // the host's 1:2:3
	if len(out.Contexts) != 3 || out.UnitsDelivered != 3 || out.Session == "" {
		t.Fatalf("trace: %+v", out)
	}
	for _, c := range out.Contexts {
		if math.Abs(c.Weight-want[c.ContextID]) > 1e-9 {
			t.Errorf("%s: weight %v, want %v", c.ContextID, c.Weight, want[c.ContextID])
		}
	}
	// get_trace latest of the session of the latest batch is the response.
	latest, _ := callOK[traceView](t, p, "s2", toolGetTrace, map[string]any{"response_id": "latest", "format": "json"})
	if latest.ResponseID != resp {
		t.Errorf("latest of s2 = %s, want %s", latest.ResponseID, resp)
	}
}

var _ tracing.Host = (*weighHost)(nil)
