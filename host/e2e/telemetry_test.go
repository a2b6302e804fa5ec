//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/mcphost/mcphost/host/internal/telemetry/otlptest"
	"github.com/mcphost/mcphost/host/internal/traceparent"
)

// TestOpenTelemetrySpans: with a telemetry block, every request through
// the proxy is exported to an OTLP/HTTP receiver as a SERVER span and, once
// forwarded, a CLIENT child span, with the MCP semantic conventions'
// attributes; the client's params._meta.traceparent continues its trace,
// the backend gets the CLIENT span as its parent in its own _meta, errors
// are marked, and the spans of the last request still go out when the
// proxy shuts down.
func TestOpenTelemetrySpans(t *testing.T) {
	t.Parallel()
	recv := otlptest.NewReceiver()
	defer recv.Close()
	addr := freeAddr(t)
	const secret = "e2e-otlp-secret"
	cfg := writeConfig(t, fmt.Sprintf(`listen "http" {
  address = %q
}
telemetry {
  otlp_endpoint = %q
  headers       = { "x-api-key" = %q }
  service_name  = "mcphost-e2e"
}
%s`, addr, recv.URL(), secret, exampleServer("example")))
	p := runProxy(t, cfg, "http://"+addr+"/mcp", nil)
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]string{} // backend name → exposed name
	for _, tool := range tools.Tools {
		if i := strings.LastIndex(tool.Name, "__"); i >= 0 {
			exposed[tool.Name[i+2:]] = tool.Name
		}
	}
	metaTool, echoTool := exposed["request_meta"], exposed["echo"]
	if metaTool == "" || echoTool == "" {
		t.Fatalf("tools/list: %v", tools.Tools)
	}
	waitFor := func(what string, match func([]otlptest.Span) bool) []otlptest.Span {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		spans, err := recv.Wait(wctx, match)
		if err != nil {
			t.Fatalf("waiting for %s: %v; received %+v\n%s", what, err, spans, p.Stderr.String())
		}
		return spans
	}
	one := func(spans []otlptest.Span, name string, kind tracepb.Span_SpanKind, traceID string) (otlptest.Span, bool) {
		for _, s := range spans {
			if s.Name == name && s.Kind == kind && (traceID == "" || s.TraceID == traceID) {
				return s, true
			}
		}
		return otlptest.Span{}, false
	}

	// A call with the client's trace context continues its trace.
	incoming := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	in, _ := traceparent.Parse(incoming)
	traceID := "0af7651916cd43dd8448eb211c80319c"
	req := mcp.CallToolRequest{}
	req.Params.Name = metaTool
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"traceparent": incoming, "tracestate": "vendor=e2e"}}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError || len(res.Content) == 0 {
		t.Fatalf("call %s: %+v, %v", metaTool, res, err)
	}
	var backendMeta map[string]any
	if err := json.Unmarshal([]byte(res.Content[0].(mcp.TextContent).Text), &backendMeta); err != nil {
		t.Fatal(err)
	}
	sent, _ := backendMeta["traceparent"].(string)
	got, ok := traceparent.Parse(sent)
	if !ok || got.TraceID != in.TraceID || got.SpanID == in.SpanID {
		t.Fatalf("the backend's _meta.traceparent = %q: want trace %s with the proxy's span as parent", sent, traceID)
	}
	if backendMeta["tracestate"] != "vendor=e2e" {
		t.Errorf("the backend's _meta.tracestate = %v, want the client's", backendMeta["tracestate"])
	}
	spans := waitFor("the traced call's spans", func(s []otlptest.Span) bool {
		_, a := one(s, "tools/call "+metaTool, tracepb.Span_SPAN_KIND_SERVER, traceID)
		_, b := one(s, "tools/call request_meta", tracepb.Span_SPAN_KIND_CLIENT, traceID)
		return a && b
	})
	server, _ := one(spans, "tools/call "+metaTool, tracepb.Span_SPAN_KIND_SERVER, traceID)
	client, _ := one(spans, "tools/call request_meta", tracepb.Span_SPAN_KIND_CLIENT, traceID)
	if server.ParentSpanID != "b7ad6b7169203331" {
		t.Errorf("SERVER span parent = %s, want the client's span b7ad6b7169203331", server.ParentSpanID)
	}
	if client.ParentSpanID != server.SpanID {
		t.Errorf("CLIENT span parent = %s, want the SERVER span %s", client.ParentSpanID, server.SpanID)
	}
	if want := "00-" + traceID + "-" + client.SpanID + "-01"; sent != want {
		t.Errorf("the backend got traceparent %s, want the CLIENT span's %s", sent, want)
	}
	for k, v := range map[string]string{
		"mcp.method.name": "tools/call", "gen_ai.tool.name": metaTool, "gen_ai.operation.name": "execute_tool",
	} {
		if server.Attributes[k] != v {
			t.Errorf("SERVER span %s = %q, want %q (attributes %v)", k, server.Attributes[k], v, server.Attributes)
		}
	}
	if server.Attributes["mcp.session.id"] == "" || server.Attributes["jsonrpc.request.id"] == "" ||
		server.Attributes["mcp.protocol.version"] == "" {
		t.Errorf("SERVER span lacks the session or request id: %v", server.Attributes)
	}
	if client.Attributes["mcphost.server"] != "example" || client.Attributes["gen_ai.tool.name"] != "request_meta" {
		t.Errorf("CLIENT span attributes = %v", client.Attributes)
	}
	if server.Resource["service.name"] != "mcphost-e2e" {
		t.Errorf("resource = %v", server.Resource)
	}
	if server.Status == tracepb.Status_STATUS_CODE_ERROR || client.Status == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a successful call's spans are marked as errors: %+v %+v", server, client)
	}

	// Without trace context: a new trace, the SERVER span its root.
	if text := callText(ctx, t, c, echoTool, map[string]any{"text": "fresh"}); text != "fresh" {
		t.Fatalf("echo = %q", text)
	}
	spans = waitFor("the untraced call's spans", func(s []otlptest.Span) bool {
		for _, sp := range s {
			if sp.Name == "tools/call "+echoTool && sp.Kind == tracepb.Span_SPAN_KIND_SERVER {
				return true
			}
		}
		return false
	})
	fresh, _ := one(spans, "tools/call "+echoTool, tracepb.Span_SPAN_KIND_SERVER, "")
	if fresh.ParentSpanID != "" || fresh.TraceID == traceID || len(fresh.TraceID) != 32 {
		t.Errorf("an untraced call's SERVER span = %+v: want the root of a new trace", fresh)
	}

	// A tool that fails (echo without its text): tool_error on both spans.
	if res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: echoTool,
		Meta: &mcp.Meta{AdditionalFields: map[string]any{"traceparent": "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}}); err != nil || !res.IsError {
		t.Fatalf("echo without text: %+v, %v", res, err)
	}
	spans = waitFor("the failed tool's spans", func(s []otlptest.Span) bool {
		_, a := one(s, "tools/call "+echoTool, tracepb.Span_SPAN_KIND_SERVER, "1af7651916cd43dd8448eb211c80319c")
		_, b := one(s, "tools/call echo", tracepb.Span_SPAN_KIND_CLIENT, "1af7651916cd43dd8448eb211c80319c")
		return a && b
	})
	for _, kind := range []tracepb.Span_SpanKind{tracepb.Span_SPAN_KIND_SERVER, tracepb.Span_SPAN_KIND_CLIENT} {
		name := "tools/call " + echoTool
		if kind == tracepb.Span_SPAN_KIND_CLIENT {
			name = "tools/call echo"
		}
		s, _ := one(spans, name, kind, "1af7651916cd43dd8448eb211c80319c")
		if s.Attributes["error.type"] != "tool_error" || s.Status != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("%v span of a failing tool: error.type %q, status %v", kind, s.Attributes["error.type"], s.Status)
		}
	}

	// An unknown tool: the proxy answers -32602 itself; no CLIENT span. It
	// is the last call: its span goes out as the proxy shuts down.
	unknown := strings.Replace(echoTool, "echo", "never", 1)
	if _, err := tryCall(ctx, c, unknown, nil); err == nil {
		t.Fatalf("calling %s succeeded", unknown)
	}
	p.stop(t)
	spans = waitFor("the unknown tool's span", func(s []otlptest.Span) bool {
		_, ok := one(s, "tools/call "+unknown, tracepb.Span_SPAN_KIND_SERVER, "")
		return ok
	})
	bad, _ := one(spans, "tools/call "+unknown, tracepb.Span_SPAN_KIND_SERVER, "")
	if bad.Attributes["error.type"] != "-32602" || bad.Attributes["rpc.jsonrpc.error_code"] != "-32602" ||
		bad.Status != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("unknown tool's SERVER span = %+v", bad)
	}
	if _, ok := one(spans, "tools/call never", tracepb.Span_SPAN_KIND_CLIENT, ""); ok {
		t.Errorf("an unknown tool got a CLIENT span")
	}

	for _, h := range recv.Headers() {
		if h.Get("X-Api-Key") != secret {
			t.Errorf("an export came without the configured header: %v", h)
		}
	}
	if strings.Contains(p.Stderr.String(), secret) {
		t.Errorf("the header's secret value is in mcphost's log:\n%s", p.Stderr.String())
	}
}
