package router

import (
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Outcome is how a request forwarded to a backend ended.
type Outcome string

const (
	// OutcomeOK: the backend answered with a result.
	OutcomeOK Outcome = "ok"
	// OutcomeError: the backend answered with a JSON-RPC error.
	OutcomeError Outcome = "error"
	// OutcomeTimeout: the backend did not answer within its timeout.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeUnavailable: the backend was not running, or its connection
	// failed before it answered.
	OutcomeUnavailable Outcome = "unavailable"
	// OutcomeCancelled: the client cancelled the request, or its session
	// closed, before the backend answered.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeRejected: the session already had as many requests open at
	// the backend as it may; the request was answered at once, unsent.
	OutcomeRejected Outcome = "rejected"
)

// Observer is told about every client request the router forwards to a
// backend (not the router's own initialize and list requests). Its methods
// run on the message path: they must be cheap, must not block, and must be
// safe for concurrent use. server and method come from a small, fixed set
// (the configured server names and the forwarded MCP methods).
type Observer interface {
	// RequestStarted is called as the request is sent, with the size of
	// the message sent to the backend (0 when it is refused unsent, the
	// backend not running).
	RequestStarted(server, method string, requestBytes int)
	// RequestFinished is called exactly once for every RequestStarted.
	// profile is the profile of the session the request came from ("" for
	// the main endpoint; the configured profiles are a small set).
	// responseBytes is the size of the backend's response, 0 when the
	// proxy answered itself (timeout, unavailable, cancelled).
	RequestFinished(profile, server, method string, outcome Outcome, elapsed time.Duration, responseBytes int)
	// LateResponse is called for a response from server whose request is
	// no longer open (the client cancelled it, it timed out, its session
	// closed) or was never sent: a backend that keeps working after a
	// cancellation shows here.
	LateResponse(server string)
}

// observeFinished reports the end of a forwarded client request, to the
// Observer and the activity log: msg is the backend's answer (nil when
// the proxy answers), code the JSON-RPC error code the proxy answers with.
func (b *backend) observeFinished(p *pending, outcome Outcome, msg []byte, code int) {
	if p.session != nil {
		b.requestFinished(p.session, p.method, outcome, time.Since(p.start), len(msg))
	}
	if p.activity != nil {
		b.router.finishActivity(p.activity, outcome, msg, code)
		p.activity = nil // one record per call, whatever ends it
	}
}

// requestFinished tells the Observer, if any, that a request of session s
// ended.
func (b *backend) requestFinished(s *Session, method string, outcome Outcome, elapsed time.Duration, responseBytes int) {
	o := b.router.opts.Observer
	if o == nil {
		return
	}
	o.RequestFinished(s.Profile(), b.spec.Name, method, outcome, elapsed, responseBytes)
}

// Spans records one span per client request (OpenTelemetry). Options.Spans
// nil turns it off, and then costs one nil check per request. Its methods
// run on the message path: they must be cheap, must not block, and must be
// safe for concurrent use.
type Spans interface {
	// Begin starts the span of a client request the session accepted.
	Begin(RequestInfo) RequestSpan
}

// RequestInfo is a client request as the proxy received it.
type RequestInfo struct {
	Method, Session, ProtocolVersion string
	// ID and Params are the request's raw JSON-RPC id and params.
	ID, Params []byte
}

// RequestSpan is the span of one client request.
type RequestSpan interface {
	// Forwarded notes that the request is sent on to server, which knows
	// its tool or prompt name or resource URI as original. It returns the
	// traceparent to put in the backend request's params._meta, or "".
	Forwarded(server, original string) string
	// End ends the span with the response the client gets; nil when the
	// request ended without one (cancelled). It is called at most once,
	// before the response is written; response is the router's to edit
	// after End returns, so End must not keep it.
	End(response []byte)
}

// spanReply is the reply stream of a request with a span: the response
// put on it ends the span. It wraps the request's own reply stream (nil:
// the session's outbox), and exists only while Options.Spans is set.
type spanReply struct {
	inner replyStream
	s     *Session
	span  RequestSpan
	ended atomic.Bool
}

// beginSpan starts the span of a client request and returns the reply
// stream that ends it.
func (s *Session) beginSpan(spans Spans, method string, id, params []byte, reply replyStream) replyStream {
	span := spans.Begin(RequestInfo{Method: method, Session: s.id, ProtocolVersion: s.ProtocolVersion(), ID: id, Params: params})
	if span == nil {
		return reply
	}
	return &spanReply{inner: reply, s: s, span: span}
}

func (r *spanReply) end(msg []byte) {
	if r.ended.CompareAndSwap(false, true) {
		r.span.End(msg)
	}
}

func (r *spanReply) put(it outItem) bool {
	if it.final {
		if it.abandoned {
			r.end(nil)
		} else {
			r.end(it.msg)
		}
	}
	if r.inner != nil {
		return r.inner.put(it)
	}
	if it.final {
		r.s.out.put(it)
		return true
	}
	return false // the session's outbox takes it (deliverItem)
}

func (r *spanReply) abandon() {
	r.end(nil)
	if r.inner != nil {
		r.inner.abandon()
	}
}

// forwardedSpan tells the span of a request (when there is one) that it
// goes to b, and returns the edit that passes the trace on in _meta.
func (b *backend) forwardedSpan(reply replyStream, original string) (memberEdit, bool) {
	sr, ok := reply.(*spanReply)
	if !ok {
		return memberEdit{}, false
	}
	tp := sr.span.Forwarded(b.spec.Name, original)
	if tp == "" {
		return memberEdit{}, false
	}
	return memberEdit{path: "_meta.traceparent", raw: jsonrpc.String(tp)}, true
}
