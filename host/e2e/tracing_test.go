//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/testenv"
)

// recencyDir is the example weighting plugin, a module of its own.
const recencyDir = "../../examples/plugins/recency-weighting"

// traceCall calls a tool and returns its result, failing on errors.
func traceCall(ctx context.Context, t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("call %s: tool error %+v", name, res.Content)
	}
	return res
}

// traceIDs reads _meta["mcphost/trace"] of a traced result.
func traceIDs(t *testing.T, res *mcp.CallToolResult) (responseID, contextID string) {
	t.Helper()
	if res.Meta == nil || res.Meta.AdditionalFields["mcphost/trace"] == nil {
		t.Fatalf("result has no _meta[mcphost/trace]: %+v", res.Meta)
	}
	m, _ := res.Meta.AdditionalFields["mcphost/trace"].(map[string]any)
	responseID, _ = m["response_id"].(string)
	contextID, _ = m["context_id"].(string)
	if responseID == "" || contextID == "" {
		t.Fatalf("incomplete trace ids: %v", m)
	}
	return responseID, contextID
}

// structured decodes a tool result's structuredContent into out.
func structured(t *testing.T, res *mcp.CallToolResult, out any) {
	t.Helper()
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil || res.StructuredContent == nil {
		t.Fatalf("no structuredContent: %+v", res)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("structuredContent %s: %v", raw, err)
	}
}

type tracedContext struct {
	ContextID      string  `json:"context_id"`
	Weight         float64 `json:"weight"`
	Version        int     `json:"version"`
	Type           string  `json:"type"`
	Name           string  `json:"name"`
	URI            string  `json:"uri"`
	TokenEstimate  int64   `json:"token_estimate"`
	RetrievalScore float64 `json:"retrieval_score"`
	Quality        float64 `json:"quality"`
}

type tracedResponse struct {
	ResponseID string          `json:"response_id"`
	Session    string          `json:"session"`
	Contexts   []tracedContext `json:"contexts"`
}

func getTrace(ctx context.Context, t *testing.T, c *client.Client, id string) tracedResponse {
	t.Helper()
	var tr tracedResponse
	structured(t, traceCall(ctx, t, c, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": id}), &tr)
	return tr
}

func readResourceText(ctx context.Context, t *testing.T, c *client.Client, uri string) string {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	var b strings.Builder
	for _, c := range res.Contents {
		if tc, ok := c.(mcp.TextResourceContents); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// compositeWeights is the default composite formula (retrieval 0.4,
// recency 0.3, type 0.2, length 0.1) for units delivered moments before the
// response ended, so that recency is 1 within the tolerance used.
func compositeWeights(cs []tracedContext) []float64 {
	typeValue := map[string]float64{"system": 0.9, "user": 1.0, "external": 0.7, "model_state": 0.5}
	var tokens float64
	for _, c := range cs {
		tokens += float64(c.TokenEstimate)
	}
	scores := make([]float64, len(cs))
	var sum float64
	for i, c := range cs {
		length := 1 / float64(len(cs))
		if tokens > 0 {
			length = float64(c.TokenEstimate) / tokens
		}
		scores[i] = 0.4*c.RetrievalScore + 0.3 + 0.2*typeValue[c.Type] + 0.1*length
		sum += scores[i]
	}
	for i := range scores {
		scores[i] /= sum
	}
	return scores
}

// TestTracing: a session's three tool calls and one resource read make one
// response of four contexts weighted by the composite formula, visible with
// get_trace latest; the same call with new content is version 2 of its
// context; five negative feedbacks deprecate a context; all of it survives
// a restart; and swapping the weighting plugin by a reload (a third-party
// binary pinned by sha256) changes the weights of new responses.
func TestTracing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	const adminToken = "trace-e2e-token"
	recency := testenv.BuildModuleBinary(t, recencyDir)
	sum := fileSHA256(t, recency)
	base := fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = %q
}
%%s
plugin "recency" {
  source = %q
  sha256 = %q
  config {
    half_life = "100ms"
  }
}
%s`, addr, adminAddr, adminToken, recency, sum, exampleServer("ex"))
	cfg := func(weighting string) string {
		return fmt.Sprintf(base, fmt.Sprintf("tracing {\n  store_dir = %q\n  idle_gap = \"1h\"\n  weighting = %q\n}\n", filepath.Join(dir, "trace"), weighting))
	}
	path := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(path, []byte(cfg("composite")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	updated := make(chan string, 64)
	c := httpClient(t, p.URL, clientOptions{notifications: func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/resources/updated" {
			uri, _ := n.Params.AdditionalFields["uri"].(string)
			select {
			case updated <- uri:
			default:
			}
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	//lint:ignore SA1019 a legacy session subscribes with resources/subscribe
	if err := c.Subscribe(ctx, mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: "trace://quality/recent-feedback"}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	// Three tools and a resource: one response, four contexts.
	r1 := traceCall(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "tracing works end to end"})
	responseID, _ := traceIDs(t, r1)
	for _, call := range []struct {
		name string
		args map[string]any
	}{{"mcp__proxy__ex__add", map[string]any{"a": 2, "b": 3}}, {"mcp__proxy__ex__whoami", nil}} {
		if id, _ := traceIDs(t, traceCall(ctx, t, c, call.name, call.args)); id != responseID {
			t.Fatalf("%s went to response %s, not %s", call.name, id, responseID)
		}
	}
	resources, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil || len(resources.Resources) == 0 {
		t.Fatalf("resources: %v %+v", err, resources)
	}
	var exampleURI string
	for _, r := range resources.Resources {
		if strings.HasPrefix(r.URI, "mcp+proxy://ex/") {
			exampleURI = r.URI
			break
		}
	}
	readResourceText(ctx, t, c, exampleURI)
	trace := getTrace(ctx, t, c, "latest")
	if trace.ResponseID != responseID || len(trace.Contexts) != 4 {
		t.Fatalf("get_trace latest: want response %s with 4 contexts, got %+v", responseID, trace)
	}
	// The response is recorded under the session's one id, the client's
	// Mcp-Session-Id, of which the view shows the instance and only the
	// start of the rest: any client may read it, and the whole id lets a
	// request into the session.
	sid := c.GetSessionId()
	instance, own, _ := strings.Cut(sid, router.InstanceSeparator)
	if !router.ValidSessionID(sid) || len(own) < 14 || trace.Session != instance+router.InstanceSeparator+own[:14] {
		t.Fatalf("response shown for session %q; the client's Mcp-Session-Id is %q, of which the view shows the instance and 14 characters", trace.Session, sid)
	}
	want := compositeWeights(trace.Contexts)
	var total float64
	distinct := map[string]bool{}
	for i, ctxu := range trace.Contexts {
		total += ctxu.Weight
		distinct[fmt.Sprintf("%.4f", ctxu.Weight)] = true
		if math.Abs(ctxu.Weight-want[i]) > 2e-3 {
			t.Errorf("context %s (%s%s): weight %.4f, formula gives %.4f", ctxu.ContextID, ctxu.Name, ctxu.URI, ctxu.Weight, want[i])
		}
	}
	if math.Abs(total-1) > 1e-6 || len(distinct) < 3 {
		t.Fatalf("weights should sum to 1 and differ: %+v", trace.Contexts)
	}
	traceCLI := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(mcphost(t), append([]string{"trace", "-admin", "http://" + adminAddr, "-token", adminToken}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("mcphost trace %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := traceCLI("response", "latest"); !strings.Contains(out, responseID) || !strings.Contains(out, trace.Contexts[0].ContextID) {
		t.Fatalf("mcphost trace response latest:\n%s", out)
	}
	for _, format := range []string{"tree", "compact"} {
		res := traceCall(ctx, t, c, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": responseID, "format": format})
		if text := res.Content[0].(mcp.TextContent).Text; !strings.Contains(text, trace.Contexts[0].ContextID) {
			t.Errorf("get_trace format %s does not show the contexts:\n%s", format, text)
		}
	}

	// The same call with new content: version 2, linked to version 1.
	_, counterID := traceIDs(t, traceCall(ctx, t, c, "mcp__proxy__ex__counter", nil))
	traceCall(ctx, t, c, "mcp__proxy__ex__counter", nil)
	var history struct {
		Versions []struct {
			Version         int `json:"version"`
			PreviousVersion int `json:"previous_version"`
		} `json:"versions"`
	}
	structured(t, traceCall(ctx, t, c, "mcp__proxy__tracing__get_evolution_history", map[string]any{"context_id": counterID}), &history)
	if len(history.Versions) != 2 || history.Versions[1].Version != 2 || history.Versions[1].PreviousVersion != 1 {
		t.Fatalf("evolution of the counter: %+v", history)
	}

	// Five negative feedbacks deprecate a context.
	var badID string
	for range 5 {
		_, badID = traceIDs(t, traceCall(ctx, t, c, "mcp__proxy__ex__echo", map[string]any{"text": "misleading"}))
		traceCall(ctx, t, c, "mcp__proxy__tracing__submit_feedback", map[string]any{"response_id": "latest", "score": -1, "text": "wrong"})
	}
	if text := readResourceText(ctx, t, c, "trace://quality/deprecated-contexts"); !strings.Contains(text, badID) {
		t.Fatalf("after five negative feedbacks %s is not deprecated:\n%s", badID, text)
	}
	select {
	case uri := <-updated:
		if uri != "trace://quality/recent-feedback" {
			t.Fatalf("resources/updated for %s, which the client did not subscribe to", uri)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resources/updated for trace://quality/recent-feedback after feedback")
	}
	if out := traceCLI("deprecated"); !strings.Contains(out, badID) {
		t.Fatalf("mcphost trace deprecated does not list %s:\n%s", badID, out)
	}
	if out := traceCLI("context", badID); !strings.Contains(out, badID) {
		t.Fatalf("mcphost trace context:\n%s", out)
	}
	if text := readResourceText(ctx, t, c, "trace://quality/recent-feedback"); !strings.Contains(text, "wrong") {
		t.Fatalf("recent feedback lacks the feedback:\n%s", text)
	}

	// Weighting swap: the third-party recency-only plugin, by reload. With
	// a 100 ms half-life the unit delivered last dominates.
	if err := os.WriteFile(path, []byte(cfg("recency")), 0o644); err != nil {
		t.Fatal(err)
	}
	// Reloaded through the admin API, whose answer says when it is done
	// (a SIGHUP's end shows only in the log; TestReload covers that path).
	var reloaded struct {
		Applied bool `json:"applied"`
	}
	if code := adminPost(t, "http://"+adminAddr, adminToken, "/api/v1/reload", "", &reloaded); code != http.StatusOK || !reloaded.Applied {
		t.Fatalf("reload: HTTP %d, %+v\n%s", code, reloaded, p.Stderr.String())
	}
	traceCall(ctx, t, c, "mcp__proxy__ex__whoami", nil)
	// Time between the two calls is what recency weighting measures.
	time.Sleep(300 * time.Millisecond)
	traceCall(ctx, t, c, "mcp__proxy__ex__add", map[string]any{"a": 1, "b": 1})
	swapped := getTrace(ctx, t, c, "latest")
	newest := 0.0
	for _, u := range swapped.Contexts {
		if u.Name == "add" {
			newest = u.Weight
		}
	}
	if len(swapped.Contexts) != 2 || newest < 0.8 {
		t.Fatalf("after swapping to recency weighting, the newest unit (add) should dominate: %+v", swapped.Contexts)
	}

	// Everything survives a restart.
	firstSession := c.GetSessionId()
	c.Close()
	p.stop(t)
	p2 := startProxyAt(t, path, "http://"+addr+"/mcp")
	c2 := httpClient(t, p2.URL, clientOptions{})
	again := getTrace(ctx, t, c2, responseID)
	if len(again.Contexts) != 4 || again.Contexts[0].Weight != trace.Contexts[0].Weight {
		t.Fatalf("after a restart the response is %+v", again)
	}
	if text := readResourceText(ctx, t, c2, "trace://quality/deprecated-contexts"); !strings.Contains(text, badID) {
		t.Fatalf("after a restart %s is no longer deprecated:\n%s", badID, text)
	}
	// A session of the restarted proxy has an id of its own: latest is
	// not the previous run's session's (with ids counted per process, both
	// were "1").
	if c2.GetSessionId() == firstSession {
		t.Fatalf("the restarted proxy reused session id %q", firstSession)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "mcp__proxy__tracing__get_trace"
	req.Params.Arguments = map[string]any{"response_id": "latest"}
	if res, err := c2.CallTool(ctx, req); err == nil && !res.IsError {
		t.Fatalf("a new session's get_trace latest found another session's response: %+v", res.StructuredContent)
	}
}
