package tracer

import (
	"context"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/traceparent"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
)

const (
	traceA = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceB = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
)

func paramsWith(tp string) []byte {
	return []byte(`{"name":"search","arguments":{"q":"x"},"_meta":{"traceparent":"` + tp + `"}}`)
}

func TestTraceResponseIsTheTraceIDs(t *testing.T) {
	t.Parallel()
	tr := newTestTracer(t, &fakeTracing{}, Options{})
	tests := []struct {
		name, params, want string
	}{
		{"trace A", string(paramsWith(traceA)), "resp_4bf92f3577b34da6a3ce929d0e0e4736"},
		{"another span of trace A", string(paramsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-00")), "resp_4bf92f3577b34da6a3ce929d0e0e4736"},
		{"trace B", string(paramsWith(traceB)), "resp_0af7651916cd43dd8448eb211c80319c"},
		{"no traceparent", `{"name":"search","arguments":{"traceparent":"` + traceA + `"}}`, ""},
		{"invalid traceparent", string(paramsWith("00-00000000000000000000000000000000-00f067aa0ba902b7-01")), ""},
		{"no params", ``, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tr.TraceResponse([]byte(tc.params)); got != tc.want {
				t.Errorf("TraceResponse = %q, want %q", got, tc.want)
			}
		})
	}
	tp, _ := traceparent.Parse(traceA)
	if TraceResponseID(tp) != "resp_4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("TraceResponseID = %q", TraceResponseID(tp))
	}
}

func deliverInTrace(tr *Tracer, session, tool, args, text, tp string) []byte {
	return tr.Traced(session, "srv", "tools/call", tool, "", "", tr.TraceResponse(paramsWith(tp)),
		[]byte(args), []byte(`{"content":[{"type":"text","text":"`+text+`"}]}`))
}

// The units of one trace share its response whatever session delivers
// them, are recorded without waiting for an end, and leave the sessions'
// own turns alone.
func TestTraceUnitsFormOneResponseAcrossSessions(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{MaxUnits: 50})
	turn := deliver(tr, "s1", "read", `{"path":"a"}`, "file a")
	m1 := deliverInTrace(tr, "s1", "search", `{"q":"one"}`, "first", traceA)
	m2 := deliverInTrace(tr, "s2", "search", `{"q":"two"}`, "second", traceA)
	m3 := deliverInTrace(tr, "s3", "search", `{"q":"three"}`, "third", traceB)
	turn2 := deliver(tr, "s1", "read", `{"path":"b"}`, "file b")

	const idA, idB = "resp_4bf92f3577b34da6a3ce929d0e0e4736", "resp_0af7651916cd43dd8448eb211c80319c"
	for _, c := range []struct {
		meta []byte
		want string
	}{{m1, idA}, {m2, idA}, {m3, idB}} {
		if got := gjson.GetBytes(c.meta, "response_id").Str; got != c.want {
			t.Errorf("response_id %q, want %q (%s)", got, c.want, c.meta)
		}
	}
	turnID := gjson.GetBytes(turn, "response_id").Str
	if turnID == idA || gjson.GetBytes(turn2, "response_id").Str != turnID {
		t.Fatalf("the session's turn was disturbed by trace units: %s %s", turn, turn2)
	}

	// Recorded without an end of turn: the turn (idle gap an hour) is not.
	poll.Until(t, "the trace responses are recorded", func() bool {
		seen := map[string]bool{}
		for _, r := range f.responses() {
			seen[r.ResponseID] = true
		}
		return seen[idA] && seen[idB]
	})
	// Each record of a trace response (one per drain of the worker that
	// saw its units) carries that drain's units, weighed to sum to 1.
	units := map[string]int{}
	for _, r := range f.responses() {
		if r.ResponseID == turnID {
			t.Fatal("the session's turn ended with the trace units")
		}
		units[r.ResponseID] += len(r.Units)
		var sum float64
		for _, u := range r.Units {
			sum += u.Weight
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("weights of %s sum to %v", r.ResponseID, sum)
		}
	}
	if units[idA] != 2 || units[idB] != 1 {
		t.Fatalf("units per response %v, want 2 of %s and 1 of %s", units, idA, idB)
	}
	for _, u := range f.units() {
		want := map[string]string{"first": idA, "second": idA, "third": idB}[u.Summary]
		if want != "" && u.ResponseID != want {
			t.Errorf("unit %q in %s, want %s", u.Summary, u.ResponseID, want)
		}
	}

	// A later unit of trace A is recorded again under the same id (the
	// store merges), and Flush does not end trace responses early or late.
	deliverInTrace(tr, "s4", "search", `{"q":"four"}`, "fourth", traceA)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr.Flush(ctx, "s4")
	n := 0
	for _, r := range f.responses() {
		if r.ResponseID == idA {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("trace A recorded %d times, want its later unit recorded again under its id", n)
	}
	if s := tr.Stats(); s.Dropped != 0 {
		t.Fatalf("dropped %d", s.Dropped)
	}
}

// A unit without a trace id keeps the session's turn; no trace response
// is made for it.
func TestUnitsWithoutTraceKeepTurns(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{})
	m1 := tr.Traced("a", "srv", "tools/call", "x", "", "", tr.TraceResponse([]byte(`{"arguments":{}}`)), []byte(`{}`), []byte(`{"content":[]}`))
	m2 := deliver(tr, "a", "y", `{}`, "y")
	if id := gjson.GetBytes(m1, "response_id").Str; id == "" || id != gjson.GetBytes(m2, "response_id").Str {
		t.Fatalf("turn broken: %s %s", m1, m2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr.Flush(ctx, "a")
	rs := f.responses()
	if len(rs) != 1 || len(rs[0].Units) != 2 || rs[0].Kind != tracing.EventResponse {
		t.Fatalf("responses %+v, want one of two units", rs)
	}
}
