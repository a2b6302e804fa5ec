// Package proxy assembles a running mcphost from a loaded config: plugins,
// the router with one backend per enabled server, and the listeners.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/activity"
	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/buildinfo"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/listen"
	"github.com/mcphost/mcphost/host/internal/logs"
	"github.com/mcphost/mcphost/host/internal/metrics"
	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/pluginhost"
	"github.com/mcphost/mcphost/host/internal/redact"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/telemetry"
	"github.com/mcphost/mcphost/host/internal/toolsearch"
	"github.com/mcphost/mcphost/host/internal/tracer"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Version is the host's version as the build recorded it (see
// buildinfo.Info.Version): sent as serverInfo and clientInfo in MCP
// handshakes and listed with each running copy.
var Version = buildinfo.Read().Version

// Options are what the command line adds to the config.
type Options struct {
	// Executable is the mcphost binary, re-executed for built-in plugins.
	Executable string
	Logger     hclog.Logger
	// CheckOnly builds everything needed to validate the config and
	// nothing more: built-ins are asked in-process, no backend starts.
	CheckOnly bool
	// Logs, when set, keeps a log file per server (their stderr and
	// their plugins' lines arrive through the logger's sink).
	Logs *logs.Manager
}

// Proxy is a configured mcphost.
type Proxy struct {
	cfg     *config.Config
	opts    Options
	log     hclog.Logger
	plugins *pluginhost.Manager
	router  *router.Router
	// stateKey authenticates requestState tokens and peer calls
	// (request_state_key, or a random key per start); peers forwards
	// retries to their owners (nil without proxy.peers).
	stateKey []byte
	peers    *listen.PeerForwarder
	metrics  *metrics.Registry
	// stdio counts the stdio sessions being served, for metrics.
	stdio atomic.Int64

	// fingerprints identify each running server's settings, to tell what
	// a reload changes, and specs are what they run with, to restore one
	// whose new settings cannot start (both under mu); reloadMu
	// serializes reloads.
	fingerprints map[string]string
	specs        map[string]router.BackendSpec
	reloadMu     sync.Mutex
	// tracer records context units (nil when tracing is off).
	tracer *tracer.Tracer
	// spans exports OpenTelemetry spans (nil when the proxy started
	// without a telemetry block).
	spans *telemetry.Switch
	// activity is the activity log (activity.go); nil only for CheckOnly.
	activity *activity.Log
	// toolQuality keeps what tracing learned per tool, for search mode's
	// ranking (nil when tracing is off).
	toolQuality *toolsearch.QualityKeeper
	// tracingHealth says whether tracing can be used; when it cannot,
	// superviseTracing retries it, on a goroutine Start starts and
	// Shutdown stops (stopTracing, tracingDone).
	tracingHealth *tracingHealth
	stopTracing   context.CancelFunc
	tracingDone   chan struct{}
	// transportConfigs are the servers' decoded transport blocks, for the
	// admin API's (redacted) config.
	transportConfigs map[string]json.RawMessage
	events           eventHub
	// signIns are the sign-ins the admin API started (signin.go).
	signIns signIns

	// started is closed when the backends have made their first attempt
	// or the start-up wait is over (nil before Start).
	started <-chan struct{}
	// startWaitOver is set once WaitStarted has seen that wait end with
	// the servers' names checked: mcphost_started.
	startWaitOver atomic.Bool
	// draining is set by Drain and Shutdown: /readyz answers 503.
	draining atomic.Bool
	// instanceID starts client session ids and is sent as the
	// Mcphost-Instance header; fixed for the process (a reload keeps it).
	instanceID string

	mu          sync.Mutex
	http        []*listen.HTTP
	configDiags hcl.Diagnostics
}

// Build checks cfg against the plugins it names and prepares the router.
// Every problem comes back as an HCL diagnostic at its source.
func Build(ctx context.Context, cfg *config.Config, opts Options) (*Proxy, hcl.Diagnostics) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	p := &Proxy{
		cfg: cfg, opts: opts, log: opts.Logger, fingerprints: map[string]string{}, specs: map[string]router.BackendSpec{},
		transportConfigs: map[string]json.RawMessage{},
		tracingHealth:    newTracingHealth(),
		instanceID:       cfg.Proxy.InstanceID,
	}
	if p.instanceID == "" {
		host, _ := os.Hostname()
		p.instanceID = defaultInstanceID(host)
	}
	specs := p.pluginSpecs(cfg)
	if opts.CheckOnly {
		for _, s := range cfg.Servers {
			if _, declared := cfg.Plugin(s.Transport.Plugin); !declared && pluginhost.IsBuiltin(s.Transport.Plugin) {
				specs = append(specs, pluginhost.Spec{Name: s.Transport.Plugin, Source: pluginhost.SourceBuiltin, Mode: pluginhost.ModeInProcess})
			}
		}
		for _, name := range cfg.Proxy.Translators {
			if _, declared := cfg.Plugin(name); !declared && pluginhost.IsBuiltin(name) {
				specs = append(specs, pluginhost.Spec{Name: name, Source: pluginhost.SourceBuiltin, Mode: pluginhost.ModeInProcess})
			}
		}
	}
	p.plugins = pluginhost.New(pluginhost.Options{
		Executable: opts.Executable, MaxMessageBytes: int(cfg.Proxy.MaxMessageBytes), Logger: p.log.Named("plugin"),
	}, specs)

	var diags hcl.Diagnostics
	var backends []router.BackendSpec
	for _, s := range cfg.Servers {
		// A disabled server is still checked and listed (stopped), so that
		// it can be started by hand.
		ps, d := p.backendSpec(ctx, cfg, s)
		p.mu.Lock()
		if len(p.configDiags) > 0 {
			// The plugin's own config block is at fault, not the server.
			d, p.configDiags = p.configDiags, nil
		}
		p.mu.Unlock()
		diags = append(diags, d...)
		if !d.HasErrors() {
			backends = append(backends, ps.spec)
			p.runServer(s.Name, &ps)
		}
	}
	translators, d := p.translators(ctx)
	diags = append(diags, d...)
	tracingBackend, d := p.setupTracing(ctx)
	diags = append(diags, d...)
	if tracingBackend != nil {
		backends = append(backends, *tracingBackend)
	}
	if diags.HasErrors() {
		p.abandonBuild(ctx)
		return nil, diags
	}
	var routerTracer router.Tracer
	if p.tracer != nil {
		routerTracer = p.tracer
	}
	var toolQuality router.QualitySource
	if p.toolQuality != nil {
		toolQuality = p.toolQuality
	}
	p.metrics = metrics.New(p.log.Named("metrics"))
	spans, d := p.setupTelemetry(ctx)
	if d.HasErrors() {
		p.abandonBuild(ctx)
		return nil, append(diags, d...)
	}
	var activityLog router.ActivityRecorder
	if !opts.CheckOnly {
		if d := p.setupActivity(cfg); d.HasErrors() {
			p.abandonBuild(ctx)
			return nil, append(diags, d...)
		}
		activityLog = p.activity
	}
	p.stateKey = []byte(cfg.Proxy.RequestStateKey)
	if len(p.stateKey) == 0 {
		p.stateKey = router.NewRequestStateKey()
	}
	var peers router.PeerForwarder
	if len(cfg.Proxy.Peers) > 0 {
		p.peers = listen.NewPeerForwarder(listen.PeerOptions{
			Self: p.instanceID, Peers: cfg.Proxy.Peers, Key: p.stateKey, MaxBytes: int(cfg.Proxy.MaxMessageBytes),
		})
		peers = p.peers
	}
	p.router = router.New(router.Options{
		Name: "mcphost", Version: Version,
		ToolNameTemplate: cfg.Proxy.ToolNameTemplate, PromptNameTemplate: cfg.Proxy.PromptNameTemplate,
		ResourceURITemplate: cfg.Proxy.ResourceURITemplate, RequestTimeout: cfg.Proxy.RequestTimeout,
		NameBudget: cfg.Proxy.NameBudget, ClientPrefix: cfg.Proxy.ClientPrefix,
		Logger: p.log.Named("router"), Observer: p.metrics, Translators: translators, Tracer: routerTracer,
		Activity:           activityLog,
		SessionOutboxBytes: int(cfg.Proxy.SessionOutboxBytes), OutboxBytes: int(cfg.Proxy.OutboxBytes),
		SessionMaxInFlight: sessionMaxInFlight(cfg.Proxy.SessionMaxInFlight), SessionShed: p.metrics.SessionShed,
		MaxNestingDepth: maxNestingDepth(cfg.Proxy.MaxNestingDepth), InstanceID: p.instanceID,
		RequestStateKey: p.stateKey, Peers: peers,
		Spans: spans,
		StateChanged: func(server string, state router.State, reason string) {
			p.events.publish(admin.Event{Type: admin.EventState, Server: server, State: string(state), Reason: reason})
		},
		ToolMode: cfg.Proxy.ToolMode, PinnedTools: cfg.Proxy.PinnedTools, ToolQuality: toolQuality,
	}, backends)
	sources := metrics.Sources{
		Backends: p.router.Backends,
		Sessions: p.sessionCounts,
		Outboxes: p.router.QueuedBytes,
		Plugins:  metrics.ManagerPlugins(p.plugins),
		Started:  p.startWaitOver.Load,
	}
	if p.tracer != nil {
		sources.Tracing = func() metrics.TracingStats {
			s := p.tracer.Stats()
			return metrics.TracingStats{
				Events: s.Events, Dropped: s.Dropped, Responses: s.Responses, RecordErrors: s.RecordErrors,
				QueueDepth: s.QueueDepth, QueueBytes: s.QueueBytes, Up: p.tracingHealth.isUp(),
			}
		}
	}
	p.metrics.SetSources(sources)
	p.router.SetProfiles(routerProfiles(cfg))
	return p, diags
}

// maxNestingDepth maps the config's bound (0: none) to the router's
// (negative: none).
func maxNestingDepth(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// sessionMaxInFlight maps the config's bound (0: none) to the router's
// (negative: none).
func sessionMaxInFlight(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// translators starts the configured translator plugins, so that a wrong
// name or kind is a config error, and returns how the router reaches them.
func (p *Proxy) translators(ctx context.Context) ([]router.TranslatorRef, hcl.Diagnostics) {
	var refs []router.TranslatorRef
	var diags hcl.Diagnostics
	subject := p.cfg.Proxy.TranslatorsRange
	if subject == (hcl.Range{}) {
		subject = p.cfg.Proxy.DeclRange
	}
	for _, name := range p.cfg.Proxy.Translators {
		if _, err := p.plugins.Translator(ctx, name); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Translator plugin unavailable",
				Detail: fmt.Sprintf("Translator %q: %v", name, err), Subject: subject.Ptr(),
			})
			continue
		}
		refs = append(refs, router.TranslatorRef{Name: name, Get: func(ctx context.Context) (translator.Translator, error) {
			return p.plugins.Translator(ctx, name)
		}})
	}
	return refs, diags
}

// configDecoder decodes a plugin's `config` block against the schema the
// plugin reports; its diagnostics are kept for Build to return.
func (p *Proxy) configDecoder(pl config.Plugin) func(base.Schema) (json.RawMessage, error) {
	return func(schema base.Schema) (json.RawMessage, error) {
		p.mu.Lock()
		evalCtx := p.cfg.EvalContext
		p.mu.Unlock()
		raw, diags := config.DecodeBody(pl.Config, schema, evalCtx)
		if diags.HasErrors() {
			p.mu.Lock()
			p.configDiags = append(p.configDiags, diags...)
			p.mu.Unlock()
			return nil, fmt.Errorf("invalid config block at %s", pl.ConfigRange)
		}
		return raw, nil
	}
}

// backendSpec decodes a server's transport block against the schema its
// plugin reports, has the plugin validate it, and returns how to open it.
// It also returns a fingerprint of the server's settings, for reload.
// preparedServer is a server of a configuration made ready to run.
type preparedServer struct {
	spec router.BackendSpec
	// fingerprint identifies its settings (serverFingerprint).
	fingerprint string
	// shown is its transport block as the admin API shows it, redacted.
	shown json.RawMessage
}

// backendSpec prepares server s of cfg: its transport plugin decodes and
// validates the block. Nothing of the proxy's changes.
func (p *Proxy) backendSpec(ctx context.Context, cfg *config.Config, s config.Server) (preparedServer, hcl.Diagnostics) {
	name := s.Transport.Plugin
	tr, err := p.plugins.Transport(ctx, name)
	if err != nil {
		return preparedServer{}, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Transport plugin unavailable",
			Detail: fmt.Sprintf("Server %q uses transport %q: %v", s.Name, name, err), Subject: s.Transport.LabelRange.Ptr(),
		}}
	}
	schema, err := tr.Schema(ctx, base.SchemaRequest{})
	if err != nil {
		return preparedServer{}, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Transport plugin failed", Detail: err.Error(), Subject: s.Transport.LabelRange.Ptr(),
		}}
	}
	cfgJSON, diags := config.DecodeBody(s.Transport.Body, schema.Instance, cfg.EvalContext)
	if diags.HasErrors() {
		return preparedServer{}, diags
	}
	// What an operator reads (the admin API, errors, diagnostics) never
	// holds what the plugin's schema marks sensitive.
	shown, secrets := redact.Config(schema.Instance, cfgJSON)
	v, err := tr.Validate(ctx, base.ValidateRequest{Config: cfgJSON})
	if err != nil {
		return preparedServer{}, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Transport plugin failed", Detail: secrets.Text(err.Error()), Subject: s.Transport.LabelRange.Ptr(),
		})
	}
	for i := range v.Diagnostics {
		v.Diagnostics[i].Summary = secrets.Text(v.Diagnostics[i].Summary)
		v.Diagnostics[i].Detail = secrets.Text(v.Diagnostics[i].Detail)
	}
	diags = append(diags, config.PluginDiagnostics(s.Transport.Body, s.Transport.DeclRange, v.Diagnostics, schema.Instance)...)
	maxBytes := int(cfg.Proxy.MaxMessageBytes)
	// Only a transport compiled into mcphost is trusted with the host's
	// environment (a plugin process has a minimal one of its own).
	trusted := pluginhost.IsBuiltin(name)
	if pl, declared := cfg.Plugin(name); declared {
		trusted = pl.Builtin()
	}
	if p.opts.Logs != nil {
		if _, err := p.opts.Logs.Log(s.Name); err != nil {
			p.log.Warn("no log file for the server", "server", s.Name, "error", err)
		}
	}
	spec := router.BackendSpec{
		Name: s.Name, Prefix: s.Prefix, Timeout: s.RequestTimeout, ProtocolVersion: s.ProtocolVersion, Disabled: !s.Enabled,
		Restart: restartPolicy(s.Restart), Health: healthCheck(s.Health),
		Filters: router.Filters{Tools: filter(s.Tools), Prompts: filter(s.Prompts), Resources: filter(s.Resources),
			ToolOverrides: toolOverrides(s.ToolOverrides)},
		Open: func(ctx context.Context) (transport.Conn, error) {
			tr, err := p.plugins.Transport(ctx, name)
			if err != nil {
				return nil, err
			}
			req := transport.OpenRequest{Name: s.Name, Config: cfgJSON, MaxMessageBytes: maxBytes}
			if trusted {
				req.HostEnv = os.Environ()
			}
			r, err := tr.Open(ctx, req)
			if err != nil {
				return nil, secrets.Error(err)
			}
			return r.Conn, nil
		},
	}
	return preparedServer{spec: spec, fingerprint: serverFingerprint(s, cfgJSON), shown: shown}, diags
}

// runServer records that server ps runs (or, nil, that name runs no
// more): what a reload compares and restores, and what the admin API
// shows.
func (p *Proxy) runServer(name string, ps *preparedServer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ps == nil {
		delete(p.fingerprints, name)
		delete(p.specs, name)
		delete(p.transportConfigs, name)
		return
	}
	p.fingerprints[name] = ps.fingerprint
	p.specs[name] = ps.spec
	p.transportConfigs[name] = ps.shown
}

// filter is a server's tools, prompts or resources block for the router.
func filter(f config.Filter) router.Filter {
	out := router.Filter{Allow: f.Allow, Deny: f.Deny}
	if f.DeclRange.Filename != "" { // a server without the block has none
		out.Where = fmt.Sprintf("%s:%d", f.DeclRange.Filename, f.DeclRange.Start.Line)
	}
	return out
}

// toolOverrides are a server's tool blocks for the router, by tool name.
func toolOverrides(list []config.ToolOverride) map[string]router.ToolOverride {
	if len(list) == 0 {
		return nil
	}
	out := make(map[string]router.ToolOverride, len(list))
	for _, o := range list {
		out[o.Name] = router.ToolOverride{
			ExposeAs: o.ExposeAs, Description: o.Description, Annotations: o.Annotations, Hidden: o.Hidden,
			Where: fmt.Sprintf("%s:%d", o.DeclRange.Filename, o.DeclRange.Start.Line),
		}
	}
	return out
}

// restartPolicy is a server's restart block for the router; zero values
// (a Server not from the loader) get the router's defaults.
func restartPolicy(r config.Restart) router.RestartPolicy {
	return router.RestartPolicy{
		InitialDelay: r.InitialDelay, MaxDelay: r.MaxDelay, MaxRestarts: r.MaxRestarts, Window: r.Window,
	}
}

// healthCheck is a server's health block for the router, where an
// interval of 0 (off in the config) is negative.
func healthCheck(h config.Health) router.HealthCheck {
	out := router.HealthCheck{Interval: h.Interval, Timeout: h.Timeout, FailureThreshold: h.FailureThreshold}
	if out.Interval == 0 {
		out.Interval = -1
	}
	return out
}

// Router is the proxy's router.
func (p *Proxy) Router() *router.Router { return p.router }

// abandonBuild stops what Build set up before a step of it failed: the
// exporter, tool-quality keeper and tracer (each nil until set up) and the
// plugins.
func (p *Proxy) abandonBuild(ctx context.Context) {
	p.stopTelemetry(ctx)
	if p.toolQuality != nil {
		p.toolQuality.Close()
	}
	if p.tracer != nil {
		p.tracer.Close(ctx)
	}
	p.plugins.Close(ctx)
}

// Plugins is the proxy's plugin manager.
func (p *Proxy) Plugins() *pluginhost.Manager { return p.plugins }

// StartOptions say what Start opens besides the backends.
type StartOptions struct {
	// SkipListeners leaves the configured HTTP listeners closed: a stdio
	// copy not asked to serve them leaves their ports to `mcphost run`.
	SkipListeners bool
	// Lenient logs and skips a listener that cannot bind (its port is
	// taken, by another copy say) instead of failing.
	Lenient bool
	// StartupWait, when set, replaces proxy.startup_wait: how long
	// WaitStarted waits for the backends' first attempts.
	StartupWait time.Duration
}

// Start opens the HTTP listeners (unless opts.SkipListeners) and starts
// connecting the backends (in parallel; it does not wait for them: see
// WaitStarted). A listener that cannot bind fails Start, with the
// *net.OpError of the bind in the chain, unless opts.Lenient.
func (p *Proxy) Start(ctx context.Context, opts StartOptions) error {
	for _, l := range p.cfg.Listeners {
		if opts.SkipListeners {
			break
		}
		verifier, err := newVerifier(l.OAuth)
		if err != nil {
			p.closeListeners(ctx)
			return err
		}
		h := listen.NewHTTP(p.router, listen.HTTPOptions{
			Address: l.Address, Path: l.Path, AllowedOrigins: l.AllowedOrigins, AuthToken: l.AuthToken,
			OAuth: verifier, AuthRefused: p.metrics.AuthRefused,
			SSEPath: l.SSEPath, MessagePath: l.MessagePath, WebSocketPath: l.WebSocketPath,
			MetricsPath: l.MetricsPath, Metrics: p.metrics,
			MaxSessions: l.MaxSessions, SessionRefused: p.metrics.SessionRefused,
			ResumeBufferBytes: l.ResumeBufferBytes, ResumeTotalBytes: l.ResumeTotalBytes,
			Readiness: p.readiness, InstanceID: p.instanceID, PeerKey: p.stateKey,
			MaxBytes: int(p.cfg.Proxy.MaxMessageBytes), Logger: p.log.Named("http"),
		})
		if err := h.Listen(); err != nil {
			if opts.Lenient {
				p.log.Warn("HTTP listener not started", "error", err)
				continue
			}
			p.closeListeners(ctx)
			return err
		}
		h.SetProfiles(listenerProfiles(p.cfg))
		p.mu.Lock()
		p.http = append(p.http, h)
		p.mu.Unlock()
		go func() {
			if err := h.Serve(); err != nil {
				p.log.Error("HTTP listener failed", "error", err)
			}
		}()
		p.log.Info("serving MCP over streamable HTTP", "url", h.URL())
		if u := h.SSEURL(); u != "" {
			p.log.Info("serving MCP over HTTP+SSE (2024-11-05 clients)", "url", u)
		}
		if u := h.WebSocketURL(); u != "" {
			p.log.Info("serving MCP over WebSocket", "url", u)
		}
		if u := h.MetricsURL(); u != "" {
			p.log.Info("serving Prometheus metrics", "url", u)
		}
		for _, pr := range p.cfg.Profiles {
			p.log.Info("serving a profile", "profile", pr.Name, "url", h.ProfileURL(pr.Name))
		}
	}
	// Clients are served at once: their initialize is answered whatever
	// the backends are doing (clients time out their server's start), and
	// only their first list requests wait for backends still starting, up
	// to startup_wait (a backend that comes up later is announced with
	// list_changed).
	wait := p.cfg.Proxy.StartupWait
	if opts.StartupWait > 0 {
		wait = opts.StartupWait
	}
	p.started = p.router.Launch(wait)
	if p.tracer != nil && p.stopTracing == nil {
		ctx, cancel := context.WithCancel(context.Background())
		p.stopTracing, p.tracingDone = cancel, make(chan struct{})
		go func() {
			defer close(p.tracingDone)
			p.superviseTracing(ctx)
		}()
	}
	return nil
}

// WaitStarted waits until every backend has made its first attempt or the
// start-up wait is over (or ctx ends), logs each server's state, and then
// refuses, with diagnostics, a config where two servers with prefix =
// false expose the same name: the caller should stop the proxy then. A
// clash that appears only later (a server slower than the wait, a list
// that changes) is logged as an error by the router, and the server
// declared first keeps the name. Once the wait is over and the names are
// checked, the metric mcphost_started is 1: servers not ready by then
// count as started, as in the log, since they are retried and announced
// later.
func (p *Proxy) WaitStarted(ctx context.Context) error {
	if p.started == nil {
		return errors.New("the proxy was not started")
	}
	select {
	case <-p.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	if diags := p.unprefixedCollisions(); diags.HasErrors() {
		return diags
	}
	for _, b := range p.router.Backends() {
		switch {
		case b.State == router.StateRunning:
			p.log.Info("server ready", "server", b.Name, "protocol", b.ProtocolVersion,
				"tools", b.Tools, "prompts", b.Prompts, "resources", b.Resources)
		case b.Reason == router.DisabledReason:
			p.log.Info("server disabled", "server", b.Name)
		case b.State == router.StateStarting:
			p.log.Warn("server still starting after startup_wait; it will be announced with list_changed when ready",
				"server", b.Name, "startup_wait", p.cfg.Proxy.StartupWait)
		default:
			p.log.Warn("server not ready", "server", b.Name, "state", b.State, "reason", b.Reason)
		}
	}
	p.startWaitOver.Store(true)
	return nil
}

// readiness is what the listeners' /readyz says: starting until start-up
// is over and the servers' names are checked (WaitStarted), then ready
// until Drain or Shutdown.
func (p *Proxy) readiness() listen.Readiness {
	switch {
	case p.draining.Load():
		return listen.Draining
	case !p.startWaitOver.Load():
		return listen.Starting
	}
	return listen.Ready
}

// Drain turns /readyz to 503 while everything goes on being served, so
// that load balancers stop sending new work before Shutdown stops taking
// it.
func (p *Proxy) Drain() { p.draining.Store(true) }

// unprefixedCollisions reports names that two servers with prefix = false
// both expose: the config, not the proxy, has to settle which one a client
// means, so the proxy refuses to start rather than pick one.
func (p *Proxy) unprefixedCollisions() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range p.router.Collisions() {
		if !c.Unprefixed {
			continue
		}
		first, _ := p.cfg.Server(c.First)
		second, _ := p.cfg.Server(c.Second)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Name collision between unprefixed servers",
			Detail: fmt.Sprintf("Servers %q (%s) and %q both expose %s %q, and both have prefix = false. "+
				"Set prefix = true on one of them.", c.First, first.DeclRange, c.Second, c.Kind, c.Exposed),
			Subject: second.DeclRange.Ptr(),
		})
	}
	return diags
}

// HTTPURLs lists the MCP endpoints being served.
func (p *Proxy) HTTPURLs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, h := range p.http {
		out = append(out, h.URL())
	}
	return out
}

// ServeStdio speaks MCP on in/out until in ends or ctx is done.
func (p *Proxy) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	return p.serveStdio(ctx, "", in, out)
}

func (p *Proxy) serveStdio(ctx context.Context, profile string, in io.Reader, out io.Writer) error {
	// A stdio client owns our stderr too and may close it before we have
	// finished shutting down (mcp-go's stdio client does). The next log line
	// would then kill the proxy with SIGPIPE halfway through stopping its
	// plugins. With SIGPIPE routed to a channel, such writes fail with EPIPE
	// instead, which the logger ignores; unlike signal.Ignore, this is not
	// inherited by the plugin and backend processes.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	p.stdio.Add(1)
	defer p.stdio.Add(-1)
	return listen.ServeStdioProfile(ctx, p.router, profile, in, out, int(p.cfg.Proxy.MaxMessageBytes), p.cfg.Proxy.ShutdownTimeout)
}

// Clients is the number of client sessions open, on every listener.
func (p *Proxy) Clients() int {
	c := p.sessionCounts()
	return c.Stdio + c.HTTP + c.SSE + c.WebSocket
}

// Metrics is the proxy's metrics registry.
func (p *Proxy) Metrics() *metrics.Registry { return p.metrics }

// sessionCounts reports the open client sessions per listener kind.
func (p *Proxy) sessionCounts() metrics.SessionCounts {
	c := metrics.SessionCounts{Stdio: int(p.stdio.Load())}
	p.mu.Lock()
	hs := p.http
	p.mu.Unlock()
	for _, h := range hs {
		streamable, sse, ws := h.SessionCounts()
		c.HTTP += streamable
		c.SSE += sse
		c.WebSocket += ws
	}
	return c
}

func (p *Proxy) closeListeners(ctx context.Context) error {
	p.mu.Lock()
	hs := p.http
	p.http = nil
	p.mu.Unlock()
	var errs []error
	for _, h := range hs {
		if err := h.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops accepting clients, drains open HTTP requests until ctx
// ends, records what tracing still holds, stops the backends and then the
// plugins.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.Drain()
	err := p.closeListeners(ctx)
	p.signIns.stop()
	if p.stopTracing != nil {
		p.stopTracing()
		<-p.tracingDone
	}
	if p.toolQuality != nil {
		p.toolQuality.Close()
	}
	if p.tracer != nil {
		p.tracer.Close(ctx)
	}
	if p.router != nil {
		p.router.Close()
	}
	p.stopTelemetry(ctx)
	if p.activity != nil {
		// After the router: the calls it ended on closing are recorded.
		if aerr := p.activity.Close(); aerr != nil {
			p.log.Warn("closing the activity log", "error", aerr)
		}
	}
	if p.peers != nil {
		p.peers.Close()
	}
	p.plugins.Close(ctx)
	return err
}

// config is the configuration in force (a reload replaces it).
func (p *Proxy) config() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// newVerifier is the access token verifier of an oauth block; nil without one.
func newVerifier(o *config.ListenOAuth) (*oauthrs.Verifier, error) {
	if o == nil {
		return nil, nil
	}
	v, err := oauthrs.New(oauthrs.Options{
		Issuer: o.Issuer, Audience: o.Audience, Scopes: o.Scopes, ServerScopes: o.ServerScopes,
		JWKSURL: o.JWKSURL, IntrospectionURL: o.IntrospectionURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		ResourceName: o.ResourceName,
	})
	if err != nil {
		return nil, fmt.Errorf("listen oauth: %w", err)
	}
	return v, nil
}
