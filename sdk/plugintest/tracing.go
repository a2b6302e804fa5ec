package plugintest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// CheckTracing checks what every tracing plugin must serve, on impl
// already configured with an empty store: it records a client's response
// and then an operator's (a session starting with
// tracing.OperatorCallPrefix), and expects tracing.ResourceRecentResponses
// to be listed, to be reported changed, and to read both newest first with
// their origins. A plugin with tracing.CapabilityToolQuality must then show
// feedback on the client's response in tracing.ResourceToolQuality.
func CheckTracing(t *testing.T, impl tracing.Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	list, err := impl.ListResources(ctx, tracing.ListResourcesRequest{})
	if err != nil {
		t.Fatalf("ListResources: %v", err)
	}
	listed := false
	for _, r := range list.Resources {
		var def struct {
			URI string `json:"uri"`
		}
		listed = listed || json.Unmarshal(r, &def) == nil && def.URI == tracing.ResourceRecentResponses
	}
	if !listed {
		t.Errorf("ListResources does not list %s", tracing.ResourceRecentResponses)
	}

	now := time.Now()
	sessions := []string{"plugintestclient0123456789abcdefghij", tracing.OperatorCallPrefix + "plugintestoperator0123456789abcdef"}
	for i, session := range sessions {
		content := json.RawMessage(`{"content":[{"type":"text","text":"plugintest"}]}`)
		hash := tracing.ContentHash(content)
		resp, ctxID := "plugintest_resp_"+string(rune('a'+i)), "plugintest/echo"
		at := now.Add(time.Duration(i) * time.Second)
		res, err := impl.Record(ctx, tracing.RecordRequest{Events: []tracing.Event{
			{Kind: tracing.EventToolResult, TimeUnixNano: at.UnixNano(), Session: session, Server: "plugintest",
				Method: "tools/call", Name: "echo", Arguments: json.RawMessage(`{}`), Content: content, ContentHash: hash,
				SizeBytes: int64(len(content)), ResponseID: resp, ContextID: ctxID, ContextType: tracing.TypeExternal},
			{Kind: tracing.EventResponse, TimeUnixNano: at.Add(time.Millisecond).UnixNano(), Session: session, ResponseID: resp,
				Units: []tracing.ResponseUnit{{ContextID: ctxID, ContentHash: hash, Weight: 1}}},
		}})
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		changed := false
		for _, u := range res.ChangedURIs {
			changed = changed || u == tracing.ResourceRecentResponses
		}
		if !changed {
			t.Errorf("Record of a finalized response changed %v, not %s", res.ChangedURIs, tracing.ResourceRecentResponses)
		}
	}

	read, err := impl.ReadResource(ctx, tracing.ReadResourceRequest{Session: sessions[0], URI: tracing.ResourceRecentResponses})
	if err != nil {
		t.Fatalf("ReadResource %s: %v", tracing.ResourceRecentResponses, err)
	}
	var result struct {
		Contents []struct {
			Text string `json:"text"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(read.Result, &result); err != nil || len(result.Contents) != 1 {
		t.Fatalf("ReadResource %s: %s: %v", tracing.ResourceRecentResponses, read.Result, err)
	}
	var view struct {
		Responses []struct {
			ResponseID  string `json:"response_id"`
			Session     string `json:"session"`
			Origin      string `json:"origin"`
			TopContexts []struct {
				ContextID string  `json:"context_id"`
				Weight    float64 `json:"weight"`
			} `json:"top_contexts"`
		} `json:"responses"`
	}
	if err := json.Unmarshal([]byte(result.Contents[0].Text), &view); err != nil {
		t.Fatalf("%s: %s: %v", tracing.ResourceRecentResponses, result.Contents[0].Text, err)
	}
	if len(view.Responses) != 2 {
		t.Fatalf("%s lists %d responses, want 2: %s", tracing.ResourceRecentResponses, len(view.Responses), result.Contents[0].Text)
	}
	for i, want := range []struct{ id, origin, session string }{
		{"plugintest_resp_b", "admin", sessions[1]}, {"plugintest_resp_a", "client", sessions[0]},
	} {
		got := view.Responses[i]
		if got.ResponseID != want.id || got.Origin != want.origin || got.Session == "" || !strings.HasPrefix(want.session, got.Session) ||
			len(got.TopContexts) != 1 || got.TopContexts[0].ContextID != "plugintest/echo" || got.TopContexts[0].Weight != 1 {
			t.Errorf("%s response %d = %+v, want %s with origin %s", tracing.ResourceRecentResponses, i, got, want.id, want.origin)
		}
	}
	checkToolQuality(ctx, t, impl, sessions[0])
}

// checkToolQuality checks tracing.ResourceToolQuality on a plugin that
// claims CapabilityToolQuality (API minor 7): feedback on the echo
// response's one context shows as the tool's quality.
func checkToolQuality(ctx context.Context, t *testing.T, impl tracing.Tracing, session string) {
	t.Helper()
	info, err := impl.Info(ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !slices.Contains(info.Capabilities, tracing.CapabilityToolQuality) {
		return
	}
	args, _ := json.Marshal(map[string]any{"response_id": "plugintest_resp_a", "score": -1})
	fb, err := impl.CallTool(ctx, tracing.CallToolRequest{Session: session, Name: tracing.ToolSubmitFeedback, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tracing.ToolSubmitFeedback, err)
	}
	if !slices.Contains(fb.ChangedURIs, tracing.ResourceToolQuality) {
		t.Errorf("feedback changed %v, not %s", fb.ChangedURIs, tracing.ResourceToolQuality)
	}
	read, err := impl.ReadResource(ctx, tracing.ReadResourceRequest{Session: session, URI: tracing.ResourceToolQuality})
	if err != nil {
		t.Fatalf("ReadResource %s: %v", tracing.ResourceToolQuality, err)
	}
	var result struct {
		Contents []struct {
			Text string `json:"text"`
		} `json:"contents"`
	}
	var view tracing.ToolQualityView
	if err := json.Unmarshal(read.Result, &result); err != nil || len(result.Contents) != 1 ||
		json.Unmarshal([]byte(result.Contents[0].Text), &view) != nil {
		t.Fatalf("ReadResource %s: %s: %v", tracing.ResourceToolQuality, read.Result, err)
	}
	for _, tq := range view.Tools {
		if tq.Server == "plugintest" && tq.Name == "echo" {
			if tq.Quality >= 0 || tq.FeedbackCount < 1 || tq.Contexts != 1 {
				t.Errorf("%s: echo = %+v after feedback -1, want a negative quality of its one context", tracing.ResourceToolQuality, tq)
			}
			return
		}
	}
	t.Errorf("%s lacks plugintest/echo after feedback: %s", tracing.ResourceToolQuality, result.Contents[0].Text)
}
