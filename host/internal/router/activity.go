package router

import (
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/tidwall/gjson"
)

// Kinds of activity: the requests a client makes of one tool, prompt or
// resource.
const (
	ActivityTool     = "tool"
	ActivityPrompt   = "prompt"
	ActivityResource = "resource"
)

// activityKind is the kind of activity a method is, "" for the others.
func activityKind(method string) string {
	switch method {
	case "tools/call":
		return ActivityTool
	case "prompts/get":
		return ActivityPrompt
	case "resources/read":
		return ActivityResource
	}
	return ""
}

// ActivityOutcome is how a call ended, as the activity log tells it.
type ActivityOutcome string

const (
	// ActivityOK: the backend answered with a result.
	ActivityOK ActivityOutcome = "ok"
	// ActivityError: the client got a JSON-RPC error (ActivityRecord.Code),
	// from the backend or from the proxy (unknown name, server
	// unavailable, too many requests in flight).
	ActivityError ActivityOutcome = "error"
	// ActivityToolError: a tool's result with isError true.
	ActivityToolError ActivityOutcome = "tool_error"
	// ActivityTimeout: the backend did not answer in time.
	ActivityTimeout ActivityOutcome = "timeout"
	// ActivityCancelled: the client cancelled the call, or its session
	// closed, before the backend answered.
	ActivityCancelled ActivityOutcome = "cancelled"
)

// ActivityRecord is one tools/call, prompts/get or resources/read a client
// made through the proxy.
type ActivityRecord struct {
	Time      time.Time // when the request was routed
	SessionID string
	// ClientInfo is the session's clientInfo object as the client sent
	// it (nil when it sent none).
	ClientInfo []byte
	Profile    string
	// Server is "" when the name reached no server.
	Server string
	Kind   string // ActivityTool, ActivityPrompt or ActivityResource
	// Name is the backend's own tool or prompt name, or resource URI;
	// ExposedName is the one the client used.
	Name        string
	ExposedName string
	Outcome     ActivityOutcome
	Code        int // the JSON-RPC error code when Outcome is ActivityError
	Duration    time.Duration
	// RequestBytes is the size of the message sent to the backend (0 when
	// none was sent), ResponseBytes of the backend's answer.
	RequestBytes  int
	ResponseBytes int
	// Arguments (a tool's or prompt's arguments) and Result are copies of
	// the JSON, kept only when the recorder's ActivityCapture asks, and
	// only up to its MaxBytes: a larger one is left out and its size
	// given in ArgumentsBytes or ResultBytes.
	Arguments      []byte
	ArgumentsBytes int
	Result         []byte
	ResultBytes    int
}

// ActivityCapture says what an ActivityRecorder wants besides the
// record's metadata.
type ActivityCapture struct {
	Arguments bool
	Results   bool
	// MaxBytes bounds each of them.
	MaxBytes int
}

// ActivityRecorder is handed a record of every tools/call, prompts/get and
// resources/read a client makes. Its methods run on the message path:
// they must not block and must be safe for concurrent use; Record owns
// the record it is given.
type ActivityRecorder interface {
	Capture() ActivityCapture
	Record(rec *ActivityRecord)
}

// newActivity starts the record of a call to server, nil when no recorder
// is set or method is not recorded. params are the client's.
func (s *Session) newActivity(method, server, name, exposed string, params []byte) *ActivityRecord {
	rec := s.router.opts.Activity
	if rec == nil {
		return nil
	}
	kind := activityKind(method)
	if kind == "" {
		return nil
	}
	s.mu.Lock()
	info := s.clientInfo
	s.mu.Unlock()
	a := &ActivityRecord{
		Time: time.Now(), SessionID: s.id, ClientInfo: info, Profile: s.Profile(),
		Server: server, Kind: kind, Name: name, ExposedName: exposed,
	}
	if c := rec.Capture(); c.Arguments && kind != ActivityResource {
		a.Arguments, a.ArgumentsBytes = capture(jsonrpc.Get(params, "arguments"), c.MaxBytes)
	}
	return a
}

// capture copies raw when it fits in limit bytes, and gives its size.
func capture(raw []byte, limit int) ([]byte, int) {
	if raw == nil || len(raw) > limit {
		return nil, len(raw)
	}
	return append([]byte(nil), raw...), len(raw)
}

// recordUnrouted records a call the proxy answered itself with an error
// before it reached a server (an unknown name, bad params).
func (s *Session) recordUnrouted(method, exposed string, params []byte, code int) {
	if a := s.newActivity(method, "", "", exposed, params); a != nil {
		a.Outcome, a.Code = ActivityError, code
		s.router.opts.Activity.Record(a)
	}
}

// finishActivity completes a call's record and hands it on: msg is the
// backend's answer (nil when the proxy answered), code the proxy's error
// code.
func (r *Router) finishActivity(a *ActivityRecord, outcome Outcome, msg []byte, code int) {
	a.Duration = time.Since(a.Time)
	a.ResponseBytes = len(msg)
	switch outcome {
	case OutcomeOK:
		a.Outcome = ActivityOK
		if a.Kind == ActivityTool && string(jsonrpc.Get(msg, "result.isError")) == "true" {
			a.Outcome = ActivityToolError
		}
		if c := r.opts.Activity.Capture(); c.Results {
			a.Result, a.ResultBytes = capture(jsonrpc.Get(msg, "result"), c.MaxBytes)
		}
	case OutcomeTimeout:
		a.Outcome = ActivityTimeout
	case OutcomeCancelled:
		a.Outcome = ActivityCancelled
	default:
		a.Outcome, a.Code = ActivityError, code
		if msg != nil {
			a.Code = int(gjson.GetBytes(msg, "error.code").Int())
		}
	}
	r.opts.Activity.Record(a)
}
