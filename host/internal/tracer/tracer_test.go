package tracer

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// fakeTracing records what it is sent.
type fakeTracing struct {
	base.Unimplemented
	mu      sync.Mutex
	batches [][]tracing.Event
	block   chan struct{} // when set, Record waits on it
	calls   []tracing.CallToolRequest
	changed []string
}

func (f *fakeTracing) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "fake", Kind: base.KindTracing}, nil
}

func (f *fakeTracing) Record(_ context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, req.Events)
	return tracing.RecordResponse{ChangedURIs: f.changed}, nil
}

func (f *fakeTracing) ListTools(context.Context, tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return tracing.ListToolsResponse{Tools: []json.RawMessage{json.RawMessage(`{"name":"mcp__proxy__tracing__get_trace","inputSchema":{"type":"object"}}`)}}, nil
}

func (f *fakeTracing) CallTool(_ context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	responses := len(f.batches)
	f.mu.Unlock()
	return tracing.CallToolResponse{
		Result:      json.RawMessage(`{"content":[{"type":"text","text":"recorded ` + string(rune('0'+responses)) + `"}]}`),
		ChangedURIs: []string{"trace://quality/recent-feedback"},
	}, nil
}

func (f *fakeTracing) ListResources(context.Context, tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	return tracing.ListResourcesResponse{Resources: []json.RawMessage{json.RawMessage(`{"uri":"trace://stats/cache","name":"cache"}`)}}, nil
}

func (f *fakeTracing) ReadResource(_ context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	return tracing.ReadResourceResponse{Result: json.RawMessage(`{"contents":[{"uri":"` + req.URI + `","text":"{}"}]}`)}, nil
}

func (f *fakeTracing) responses() []tracing.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tracing.Event
	for _, b := range f.batches {
		for _, e := range b {
			if e.Kind == tracing.EventResponse {
				out = append(out, e)
			}
		}
	}
	return out
}

func (f *fakeTracing) units() []tracing.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tracing.Event
	for _, b := range f.batches {
		for _, e := range b {
			if e.Kind != tracing.EventResponse {
				out = append(out, e)
			}
		}
	}
	return out
}

// rankWeighting weighs unit i by i+1 (so the weights are unequal).
type rankWeighting struct{ base.Unimplemented }

func (rankWeighting) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "rank", Kind: base.KindWeighting}, nil
}

func (rankWeighting) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	w := make([]float64, len(req.Units))
	for i := range w {
		w[i] = float64(i + 1)
	}
	return weighting.WeighResponse{Weights: w}, nil
}

func newTestTracer(t *testing.T, f *fakeTracing, opts Options) *Tracer {
	t.Helper()
	opts.Tracing = func(context.Context) (tracing.Tracing, error) { return f, nil }
	opts.Weighting = func(context.Context) (weighting.Weighting, error) { return rankWeighting{}, nil }
	if opts.IdleGap == 0 {
		opts.IdleGap = time.Hour
	}
	tr := New(opts)
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

func deliver(tr *Tracer, session, tool, args, text string) []byte {
	return tr.Traced(session, "srv", "tools/call", tool, "", "", "", []byte(args), []byte(`{"content":[{"type":"text","text":"`+text+`"}]}`))
}

func TestResponsesGroupUnitsPerSessionAndCarryWeights(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{MaxUnits: 3})
	m1 := deliver(tr, "a", "search", `{"q":"golang plugins"}`, "plugins for golang")
	m2 := deliver(tr, "a", "read", `{"path":"x"}`, "file x")
	other := deliver(tr, "b", "search", `{"q":"golang plugins"}`, "plugins for golang")
	id := gjson.GetBytes(m1, "response_id").Str
	if id == "" || gjson.GetBytes(m2, "response_id").Str != id {
		t.Fatalf("one session's units in one turn should share a response id: %s %s", m1, m2)
	}
	if gjson.GetBytes(other, "response_id").Str == id {
		t.Fatal("two sessions share a response")
	}
	if gjson.GetBytes(other, "context_id").Str != gjson.GetBytes(m1, "context_id").Str {
		t.Fatal("the same call in two sessions should be the same context")
	}
	tr.Flush(context.Background(), "a")
	resp := f.responses()
	if len(resp) != 1 || resp[0].ResponseID != id || len(resp[0].Units) != 2 {
		t.Fatalf("after Flush: %+v", resp)
	}
	if w := resp[0].Units; w[0].Weight >= w[1].Weight || w[0].Weight+w[1].Weight < 0.999 {
		t.Fatalf("weights not from the weighting plugin: %+v", w)
	}
	units := f.units()
	if units[0].ContextType != tracing.TypeExternal || units[0].RetrievalSource != "lexical" || units[0].RetrievalScore != 1 {
		t.Fatalf("unit features: %+v", units[0])
	}
	// The cap ends a turn: the fourth unit of b starts a new response.
	deliver(tr, "b", "t1", `{}`, "1")
	deliver(tr, "b", "t2", `{}`, "2")
	fourth := deliver(tr, "b", "t3", `{}`, "3")
	if gjson.GetBytes(fourth, "response_id").Str == gjson.GetBytes(other, "response_id").Str {
		t.Fatal("max_units did not end the turn")
	}
	poll.Until(t, "the capped response recorded", func() bool { return len(f.responses()) == 2 })
}

func TestIdleGapEndsAResponse(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{IdleGap: 30 * time.Millisecond})
	deliver(tr, "a", "x", `{}`, "x")
	poll.Until(t, "the idle response recorded", func() bool { return len(f.responses()) == 1 })
}

func TestFullQueueDropsAndNeverBlocks(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{block: make(chan struct{})}
	tr := newTestTracer(t, f, Options{Queue: 4, MaxUnits: 1})
	start := time.Now()
	for range 100 {
		deliver(tr, "a", "x", `{}`, "x")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("delivering with a stuck plugin took %s", d)
	}
	if st := tr.Stats(); st.Dropped == 0 {
		t.Fatalf("nothing dropped with a stuck plugin: %+v", st)
	}
	close(f.block)
}

func TestRetrievalScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, result, args, uri string
		score                   float64
		source                  string
	}{
		{"meta", `{"content":[{"type":"text","text":"a"}],"_meta":{"retrieval_score":0.9}}`, `{"q":"a"}`, "", 0.9, "meta"},
		{"meta relevance", `{"_meta":{"relevance":0.25},"content":[]}`, `{"q":"alpha"}`, "", 0.25, "meta"},
		{"meta out of range", `{"_meta":{"score":7},"content":[{"type":"text","text":"alpha"}]}`, `{"q":"alpha"}`, "", 1, "lexical"},
		{"lexical half", `{"content":[{"type":"text","text":"alpha gamma"}]}`, `{"q":"alpha beta"}`, "", 0.5, "lexical"},
		{"lexical case and repeats", `{"content":[{"type":"text","text":"ALPHA"}]}`, `{"q":"alpha Alpha beta"}`, "", 0.5, "lexical"},
		{"lexical nested", `{"content":[{"type":"text","text":"golang plugins"}]}`, `{"a":{"b":["golang",{"c":"plugins"}]},"n":3}`, "", 1, "lexical"},
		{"lexical uri", `{"contents":[{"uri":"file:///notes/golang","text":"notes about golang"}]}`, ``, "file:///notes/golang", 2.0 / 3, "lexical"},
		{"short words ignored", `{"content":[{"type":"text","text":"go is ok"}]}`, `{"q":"go ok alpha"}`, "", 0, "lexical"},
		{"no words", `{"content":[{"type":"text","text":"anything"}]}`, `{"n":3}`, "", 0.5, "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := "tools/call"
			if tc.uri != "" {
				method = "resources/read"
			}
			var s scratch
			f := s.features(&Delivery{Method: method, URI: tc.uri, Arguments: []byte(tc.args), Result: []byte(tc.result)}, 0.5)
			if f.retrievalScore != tc.score || f.retrievalSource != tc.source {
				t.Errorf("got %v %s, want %v %s", f.retrievalScore, f.retrievalSource, tc.score, tc.source)
			}
		})
	}
}

func TestConnServesThePluginAndFlushesBeforeACall(t *testing.T) {
	t.Parallel()
	f := &fakeTracing{changed: []string{"trace://stats/cache"}}
	tr := newTestTracer(t, f, Options{})
	conn, _ := tr.Open(context.Background())
	defer conn.Close(context.Background())
	ctx := context.Background()
	var others []string
	call := func(id, method, params string) []byte {
		t.Helper()
		if err := conn.Send(ctx, jsonrpc.Request([]byte(id), method, []byte(params))); err != nil {
			t.Fatal(err)
		}
		for {
			msg, err := conn.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(jsonrpc.Get(msg, "id")) == id {
				return msg
			}
			others = append(others, string(msg))
		}
	}
	if v, _ := jsonrpc.GetString(call("1", "initialize", `{}`), "result.protocolVersion"); v == "" {
		t.Fatal("no initialize answer")
	}
	if !strings.Contains(string(call("2", "tools/list", `{}`)), "get_trace") {
		t.Fatal("tools/list")
	}
	call("3", "resources/subscribe", `{"uri":"trace://stats/cache"}`)
	deliver(tr, "sess", "x", `{}`, "x")
	res := call("4", "tools/call", `{"name":"mcp__proxy__tracing__get_trace","arguments":{"response_id":"latest"},"_meta":{"mcphost/session":"sess"}}`)
	if !strings.Contains(string(res), "recorded 1") {
		t.Fatalf("the session's turn was not recorded before the call: %s", res)
	}
	if f.calls[0].Session != "sess" {
		t.Fatalf("session not passed: %+v", f.calls[0])
	}
	if len(others) != 1 || !strings.Contains(others[0], `"notifications/resources/updated"`) || !strings.Contains(others[0], "trace://stats/cache") {
		t.Fatalf("want one resources/updated for the subscribed resource, got %q", others)
	}
}

// TestEventsCarryTheSessionsProfile: a session opened for a profile has
// its units and its response recorded with it; other sessions with none,
// and a closed session's profile is forgotten. Not parallel: its tracer
// would count in TestMemoryStaysBoundedUnderAFlood's heap.
func TestEventsCarryTheSessionsProfile(t *testing.T) {
	f := &fakeTracing{}
	tr := newTestTracer(t, f, Options{})
	var _ router.Tracer = tr
	tr.SessionProfile("coding-session", "coding")
	deliver(tr, "coding-session", "search", `{"q":"x"}`, "x")
	deliver(tr, "main-session", "search", `{"q":"x"}`, "x")
	tr.SessionClosed("coding-session")
	tr.SessionClosed("main-session")
	poll.Until(t, "both responses recorded", func() bool { return len(f.responses()) == 2 })
	for _, ev := range append(f.units(), f.responses()...) {
		want := ""
		if ev.Session == "coding-session" {
			want = "coding"
		}
		if ev.Profile != want {
			t.Errorf("%s event of session %s has profile %q, want %q", ev.Kind, ev.Session, ev.Profile, want)
		}
	}
	tr.mu.Lock()
	left := len(tr.profiles)
	tr.mu.Unlock()
	if left != 0 {
		t.Errorf("%d session profiles kept after their sessions closed", left)
	}
}
