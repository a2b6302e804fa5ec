package toolsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/plugins/tracestore"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// openTracingStore runs the built-in tracing plugin (Badger store) in
// process, as mcphost does with mode = "inprocess".
func openTracingStore(t *testing.T) *tracestore.Plugin {
	t.Helper()
	p := tracestore.New(hclog.NewNullLogger())
	cfg, _ := json.Marshal(map[string]any{"dir": t.TempDir()})
	res, err := p.Configure(context.Background(), base.ConfigureRequest{Config: cfg})
	if err != nil || base.HasErrors(res.Diagnostics) {
		t.Fatalf("configure the tracing plugin: %v %+v", err, res.Diagnostics)
	}
	t.Cleanup(func() {
		if _, err := p.Stop(context.Background(), base.StopRequest{DeadlineUnixNano: time.Now().Add(10 * time.Second).UnixNano()}); err != nil {
			t.Errorf("stop the tracing plugin: %v", err)
		}
	})
	return p
}

// deliverAndRate records response n holding a result of server's tool
// (one call, so one context, whatever n) and gives it score through the
// submit_feedback tool, as a client would; it returns the resources the
// feedback changed.
func deliverAndRate(t *testing.T, p tracing.Tracing, server, tool string, n int, score float64) []string {
	t.Helper()
	ctx := context.Background()
	content := json.RawMessage(`{"content":[{"type":"text","text":"result"}]}`)
	resp := fmt.Sprintf("resp-%s-%d", tool, n)
	contextID := fmt.Sprintf("ctx_%s_%s", server, tool)
	at := time.Now().Add(time.Duration(n) * time.Second)
	hash := tracing.ContentHash(content)
	_, err := p.Record(ctx, tracing.RecordRequest{Events: []tracing.Event{
		{
			Kind: tracing.EventToolResult, TimeUnixNano: at.UnixNano(), Session: "s", Server: server, Method: "tools/call",
			Name: tool, Arguments: json.RawMessage(`{"path":"/f"}`), Content: content, ContentHash: hash,
			SizeBytes: int64(len(content)), ResponseID: resp, ContextID: contextID, ContextType: tracing.TypeExternal,
			RetrievalScore: 0.5, RetrievalSource: "default", TokenEstimate: 2, Summary: "result",
		},
		{
			Kind: tracing.EventResponse, TimeUnixNano: at.Add(time.Millisecond).UnixNano(), Session: "s", ResponseID: resp,
			Units: []tracing.ResponseUnit{{ContextID: contextID, ContentHash: hash, Weight: 1}},
		},
	}})
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	args, _ := json.Marshal(map[string]any{"response_id": resp, "score": score})
	res, err := p.CallTool(ctx, tracing.CallToolRequest{Session: "s", Name: tracing.ToolSubmitFeedback, Arguments: args})
	if err != nil {
		t.Fatalf("submit_feedback: %v", err)
	}
	var out struct{ IsError bool }
	if json.Unmarshal(res.Result, &out) != nil || out.IsError {
		t.Fatalf("submit_feedback failed: %s", res.Result)
	}
	return res.ChangedURIs
}

// TestNegativeFeedbackMovesToolDown: a tool ranked first for a query sinks
// below another once clients rate its results badly through the tracing
// feedback tool, with the real tracing plugin, its tool quality resource
// and a QualityKeeper told of the change as the host tells it.
func TestNegativeFeedbackMovesToolDown(t *testing.T) {
	t.Parallel()
	ix := fixtureIndex(t)
	const query = "read the complete contents of a file as text"
	bad := fixtureExposed("filesystem", "read_file")
	before := ix.Search(Query{Text: query, Limit: MaxLimit})
	rankBefore := rankOf(before, bad)
	if rankBefore != 1 {
		t.Fatalf("read_file ranks %d for %q before any feedback; the test needs a tool ranked first", rankBefore, query)
	}

	p := openTracingStore(t)
	keeper := NewQualityKeeper(QualityKeeperOptions{
		Read: func(ctx context.Context) ([]byte, error) {
			res, err := p.ReadResource(ctx, tracing.ReadResourceRequest{URI: tracing.ResourceToolQuality})
			return res.Result, err
		},
		Refresh: time.Hour, // only the change below makes it reread
	})
	t.Cleanup(keeper.Close)

	var changed []string
	for n := range 5 {
		changed = deliverAndRate(t, p, "filesystem", "read_file", n, -1)
	}
	keeper.Changed(changed)
	poll.Until(t, "the keeper to learn read_file's quality", func() bool {
		_, ok := keeper.ToolQuality()[QualityKey{"filesystem", "read_file"}]
		return ok
	})
	q := keeper.ToolQuality()[QualityKey{"filesystem", "read_file"}]
	if q.Score > -0.3 || !q.Deprecated {
		t.Fatalf("read_file quality after 5 feedbacks of -1 = %+v, want deprecated at or below -0.3", q)
	}
	after := ix.Search(Query{Text: query, Limit: MaxLimit, Quality: keeper.ToolQuality()})
	rankAfter := rankOf(after, bad)
	t.Logf("read_file for %q: rank %d (score %.3f) before feedback, %d after (%s)",
		query, rankBefore, before[0].Score, rankAfter, after[rankAfter-1].Why)
	if rankAfter <= rankBefore {
		t.Errorf("read_file still ranks %d after negative feedback", rankAfter)
	}

	// Good feedback lifts a tool the same way, short of deprecation.
	for n := range 3 {
		deliverAndRate(t, p, "filesystem", "read_text_file", n, 1)
	}
	if err := keeper.Refreshed(context.Background()); err != nil {
		t.Fatal(err)
	}
	lifted := ix.Search(Query{Text: query, Limit: MaxLimit, Quality: keeper.ToolQuality()})
	good := fixtureExposed("filesystem", "read_text_file")
	if rankOf(lifted, good) != 1 || lifted[0].Score <= lifted[0].Lexical {
		t.Errorf("read_text_file after good feedback: rank %d, score %.3f over lexical %.3f; want first and raised",
			rankOf(lifted, good), lifted[0].Score, lifted[0].Lexical)
	}
}

func TestParseToolQuality(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw string
		want      map[QualityKey]Quality
		err       bool
	}{
		{"two tools", `{"contents":[{"uri":"trace://quality/tools","text":"{\"tools\":[{\"server\":\"a\",\"name\":\"x\",\"quality\":0.5},{\"server\":\"b\",\"name\":\"y\",\"quality\":-2,\"deprecated\":true}]}"}]}`,
			map[QualityKey]Quality{{"a", "x"}: {Score: 0.5}, {"b", "y"}: {Score: -1, Deprecated: true}}, false},
		{"no contents", `{"contents":[]}`, nil, true},
		{"not JSON text", `{"contents":[{"text":"nope"}]}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseToolQuality([]byte(tc.raw))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %t", err, tc.err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
