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
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
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

// LoadOptions are the inputs of a load that do not come from the file.
type LoadOptions struct {
	// Vars override the defaults of `variable` blocks, by name. Every name
	// must be declared in the file.
	Vars map[string]cty.Value
	// Executable is mcphost.executable in expressions. When empty,
	// os.Executable() is used (and "" if that fails).
	Executable string
	// LookupEnv backs the env() function. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

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
	MaxMessageBytes     uint64
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

// Redacted returns a copy of l with AuthToken replaced by RedactedValue
// when it is set.
func (l Listener) Redacted() Listener {
	if l.AuthToken != "" {
		l.AuthToken = RedactedValue
	}
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
// are replaced by RedactedValue. Bodies, files and the eval context are
// shared with c.
func (c *Config) Redacted() *Config {
	out := *c
	out.Listeners = make([]Listener, len(c.Listeners))
	for i, l := range c.Listeners {
		out.Listeners[i] = l.Redacted()
	}
	out.Plugins = append([]Plugin(nil), c.Plugins...)
	out.Servers = append([]Server(nil), c.Servers...)
	return &out
}

// Loader loads config files and remembers the parsed files, so that
// diagnostics can be printed with source snippets even when loading failed
// and no Config was returned. The zero value is ready to use and a Loader
// is safe for concurrent use. Loading the same filename again replaces the
// remembered file (so a Loader can be reused for reloads).
type Loader struct {
	mu    sync.Mutex
	files map[string]*hcl.File
}

// NewLoader returns an empty Loader.
func NewLoader() *Loader { return &Loader{} }

// Files returns a copy of the filename → file map of everything loaded.
func (l *Loader) Files() map[string]*hcl.File {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*hcl.File, len(l.files))
	for k, v := range l.files {
		out[k] = v
	}
	return out
}

// WriteDiagnostics writes diags with source snippets from the files this
// Loader has loaded. See the package-level WriteDiagnostics.
func (l *Loader) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	return WriteDiagnostics(w, diags, l.Files())
}

func (l *Loader) remember(filename string, f *hcl.File) {
	if f == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == nil {
		l.files = map[string]*hcl.File{}
	}
	l.files[filename] = f
}

// Load reads and parses the file at path. Files whose name ends in ".json"
// are parsed as HCL's JSON syntax. The returned Config is nil if and only
// if diags has errors.
func (l *Loader) Load(path string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read configuration file",
			Detail:   fmt.Sprintf("The configuration file %q could not be read: %s.", path, err),
		}}
	}
	return l.Parse(src, path, opts)
}

// Parse parses src as if read from filename (which names the file in
// diagnostics and whose directory is the base for relative paths). The
// returned Config is nil if and only if diags has errors.
func (l *Loader) Parse(src []byte, filename string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	var (
		file  *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(filename, ".json") {
		file, diags = hcljson.Parse(src, filename)
	} else {
		file, diags = hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	l.remember(filename, file)
	if diags.HasErrors() {
		return nil, sanitize(diags)
	}
	dir, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid configuration file path",
			Detail:   fmt.Sprintf("Cannot resolve the directory of %q: %s.", filename, err),
		})
	}
	d := &decoder{opts: opts, dir: dir}
	cfg := d.decodeFile(file.Body)
	cfg.Filename = filename
	cfg.Dir = dir
	cfg.Files = map[string]*hcl.File{filename: file}
	diags = sanitize(append(diags, d.diags...))
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// Load reads and parses the file at path with a fresh Loader. Use a Loader
// to print diagnostics when the returned Config is nil.
func Load(path string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	return NewLoader().Load(path, opts)
}

// Parse parses src with a fresh Loader. Use a Loader to print diagnostics
// when the returned Config is nil.
func Parse(src []byte, filename string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	return NewLoader().Parse(src, filename, opts)
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "proxy"},
		{Type: "listen", LabelNames: []string{"kind"}},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "server", LabelNames: []string{"name"}},
		{Type: "admin"},
		{Type: "tracing"},
	},
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

var tracingSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"}, {Name: "plugin"}, {Name: "weighting"}, {Name: "store_dir"}, {Name: "idle_gap"},
		{Name: "max_units"}, {Name: "queue"}, {Name: "queue_bytes"}, {Name: "batch"}, {Name: "default_retrieval_score"},
		{Name: "store_content"},
	},
}

func (d *decoder) decodeTracing(b *hcl.Block, t *Tracing) {
	t.DeclRange, t.Enabled = b.DefRange, true
	content, diags := b.Body.Content(tracingSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			t.Enabled = v.True()
		}
	}
	decodeAttr(attrs, "plugin", d.evalString, &t.Plugin)
	decodeAttr(attrs, "weighting", d.evalString, &t.Weighting)
	if attr, ok := attrs["store_dir"]; ok {
		if s, ok := d.evalString(attr); ok && s != "" {
			t.StoreDir = s
			if !filepath.IsAbs(s) {
				t.StoreDir = filepath.Join(d.dir, s)
			}
		}
	}
	if attr, ok := attrs["store_content"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			t.StoreContent = v.True()
		}
	}
	decodeAttr(attrs, "idle_gap", d.evalDuration, &t.IdleGap)
	decodeAttr(attrs, "max_units", d.evalCount, &t.MaxUnits)
	decodeAttr(attrs, "queue", d.evalCount, &t.Queue)
	if attr, ok := attrs["queue_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < MinTraceQueueBytes {
				d.errorf(attr.Expr.Range(), "Invalid queue_bytes",
					"queue_bytes must be at least %d (1 MiB); got %d.", MinTraceQueueBytes, n)
			} else {
				t.QueueBytes = n
			}
		}
	}
	decodeAttr(attrs, "batch", d.evalCount, &t.Batch)
	if attr, ok := attrs["default_retrieval_score"]; ok {
		if v, ok := d.eval(attr, cty.Number); ok && !v.IsNull() {
			f, _ := v.AsBigFloat().Float64()
			if f < 0 || f > 1 {
				d.errorf(attr.Expr.Range(), "Invalid default_retrieval_score", "default_retrieval_score must be between 0 and 1; got %g.", f)
			} else {
				t.DefaultRetrievalScore = f
			}
		}
	}
}

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

var adminSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "address"}, {Name: "auth_token"}, {Name: "enabled"}},
}

func (d *decoder) decodeAdmin(b *hcl.Block, a *Admin) {
	a.DeclRange = b.DefRange
	content, diags := b.Body.Content(adminSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["address"]; ok {
		a.Explicit = true
		decodeAttr(attrs, "address", d.evalString, &a.Address)
		if a.Address != "" {
			if _, _, err := net.SplitHostPort(a.Address); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid admin address", "address must be host:port; %v.", err)
			}
		}
	}
	decodeAttr(attrs, "auth_token", d.evalString, &a.AuthToken)
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() && v.False() {
			a.Address = ""
		}
	}
	if a.Address != "" && a.AuthToken == "" && !loopbackAddress(a.Address) {
		d.errorf(b.DefRange, "Admin API exposed without a token",
			"The admin address %s is not loopback: set auth_token (the generated token file is only for local use).", a.Address)
	}
}

type decoder struct {
	opts  LoadOptions
	dir   string
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (d *decoder) add(diags ...*hcl.Diagnostic) { d.diags = append(d.diags, diags...) }

func (d *decoder) errorf(subject hcl.Range, summary, detailFormat string, args ...any) {
	d.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject.Ptr(),
	})
}

func (d *decoder) decodeFile(body hcl.Body) *Config {
	content, diags := body.Content(rootSchema)
	d.add(diags...)

	cfg := &Config{Proxy: defaultProxy()}
	executable := d.opts.Executable
	if executable == "" {
		if exe, err := os.Executable(); err == nil {
			executable = exe
		}
	}
	mcphost := cty.ObjectVal(map[string]cty.Value{
		"executable": cty.StringVal(executable),
		"config_dir": cty.StringVal(d.dir),
	})
	lookup := d.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	d.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{"mcphost": mcphost},
		Functions: functions(d.dir, lookup),
	}

	var blocks = map[string][]*hcl.Block{}
	for _, b := range content.Blocks {
		blocks[b.Type] = append(blocks[b.Type], b)
	}

	d.ctx.Variables["var"] = d.decodeVariables(blocks["variable"])
	cfg.EvalContext = d.ctx

	cfg.Tracing = Tracing{
		Plugin: DefaultTracingPlugin, Weighting: DefaultWeightingPlugin, StoreDir: filepath.Join(d.dir, DefaultTraceDir),
		IdleGap: DefaultTraceIdleGap, MaxUnits: DefaultTraceMaxUnits, Queue: DefaultTraceQueue, QueueBytes: DefaultTraceQueueBytes,
		Batch: DefaultTraceBatch, DefaultRetrievalScore: DefaultRetrievalScore,
	}
	for i, b := range blocks["tracing"] {
		if i > 0 {
			d.errorf(b.DefRange, "Duplicate tracing block",
				"Only one tracing block is allowed; the first is at %s.", rangeStart(blocks["tracing"][0].DefRange))
			continue
		}
		d.decodeTracing(b, &cfg.Tracing)
	}
	cfg.Admin = Admin{Address: DefaultAdminAddress}
	for i, b := range blocks["admin"] {
		if i > 0 {
			d.errorf(b.DefRange, "Duplicate admin block",
				"Only one admin block is allowed; the first is at %s.", rangeStart(blocks["admin"][0].DefRange))
			continue
		}
		d.decodeAdmin(b, &cfg.Admin)
	}
	for i, b := range blocks["proxy"] {
		if i > 0 {
			d.errorf(b.DefRange, "Duplicate proxy block",
				"Only one proxy block is allowed; the first is at %s.", rangeStart(blocks["proxy"][0].DefRange))
			continue
		}
		d.decodeProxy(b, &cfg.Proxy)
	}
	if !cfg.Proxy.logDirSet {
		cfg.Proxy.LogDir = filepath.Join(d.dir, DefaultLogDir)
	}

	listenSeen := map[string]hcl.Range{}
	for _, b := range blocks["listen"] {
		kind := b.Labels[0]
		if first, dup := listenSeen[kind]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate listener %q", kind),
				"A listen %q block was already declared at %s. Each listener kind may be declared once.", kind, rangeStart(first))
			continue
		}
		listenSeen[kind] = b.DefRange
		if l, ok := d.decodeListener(b); ok {
			cfg.Listeners = append(cfg.Listeners, l)
		}
	}

	pluginSeen := map[string]hcl.Range{}
	for _, b := range blocks["plugin"] {
		name := b.Labels[0]
		if first, dup := pluginSeen[name]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate plugin %q", name),
				"A plugin named %q was already declared at %s. Plugin names must be unique.", name, rangeStart(first))
			continue
		}
		pluginSeen[name] = b.DefRange
		cfg.Plugins = append(cfg.Plugins, d.decodePlugin(b))
	}

	serverSeen := map[string]hcl.Range{}
	for _, b := range blocks["server"] {
		name := b.Labels[0]
		if first, dup := serverSeen[name]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate server %q", name),
				"A server named %q was already declared at %s. Server names must be unique.", name, rangeStart(first))
			continue
		}
		serverSeen[name] = b.DefRange
		cfg.Servers = append(cfg.Servers, d.decodeServer(b, cfg.Proxy))
	}
	return cfg
}

func defaultProxy() Proxy {
	return Proxy{
		ToolNameTemplate:    DefaultToolNameTemplate,
		PromptNameTemplate:  DefaultPromptNameTemplate,
		ResourceURITemplate: DefaultResourceURITemplate,
		MaxMessageBytes:     DefaultMaxMessageBytes,
		SessionOutboxBytes:  DefaultMaxMessageBytes + SessionOutboxSlack,
		OutboxBytes:         DefaultOutboxBytes,
		SessionMaxInFlight:  DefaultSessionMaxInFlight,
		MaxNestingDepth:     DefaultMaxNestingDepth,
		RequestTimeout:      DefaultRequestTimeout,
		ShutdownTimeout:     DefaultShutdownTimeout,
		StartupWait:         DefaultStartupWait,
		LogLevel:            DefaultLogLevel,
		LogFormat:           DefaultLogFormat,
		Restart:             DefaultRestart(),
		Health:              DefaultHealth(),
		Translators:         []string{DefaultTranslator},
		LogMaxBytes:         DefaultLogMaxBytes,
		LogMaxFiles:         DefaultLogMaxFiles,
		LogMaxAge:           DefaultLogMaxAge,
	}
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "description"}},
}

// decodeVariables evaluates the variable blocks (defaults may use functions
// and mcphost.*, but not other variables) and applies the overrides.
func (d *decoder) decodeVariables(blocks []*hcl.Block) cty.Value {
	vals := map[string]cty.Value{}
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			d.errorf(b.LabelRanges[0], "Invalid variable name",
				"%q is not a valid variable name: use letters, digits, underscores and dashes, starting with a letter.", name)
			continue
		}
		if first, dup := seen[name]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate variable %q", name),
				"A variable named %q was already declared at %s. Variable names must be unique.", name, rangeStart(first))
			continue
		}
		seen[name] = b.DefRange
		content, diags := b.Body.Content(variableSchema)
		d.add(diags...)
		if attr, ok := content.Attributes["description"]; ok {
			d.evalString(attr)
		}
		if v, ok := d.opts.Vars[name]; ok {
			if v.IsNull() { // also catches the zero cty.Value
				v = cty.NullVal(cty.DynamicPseudoType)
			}
			vals[name] = v
			continue
		}
		attr, ok := content.Attributes["default"]
		if !ok {
			d.errorf(b.DefRange, fmt.Sprintf("No value for variable %q", name),
				"The variable %q has no default, so a value must be given when starting mcphost.", name)
			vals[name] = cty.DynamicVal
			continue
		}
		v, diags := attr.Expr.Value(d.ctx)
		d.add(diags...)
		if diags.HasErrors() {
			v = cty.DynamicVal
		}
		vals[name] = v
	}
	for name := range d.opts.Vars {
		if _, ok := seen[name]; !ok {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Undeclared variable %q", name),
				Detail:   fmt.Sprintf("A value was given for variable %q, but the configuration has no variable %q block.", name, name),
			})
		}
	}
	return cty.ObjectVal(vals)
}

var proxySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "tool_name_template"},
		{Name: "prompt_name_template"},
		{Name: "resource_uri_template"},
		{Name: "max_message_bytes"},
		{Name: "session_outbox_bytes"},
		{Name: "outbox_bytes"},
		{Name: "session_max_in_flight"},
		{Name: "max_nesting_depth"},
		{Name: "request_timeout"},
		{Name: "shutdown_timeout"},
		{Name: "startup_wait"},
		{Name: "log_level"},
		{Name: "log_format"},
		{Name: "translators"},
		{Name: "watch_config"},
		{Name: "log_dir"},
		{Name: "log_max_bytes"},
		{Name: "log_max_files"},
		{Name: "log_max_age"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "restart"}, {Type: "health"}},
}

func (d *decoder) decodeProxy(b *hcl.Block, p *Proxy) {
	p.DeclRange = b.DefRange
	content, diags := b.Body.Content(proxySchema)
	d.add(diags...)
	attrs := content.Attributes
	d.decodePolicyBlocks(content.Blocks, &p.Restart, &p.Health)

	templates := []struct {
		name, placeholder string
		dst               *string
	}{
		{"tool_name_template", "tool", &p.ToolNameTemplate},
		{"prompt_name_template", "prompt", &p.PromptNameTemplate},
		{"resource_uri_template", "uri", &p.ResourceURITemplate},
	}
	for _, t := range templates {
		if attr, ok := attrs[t.name]; ok {
			if s, ok := d.evalString(attr); ok && d.checkTemplate(attr, s, t.placeholder) {
				*t.dst = s
			}
		}
	}

	if attr, ok := attrs["max_message_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < MinMaxMessageBytes {
				d.errorf(attr.Expr.Range(), "Invalid max_message_bytes",
					"max_message_bytes must be at least %d (1 MiB); got %d.", MinMaxMessageBytes, n)
			} else {
				p.MaxMessageBytes = uint64(n)
			}
		}
	}
	d.decodeOutboxes(attrs, p)
	decodeAttr(attrs, "request_timeout", d.evalDuration, &p.RequestTimeout)
	decodeAttr(attrs, "shutdown_timeout", d.evalDuration, &p.ShutdownTimeout)
	decodeAttr(attrs, "startup_wait", d.evalDurationOrZero, &p.StartupWait)
	decodeAttr(attrs, "log_level", d.enum(logLevels), &p.LogLevel)
	decodeAttr(attrs, "log_format", d.enum(logFormats), &p.LogFormat)
	if attr, ok := attrs["log_dir"]; ok {
		if s, ok := d.evalString(attr); ok {
			p.LogDir, p.logDirSet = s, true
			if s != "" && !filepath.IsAbs(s) {
				p.LogDir = filepath.Join(d.dir, s)
			}
		}
	}
	if attr, ok := attrs["log_max_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 4096 {
				d.errorf(attr.Expr.Range(), "Invalid log_max_bytes", "log_max_bytes must be at least 4096; got %d.", n)
			} else {
				p.LogMaxBytes = n
			}
		}
	}
	decodeAttr(attrs, "log_max_files", d.evalCount, &p.LogMaxFiles)
	decodeAttr(attrs, "log_max_age", d.evalDurationOrZero, &p.LogMaxAge)
	if attr, ok := attrs["watch_config"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			p.WatchConfig = v.True()
		}
	}
	if attr, ok := attrs["translators"]; ok {
		p.TranslatorsRange = attr.Expr.Range()
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			p.Translators = []string{}
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() || e.AsString() == "" {
					d.errorf(attr.Expr.Range(), "Invalid translators", "translators must list plugin names.")
					continue
				}
				p.Translators = append(p.Translators, e.AsString())
			}
		}
	}
}

// decodeOutboxes reads the fairness bounds. A session's outbox must hold
// at least one message of max_message_bytes, and the total one session's.
func (d *decoder) decodeOutboxes(attrs hcl.Attributes, p *Proxy) {
	p.SessionOutboxBytes = int64(p.MaxMessageBytes) + SessionOutboxSlack
	if attr, ok := attrs["session_outbox_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < int64(p.MaxMessageBytes) {
				d.errorf(attr.Expr.Range(), "Invalid session_outbox_bytes",
					"session_outbox_bytes must hold at least one message of max_message_bytes (%d); got %d.", p.MaxMessageBytes, n)
			} else {
				p.SessionOutboxBytes = n
			}
		}
	}
	p.OutboxBytes = max(DefaultOutboxBytes, p.SessionOutboxBytes)
	if attr, ok := attrs["outbox_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < p.SessionOutboxBytes {
				d.errorf(attr.Expr.Range(), "Invalid outbox_bytes",
					"outbox_bytes must be at least session_outbox_bytes (%d); got %d.", p.SessionOutboxBytes, n)
			} else {
				p.OutboxBytes = n
			}
		}
	}
	if attr, ok := attrs["max_nesting_depth"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > 1<<20 {
				d.errorf(attr.Expr.Range(), "Invalid max_nesting_depth",
					"max_nesting_depth must be between 0 (no bound) and %d; got %d.", 1<<20, n)
			} else {
				p.MaxNestingDepth = int(n)
			}
		}
	}
	if attr, ok := attrs["session_max_in_flight"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > 1<<20 {
				d.errorf(attr.Expr.Range(), "Invalid session_max_in_flight",
					"session_max_in_flight must be between 0 (no bound) and %d; got %d.", 1<<20, n)
			} else {
				p.SessionMaxInFlight = int(n)
			}
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

func (d *decoder) checkTemplate(attr *hcl.Attribute, s, placeholder string) bool {
	want := "{" + placeholder + "}"
	if !strings.Contains(s, want) {
		d.errorf(attr.Expr.Range(), "Invalid name template",
			"%s must contain %s, which is replaced by the backend's own name; {server} is optional.", attr.Name, want)
		return false
	}
	for _, m := range placeholderRE.FindAllString(s, -1) {
		if m != want && m != "{server}" {
			d.errorf(attr.Expr.Range(), "Invalid name template",
				"%s contains the unknown placeholder %s; only %s and {server} are replaced.", attr.Name, m, want)
			return false
		}
	}
	return true
}

var listenSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"},
		{Name: "path"},
		{Name: "sse_path"},
		{Name: "message_path"},
		{Name: "websocket_path"},
		{Name: "metrics_path"},
		{Name: "allowed_origins"},
		{Name: "auth_token"},
		{Name: "allow_unauthenticated"},
		{Name: "max_sessions"},
		{Name: "resume_buffer_bytes"},
		{Name: "resume_total_bytes"},
	},
}

func (d *decoder) decodeListener(b *hcl.Block) (Listener, bool) {
	kind := b.Labels[0]
	if !contains(listenerKinds, kind) {
		d.errorf(b.LabelRanges[0], "Unsupported listener kind",
			"Listener kind %q is not supported. Known kinds: %s.", kind, quoteList(listenerKinds))
		return Listener{}, false
	}
	l := DefaultListener()
	l.Kind = kind
	l.DeclRange = b.DefRange
	content, diags := b.Body.Content(listenSchema)
	d.add(diags...)
	attrs := content.Attributes
	if attr, ok := attrs["address"]; ok {
		if s, ok := d.evalString(attr); ok {
			if _, _, err := net.SplitHostPort(s); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid listen address",
					"address must be host:port, such as %q: %s.", DefaultListenAddress, err)
			} else {
				l.Address = s
			}
		}
	}
	if attr, ok := attrs["path"]; ok {
		if s, ok := d.evalString(attr); ok {
			if !strings.HasPrefix(s, "/") {
				d.errorf(attr.Expr.Range(), "Invalid listen path",
					"path must start with \"/\", such as %q.", DefaultListenPath)
			} else {
				l.Path = s
			}
		}
	}
	d.decodeEndpointPaths(b, attrs, &l)
	if attr, ok := attrs["allowed_origins"]; ok {
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() {
					d.errorf(attr.Expr.Range(), "Invalid allowed_origins", "allowed_origins must not contain null.")
					continue
				}
				l.AllowedOrigins = append(l.AllowedOrigins, e.AsString())
			}
		}
	}
	decodeAttr(attrs, "auth_token", d.evalString, &l.AuthToken)
	if attr, ok := attrs["allow_unauthenticated"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			l.AllowUnauthenticated = v.True()
		}
	}
	if attr, ok := attrs["max_sessions"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > maxMaxSessions {
				d.errorf(attr.Expr.Range(), "Invalid max_sessions",
					"max_sessions must be between 0 (no bound) and %d; got %d.", maxMaxSessions, n)
			} else {
				l.MaxSessions = int(n)
			}
		}
	}
	if attr, ok := attrs["resume_buffer_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 0 || n > maxResumeBytes {
				d.errorf(attr.Expr.Range(), "Invalid resume_buffer_bytes",
					"resume_buffer_bytes must be between 0 (no resumption) and %d; got %d.", int64(maxResumeBytes), n)
			} else if n == 0 {
				l.ResumeBufferBytes = -1
			} else {
				l.ResumeBufferBytes = int(n)
			}
		}
	}
	if attr, ok := attrs["resume_total_bytes"]; ok {
		if n, ok := d.evalInt(attr); ok {
			if n < 1 || n > maxResumeBytes {
				d.errorf(attr.Expr.Range(), "Invalid resume_total_bytes",
					"resume_total_bytes must be between 1 and %d; got %d.", int64(maxResumeBytes), n)
			} else {
				l.ResumeTotalBytes = int(n)
			}
		}
	}
	if l.AuthToken == "" && !l.AllowUnauthenticated && !loopbackAddress(l.Address) {
		subject := b.DefRange
		if attr, ok := attrs["address"]; ok {
			subject = attr.Expr.Range()
		}
		d.errorf(subject, "Listener open beyond loopback without auth",
			"%s accepts connections from other machines, and anyone who reaches it controls every backend. "+
				"Set auth_token (e.g. env(\"MCPHOST_TOKEN\")), listen on 127.0.0.1, or set allow_unauthenticated = true.", l.Address)
	}
	return l, true
}

// decodeEndpointPaths reads the paths of the transports served beside the
// streamable HTTP endpoint, and checks that every endpoint has a path of
// its own.
func (d *decoder) decodeEndpointPaths(b *hcl.Block, attrs hcl.Attributes, l *Listener) {
	endpoints := []struct {
		name, example string
		value         *string
	}{
		{"sse_path", DefaultSSEPath, &l.SSEPath},
		{"message_path", DefaultMessagePath, &l.MessagePath},
		{"websocket_path", DefaultWebSocketPath, &l.WebSocketPath},
		{"metrics_path", DefaultMetricsPath, &l.MetricsPath},
	}
	disabler := map[string]string{"sse_path": "sse_path", "message_path": "sse_path", "websocket_path": "websocket_path", "metrics_path": "metrics_path"}
	for _, e := range endpoints {
		attr, ok := attrs[e.name]
		if !ok {
			continue
		}
		s, ok := d.evalString(attr)
		if !ok {
			continue
		}
		if s != "" && !strings.HasPrefix(s, "/") {
			d.errorf(attr.Expr.Range(), "Invalid listen path",
				"%s must start with \"/\", such as %q. To disable that endpoint, set %s = \"\".", e.name, e.example, disabler[e.name])
			continue
		}
		*e.value = s
	}
	if l.SSEPath != "" && l.MessagePath == "" {
		d.errorf(attrs["message_path"].Expr.Range(), "Missing message_path",
			"The HTTP+SSE transport at sse_path %q needs a message_path for clients to POST to. "+
				"Set sse_path = \"\" as well to disable HTTP+SSE.", l.SSEPath)
	}
	// Each endpoint needs its own path; a clash is reported at whichever of
	// the two was written in the file (the later one when both were).
	type endpoint struct {
		name string
		attr *hcl.Attribute
	}
	seen := map[string]endpoint{}
	for _, e := range []struct {
		name, value string
	}{
		{"path", l.Path}, {"sse_path", l.SSEPath}, {"message_path", l.MessagePath}, {"websocket_path", l.WebSocketPath},
		{"metrics_path", l.MetricsPath},
	} {
		if e.value == "" || (e.name == "message_path" && l.SSEPath == "") {
			continue
		}
		cur := endpoint{name: e.name, attr: attrs[e.name]}
		first, clash := seen[e.value]
		if !clash {
			seen[e.value] = cur
			continue
		}
		subject := b.DefRange
		switch {
		case cur.attr != nil:
			subject = cur.attr.Expr.Range()
		case first.attr != nil:
			subject = first.attr.Expr.Range()
		}
		// The later of the two is never path, which cannot be disabled.
		d.errorf(subject, "Duplicate listen path",
			"%s and %s are both %q; each endpoint needs a path of its own. Choose another, or set %s = \"\" to disable that endpoint.",
			first.name, e.name, e.value, disabler[e.name])
	}
}

// loopbackAddress says whether host:port can only be reached from this machine.
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source"},
		{Name: "sha256"},
		{Name: "mode"},
		{Name: "version"},
		{Name: "pass_env"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "config"}},
}

func (d *decoder) decodePlugin(b *hcl.Block) Plugin {
	name := b.Labels[0]
	p := Plugin{
		Name:        name,
		Source:      SourceBuiltin,
		Mode:        ModeSubprocess,
		DeclRange:   b.DefRange,
		ConfigRange: b.DefRange,
	}
	if !nameRE.MatchString(name) {
		d.errorf(b.LabelRanges[0], "Invalid plugin name",
			"Plugin name %q must be 1 to 32 letters, digits, underscores or dashes.", name)
	}
	content, diags := b.Body.Content(pluginSchema)
	d.add(diags...)
	attrs := content.Attributes

	sourceOK := true
	if attr, ok := attrs["source"]; ok {
		s, ok := d.evalString(attr)
		sourceOK = ok
		switch {
		case !ok:
		case s == "":
			d.errorf(attr.Expr.Range(), "Invalid plugin source",
				"source must be %q or the path of a plugin binary.", SourceBuiltin)
			sourceOK = false
		case s == SourceBuiltin:
		default:
			path := s
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			path = filepath.Clean(path)
			fi, err := os.Stat(path)
			switch {
			case err != nil:
				d.errorf(attr.Expr.Range(), "Plugin binary not found",
					"The plugin binary %q (resolved relative to the configuration directory) cannot be used: %s.", path, err)
			case fi.IsDir():
				d.errorf(attr.Expr.Range(), "Plugin binary not found",
					"The plugin source %q is a directory; it must be the path of an executable file.", path)
			}
			p.Source = path
		}
	}

	if attr, ok := attrs["pass_env"]; ok {
		if v, ok := d.eval(attr, cty.List(cty.String)); ok && !v.IsNull() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() || !envNameRE.MatchString(e.AsString()) {
					d.errorf(attr.Expr.Range(), "Invalid pass_env",
						"pass_env must list environment variable names (letters, digits and underscores, not starting with a digit).")
					continue
				}
				p.PassEnv = append(p.PassEnv, e.AsString())
			}
		}
	}

	if attr, ok := attrs["sha256"]; ok {
		if s, ok := d.evalString(attr); ok {
			if !sha256RE.MatchString(s) {
				d.errorf(attr.Expr.Range(), "Invalid sha256",
					"sha256 must be 64 lowercase hexadecimal characters (the output of `sha256sum`).")
			} else {
				p.SHA256 = s
			}
			if p.Builtin() && sourceOK {
				d.add(&hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "sha256 ignored for a builtin plugin",
					Detail:   "sha256 is only checked when source is the path of a plugin binary.",
					Subject:  attr.Expr.Range().Ptr(),
				})
			}
		}
	} else if !p.Builtin() && sourceOK {
		d.errorf(attrs["source"].Expr.Range(), "Missing sha256",
			"A plugin whose source is a path must set sha256 to the SHA-256 of the binary, in lowercase hex.")
	}

	if attr, ok := attrs["mode"]; ok {
		if s, ok := d.evalEnum(attr, modes); ok {
			if s == ModeInprocess && !p.Builtin() {
				d.errorf(attr.Expr.Range(), "Invalid plugin mode",
					"mode %q is only allowed for builtin plugins; a plugin loaded from a path always runs as a subprocess.", ModeInprocess)
			} else {
				p.Mode = s
			}
		}
	}
	decodeAttr(attrs, "version", d.evalString, &p.Version)
	for i, cb := range content.Blocks {
		if i > 0 {
			d.errorf(cb.DefRange, "Duplicate config block",
				"A plugin has at most one config block; the first is at %s.", rangeStart(content.Blocks[0].DefRange))
			continue
		}
		p.Config = cb.Body
		p.ConfigRange = cb.DefRange
	}
	return p
}

// ProtocolVersions are the MCP revisions a server can be pinned to.
var ProtocolVersions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

var serverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"},
		{Name: "prefix"},
		{Name: "request_timeout"},
		{Name: "protocol_version"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "transport", LabelNames: []string{"plugin"}},
		{Type: "restart"}, {Type: "health"},
	},
}

func (d *decoder) decodeServer(b *hcl.Block, defaults Proxy) Server {
	name := b.Labels[0]
	s := Server{Name: name, Enabled: true, Prefix: true, DeclRange: b.DefRange, Restart: defaults.Restart, Health: defaults.Health}
	if !nameRE.MatchString(name) {
		d.errorf(b.LabelRanges[0], "Invalid server name",
			"Server name %q must be 1 to 32 letters, digits, underscores or dashes (it becomes part of tool names).", name)
	}
	content, diags := b.Body.Content(serverSchema)
	d.add(diags...)
	attrs := content.Attributes
	var transports []*hcl.Block
	var policies []*hcl.Block
	for _, blk := range content.Blocks {
		if blk.Type == "transport" {
			transports = append(transports, blk)
		} else {
			policies = append(policies, blk)
		}
	}
	content.Blocks = transports
	d.decodePolicyBlocks(policies, &s.Restart, &s.Health)
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			s.Enabled = v.True()
		}
	}
	decodeAttr(attrs, "protocol_version", d.enum(ProtocolVersions), &s.ProtocolVersion)
	if attr, ok := attrs["prefix"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			s.Prefix = v.True()
		}
	}
	decodeAttr(attrs, "request_timeout", d.evalDuration, &s.RequestTimeout)
	switch len(content.Blocks) {
	case 0:
		d.errorf(b.DefRange, "Missing transport block",
			"Server %q needs exactly one transport block, such as transport \"stdio\" { command = \"...\" }.", name)
	default:
		for _, extra := range content.Blocks[1:] {
			d.errorf(extra.DefRange, "Duplicate transport block",
				"Server %q already has a transport block at %s; a server has exactly one.", name, rangeStart(content.Blocks[0].DefRange))
		}
		tb := content.Blocks[0]
		if !nameRE.MatchString(tb.Labels[0]) {
			d.errorf(tb.LabelRanges[0], "Invalid transport plugin name",
				"Transport plugin name %q must be 1 to 32 letters, digits, underscores or dashes.", tb.Labels[0])
		}
		s.Transport = TransportBlock{
			Plugin:     tb.Labels[0],
			Body:       tb.Body,
			DeclRange:  tb.DefRange,
			LabelRange: tb.LabelRanges[0],
		}
	}
	return s
}

var restartSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_restarts"}, {Name: "window"}, {Name: "initial_delay"}, {Name: "max_delay"},
	},
}

var healthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "interval"}, {Name: "timeout"}, {Name: "failure_threshold"},
	},
}

// decodePolicyBlocks applies `restart` and `health` blocks (at most one of
// each) over r and h: attributes left out keep the values given.
func (d *decoder) decodePolicyBlocks(blocks []*hcl.Block, r *Restart, h *Health) {
	first := map[string]hcl.Range{}
	for _, b := range blocks {
		if at, dup := first[b.Type]; dup {
			d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
				"At most one %s block is allowed here; the first is at %s.", b.Type, rangeStart(at))
			continue
		}
		first[b.Type] = b.DefRange
		switch b.Type {
		case "restart":
			d.decodeRestart(b, r)
		case "health":
			d.decodeHealth(b, h)
		}
	}
}

func (d *decoder) decodeRestart(b *hcl.Block, r *Restart) {
	content, diags := b.Body.Content(restartSchema)
	d.add(diags...)
	attrs := content.Attributes
	decodeAttr(attrs, "max_restarts", d.evalCount, &r.MaxRestarts)
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"window", &r.Window}, {"initial_delay", &r.InitialDelay}, {"max_delay", &r.MaxDelay}} {
		if attr, ok := attrs[f.name]; ok {
			if v, ok := d.evalDuration(attr); ok {
				*f.dst = v
			}
		}
	}
	initial, hasInitial := attrs["initial_delay"]
	_, hasMax := attrs["max_delay"]
	if hasInitial && hasMax && r.MaxDelay < r.InitialDelay {
		d.errorf(initial.Expr.Range(), "Invalid initial_delay",
			"initial_delay (%s) must not be longer than max_delay (%s).", r.InitialDelay, r.MaxDelay)
	}
}

func (d *decoder) decodeHealth(b *hcl.Block, h *Health) {
	content, diags := b.Body.Content(healthSchema)
	d.add(diags...)
	attrs := content.Attributes
	// "0s" disables health checks.
	decodeAttr(attrs, "interval", d.evalDurationOrZero, &h.Interval)
	decodeAttr(attrs, "timeout", d.evalDuration, &h.Timeout)
	decodeAttr(attrs, "failure_threshold", d.evalCount, &h.FailureThreshold)
}

// decodeAttr evaluates attrs[name], when present, with eval, and stores a
// good value in dst; eval reports a bad one as a diagnostic.
func decodeAttr[T any](attrs hcl.Attributes, name string, eval func(*hcl.Attribute) (T, bool), dst *T) {
	if attr, ok := attrs[name]; ok {
		if v, ok := eval(attr); ok {
			*dst = v
		}
	}
}

// enum is evalEnum for the given allowed values, as a decodeAttr eval.
func (d *decoder) enum(allowed []string) func(*hcl.Attribute) (string, bool) {
	return func(attr *hcl.Attribute) (string, bool) { return d.evalEnum(attr, allowed) }
}

// evalCount returns attr as a whole number of at least 1.
func (d *decoder) evalCount(attr *hcl.Attribute) (int, bool) {
	n, ok := d.evalInt(attr)
	if !ok {
		return 0, false
	}
	if n < 1 || n > 1<<31-1 {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "%s must be a whole number of at least 1; got %d.", attr.Name, n)
		return 0, false
	}
	return int(n), true
}

// eval evaluates attr and converts it to ty. ok is false after an error
// diagnostic. The value may be null (callers treat null as "not set").
func (d *decoder) eval(attr *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.add(diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return convertAttr(attr, v, ty, &d.diags)
}

func convertAttr(attr *hcl.Attribute, v cty.Value, ty cty.Type, diags *hcl.Diagnostics) (cty.Value, bool) {
	v, err := convert.Convert(v, ty)
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s.", attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown attribute value",
			Detail:   fmt.Sprintf("The value of %q cannot be determined when the configuration is loaded.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	return v, true
}

// evalString returns attr as a string; null counts as not set (ok false,
// no diagnostic).
func (d *decoder) evalString(attr *hcl.Attribute) (string, bool) {
	v, ok := d.eval(attr, cty.String)
	if !ok || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) evalInt(attr *hcl.Attribute) (int64, bool) {
	v, ok := d.eval(attr, cty.Number)
	if !ok || v.IsNull() {
		return 0, false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name, "%s must be a whole number that fits in 64 bits.", attr.Name)
		return 0, false
	}
	return n, true
}

func (d *decoder) evalDuration(attr *hcl.Attribute) (time.Duration, bool) {
	return d.evalDurationFrom(attr, false)
}

// evalDurationOrZero is evalDuration that also accepts "0s" (and "0").
func (d *decoder) evalDurationOrZero(attr *hcl.Attribute) (time.Duration, bool) {
	return d.evalDurationFrom(attr, true)
}

// evalDurationFrom evaluates a positive duration, or zero too when
// zeroAllowed (the attribute's "off").
func (d *decoder) evalDurationFrom(attr *hcl.Attribute, zeroAllowed bool) (time.Duration, bool) {
	s, ok := d.evalString(attr)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 || (v == 0 && !zeroAllowed) {
		want := "a positive Go duration such as \"30s\", \"1m30s\" or \"500ms\""
		if zeroAllowed {
			want = "\"0s\" (off) or a positive Go duration such as \"30s\" or \"500ms\""
		}
		d.errorf(attr.Expr.Range(), "Invalid duration", "%s must be %s; got %q.", attr.Name, want, s)
		return 0, false
	}
	return v, true
}

func (d *decoder) evalEnum(attr *hcl.Attribute, allowed []string) (string, bool) {
	s, ok := d.evalString(attr)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		d.errorf(attr.Expr.Range(), "Invalid "+attr.Name,
			"%s must be one of %s; got %q.", attr.Name, quoteList(allowed), s)
		return "", false
	}
	return s, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// rangeStart formats the start of r as file:line:col.
func rangeStart(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
