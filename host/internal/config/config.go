// Package config loads and validates the mcphost proxy configuration file
// (proxy.hcl) written in HCL.
//
// The package decodes everything that belongs to the host itself (proxy
// settings, listeners, plugin declarations, servers) and keeps the bodies that
// belong to plugins (a server's transport block, a plugin's config block) as
// undecoded hcl.Body values. Those are decoded later with [DecodeBody] against
// the schema the plugin reports, and problems a plugin reports about them are
// positioned in the source with [PluginDiagnostics].
//
// Every diagnostic returned by this package has Expression and EvalContext
// cleared, so that writing it never prints variable values (which may hold
// secrets such as tokens read with env()).
package config

import (
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults applied when the config file leaves a setting out.
const (
	DefaultToolNameTemplate    = "mcp__proxy__{server}__{tool}"
	DefaultPromptNameTemplate  = "mcp__proxy__{server}__{prompt}"
	DefaultResourceURITemplate = "mcp+proxy://{server}/{uri}"
	DefaultMaxMessageBytes     = 64 << 20
	// Log file defaults: rotate at 10 MiB, keep 5, delete after a week.
	DefaultLogMaxBytes = 10 << 20
	DefaultLogMaxFiles = 5
	DefaultLogMaxAge   = 7 * 24 * time.Hour
	// DefaultLogDir is where the log files go, under the config's directory.
	DefaultLogDir = ".mcphost/logs"
	// DefaultTranslator is the built-in protocol version translator.
	DefaultTranslator  = "versions"
	MinMaxMessageBytes = 1 << 20
	// SessionOutboxSlack is what a session's outbox holds beyond one
	// message of max_message_bytes by default.
	SessionOutboxSlack = 8 << 20
	// DefaultOutboxBytes bounds what waits for all clients together (at
	// least one session's budget).
	DefaultOutboxBytes = 256 << 20
	// DefaultSessionMaxInFlight bounds one session's requests open at one
	// server.
	DefaultSessionMaxInFlight = 64
	// DefaultMaxNestingDepth: see router.DefaultMaxNestingDepth.
	DefaultMaxNestingDepth = 128
	// DefaultMaxSessions bounds a listener's open sessions: generous (an
	// idle session costs about 2 KB), but a client that opens sessions
	// without end cannot exhaust the host.
	DefaultMaxSessions     = 10000
	maxMaxSessions         = 1 << 24
	DefaultRequestTimeout  = 60 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultStartupWait     = 10 * time.Second
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultListenAddress   = "127.0.0.1:3000"
	DefaultListenPath      = "/mcp"
	DefaultSSEPath         = "/sse"
	DefaultMessagePath     = "/message"
	DefaultWebSocketPath   = "/ws"
	DefaultMetricsPath     = "/metrics"

	// Restart policy and health check defaults (restart and health blocks).
	DefaultMaxRestarts         = 5
	DefaultRestartWindow       = 5 * time.Minute
	DefaultRestartInitialDelay = time.Second
	DefaultRestartMaxDelay     = 30 * time.Second
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 5 * time.Second
	DefaultHealthFailures      = 3
)

// DefaultResumeBufferBytes is what each resumable SSE stream keeps of the
// events it wrote (resume_buffer_bytes), and DefaultResumeTotalBytes what
// all the streams of a listener keep together (resume_total_bytes).
const (
	DefaultResumeBufferBytes = 1 << 20
	DefaultResumeTotalBytes  = 64 << 20
	maxResumeBytes           = 1 << 40
)

// Plugin sources and modes.
const (
	SourceBuiltin  = "builtin"
	ModeSubprocess = "subprocess"
	ModeInprocess  = "inprocess"
)

// ListenerHTTP is the only listener kind known so far.
const ListenerHTTP = "http"

// RedactedValue replaces secrets in [Config.Redacted].
const RedactedValue = "(redacted)"

var (
	listenerKinds = []string{ListenerHTTP}
	logLevels     = []string{"trace", "debug", "info", "warn", "error"}
	logFormats    = []string{"text", "json"}
	modes         = []string{ModeSubprocess, ModeInprocess}

	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Config is a loaded, validated configuration.
type Config struct {
	// Filename is the name the file was loaded with, as it appears in
	// diagnostics. Dir is the absolute directory relative paths are
	// resolved against.
	Filename string
	Dir      string

	Proxy     Proxy
	Listeners []Listener
	Plugins   []Plugin
	Servers   []Server
	Admin     Admin
	Tracing   Tracing
	// Telemetry is the optional telemetry block (telemetry_block.go).
	Telemetry Telemetry
	// Activity is the activity block (activity_block.go), defaults when absent.
	Activity Activity
	// Profiles are the subsets served at <listen path>/p/NAME.
	Profiles []Profile

	// EvalContext holds var.*, mcphost.* and the functions; use it to
	// decode plugin bodies with DecodeBody.
	EvalContext *hcl.EvalContext
	// Files maps filenames to parsed files, for WriteDiagnostics.
	Files map[string]*hcl.File
}

// Proxy holds the `proxy` block, with defaults filled in.
type Proxy struct {
	ToolNameTemplate    string
	PromptNameTemplate  string
	ResourceURITemplate string
	// NameBudget bounds the length of the names a model finally sees:
	// ClientPrefix (what the client puts in front, such as Claude Code's
	// "mcp__<server name>__") plus the exposed tool or prompt name.
	NameBudget      int
	ClientPrefix    string
	MaxMessageBytes uint64
	// SessionOutboxBytes bounds what may wait for one client to read; a
	// client beyond it is disconnected. OutboxBytes bounds it for all
	// clients together; beyond it the client holding the most goes.
	// SessionMaxInFlight bounds one client's requests open at one server
	// (0: no bound).
	SessionOutboxBytes int64
	OutboxBytes        int64
	SessionMaxInFlight int
	// MaxNestingDepth bounds how deep arrays and objects nest in a
	// message from a client or a backend; 0 is no bound.
	MaxNestingDepth int
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	// InstanceID names this instance among several behind one load
	// balancer: client session ids start with it and MCP responses carry
	// it. "" (the default) is the host name plus a random suffix, made
	// anew on each start.
	InstanceID string
	// RequestStateKey authenticates the requestState tokens the proxy
	// issues and the calls between peers; instances that forward to each
	// other share it. "" (the default): a random key per start, right for
	// one instance. A secret: print Redacted() instead.
	RequestStateKey string
	// Peers are the other instances' MCP endpoint URLs by instance id, to
	// which a retry whose requestState one of them issued is forwarded.
	Peers map[string]string
	// DrainDelay is how long /readyz answers 503 after SIGTERM or SIGINT
	// before the listeners stop taking requests, so that a load balancer
	// stops sending new ones first (0: drain at once, as before).
	DrainDelay time.Duration
	// StartupWait bounds how long the first list requests wait for
	// servers still making their first attempt (0: they do not wait).
	StartupWait time.Duration
	LogLevel    string
	LogFormat   string
	// Restart and Health are the defaults for every server.
	Restart Restart
	Health  Health
	// Translators name the translator plugins that put messages between
	// protocol versions, applied in order; empty turns translation off.
	Translators []string
	// TranslatorsRange is where translators is set (zero when defaulted).
	TranslatorsRange hcl.Range
	// WatchConfig reloads the config when its file changes.
	WatchConfig bool
	// LogDir holds a rotating log file per server and one for mcphost;
	// "" (log_dir = "") writes none. Relative to the config's directory.
	LogDir      string
	LogMaxBytes int64
	LogMaxFiles int
	LogMaxAge   time.Duration
	logDirSet   bool
	// ToolMode is "all" (tools/list shows every tool) or "search" (it
	// shows search_tools, describe_tool, call_tool and PinnedTools, globs
	// on exposed names).
	ToolMode    string
	PinnedTools []string
	// DeclRange is the block header, or the zero range when there is no
	// proxy block.
	DeclRange hcl.Range
}

// Restart is a `restart` block: how a server is reconnected after its
// connection ends. After more than MaxRestarts restarts within Window the
// server fails until restarted by hand; delays double from InitialDelay up
// to MaxDelay.
type Restart struct {
	MaxRestarts  int
	Window       time.Duration
	InitialDelay time.Duration
	MaxDelay     time.Duration
}

// Health is a `health` block: the periodic check of a running server.
// FailureThreshold consecutive failed checks make it unhealthy, and it is
// restarted. An Interval of 0 disables the checks.
type Health struct {
	Interval         time.Duration
	Timeout          time.Duration
	FailureThreshold int
}

// DefaultRestart is the restart policy when the config sets none.
func DefaultRestart() Restart {
	return Restart{
		MaxRestarts: DefaultMaxRestarts, Window: DefaultRestartWindow,
		InitialDelay: DefaultRestartInitialDelay, MaxDelay: DefaultRestartMaxDelay,
	}
}

// DefaultHealth is the health check when the config sets none.
func DefaultHealth() Health {
	return Health{Interval: DefaultHealthInterval, Timeout: DefaultHealthTimeout, FailureThreshold: DefaultHealthFailures}
}

// Listener is one `listen "KIND"` block.
type Listener struct {
	Kind    string
	Address string
	Path    string
	// SSEPath and MessagePath serve the legacy HTTP+SSE transport
	// (2024-11-05 clients); WebSocketPath serves MCP over WebSocket. An
	// empty SSEPath or WebSocketPath disables that transport.
	SSEPath       string
	MessagePath   string
	WebSocketPath string
	// MetricsPath serves Prometheus metrics (GET, behind AuthToken); empty
	// disables it.
	MetricsPath    string
	AllowedOrigins []string
	// AuthToken is a secret: print Redacted() instead.
	AuthToken string
	// AllowUnauthenticated permits a non-loopback address without AuthToken.
	AllowUnauthenticated bool
	// OAuth, when set, makes the listener an OAuth 2.1 resource server:
	// MCP requests need an access token from its issuer. AuthToken, when
	// also set, is accepted beside it as the operator's own credential.
	OAuth *ListenOAuth
	// MaxSessions bounds the sessions open at once on this listener (every
	// transport together); 0 is no bound.
	MaxSessions int
	// ResumeBufferBytes is what each resumable streamable HTTP SSE stream
	// keeps of the events it wrote, for a client that resumes it with
	// Last-Event-ID; -1 (resume_buffer_bytes = 0) disables event ids and
	// resumption, 0 is the default. ResumeTotalBytes bounds what all the
	// streams of the listener keep (0: the default).
	ResumeBufferBytes int
	ResumeTotalBytes  int
	DeclRange         hcl.Range
}

// Redacted returns a copy of l with AuthToken and the OAuth client secret
// replaced by RedactedValue when they are set.
func (l Listener) Redacted() Listener {
	if l.AuthToken != "" {
		l.AuthToken = RedactedValue
	}
	l.OAuth = l.OAuth.Redacted()
	l.AllowedOrigins = append([]string(nil), l.AllowedOrigins...)
	return l
}

// DefaultListener is the listener a `listen "http" {}` block gets. The
// loader does not add it when the file has no listen block; that choice is
// left to the caller.
func DefaultListener() Listener {
	return Listener{
		Kind: ListenerHTTP, Address: DefaultListenAddress, Path: DefaultListenPath,
		SSEPath: DefaultSSEPath, MessagePath: DefaultMessagePath, WebSocketPath: DefaultWebSocketPath,
		MetricsPath: DefaultMetricsPath, MaxSessions: DefaultMaxSessions,
		ResumeBufferBytes: DefaultResumeBufferBytes, ResumeTotalBytes: DefaultResumeTotalBytes,
	}
}

// Plugin is one `plugin "NAME"` block.
type Plugin struct {
	Name string
	// Source is SourceBuiltin or the absolute path of the plugin binary.
	Source  string
	SHA256  string // lowercase hex; empty for builtin plugins
	Mode    string // ModeSubprocess or ModeInprocess
	Version string // semver constraint as written, or ""
	// PassEnv names host environment variables the plugin's process gets
	// besides the minimal environment every plugin gets.
	PassEnv []string
	// Config is the body of the `config` block, or nil when absent.
	Config hcl.Body
	// ConfigRange is the `config` block header, or DeclRange when absent:
	// the blockRange to give PluginDiagnostics for Config.
	ConfigRange hcl.Range
	DeclRange   hcl.Range
}

// Builtin reports whether the plugin is compiled into mcphost.
func (p Plugin) Builtin() bool { return p.Source == SourceBuiltin }

// Server is one `server "NAME"` block.
type Server struct {
	Name    string
	Enabled bool
	Prefix  bool
	// RequestTimeout is 0 when the proxy default applies.
	RequestTimeout time.Duration
	// ProtocolVersion pins the revision spoken to the server; "" probes
	// (server/discover, then initialize).
	ProtocolVersion string
	// Restart and Health are the proxy block's defaults with the server's
	// own restart and health attributes applied.
	Restart   Restart
	Health    Health
	Transport TransportBlock
	DeclRange hcl.Range

	// Tools, Prompts and Resources filter what the server's lists expose
	// (its `tools`, `prompts` and `resources` blocks).
	Tools, Prompts, Resources Filter
	// ToolOverrides are its `tool "NAME"` blocks, in file order.
	ToolOverrides []ToolOverride
}

// ToolOverride is a `tool "NAME"` block: how one of a server's tools
// (NAME is the server's own name for it) is shown to clients.
type ToolOverride struct {
	Name string
	// ExposeAs, when set, is the exact name clients see, in place of the
	// tool_name_template's.
	ExposeAs string
	// Description, when set, replaces the tool's description.
	Description string
	// Annotations is a JSON object whose members replace the tool's
	// annotations of the same names; nil leaves them.
	Annotations []byte
	// Hidden tools are neither listed nor callable.
	Hidden    bool
	DeclRange hcl.Range
}

// Filter is a `tools`, `prompts` or `resources` block: globs (path.Match
// syntax, checked at load) on the backend's own names or URIs. Deny wins;
// an empty Allow allows everything.
type Filter struct {
	Allow, Deny []string
	// DeclRange is the block's, zero when the server has none.
	DeclRange hcl.Range
}

// TransportBlock is a server's `transport "PLUGIN"` block, left undecoded.
type TransportBlock struct {
	Plugin     string
	Body       hcl.Body
	DeclRange  hcl.Range
	LabelRange hcl.Range
}

// Plugin returns the plugin block named name.
func (c *Config) Plugin(name string) (Plugin, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Server returns the server block named name.
func (c *Config) Server(name string) (Server, bool) {
	for _, s := range c.Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// Redacted returns a copy of c that is safe to print: listener auth tokens
// and the request state key are replaced by RedactedValue. Bodies, files and the eval context are
// shared with c.
func (c *Config) Redacted() *Config {
	out := *c
	out.Listeners = make([]Listener, len(c.Listeners))
	for i, l := range c.Listeners {
		out.Listeners[i] = l.Redacted()
	}
	if out.Proxy.RequestStateKey != "" {
		out.Proxy.RequestStateKey = RedactedValue
	}
	out.Plugins = append([]Plugin(nil), c.Plugins...)
	out.Servers = append([]Server(nil), c.Servers...)
	out.Telemetry = c.Telemetry.Redacted()
	out.Profiles = make([]Profile, len(c.Profiles))
	for i, p := range c.Profiles {
		out.Profiles[i] = p.Redacted()
	}
	return &out
}

// Tracing is the `tracing` block: context tracing is on when it is present.
type Tracing struct {
	Enabled bool
	// Plugin and Weighting name the tracing and weighting plugins.
	Plugin, Weighting string
	// StoreDir is the tracing plugin's store, unless its own config says.
	StoreDir string
	// A response (turn) ends after IdleGap without a traced result, after
	// MaxUnits units, or on feedback.
	IdleGap  time.Duration
	MaxUnits int
	// Queue bounds the events waiting for the plugin, and QueueBytes the
	// bytes of delivered messages the tracer holds for them (beyond
	// either: dropped and counted); Batch is how many go in one call.
	Queue, Batch int
	QueueBytes   int64
	// DefaultRetrievalScore is used when neither the backend's _meta nor
	// the request's arguments give one.
	DefaultRetrievalScore float64
	// StoreContent keeps the content of each unit (off: sizes, hashes and
	// summaries only); the host then sends it to the tracing plugin.
	StoreContent bool
	DeclRange    hcl.Range
}

// Tracing defaults.
const (
	DefaultTracingPlugin   = "tracing"
	DefaultWeightingPlugin = "composite"
	DefaultTraceDir        = ".mcphost/trace"
	DefaultTraceIdleGap    = 30 * time.Second
	DefaultTraceMaxUnits   = 50
	DefaultTraceQueue      = 10000
	DefaultTraceQueueBytes = 16 << 20
	MinTraceQueueBytes     = 1 << 20
	DefaultTraceBatch      = 256
	DefaultRetrievalScore  = 0.5
)

// Admin is the `admin` block: the admin API's listener.
type Admin struct {
	// Address is where the admin API listens; "" turns it off.
	Address string
	// Explicit is true when the address was configured: failing to bind it
	// is then an error, where the default only gets a warning.
	Explicit bool
	// AuthToken is the bearer token; "" makes mcphost generate one per run
	// and write it to a file only its user can read (for mcphost ctl).
	AuthToken string
	DeclRange hcl.Range
}

// DefaultAdminAddress is where the admin API listens unless configured.
const DefaultAdminAddress = "127.0.0.1:3001"

// ProtocolVersions are the MCP revisions a server can be pinned to.
var ProtocolVersions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}
