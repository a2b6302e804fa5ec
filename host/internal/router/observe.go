package router

import "time"

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
	// responseBytes is the size of the backend's response, 0 when the
	// proxy answered itself (timeout, unavailable, cancelled).
	RequestFinished(server, method string, outcome Outcome, elapsed time.Duration, responseBytes int)
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
	if o := b.router.opts.Observer; o != nil && p.session != nil {
		o.RequestFinished(b.spec.Name, p.method, outcome, time.Since(p.start), len(msg))
	}
	if p.activity != nil {
		b.router.finishActivity(p.activity, outcome, msg, code)
		p.activity = nil // one record per call, whatever ends it
	}
}
