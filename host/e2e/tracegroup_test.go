//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// traceparentCall is a stateless 2026-07-28 tools/call (a session of its
// own, as such a client over HTTP has for every request) carrying tp as
// _meta.traceparent when given, and the _meta["mcphost/trace"] of its
// result.
func traceparentCall(ctx context.Context, t *testing.T, url, tool string, args map[string]any, tp string) (responseID, contextID string) {
	t.Helper()
	meta := maps.Clone(modernMeta)
	if tp != "" {
		meta["traceparent"] = tp
	}
	headers := map[string]string{"MCP-Protocol-Version": modernRevision, "Mcp-Method": "tools/call", "Mcp-Name": tool}
	a, err := mcpPost(ctx, url, headers, callMessage(modernIDs.Add(1), tool, args, meta))
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	res, err := callResultOf(a)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	m, _ := res["_meta"].(map[string]any)
	ids, _ := m["mcphost/trace"].(map[string]any)
	responseID, _ = ids["response_id"].(string)
	contextID, _ = ids["context_id"].(string)
	if responseID == "" || contextID == "" {
		t.Fatalf("%s: result has no trace ids: %v", tool, res)
	}
	return responseID, contextID
}

type groupedTrace struct {
	ResponseID     string          `json:"response_id"`
	UnitsDelivered int             `json:"units_delivered"`
	Contexts       []tracedContext `json:"contexts"`
}

// getGroupedTrace reads get_trace of id through a stateless call.
func getGroupedTrace(ctx context.Context, t *testing.T, url, id string) (groupedTrace, error) {
	const tool = "mcp__proxy__tracing__get_trace"
	headers := map[string]string{"MCP-Protocol-Version": modernRevision, "Mcp-Method": "tools/call", "Mcp-Name": tool}
	a, err := mcpPost(ctx, url, headers, callMessage(modernIDs.Add(1), tool, map[string]any{"response_id": id}, modernMeta))
	if err != nil {
		return groupedTrace{}, err
	}
	res, err := callResultOf(a)
	if err != nil {
		return groupedTrace{}, err
	}
	if isErr, _ := res["isError"].(bool); isErr {
		return groupedTrace{}, fmt.Errorf("get_trace %s: %v", id, res["content"])
	}
	raw, _ := json.Marshal(res["structuredContent"])
	var tr groupedTrace
	if err := json.Unmarshal(raw, &tr); err != nil {
		return groupedTrace{}, fmt.Errorf("get_trace %s: %s: %w", id, raw, err)
	}
	return tr, nil
}

// TestTracingGroupsByTraceID: a 2026-07-28 client over HTTP has a session
// per request, so its traced results would each be a response of one
// unit; with a W3C traceparent in _meta, the units of one trace id form
// one response (whatever session they came on, a legacy session's too),
// weighed over all of them, and two trace ids make two responses. A call
// without a traceparent keeps a response of its own.
func TestTracingGroupsByTraceID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	path := writeConfig(t, fmt.Sprintf(`
listen "http" {
  address = %q
}
tracing {
  store_dir = %q
  idle_gap  = "1h"
}
%s`, addr, dir+"/trace", exampleServer("ex")))
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const (
		traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
		traceB = "0af7651916cd43dd8448eb211c80319c"
	)
	span := func(trace string, n int) string { return fmt.Sprintf("00-%s-%016x-01", trace, n+1) }
	wantA, wantB := "resp_"+traceA, "resp_"+traceB
	contextsA := map[string]bool{}
	for i, text := range []string{"first step of the plan", "second step", "a third, longer step of the same trace"} {
		id, ctxID := traceparentCall(ctx, t, p.URL, "mcp__proxy__ex__echo", map[string]any{"text": text}, span(traceA, i))
		if id != wantA {
			t.Fatalf("call %d of trace A went to response %s, want %s", i, id, wantA)
		}
		contextsA[ctxID] = true
	}
	// A legacy session's call in the same trace joins it.
	legacy := httpClient(t, p.URL, clientOptions{})
	req := mcp.CallToolRequest{}
	req.Params.Name = "mcp__proxy__ex__add"
	req.Params.Arguments = map[string]any{"a": 2, "b": 3}
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"traceparent": span(traceA, 7)}}
	res, err := legacy.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("legacy call: %v %+v", err, res)
	}
	if id, ctxID := traceIDs(t, res); id != wantA {
		t.Fatalf("the legacy session's call of trace A went to %s, want %s", id, wantA)
	} else {
		contextsA[ctxID] = true
	}
	contextsB := map[string]bool{}
	for i, text := range []string{"another trace", "its second unit"} {
		id, ctxID := traceparentCall(ctx, t, p.URL, "mcp__proxy__ex__echo", map[string]any{"text": text}, span(traceB, i))
		if id != wantB {
			t.Fatalf("call %d of trace B went to response %s, want %s", i, id, wantB)
		}
		contextsB[ctxID] = true
	}
	// No traceparent (and an invalid one): the session's own response.
	own, _ := traceparentCall(ctx, t, p.URL, "mcp__proxy__ex__echo", map[string]any{"text": "untraced"}, "")
	bad, _ := traceparentCall(ctx, t, p.URL, "mcp__proxy__ex__echo", map[string]any{"text": "bad trace"}, "00-"+strings.ToUpper(traceA)+"-0000000000000001-01")
	if !strings.HasPrefix(own, "resp_") || own == wantA || own == wantB || bad == wantA || bad == own {
		t.Fatalf("untraced calls went to %s and %s; want responses of their own", own, bad)
	}

	check := func(id string, want map[string]bool) func() error {
		return func() error {
			tr, err := getGroupedTrace(ctx, t, p.URL, id)
			if err != nil {
				return err
			}
			got := map[string]bool{}
			sum := 0.0
			for _, c := range tr.Contexts {
				got[c.ContextID] = true
				sum += c.Weight
				if !(c.Weight > 0) {
					return fmt.Errorf("context %s weighs %v", c.ContextID, c.Weight)
				}
			}
			if !maps.Equal(got, want) || tr.UnitsDelivered != len(want) {
				return fmt.Errorf("response %s has contexts %v (%d delivered), want %v", id, got, tr.UnitsDelivered, want)
			}
			if math.Abs(sum-1) > 1e-6 {
				return fmt.Errorf("weights of %s sum to %v: %+v", id, sum, tr.Contexts)
			}
			return nil
		}
	}
	poll.Until(t, "trace A is one response of its 4 units", check(wantA, contextsA))
	poll.Until(t, "trace B is one response of its 2 units", check(wantB, contextsB))
}
