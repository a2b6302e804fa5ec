// Package admin serves mcphost's administration API: JSON under /api/v1 for
// server status and lifecycle (start, stop, restart), the tool catalogue,
// client sessions, backend logs (a tail and a live Server-Sent Events
// stream), a metrics summary, the redacted configuration, reload, and a
// stream of state-change events; and, outside /api/v1, the Prometheus text at
// /metrics (Options.Metrics). `mcphost ctl` is its command-line client.
//
// Unlike the admin API of the system mcphost replaces, it never hands out
// secrets and never acts on an unauthenticated request:
//
//   - Every mutating request (POST) needs `Authorization: Bearer <token>`,
//     always. When the listener is not bound to a loopback address, every
//     request does. A missing or wrong token is answered 401 with
//     `WWW-Authenticate: Bearer realm="mcphost-admin"`; tokens are compared
//     in constant time and are never logged or returned.
//   - When no token is configured, one is generated (32 random bytes, hex) at
//     Start and written to a file only the owner can read (see
//     DefaultTokenFile for where); the file is removed on Close. `mcphost
//     ctl` reads it from there.
//   - Each copy of mcphost also serves the API on its own Unix socket
//     (StartSocket, DefaultSocketPath: mode 0600 in a 0700 directory).
//     Requests over it need no token when the peer is the current user or
//     root (checked with SO_PEERCRED on Linux): they are the ones who can
//     read the token file anyway. A peer of another uid is treated like a
//     TCP client.
//   - DNS-rebinding and cross-site defence: on a loopback listener the Host
//     header must name a loopback host (localhost, 127.0.0.0/8, ::1); on a
//     listener bound to a specific non-loopback host, that host is accepted
//     too; on a wildcard listener (0.0.0.0, ::) any Host is accepted because
//     every request needs the token anyway. A request whose Origin header is
//     not a loopback origin is refused (403). No CORS header is ever sent, so
//     a browser page can never read a response.
//   - Responses carry only what the Control hands out; Control.Config must
//     already be redacted.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownServer is returned (possibly wrapped) by a Control for a server
// name it does not know; the API answers 404.
// ErrTracingOff is returned by the tracing calls when tracing is off.
var ErrTracingOff = errors.New("context tracing is not configured (add a tracing block)")

var ErrUnknownServer = errors.New("unknown server")

// ErrNothingRecorded is returned (possibly wrapped) by the tracing calls
// when context tracing has recorded nothing of what was asked for yet; the
// API answers 404 with the message, which says so in plain words.
var ErrNothingRecorded = errors.New("nothing recorded yet")

// ErrReloadRefused may be returned (possibly wrapped) by Control.Reload when
// the new configuration is not applied; the API answers 422 with the
// result's diagnostics. A ReloadResult with Applied false and a nil error is
// treated the same way.
var ErrReloadRefused = errors.New("configuration refused")

// Control is what the admin API needs from the proxy.
type Control interface {
	// Servers reports every configured backend.
	Servers() []ServerStatus
	// StartServer, StopServer and RestartServer act on one backend. They
	// return ErrUnknownServer for a name that is not configured.
	StartServer(ctx context.Context, name string) error
	StopServer(ctx context.Context, name string) error
	RestartServer(ctx context.Context, name string) error
	// Tools is the aggregated tool catalogue as clients see it.
	// Left-out tools (State "filtered" or "hidden") come with the rest.
	Tools() []Tool
	// Sessions lists the connected downstream clients.
	Sessions() []Session
	// Logs returns the last n lines of a server's log; the name "mcphost"
	// is the host's own log. ErrUnknownServer for an unknown name.
	Logs(name string, n int) ([]string, error)
	// FollowLogs sends the last n lines, then every new line, until ctx
	// ends; the channel is closed then. ErrUnknownServer for an unknown
	// name.
	FollowLogs(ctx context.Context, name string, n int) (<-chan string, error)
	// MetricsSummary is a per-server digest of the request metrics.
	MetricsSummary() MetricsSummary
	// Config is the running configuration, already redacted (no secret
	// values); it is JSON-encoded as it is.
	Config() any
	// Reload re-reads the configuration and applies it. A refused
	// configuration comes back with Applied false and Diagnostics set
	// (and optionally ErrReloadRefused); any other error is a failure.
	Reload(ctx context.Context) (ReloadResult, error)
	// Events streams state changes and reloads; the channel is closed
	// when ctx ends.
	Events(ctx context.Context) <-chan Event
	// TraceTool calls one of context tracing's tools (arguments and result
	// are raw JSON; "latest" names the most recent response of any
	// session). ErrTracingOff when tracing is not configured.
	TraceTool(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error)
	// TraceResource reads one of context tracing's trace:// resources.
	TraceResource(ctx context.Context, uri string) (json.RawMessage, error)
	// Tracing is context tracing's state.
	Tracing() TracingStatus
}

// TracingStatus is context tracing's state: GET /api/v1/tracing. When its
// plugins cannot be used (its store unusable, say) the proxy serves MCP
// without tracing, reports it down with the reason, and retries.
type TracingStatus struct {
	Enabled bool   `json:"enabled"`
	Up      bool   `json:"up"`
	Reason  string `json:"reason,omitempty"` // why it is down
	// Since is when it last came up or went down.
	Since time.Time `json:"since,omitzero"`
	// Failures counts the attempts that failed since it was last up.
	Failures    int       `json:"failures,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// The tracer's queue in this copy: what it has recorded and dropped
	// since start, and what waits to be recorded.
	Responses  uint64 `json:"responses"`
	Dropped    uint64 `json:"dropped"`
	QueueDepth int    `json:"queue_depth"`
	QueueBytes int64  `json:"queue_bytes"`
}

// Server states.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateUnhealthy  = "unhealthy"
	StateRestarting = "restarting"
	StateFailed     = "failed"
	StateStopped    = "stopped"
	// StateNeedsLogin: a person must sign in (`mcphost auth login NAME`,
	// which the reason names) before the server can be used.
	StateNeedsLogin = "needs_login"
)

// ServerStatus describes one backend.
type ServerStatus struct {
	Name            string `json:"name"`
	State           string `json:"state"`
	Reason          string `json:"reason,omitempty"`
	ProtocolVersion string `json:"protocol_version,omitempty"`
	Transport       string `json:"transport"` // transport plugin name
	Tools           int    `json:"tools"`
	Prompts         int    `json:"prompts"`
	Resources       int    `json:"resources"`
	Templates       int    `json:"resource_templates"`
	InFlight        int    `json:"in_flight"`
	Restarts        int    `json:"restarts"`
	LastError       string `json:"last_error,omitempty"`
	// NextAttempt is when a failed server is next retried; omitted when
	// no retry is scheduled.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Warnings are problems its config has with what it lists, such as a
	// filter's allow list that matches none of its tools.
	Warnings []string `json:"warnings,omitempty"`
	// ShortenedNames are its tool and prompt names that were cut to fit
	// proxy.name_budget.
	ShortenedNames []ShortenedName `json:"shortened_names,omitempty"`
}

// ShortenedName is an exposed name cut (and given a hash) so that the
// client's prefix plus the name fits the name budget.
type ShortenedName struct {
	Kind     string `json:"kind"` // tool or prompt
	Original string `json:"original"`
	Full     string `json:"full"` // what the name template gave
	Exposed  string `json:"exposed"`
}

// Tool is one entry of the aggregated catalogue. The schemas and
// annotations are the JSON the backend gave, as it gave them.
type Tool struct {
	Name         string          `json:"name,omitempty"` // as exposed to clients; "" when not exposed
	Server       string          `json:"server"`
	OriginalName string          `json:"original_name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	Annotations  json.RawMessage `json:"annotations,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	// State is "exposed", or why clients do not see the tool: "filtered"
	// (the server's tools filter) or "hidden" (its tool block).
	State string `json:"state"`
	// Overridden names what the server's tool block changed: "name",
	// "description", "annotations".
	Overridden []string `json:"overridden,omitempty"`
	// Shortened: the name was cut to fit proxy.name_budget.
	Shortened bool `json:"shortened,omitempty"`
	// Pinned: listed beside the search tools in search mode
	// (proxy.pinned_tools).
	Pinned bool `json:"pinned,omitempty"`
}

// ToolExposed is the State of a tool clients see.
const ToolExposed = "exposed"

// Session is one connected downstream client.
type Session struct {
	ID              string    `json:"id"`
	Listener        string    `json:"listener"` // stdio, http, sse or websocket
	ProtocolVersion string    `json:"protocol_version,omitempty"`
	ClientName      string    `json:"client_name,omitempty"`
	ClientVersion   string    `json:"client_version,omitempty"`
	Started         time.Time `json:"started"`
	InFlight        int       `json:"in_flight"`
}

// Counts are request counters.
type Counts struct {
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	Timeouts uint64 `json:"timeouts"`
}

// Latency is how long requests took, since start: the quantiles (omitted
// when nothing was counted) and the counts by bucket, from which a caller
// that samples twice gets the quantiles of the time between.
type Latency struct {
	P50Ms *float64 `json:"p50_ms,omitempty"`
	P99Ms *float64 `json:"p99_ms,omitempty"`
	// Buckets[i] counts the requests that took at most
	// MetricsSummary.BucketBoundsMs[i] (and more than the bound before);
	// the last one counts those above every bound.
	Buckets []uint64 `json:"latency_buckets"`
}

// ServerMetrics is one backend's request digest.
type ServerMetrics struct {
	Server string `json:"server"`
	Counts
	Latency
}

// MetricsTotals is the digest of every backend together.
type MetricsTotals struct {
	Counts
	Latency
}

// MetricsSummary is the per-server digest and the totals.
type MetricsSummary struct {
	Servers []ServerMetrics `json:"servers"`
	Totals  MetricsTotals   `json:"totals"`
	// BucketBoundsMs are the upper bounds of the latency buckets.
	BucketBoundsMs []float64 `json:"bucket_bounds_ms"`
}

// ReloadResult reports what a reload did, or why it was refused: the body
// of POST /api/v1/reload and of "reload" events. Applied false means the
// new configuration was refused as a whole (Diagnostics say why) and the
// running one is unchanged. Applied true with Partial entries means some
// of it was not applied (each entry says what and why); Diagnostics then
// hold the problems behind them. The lists are never null.
type ReloadResult struct {
	Applied   bool     `json:"applied"`
	Added     []string `json:"added"`     // servers started
	Removed   []string `json:"removed"`   // servers stopped
	Changed   []string `json:"changed"`   // servers restarted with new settings
	Unchanged []string `json:"unchanged"` // servers left running as they were
	// Plugins are the plugins whose settings changed: stopped, to start
	// again with the new settings at their next use.
	Plugins     []string        `json:"plugins"`
	Diagnostics []Diagnostic    `json:"diagnostics"`
	Partial     []ReloadPartial `json:"partial"`
}

// Diagnostic is one problem found in the configuration. File, Line and
// Column locate it when it has a place in a file (Line and Column from 1).
type Diagnostic struct {
	Severity string `json:"severity"` // "error" or "warning"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
}

// String renders d as one line: file:line:column: severity: summary; detail.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", d.Line, d.Column)
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Severity + ": " + d.Summary)
	if d.Detail != "" {
		b.WriteString("; " + d.Detail)
	}
	return b.String()
}

// Kinds of ReloadPartial.
const (
	// PartialServer: a server's new settings could not be used; it keeps
	// running with its previous ones (or, if new, was not added).
	PartialServer = "server"
	// PartialTranslators: the translator plugins could not all be started;
	// the ones that could are used.
	PartialTranslators = "translators"
	// PartialRestart: a setting a reload does not apply changed; it takes
	// effect when mcphost restarts.
	PartialRestart = "restart_required"
)

// ReloadPartial is a part of a new configuration a reload did not apply.
type ReloadPartial struct {
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"` // the server, for PartialServer
	Reason string `json:"reason"`
}

// Event types.
const (
	EventState  = "state"
	EventReload = "reload"
)

// Event is a state change of one server (Type "state": Server, State,
// Reason) or a reload (Type "reload": the ReloadResult's fields).
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"type"`
	Server string    `json:"server,omitempty"`
	State  string    `json:"state,omitempty"`
	Reason string    `json:"reason,omitempty"`
	*ReloadResult
	// Activity is the record of an "activity" event (activity.go).
	Activity *ActivityRecord `json:"activity,omitempty"`
}
