// Package telemetry exports one OpenTelemetry span per MCP request through
// the proxy, over OTLP/HTTP: a SERVER span for the client's request and,
// when the proxy forwards it, a CLIENT span for the backend's part, with
// the attributes of the OpenTelemetry MCP semantic conventions. The trace
// is taken from the request's params._meta.traceparent and passed on to
// the backend the same way.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/traceparent"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// TracesPath is where, under the endpoint, spans are sent (OTLP/HTTP).
const TracesPath = "/v1/traces"

// Options configure an Exporter. Zero values take the defaults.
type Options struct {
	// Endpoint is the collector's base URL (http or https).
	Endpoint string
	// Headers go with every export (secrets: never logged).
	Headers map[string]string
	// ServiceName and ServiceVersion are the resource's service.name and
	// service.version.
	ServiceName, ServiceVersion string
	Logger                      hclog.Logger
	// QueueSize bounds the spans waiting for export (default 4096); a
	// span beyond it is dropped and counted. BatchSize spans go in one
	// export (default 512), at least every BatchInterval (default 2s);
	// an export gives up after ExportTimeout (default 10s).
	QueueSize, BatchSize         int
	BatchInterval, ExportTimeout time.Duration
	// Dropped and ExportFailed, when set, are told each span dropped for a
	// full queue and each failed export (metrics). They must not block.
	Dropped, ExportFailed func()
}

// Exporter turns requests into spans and exports them. It is a
// router.Spans. Shutdown stops it.
type Exporter struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	queue    *queue
}

// New starts an Exporter. Nothing is sent before the first span ends, so
// a collector that is down does not stop the proxy from starting.
func New(ctx context.Context, opts Options) (*Exporter, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "mcphost"
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	if opts.BatchInterval <= 0 {
		opts.BatchInterval = 2 * time.Second
	}
	if opts.ExportTimeout <= 0 {
		opts.ExportTimeout = 10 * time.Second
	}
	exporter, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(strings.TrimSuffix(opts.Endpoint, "/")+TracesPath),
		otlptracehttp.WithHeaders(opts.Headers),
		otlptracehttp.WithTimeout(opts.ExportTimeout),
		// A failed batch is dropped rather than retried: retrying holds
		// the queue and so drops newer spans instead.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	q := newQueue(exporter, opts.Logger, opts.QueueSize, opts.BatchSize, opts.BatchInterval, opts.ExportTimeout)
	q.onDrop, q.onFail = opts.Dropped, opts.ExportFailed
	attrs := []attribute.KeyValue{attribute.String("service.name", opts.ServiceName)}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", opts.ServiceVersion))
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSpanProcessor(q),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Exporter{provider: provider, tracer: provider.Tracer("github.com/mcphost/mcphost"), queue: q}, nil
}

// Stats are an Exporter's counts so far.
type Stats struct {
	Exported, Dropped, Failed uint64
}

// Stats returns the counts so far.
func (e *Exporter) Stats() Stats {
	return Stats{Exported: e.queue.exported.Load(), Dropped: e.queue.dropped.Load(), Failed: e.queue.failed.Load()}
}

// ForceFlush exports the spans ended so far, waiting until ctx ends.
func (e *Exporter) ForceFlush(ctx context.Context) error { return e.provider.ForceFlush(ctx) }

// Shutdown exports what is queued, waiting until ctx ends, and stops.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if err := e.provider.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}

// Begin starts the SERVER span of a client request (router.Spans).
func (e *Exporter) Begin(info router.RequestInfo) router.RequestSpan {
	ctx := context.Background()
	if tp, ok := traceparent.FromParams(info.Params); ok {
		ts, _ := jsonrpc.GetString(info.Params, "_meta."+traceparent.StateMetaKey)
		state, _ := trace.ParseTraceState(ts)
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tp.TraceID, SpanID: tp.SpanID, TraceFlags: trace.TraceFlags(tp.Flags), TraceState: state, Remote: true,
		}))
	}
	target := targetOf(info.Method, info.Params)
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, attribute.String("mcp.method.name", info.Method))
	if info.Session != "" {
		attrs = append(attrs, attribute.String("mcp.session.id", info.Session))
	}
	if info.ProtocolVersion != "" {
		attrs = append(attrs, attribute.String("mcp.protocol.version", info.ProtocolVersion))
	}
	attrs = append(attrs, requestIDAttr(info.ID))
	attrs = append(attrs, targetAttrs(info.Method, target)...)
	ctx, span := e.tracer.Start(ctx, spanName(info.Method, target),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	return &requestSpan{e: e, ctx: ctx, server: span, method: info.Method, id: info.ID}
}

// requestSpan is one client request's spans.
type requestSpan struct {
	e      *Exporter
	ctx    context.Context
	server trace.Span
	method string
	id     []byte

	mu     sync.Mutex
	client trace.Span
}

// Forwarded starts the CLIENT span, the SERVER span's child, and returns
// its traceparent for the backend.
func (r *requestSpan) Forwarded(server, original string) string {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String("mcp.method.name", r.method), attribute.String("mcphost.server", server),
		requestIDAttr(r.id))
	attrs = append(attrs, targetAttrs(r.method, original)...)
	_, span := r.e.tracer.Start(r.ctx, spanName(r.method, original),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	r.mu.Lock()
	previous := r.client
	r.client = span
	r.mu.Unlock()
	if previous != nil {
		previous.End() // sent on again (a retry): the last part is the one that answers
	}
	sc := span.SpanContext()
	if !sc.IsValid() {
		return ""
	}
	return traceparent.TraceParent{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Flags: byte(sc.TraceFlags())}.String()
}

// End ends the CLIENT span (if the request was forwarded) and then the
// SERVER span, marking both with the response's error, if any.
func (r *requestSpan) End(response []byte) {
	attrs, status, desc := outcomeOf(response)
	r.mu.Lock()
	client := r.client
	r.mu.Unlock()
	for _, span := range []trace.Span{client, r.server} {
		if span == nil {
			continue
		}
		if status == codes.Error {
			span.SetAttributes(attrs...)
			span.SetStatus(codes.Error, desc)
		}
		span.End()
	}
}

// outcomeOf reads a response's error: a JSON-RPC error (error.type is its
// code, as the conventions ask), a tool result with isError
// ("tool_error"), or no response at all ("cancelled").
func outcomeOf(response []byte) ([]attribute.KeyValue, codes.Code, string) {
	if response == nil {
		return []attribute.KeyValue{attribute.String("error.type", "cancelled")}, codes.Error, "the request ended without a response"
	}
	// The message path's scanner, not gjson: a result can be megabytes.
	if raw := jsonrpc.Get(response, "error"); raw != nil {
		e := gjson.ParseBytes(raw)
		code := e.Get("code").Int()
		return []attribute.KeyValue{
			attribute.String("error.type", strconv.FormatInt(code, 10)),
			attribute.Int64("rpc.jsonrpc.error_code", code),
		}, codes.Error, e.Get("message").Str
	}
	if string(jsonrpc.Get(response, "result.isError")) == "true" {
		return []attribute.KeyValue{attribute.String("error.type", "tool_error")}, codes.Error, "the tool reported an error"
	}
	return nil, codes.Unset, ""
}

// targetOf is the request's tool or prompt name or resource URI.
func targetOf(method string, params []byte) string {
	switch method {
	case "tools/call", "prompts/get":
		name, _ := jsonrpc.GetString(params, "name")
		return name
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		uri, _ := jsonrpc.GetString(params, "uri")
		return uri
	}
	return ""
}

// targetAttrs are the conventions' attributes for a request's target.
func targetAttrs(method, target string) []attribute.KeyValue {
	if target == "" {
		return nil
	}
	switch method {
	case "tools/call":
		return []attribute.KeyValue{attribute.String("gen_ai.tool.name", target), attribute.String("gen_ai.operation.name", "execute_tool")}
	case "prompts/get":
		return []attribute.KeyValue{attribute.String("gen_ai.prompt.name", target)}
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return []attribute.KeyValue{attribute.String("mcp.resource.uri", target)}
	}
	return nil
}

// spanName is "{mcp.method.name} {target}" for a tool or prompt (a
// resource URI is left out: too many values), else the method.
func spanName(method, target string) string {
	if target != "" && (method == "tools/call" || method == "prompts/get") {
		return method + " " + target
	}
	return method
}

// requestIDAttr is jsonrpc.request.id: the id as written, a string's
// without its quotes.
func requestIDAttr(id []byte) attribute.KeyValue {
	if len(id) > 0 && id[0] == '"' {
		return attribute.String("jsonrpc.request.id", gjson.ParseBytes(id).Str)
	}
	return attribute.String("jsonrpc.request.id", string(id))
}
