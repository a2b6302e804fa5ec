package tracestore

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// configure opens a plugin on dir with cfg (dir is added) and stops it when
// the test ends.
func configure(t testing.TB, dir string, cfg map[string]any) *Plugin {
	t.Helper()
	p := New(hclog.NewNullLogger())
	configureOn(t, p, dir, cfg)
	t.Cleanup(func() { stop(t, p) })
	return p
}

func configureOn(t testing.TB, p *Plugin, dir string, cfg map[string]any) {
	t.Helper()
	diags := configureDiags(t, p, dir, cfg)
	if base.HasErrors(diags) {
		t.Fatalf("Configure: %+v", diags)
	}
}

func configureDiags(t testing.TB, p *Plugin, dir string, cfg map[string]any) []base.Diagnostic {
	t.Helper()
	return configureDiagsCtx(context.Background(), t, p, dir, cfg)
}

func configureDiagsCtx(ctx context.Context, t testing.TB, p *Plugin, dir string, cfg map[string]any) []base.Diagnostic {
	t.Helper()
	c := map[string]any{"dir": dir}
	for k, v := range cfg {
		c[k] = v
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Configure(ctx, base.ConfigureRequest{Config: raw})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return res.Diagnostics
}

func stop(t testing.TB, p *Plugin) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second).UnixNano()
	if _, err := p.Stop(context.Background(), base.StopRequest{DeadlineUnixNano: deadline}); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func hashOf(content []byte) string { return tracing.ContentHash(content) }

// toolContent is a CallToolResult with one text block, as a backend
// would return.
func toolContent(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"content": []map[string]string{{"type": "text", "text": text}}})
	return b
}

// unitEvent is a tool result event of ctx in response resp.
func unitEvent(session, resp, ctx, text string, at time.Time) tracing.Event {
	content := toolContent(text)
	server, tool, _ := strings.Cut(ctx, "/")
	return tracing.Event{
		Kind: tracing.EventToolResult, TimeUnixNano: at.UnixNano(), Session: session, Server: server,
		Method: "tools/call", Name: tool, Arguments: json.RawMessage(`{"q":"x"}`), Content: content,
		ContentHash: hashOf(content), SizeBytes: int64(len(content)), ResponseID: resp, ContextID: ctx,
		ContextType: tracing.TypeExternal, RetrievalScore: 0.7, RetrievalSource: "lexical",
		TokenEstimate: int64(len(text) / 4), Summary: text,
	}
}

// turn is one response: its contexts, their texts and weights.
type turn struct {
	session, resp string
	ctxs          []string
	texts         []string
	weights       []float64
}

// events are the unit events and the response event of the turn.
func (tr turn) events(at time.Time) []tracing.Event {
	var evs []tracing.Event
	units := make([]tracing.ResponseUnit, 0, len(tr.ctxs))
	for i, c := range tr.ctxs {
		ev := unitEvent(tr.session, tr.resp, c, tr.texts[i], at.Add(time.Duration(i)*time.Millisecond))
		evs = append(evs, ev)
		units = append(units, tracing.ResponseUnit{ContextID: c, ContentHash: ev.ContentHash, Weight: tr.weights[i]})
	}
	evs = append(evs, tracing.Event{
		Kind: tracing.EventResponse, ResponseID: tr.resp, Session: tr.session,
		TimeUnixNano: at.Add(time.Second).UnixNano(), Units: units,
	})
	return evs
}

func record(t testing.TB, p tracing.Tracing, evs ...tracing.Event) []string {
	t.Helper()
	res, err := p.Record(context.Background(), tracing.RecordRequest{Events: evs})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return res.ChangedURIs
}

// callResult is a decoded CallToolResult.
type callResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
	changed           []string
}

func (r callResult) text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

func call(t testing.TB, p tracing.Tracing, session, tool string, args any) callResult {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.CallTool(context.Background(), tracing.CallToolRequest{Session: session, Name: tool, Arguments: raw})
	if err != nil {
		t.Fatalf("CallTool %s: %v", tool, err)
	}
	var out callResult
	if err := json.Unmarshal(res.Result, &out); err != nil {
		t.Fatalf("CallTool %s: result %s: %v", tool, res.Result, err)
	}
	out.changed = res.ChangedURIs
	return out
}

// callOK calls a tool that must succeed and decodes its structured result.
func callOK[T any](t testing.TB, p tracing.Tracing, session, tool string, args any) (T, callResult) {
	t.Helper()
	res := call(t, p, session, tool, args)
	var v T
	if res.IsError {
		t.Fatalf("%s(%v) failed: %s", tool, args, res.text())
	}
	if err := json.Unmarshal(res.StructuredContent, &v); err != nil {
		t.Fatalf("%s: structuredContent %s: %v", tool, res.StructuredContent, err)
	}
	return v, res
}

// readJSON reads a resource and decodes its JSON text.
func readJSON[T any](t testing.TB, p tracing.Tracing, session, uri string) T {
	t.Helper()
	res, err := p.ReadResource(context.Background(), tracing.ReadResourceRequest{Session: session, URI: uri})
	if err != nil {
		t.Fatalf("ReadResource %s: %v", uri, err)
	}
	var r struct {
		Contents []struct {
			URI      string `json:"uri"`
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(res.Result, &r); err != nil {
		t.Fatalf("ReadResource %s: %s: %v", uri, res.Result, err)
	}
	if len(r.Contents) != 1 || r.Contents[0].URI != uri || r.Contents[0].MimeType != mimeJSON {
		t.Fatalf("ReadResource %s: contents %+v", uri, r.Contents)
	}
	var v T
	if err := json.Unmarshal([]byte(r.Contents[0].Text), &v); err != nil {
		t.Fatalf("ReadResource %s: text %s: %v", uri, r.Contents[0].Text, err)
	}
	return v
}

func writeFile(path string) error { return os.WriteFile(path, []byte("not a directory"), 0o600) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

// testPlugin is a configured tracing plugin of either store.
type testPlugin interface {
	tracing.Tracing
	tracing.HostUser
}

// storeUnderTest opens a configured plugin over one of the stores; the
// tests of the MCP surface run over each.
type storeUnderTest struct {
	name string
	open func(t testing.TB, cfg map[string]any) testPlugin
}

var badgerStore = storeUnderTest{name: "badger", open: func(t testing.TB, cfg map[string]any) testPlugin {
	return configure(t, t.TempDir(), cfg)
}}
