package router

import (
	"sync"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Tracer is told about the content the router delivers (context tracing).
// Its methods run on the message path: they must be cheap and never block.
type Tracer interface {
	// ContextID is the stable identity of the context a request's result
	// will be. The router asks while the backend works on the request, so
	// that hashing large arguments adds nothing to the wait.
	ContextID(server, method, name, uri string, args []byte) string
	// TraceResponse is the response a request's result belongs to
	// whatever session delivers it (from the W3C trace id in its params'
	// _meta), or "" for the session's own turn. Asked with ContextID.
	TraceResponse(params []byte) string
	// Traced notes a result about to be delivered, for a request whose
	// ContextID was contextID and TraceResponse response, and returns the
	// value for the result's _meta["mcphost/trace"], or nil.
	Traced(session, server, method, name, uri, contextID, response string, args, result []byte) []byte
	// SessionProfile notes the profile the session was opened for
	// (Session.SetProfile), which its events then carry until
	// SessionClosed.
	SessionProfile(session, profile string)
	// SessionClosed ends the session's open response.
	SessionClosed(session string)
}

// tracedMethods deliver context units.
var tracedMethods = map[string]bool{"tools/call": true, "resources/read": true, "prompts/get": true}

// traceInfo is what the tracer needs of a request: the names the backend
// knows, the arguments (and the params they are part of), and the context
// id and trace response worked out from them once.
type traceInfo struct {
	name, uri    string
	args, params []byte
	once         sync.Once
	contextID    string
	response     string
}

// id works out the request's context id (and its trace response) the
// first time it is asked: on the client's side once the request is sent,
// or, should the answer come first, on the writer's (which then waits for
// the other to finish).
func (t *traceInfo) id(tr Tracer, server, method string) string {
	t.once.Do(func() {
		t.contextID = tr.ContextID(server, method, t.name, t.uri, t.args)
		t.response = tr.TraceResponse(t.params)
		t.params = nil
	})
	return t.contextID
}

// newTraceInfo takes what tracing needs of a request whose name (or URI)
// the backend knows as original. params are referenced, not copied.
func newTraceInfo(method string, params []byte, original string) *traceInfo {
	if method == "resources/read" {
		return &traceInfo{uri: original, params: params}
	}
	return &traceInfo{name: original, args: jsonrpc.Get(params, "arguments"), params: params}
}

var traceMetaPath = `result._meta.mcphost/trace`

// traceResult hands a final result to the tracer and tags it with the ids
// the tracer returns. Errors, tool errors and input-required results are
// not content delivered, so they are not traced.
func (b *backend) traceResult(p *pending, msg []byte) []byte {
	raw := jsonrpc.Get(msg, "result") // no copy of a large result
	if len(raw) == 0 || raw[0] != '{' || string(jsonrpc.Get(raw, "isError")) == "true" {
		return msg
	}
	if t, _ := jsonrpc.GetString(raw, "resultType"); t == "input_required" {
		return msg
	}
	tr := b.router.opts.Tracer
	contextID := p.trace.id(tr, b.spec.Name, p.method)
	meta := tr.Traced(p.session.id, b.spec.Name, p.method, p.trace.name, p.trace.uri, contextID, p.trace.response, p.trace.args, raw)
	if meta == nil {
		return msg
	}
	if out, err := jsonrpc.Set(msg, traceMetaPath, meta); err == nil {
		return out
	}
	return msg
}
