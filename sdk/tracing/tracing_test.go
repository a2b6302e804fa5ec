package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// memory is a real tracing plugin for tests: it keeps events in memory and
// serves a count_events tool and an events resource per session.
type memory struct {
	base.Unimplemented
	mu     sync.Mutex
	events []tracing.Event
}

var (
	countTool = json.RawMessage(`{"name":"count_events","description":"Counts the events recorded for this session.",` +
		`"inputSchema":{"type":"object","properties":{"kind":{"type":"string","enum":["tool_result","resource","prompt","feedback"]}}}}`)
	eventsResource = json.RawMessage(`{"uri":"trace://events","name":"events","mimeType":"application/json"}`)
	eventsTemplate = json.RawMessage(`{"uriTemplate":"trace://events/{kind}","name":"events of one kind","mimeType":"application/json"}`)
)

func (*memory) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "memory", Kind: base.KindTracing, Version: "0.3.0", APIMinor: tracing.APIMinor}, nil
}

func (m *memory) Record(_ context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	for _, e := range req.Events {
		if e.Kind == "" {
			return tracing.RecordResponse{}, errors.New("event without a kind")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, req.Events...)
	return tracing.RecordResponse{}, nil
}

// sessionEvents returns the session's events of kind ("" for all).
func (m *memory) sessionEvents(session, kind string) []tracing.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tracing.Event
	for _, e := range m.events {
		if e.Session == session && (kind == "" || e.Kind == kind) {
			out = append(out, e)
		}
	}
	return out
}

func (*memory) ListTools(context.Context, tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return tracing.ListToolsResponse{Tools: []json.RawMessage{countTool}}, nil
}

func (m *memory) CallTool(_ context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	if req.Name != "count_events" {
		return tracing.CallToolResponse{}, fmt.Errorf("unknown tool %q", req.Name)
	}
	var args struct {
		Kind string `json:"kind"`
	}
	if len(req.Arguments) > 0 {
		if err := json.Unmarshal(req.Arguments, &args); err != nil {
			return tracing.CallToolResponse{Result: toolError("bad arguments: " + err.Error())}, nil
		}
	}
	n := len(m.sessionEvents(req.Session, args.Kind))
	return tracing.CallToolResponse{Result: json.RawMessage(fmt.Sprintf(
		`{"content":[{"type":"text","text":"%d"}],"structuredContent":{"count":%d}}`, n, n))}, nil
}

func toolError(msg string) json.RawMessage {
	text, _ := json.Marshal(msg)
	return json.RawMessage(`{"content":[{"type":"text","text":` + string(text) + `}],"isError":true}`)
}

func (*memory) ListResources(context.Context, tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	return tracing.ListResourcesResponse{Resources: []json.RawMessage{eventsResource}, Templates: []json.RawMessage{eventsTemplate}}, nil
}

func (m *memory) ReadResource(_ context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	kind, ok := strings.CutPrefix(req.URI, "trace://events")
	if !ok || (kind != "" && !strings.HasPrefix(kind, "/")) {
		return tracing.ReadResourceResponse{}, fmt.Errorf("unknown resource %q", req.URI)
	}
	events := m.sessionEvents(req.Session, strings.TrimPrefix(kind, "/"))
	if events == nil {
		events = []tracing.Event{}
	}
	// The raw JSON fields are embedded verbatim.
	body, err := json.Marshal(events)
	if err != nil {
		return tracing.ReadResourceResponse{}, err
	}
	text, _ := json.Marshal(string(body))
	uri, _ := json.Marshal(req.URI)
	return tracing.ReadResourceResponse{Result: json.RawMessage(
		`{"contents":[{"uri":` + string(uri) + `,"mimeType":"application/json","text":` + string(text) + `}]}`)}, nil
}

// events returns a batch of one session's events, with awkward raw JSON
// that must arrive byte for byte.
func events(session string) []tracing.Event {
	return []tracing.Event{
		{
			Kind: tracing.EventToolResult, TimeUnixNano: 1_746_000_000_123_456_789, Session: session, Server: "files",
			Method: "tools/call", Name: "read_file", Arguments: json.RawMessage("{\"path\": \"/tmp/ä b\",\n \"n\": 1e3, \"x\": [ ]}"),
			ArgumentsBytes: 38, Profile: "coding",
			Content:     json.RawMessage(`{"content":[{"type":"text","text":"\u00e9\ud83d\ude00"}],"isError":false}`),
			ContentHash: "sha256:0f1e", SizeBytes: 66, Meta: json.RawMessage(`{"retrievalScore":0.25,"io.modelcontextprotocol/related":null}`),
		},
		{
			Kind: tracing.EventResource, TimeUnixNano: 2, Session: session, Server: "docs", Method: "resources/read",
			URI: "file:///a%20b.md", Content: json.RawMessage(`{"contents":[{"uri":"file:///a%20b.md","blob":"AAE="}]}`), SizeBytes: 4,
		},
		{Kind: tracing.EventPrompt, Session: session, Server: "p", Method: "prompts/get", Name: "review", Arguments: json.RawMessage(`{"code":"x"}`)},
		{Kind: tracing.EventFeedback, TimeUnixNano: -1, Session: session, Meta: json.RawMessage(`{"score":-0.5}`)},
		{Kind: tracing.EventToolResult, Session: session},
	}
}

func TestRecordAndServe(t *testing.T) {
	t.Parallel()
	impl := &memory{}
	c := plugintest.ServeTracing(t, impl)
	ctx := context.Background()
	large := tracing.Event{
		Kind: tracing.EventToolResult, Method: "tools/call", Name: "big",
		Content: json.RawMessage(`{"content":[{"type":"text","text":"` + strings.Repeat("x", 12<<20) + `"}]}`), SizeBytes: 12 << 20,
	}
	tests := []struct {
		name   string
		events []tracing.Event
		counts map[string]int // by kind, "" for all
	}{
		{"batch", events("s-batch"), map[string]int{"": 5, tracing.EventToolResult: 2, tracing.EventResource: 1, tracing.EventFeedback: 1}},
		{"empty batch", nil, map[string]int{"": 0}},
		{"large content", []tracing.Event{large}, map[string]int{"": 1, tracing.EventPrompt: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			session := "s-" + tt.name
			for i := range tt.events {
				tt.events[i].Session = session
			}
			if _, err := c.Record(ctx, tracing.RecordRequest{Events: tt.events}); err != nil {
				t.Fatalf("Record: %v", err)
			}
			got := impl.sessionEvents(session, "")
			if len(got) != len(tt.events) {
				t.Fatalf("recorded %d events, want %d", len(got), len(tt.events))
			}
			for i := range got {
				checkEvent(t, i, got[i], tt.events[i])
			}

			for kind, want := range tt.counts {
				args := json.RawMessage(`{}`)
				if kind != "" {
					args = json.RawMessage(`{"kind":"` + kind + `"}`)
				}
				req := tracing.CallToolRequest{Session: session, Name: "count_events", Arguments: args}
				r, err := c.CallTool(ctx, req)
				if err != nil {
					t.Fatalf("CallTool: %v", err)
				}
				wantResult := fmt.Sprintf(`{"content":[{"type":"text","text":"%d"}],"structuredContent":{"count":%d}}`, want, want)
				if string(r.Result) != wantResult {
					t.Errorf("count_events %s = %s, want %s", args, r.Result, wantResult)
				}
			}

			r, err := c.ReadResource(ctx, tracing.ReadResourceRequest{Session: session, URI: "trace://events"})
			if err != nil {
				t.Fatalf("ReadResource: %v", err)
			}
			direct, err := impl.ReadResource(ctx, tracing.ReadResourceRequest{Session: session, URI: "trace://events"})
			if err != nil {
				t.Fatalf("direct ReadResource: %v", err)
			}
			if !bytes.Equal(r.Result, direct.Result) {
				t.Errorf("ReadResource over gRPC differs from the direct call: %.200s vs %.200s", r.Result, direct.Result)
			}
			var result struct {
				Contents []struct{ URI, Text string }
			}
			if err := json.Unmarshal(r.Result, &result); err != nil || len(result.Contents) != 1 || result.Contents[0].URI != "trace://events" {
				t.Fatalf("ReadResource result %.200s: %v", r.Result, err)
			}
			var read []struct{ Arguments, Content json.RawMessage }
			if err := json.Unmarshal([]byte(result.Contents[0].Text), &read); err != nil || len(read) != len(tt.events) {
				t.Fatalf("resource text %.200s: %v", result.Contents[0].Text, err)
			}
			for i := range read {
				if len(tt.events[i].Content) > 0 && !bytes.Equal(read[i].Content, tt.events[i].Content) {
					t.Errorf("event %d content read back as %.200s", i, read[i].Content)
				}
			}
		})
	}
}

func TestListings(t *testing.T) {
	t.Parallel()
	impl := &memory{}
	c := plugintest.ServeTracing(t, impl)
	ctx := context.Background()
	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil || info.Kind != base.KindTracing || info.Name != "memory" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	tools, err := c.ListTools(ctx, tracing.ListToolsRequest{Session: "x"})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	checkRaws(t, "tools", tools.Tools, []json.RawMessage{countTool})
	resources, err := c.ListResources(ctx, tracing.ListResourcesRequest{Session: "x"})
	if err != nil {
		t.Fatalf("ListResources: %v", err)
	}
	checkRaws(t, "resources", resources.Resources, []json.RawMessage{eventsResource})
	checkRaws(t, "templates", resources.Templates, []json.RawMessage{eventsTemplate})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeTracing(t, &memory{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want []string
	}{
		{"record", func() error {
			_, err := c.Record(ctx, tracing.RecordRequest{Events: []tracing.Event{{Kind: tracing.EventPrompt}, {}}})
			return err
		}, []string{"tracing record 2 events", "event without a kind"}},
		{"call tool", func() error {
			_, err := c.CallTool(ctx, tracing.CallToolRequest{Name: "nope", Arguments: json.RawMessage(`{}`)})
			return err
		}, []string{"tracing call tool nope", `unknown tool "nope"`}},
		{"read resource", func() error {
			_, err := c.ReadResource(ctx, tracing.ReadResourceRequest{URI: "trace://eventsx"})
			return err
		}, []string{"tracing read resource trace://eventsx", `unknown resource "trace://eventsx"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			if err == nil {
				t.Fatal("call succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to contain %q", err, w)
				}
			}
			if code := status.Code(errors.Unwrap(err)); code != codes.Unknown {
				t.Errorf("wrapped status code = %v, want %v", code, codes.Unknown)
			}
		})
	}

	// A tool that fails reports it in its result, not as an error.
	r, err := c.CallTool(ctx, tracing.CallToolRequest{Name: "count_events", Arguments: json.RawMessage(`[1]`)})
	if err != nil {
		t.Fatalf("CallTool with bad arguments: %v", err)
	}
	var result struct{ IsError bool }
	if err := json.Unmarshal(r.Result, &result); err != nil || !result.IsError {
		t.Errorf("bad arguments gave %s, want an isError result", r.Result)
	}
}

// checkEvent compares every field; raw JSON must be byte-identical (an
// empty value arrives as nil).
func checkEvent(t *testing.T, i int, got, want tracing.Event) {
	t.Helper()
	if got.Kind != want.Kind || got.TimeUnixNano != want.TimeUnixNano || got.Session != want.Session || got.Server != want.Server ||
		got.Method != want.Method || got.Name != want.Name || got.URI != want.URI || got.ContentHash != want.ContentHash || got.SizeBytes != want.SizeBytes ||
		got.ArgumentsBytes != want.ArgumentsBytes || got.Profile != want.Profile {
		t.Errorf("event %d arrived as %+v, want %+v", i, summary(got), summary(want))
	}
	for _, f := range []struct {
		name      string
		got, want json.RawMessage
	}{{"Arguments", got.Arguments, want.Arguments}, {"Content", got.Content, want.Content}, {"Meta", got.Meta, want.Meta}} {
		if !bytes.Equal(f.got, f.want) {
			t.Errorf("event %d %s = %.200q, want %.200q", i, f.name, f.got, f.want)
		}
	}
}

func summary(e tracing.Event) tracing.Event {
	e.Arguments, e.Content, e.Meta = nil, nil, nil
	return e
}

func checkRaws(t *testing.T, what string, got, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s[%d] = %s, want %s", what, i, got[i], want[i])
		}
	}
}
