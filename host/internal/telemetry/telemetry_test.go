package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/telemetry/otlptest"
	"github.com/mcphost/mcphost/host/internal/traceparent"
)

const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func newExporter(t *testing.T, opts Options) *Exporter {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(ctx)
	})
	return e
}

func waitSpans(t *testing.T, r *otlptest.Receiver, n int) []otlptest.Span {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spans, err := r.Wait(ctx, func(s []otlptest.Span) bool { return len(s) >= n })
	if err != nil {
		t.Fatalf("waiting for %d spans: %v (got %+v)", n, err, spans)
	}
	return spans
}

func TestSpans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params, response string
		forwardTo              string
		wantServer, wantClient string
		wantAttrs              map[string]string // on both spans
		wantError              bool
		continues              bool // the trace is the incoming one
	}{
		{
			name:     "tool call with traceparent",
			params:   `{"name":"demo_echo","arguments":{},"_meta":{"traceparent":"` + incoming + `","tracestate":"vendor=x"}}`,
			response: `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, forwardTo: "echo",
			wantServer: "tools/call demo_echo", wantClient: "tools/call echo",
			wantAttrs: map[string]string{"mcp.method.name": "tools/call", "gen_ai.operation.name": "execute_tool", "jsonrpc.request.id": "7"},
			continues: true,
		},
		{
			name:   "tool error",
			params: `{"name":"demo_fail"}`, response: `{"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[]}}`, forwardTo: "fail",
			wantServer: "tools/call demo_fail", wantClient: "tools/call fail",
			wantAttrs: map[string]string{"error.type": "tool_error"}, wantError: true,
		},
		{
			name:   "JSON-RPC error, not forwarded",
			params: `{"name":"nope"}`, response: `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"unknown tool"}}`,
			wantServer: "tools/call nope",
			wantAttrs:  map[string]string{"error.type": "-32602", "rpc.jsonrpc.error_code": "-32602"}, wantError: true,
		},
		{
			name:   "resource read",
			params: `{"uri":"demo://x"}`, response: `{"jsonrpc":"2.0","id":1,"result":{"contents":[]}}`, forwardTo: "demo://x",
			wantServer: "resources/read", wantClient: "resources/read",
			wantAttrs: map[string]string{"mcp.resource.uri": "demo://x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recv := otlptest.NewReceiver()
			defer recv.Close()
			e := newExporter(t, Options{Endpoint: recv.URL(), ServiceName: "gw", BatchInterval: 10 * time.Millisecond,
				Headers: map[string]string{"X-Api-Key": "k1"}})
			method := "tools/call"
			if strings.Contains(tc.params, "uri") {
				method = "resources/read"
			}
			span := e.Begin(router.RequestInfo{Method: method, Session: "s1", ProtocolVersion: "2025-11-25", ID: []byte("7"), Params: []byte(tc.params)})
			var sent string
			if tc.forwardTo != "" {
				sent = span.Forwarded("demo", tc.forwardTo)
			}
			span.End([]byte(tc.response))
			want := 1
			if tc.forwardTo != "" {
				want = 2
			}
			spans := waitSpans(t, recv, want)
			servers := otlptest.Find(spans, tc.wantServer, tracepb.Span_SPAN_KIND_SERVER)
			if len(servers) != 1 {
				t.Fatalf("SERVER span %q: got %+v", tc.wantServer, spans)
			}
			server := servers[0]
			check := []otlptest.Span{server}
			if server.Attributes["mcp.session.id"] != "s1" || server.Attributes["mcp.protocol.version"] != "2025-11-25" {
				t.Errorf("server attributes = %v", server.Attributes)
			}
			if server.Resource["service.name"] != "gw" {
				t.Errorf("resource = %v", server.Resource)
			}
			if tc.continues {
				if server.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || server.ParentSpanID != "00f067aa0ba902b7" {
					t.Errorf("server span trace %s parent %s: not the incoming trace", server.TraceID, server.ParentSpanID)
				}
			} else if server.ParentSpanID != "" || server.TraceID == "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("server span should start a new trace: %+v", server)
			}
			if tc.forwardTo != "" {
				clients := otlptest.Find(spans, tc.wantClient, tracepb.Span_SPAN_KIND_CLIENT)
				if len(clients) != 1 {
					t.Fatalf("CLIENT span %q: got %+v", tc.wantClient, spans)
				}
				client := clients[0]
				check = append(check, client)
				if client.TraceID != server.TraceID || client.ParentSpanID != server.SpanID {
					t.Errorf("client span %+v is not the server span's child", client)
				}
				if client.Attributes["mcphost.server"] != "demo" {
					t.Errorf("client attributes = %v", client.Attributes)
				}
				tp, ok := traceparent.Parse(sent)
				if !ok || tp.String() != "00-"+client.TraceID+"-"+client.SpanID+"-01" {
					t.Errorf("traceparent for the backend = %q, want the client span's (%s, %s)", sent, client.TraceID, client.SpanID)
				}
			}
			for _, s := range check {
				for k, v := range tc.wantAttrs {
					if s.Attributes[k] != v {
						t.Errorf("%s %v: %s = %q, want %q", s.Name, s.Kind, k, s.Attributes[k], v)
					}
				}
				if got := s.Status == tracepb.Status_STATUS_CODE_ERROR; got != tc.wantError {
					t.Errorf("%s %v: status %v, want error %v", s.Name, s.Kind, s.Status, tc.wantError)
				}
			}
			if h := recv.Headers(); len(h) == 0 || h[0].Get("X-Api-Key") != "k1" {
				t.Errorf("export headers = %v", h)
			}
		})
	}
}

// A collector that does not answer fills the queue: further spans are
// dropped and counted, ending a span never waits, and Shutdown returns
// when its context ends.
func TestFullQueueDropsAndShutdownIsBounded(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 16), make(chan struct{})
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer collector.Close()
	defer close(release)
	drops := make(chan struct{}, 16)
	e, err := New(context.Background(), Options{Endpoint: collector.URL, QueueSize: 1, BatchSize: 1,
		BatchInterval: time.Hour, ExportTimeout: 2 * time.Second, Dropped: func() { drops <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	end := func() {
		e.Begin(router.RequestInfo{Method: "ping", ID: []byte("1"), Params: []byte(`{}`)}).End([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	}
	end() // exported at once (batch of 1), and held by the collector
	<-arrived
	start := time.Now()
	for range 5 {
		end() // one waits in the queue, four are dropped
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("ending spans with a stuck collector took %v", took)
	}
	for range 4 {
		<-drops
	}
	if got := e.Stats().Dropped; got != 4 {
		t.Errorf("dropped = %d, want 4", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := e.Shutdown(ctx); err == nil {
		t.Error("Shutdown with a stuck collector returned no error")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Shutdown took %v past its bound", took)
	}
}

// An unreachable collector costs failed exports, counted, and nothing else.
func TestUnreachableCollector(t *testing.T) {
	t.Parallel()
	recv := otlptest.NewReceiver()
	recv.SetFailing(true)
	defer recv.Close()
	failed := make(chan struct{}, 4)
	e := newExporter(t, Options{Endpoint: recv.URL(), BatchInterval: 10 * time.Millisecond,
		ExportFailed: func() {
			select {
			case failed <- struct{}{}:
			default:
			}
		}})
	e.Begin(router.RequestInfo{Method: "ping", ID: []byte("1"), Params: []byte(`{}`)}).End([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	<-failed
	if s := e.Stats(); s.Failed != 1 || s.Exported != 0 {
		t.Errorf("stats = %+v, want one failed span", s)
	}
	recv.SetFailing(false)
	e.Begin(router.RequestInfo{Method: "ping", ID: []byte("2"), Params: []byte(`{}`)}).End([]byte(`{"jsonrpc":"2.0","id":2,"result":{}}`))
	waitSpans(t, recv, 1)
}

// A Switch sends spans to the Exporter it holds now, and begins none when
// it holds none.
func TestSwitch(t *testing.T) {
	t.Parallel()
	first, second := otlptest.NewReceiver(), otlptest.NewReceiver()
	defer first.Close()
	defer second.Close()
	s := NewSwitch(newExporter(t, Options{Endpoint: first.URL(), BatchInterval: 10 * time.Millisecond}))
	info := router.RequestInfo{Method: "ping", ID: []byte("1"), Params: []byte(`{}`)}
	s.Begin(info).End([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	waitSpans(t, first, 1)
	previous := s.Swap(newExporter(t, Options{Endpoint: second.URL(), BatchInterval: 10 * time.Millisecond}))
	if err := previous.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Begin(info).End([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	waitSpans(t, second, 1)
	if n := len(first.Spans()); n != 1 {
		t.Errorf("the replaced exporter's collector got %d spans, want 1", n)
	}
	s.Swap(nil)
	if span := s.Begin(info); span != nil {
		t.Errorf("an empty Switch began a span")
	}
}
