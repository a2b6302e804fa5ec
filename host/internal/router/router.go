package router

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Options configure a Router. Zero values get defaults.
type Options struct {
	Name    string // serverInfo.name the proxy reports
	Version string
	// Name templates, as in proxy.hcl.
	ToolNameTemplate    string
	PromptNameTemplate  string
	ResourceURITemplate string
	// NameBudget bounds ClientPrefix plus each exposed tool and prompt
	// name (0: 64); a longer name is shortened with a hash.
	NameBudget      int
	ClientPrefix    string
	RequestTimeout  time.Duration
	StartTimeout    time.Duration
	StopTimeout     time.Duration
	RestartDelay    time.Duration
	MaxRestartDelay time.Duration
	// LoginRetryDelay is how often a backend in state needs_login is
	// tried again (default 30s): a sign-in by the CLI usually asks the
	// proxy to reconnect at once, and this catches the cases it cannot.
	LoginRetryDelay time.Duration
	Instructions    string
	Logger          hclog.Logger
	// Observer, when set, is told about every forwarded request (metrics).
	Observer Observer
	// Activity, when set, is handed a record of every tools/call,
	// prompts/get and resources/read (the activity log).
	Activity ActivityRecorder
	// Tracer, when set, is told about every tool result, resource and
	// prompt delivered to a client, and tags the result with the ids it
	// returns (context tracing).
	Tracer Tracer
	// Spans, when set, records a span per client request (OpenTelemetry)
	// and passes the trace on to backends in params._meta.traceparent.
	Spans Spans
	// StateChanged, when set, is told every change of a backend's state
	// (for the admin event stream). It must not block.
	StateChanged func(server string, state State, reason string)
	// Translators put messages between a client's and a backend's
	// protocol versions, applied in order; none means messages pass as
	// they are.
	Translators []TranslatorRef
	// SessionOutboxBytes bounds what may wait for one client (its outbox
	// and open replies); a session beyond it is ended. OutboxBytes bounds
	// what may wait for all clients together; beyond it, the session
	// holding the most is ended.
	SessionOutboxBytes int
	OutboxBytes        int
	// SessionMaxInFlight bounds one session's requests open at one
	// backend; beyond it, requests are refused at once. 0: the default;
	// negative: no bound.
	SessionMaxInFlight int
	// SessionShed, when set, is told each session ended for not reading
	// its messages, with its listener kind (for metrics). It must not block.
	SessionShed func(listener string)
	// MaxNestingDepth bounds how deep arrays and objects may nest in a
	// message, from a client (refused with -32600 before it reaches a
	// backend, whose parser may not survive it) or from a backend. 0: the
	// default; negative: no bound.
	MaxNestingDepth int
	// InstanceID, when set, prefixes the id of every client session:
	// "<InstanceID>.<id>", so that a load balancer in front of several
	// instances can send a session's requests to the one holding it.
	InstanceID string
	// RequestStateKey authenticates the requestState tokens the router
	// issues for parked calls (and is what instances that forward to each
	// other share); nil: a random key, right for one instance.
	RequestStateKey []byte
	// Peers, when set, forwards a retry whose requestState another
	// instance issued to that instance.
	Peers PeerForwarder
	// ToolMode is ToolModeAll ("" too) or ToolModeSearch: tools/list then
	// shows search_tools, describe_tool, call_tool and the tools whose
	// exposed names match a PinnedTools glob (SetToolMode changes both).
	ToolMode    string
	PinnedTools []string
	// ToolQuality, when set, gives search_tools what tracing learned.
	ToolQuality QualitySource
}

// Defaults of the fairness bounds.
const (
	DefaultSessionOutboxBytes = 72 << 20
	DefaultOutboxBytes        = 256 << 20
	DefaultSessionMaxInFlight = 64
	// DefaultMaxNestingDepth is far below where the common SDKs' parsers
	// give up (Python's json near 1,000 levels) and far above what tool
	// arguments need.
	DefaultMaxNestingDepth = 128
)

// CodeTooManyRequests answers a request beyond the session's bound on
// requests open at one backend.
const CodeTooManyRequests = -32004

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "mcphost"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.ToolNameTemplate == "" {
		o.ToolNameTemplate = "mcp__proxy__{server}__{tool}"
	}
	if o.NameBudget <= 0 {
		o.NameBudget = maxNameLen
	}
	if o.PromptNameTemplate == "" {
		o.PromptNameTemplate = "mcp__proxy__{server}__{prompt}"
	}
	if o.ResourceURITemplate == "" {
		o.ResourceURITemplate = "mcp+proxy://{server}/{uri}"
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.RestartDelay <= 0 {
		o.RestartDelay = time.Second
	}
	if o.MaxRestartDelay <= 0 {
		o.MaxRestartDelay = 30 * time.Second
	}
	if o.LoginRetryDelay <= 0 {
		o.LoginRetryDelay = DefaultLoginRetryDelay
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.SessionOutboxBytes <= 0 {
		o.SessionOutboxBytes = DefaultSessionOutboxBytes
	}
	if o.OutboxBytes <= 0 {
		o.OutboxBytes = DefaultOutboxBytes
	}
	o.OutboxBytes = max(o.OutboxBytes, o.SessionOutboxBytes)
	if o.SessionMaxInFlight == 0 {
		o.SessionMaxInFlight = DefaultSessionMaxInFlight
	}
	if o.MaxNestingDepth == 0 {
		o.MaxNestingDepth = DefaultMaxNestingDepth
	}
	if len(o.RequestStateKey) == 0 {
		o.RequestStateKey = NewRequestStateKey()
	}
}

// tooDeep says whether msg nests deeper than the router allows.
func (r *Router) tooDeep(msg []byte) bool {
	return r.opts.MaxNestingDepth > 0 && jsonrpc.DeeperThan(msg, r.opts.MaxNestingDepth)
}

// Router aggregates backends for any number of client sessions.
type Router struct {
	opts Options
	log  hclog.Logger

	// ctx ends when the router closes. Every goroutine the router starts
	// is counted in wg (spawn), which Close waits for; spawnMu and
	// closing keep a spawn from racing with that wait.
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	spawnMu sync.Mutex
	closing bool

	parked      parkedCalls
	backends    *backendSet
	catalog     *catalogKeeper
	translators atomic.Pointer[translators]

	levels *levelForwarder
	tasks  taskTable

	sessions *sessionSet
	// startup is the latest start of the backends (Launch or Start).
	startup atomic.Pointer[startup]
	// queued is what waits in every session's outboxes.
	queued atomic.Int64
	// profiles are the configured profiles by name (SetProfiles).
	profiles atomic.Pointer[map[string]*profileView]
}

// New returns a router for the given backends; call Start to connect them.
func New(opts Options, specs []BackendSpec) *Router {
	opts.defaults()
	r := &Router{opts: opts, log: opts.Logger, sessions: newSessionSet(), tasks: newTaskTable()}
	r.parked.calls = map[string]*parkedCall{}
	r.profiles.Store(&map[string]*profileView{})
	r.translators.Store(newTranslators(opts.Translators))
	r.ctx, r.cancel = context.WithCancel(context.Background())
	list := make([]*backend, 0, len(specs))
	for _, s := range specs {
		list = append(list, newBackend(r, s))
	}
	r.backends = newBackendSet(list)
	r.catalog = newCatalogKeeper(opts, r.backends, r.sessions)
	r.levels = &levelForwarder{sessions: r.sessions, backends: r.backends}
	return r
}

// launch runs b's supervisor until b or the router is stopped.
func (r *Router) launch(b *backend, first chan struct{}) {
	ctx, cancel := context.WithCancel(r.ctx)
	b.remove, b.done = cancel, make(chan struct{})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(b.done)
		b.run(ctx, first)
	}()
}

// AddBackend starts a new backend while the router runs. It returns at
// once; the backend connects in the background.
func (r *Router) AddBackend(spec BackendSpec) error {
	if r.ctx.Err() != nil {
		return errors.New("the proxy is shutting down")
	}
	return r.backends.add(newBackend(r, spec), func(b *backend) { r.launch(b, nil) })
}

// RemoveBackend stops a backend and forgets it: its open requests fail,
// and its tools, prompts and resources leave the catalog (sessions are
// told). It returns once the backend's connection is closed.
func (r *Router) RemoveBackend(name string) error {
	gone, err := r.backends.remove(name)
	if err != nil {
		return err
	}
	if gone.remove != nil {
		gone.remove()
		<-gone.done
	}
	r.catalog.rebuild(true)
	return nil
}

// Close stops every backend and ends every session's open requests.
func (r *Router) Close() {
	r.spawnMu.Lock()
	r.closing = true
	r.spawnMu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// spawn runs fn on a goroutine the router owns: fn gets the router's
// context, which ends at Close, and Close waits for fn to return. Once
// Close has begun nothing more is started, and spawn reports false.
func (r *Router) spawn(fn func(ctx context.Context)) bool {
	r.spawnMu.Lock()
	if r.closing {
		r.spawnMu.Unlock()
		return false
	}
	r.wg.Add(1)
	r.spawnMu.Unlock()
	go func() {
		defer r.wg.Done()
		fn(r.ctx)
	}()
	return true
}

// Backends reports the state of every backend, in config order.
func (r *Router) Backends() []BackendStatus {
	list := r.backends.all()
	warnings := r.catalog.load().warnings
	out := make([]BackendStatus, 0, len(list))
	for _, b := range list {
		st := b.status()
		st.Warnings = warnings[b.spec.Name]
		out = append(out, st)
	}
	return out
}

// SetToolMode switches tools/list between every tool (ToolModeAll) and
// search mode with the given pinned tools (globs on exposed names); the
// sessions get tools/list_changed when their list changed.
func (r *Router) SetToolMode(mode string, pinned []string) {
	r.catalog.setToolMode(mode, pinned)
}

// SetFilters replaces the named backend's filters without reconnecting
// it: the catalog is rebuilt from the lists it has, and sessions are told
// which lists changed.
func (r *Router) SetFilters(name string, fs Filters) error {
	b, err := r.backends.named(name)
	if err != nil {
		return err
	}
	b.filters.Store(&fs)
	r.catalog.rebuild(true)
	return nil
}

// Collisions lists exposed-name clashes found in the current catalog.
func (r *Router) Collisions() []Collision {
	return r.catalog.load().collisions
}

// Shortened lists the exposed names the current catalog had to shorten
// to fit the name budget.
func (r *Router) Shortened() []ShortenedName {
	return r.catalog.load().shortened
}

func (r *Router) onResourceUpdated(b *backend, msg []byte) {
	uri, ok := jsonrpc.GetString(msg, "params.uri")
	if !ok {
		return
	}
	exposed := exposeURI(r.opts, b, uri)
	out, err := jsonrpc.Set(msg, "params.uri", jsonrpc.String(exposed))
	if err != nil {
		return
	}
	for _, s := range r.sessions.live() {
		if !s.subscriptions.has(exposed) {
			continue
		}
		s.version.era().notify(s, b, "notifications/resources/updated", exposed, out)
	}
}

// onBackendRequest carries a server→client request (sampling, elicitation,
// roots) to the session whose request caused it.
func (r *Router) onBackendRequest(b *backend, env jsonrpc.Envelope, msg []byte) {
	if env.Method == "ping" {
		b.sendAsync(jsonrpc.Result(env.ID, []byte(`{}`)))
		return
	}
	var target *Session
	var reply replyStream
	if owner, edited, ok := r.tasks.relatedNotification(b, msg); ok {
		// A task asking for input: its request has long been answered.
		target, msg = owner, edited
	} else if p := b.conn.latestClientRequest(); p != nil {
		target, reply = p.session, p.reply
	} else {
		target = r.sessions.mostRecent(env.Method, msg)
	}
	if target == nil {
		b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound,
			"mcphost: no client session is connected that can answer "+env.Method, nil))
		return
	}
	if !target.clientSupports(env.Method, msg) {
		b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound,
			"mcphost: the client did not declare the capability for "+env.Method, nil))
		return
	}
	target.version.era().serverRequest(target, b, reply, env, msg)
}

// onBackendCancelled forwards a backend's cancellation of one of its
// server→client requests to the session holding it.
func (r *Router) onBackendCancelled(b *backend, msg []byte) {
	reqID := gjson.GetBytes(msg, "params.requestId").Raw
	if reqID == "" {
		return
	}
	for _, s := range r.sessions.live() {
		if proxyID, ok := s.takeServerRequest(b, []byte(reqID)); ok {
			out, err := jsonrpc.Set(msg, "params.requestId", jsonrpc.Int(proxyID))
			if err == nil {
				s.deliver(nil, out)
			}
			return
		}
	}
}

// onElicitationComplete carries the end of a URL-mode elicitation to the
// session that got the elicitation, or else to every initialized session
// that can elicit.
func (r *Router) onElicitationComplete(b *backend, msg []byte) {
	sessions := r.sessions.live()
	if eid, ok := jsonrpc.GetString(msg, "params.elicitationId"); ok {
		for _, s := range sessions {
			if s.takeElicitation(b, eid) {
				s.deliverFrom(b, nil, "notifications/elicitation/complete", translator.KindNotification, msg)
				return
			}
		}
	}
	for _, s := range sessions {
		if s.isInitialized() && s.hasCapability("elicitation") {
			s.deliverFrom(b, nil, "notifications/elicitation/complete", translator.KindNotification, msg)
		}
	}
}

// onBackendBroadcast delivers any other notification from a backend: to
// the task's session when it names a task, else to every session.
func (r *Router) onBackendBroadcast(b *backend, msg []byte) {
	method, _ := jsonrpc.GetString(msg, "method")
	if owner, edited, ok := r.tasks.relatedNotification(b, msg); ok {
		if owner.isInitialized() {
			owner.deliverFrom(b, nil, method, translator.KindNotification, edited)
		}
		return
	}
	for _, s := range r.sessions.live() {
		if s.isInitialized() {
			s.deliverFrom(b, nil, method, translator.KindNotification, msg)
		}
	}
}

// SessionCount is the number of open client sessions.
func (r *Router) SessionCount() int { return r.sessions.count() }
