package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/logs"
	"github.com/mcphost/mcphost/host/internal/metrics"
	"github.com/mcphost/mcphost/host/internal/redact"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// Control is the proxy as the admin API sees it.
func (p *Proxy) Control() admin.Control { return control{p} }

type control struct{ p *Proxy }

var _ admin.Control = control{}

func (c control) Servers() []admin.ServerStatus {
	c.p.mu.Lock()
	cfg := c.p.cfg
	c.p.mu.Unlock()
	var out []admin.ServerStatus
	shortened := c.shortenedNames()
	for _, b := range c.p.router.Backends() {
		s, _ := cfg.Server(b.Name)
		out = append(out, admin.ServerStatus{
			Name: b.Name, State: string(b.State), Reason: b.Reason, ProtocolVersion: b.ProtocolVersion,
			Transport: s.Transport.Plugin, Tools: b.Tools, Prompts: b.Prompts, Resources: b.Resources,
			Templates: b.Templates, InFlight: b.InFlight, Restarts: b.Restarts, LastError: b.LastError,
			NextAttempt: b.NextAttempt, Warnings: b.Warnings, ShortenedNames: shortened[b.Name],
		})
	}
	return out
}

// known turns the router's unknown-server error into the admin API's 404.
func (c control) known(name string, err error) error {
	if errors.Is(err, router.ErrUnknownBackend) {
		return fmt.Errorf("%w: %q", admin.ErrUnknownServer, name)
	}
	return err
}

func (c control) StartServer(_ context.Context, name string) error {
	return c.known(name, c.p.router.StartBackend(name))
}

func (c control) StopServer(_ context.Context, name string) error {
	return c.known(name, c.p.router.StopBackend(name))
}

func (c control) RestartServer(_ context.Context, name string) error {
	return c.known(name, c.p.router.RestartBackend(name))
}

func (c control) Tools() []admin.Tool {
	var out []admin.Tool
	pinned := c.p.router.PinnedTools()
	for _, t := range append(c.p.router.Tools(), c.p.router.LeftOutTools()...) {
		out = append(out, admin.Tool{
			Name: t.Name, Server: t.Server, OriginalName: t.Original, Title: t.Title, Description: t.Description,
			Annotations: t.Annotations, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema,
			State: string(t.State), Overridden: t.Overridden, Shortened: t.Shortened,
			Pinned: t.Name != "" && slices.Contains(pinned, t.Name),
		})
	}
	return out
}

// shortenedNames are the names the router cut to fit the name budget, by
// server.
func (c control) shortenedNames() map[string][]admin.ShortenedName {
	out := map[string][]admin.ShortenedName{}
	for _, s := range c.p.router.Shortened() {
		out[s.Server] = append(out[s.Server], admin.ShortenedName{Kind: s.Kind, Original: s.Original, Full: s.Full, Exposed: s.Exposed})
	}
	return out
}

func (c control) Sessions() []admin.Session {
	var out []admin.Session
	for _, s := range c.p.router.Sessions() {
		out = append(out, admin.Session{
			ID: s.ID, Listener: s.Listener, ProtocolVersion: s.ProtocolVersion, ClientName: s.ClientName,
			ClientVersion: s.ClientVersion, Started: s.Started, InFlight: s.InFlight,
		})
	}
	return out
}

// log finds a log by name: a configured server, or the host's own.
func (c control) log(name string) (*logs.Log, error) {
	m := c.p.opts.Logs
	if m == nil {
		return nil, errors.New("log files are off (proxy { log_dir = \"\" })")
	}
	if name != logs.HostLog {
		known := false
		for _, b := range c.p.router.Backends() {
			known = known || b.Name == name
		}
		if !known {
			return nil, fmt.Errorf("%w: %q", admin.ErrUnknownServer, name)
		}
	}
	return m.Log(name)
}

func (c control) Logs(name string, n int) ([]string, error) {
	l, err := c.log(name)
	if err != nil {
		return nil, err
	}
	return l.Tail(n)
}

func (c control) FollowLogs(ctx context.Context, name string, n int) (<-chan string, error) {
	l, err := c.log(name)
	if err != nil {
		return nil, err
	}
	return l.Follow(ctx, n)
}

func (c control) MetricsSummary() admin.MetricsSummary {
	var out admin.MetricsSummary
	out.Servers = []admin.ServerMetrics{}
	total := make([]uint64, len(metrics.DurationBuckets)+1)
	for _, s := range c.p.metrics.Summary() {
		counts := admin.Counts{Requests: s.Requests, Errors: s.Errors, Timeouts: s.Timeouts}
		out.Servers = append(out.Servers, admin.ServerMetrics{Server: s.Server, Counts: counts, Latency: latency(s.Latency)})
		out.Totals.Requests += s.Requests
		out.Totals.Errors += s.Errors
		out.Totals.Timeouts += s.Timeouts
		for i, n := range s.Latency {
			total[i] += n
		}
	}
	out.Totals.Latency = latency(total)
	for _, b := range metrics.DurationBuckets {
		out.BucketBoundsMs = append(out.BucketBoundsMs, b*1000)
	}
	return out
}

// latency is the admin view of request counts by duration bucket.
func latency(buckets []uint64) admin.Latency {
	l := admin.Latency{Buckets: buckets}
	if s, ok := metrics.Quantile(0.5, buckets); ok {
		ms := s * 1000
		l.P50Ms = &ms
	}
	if s, ok := metrics.Quantile(0.99, buckets); ok {
		ms := s * 1000
		l.P99Ms = &ms
	}
	return l
}

func (c control) Reload(ctx context.Context) (admin.ReloadResult, error) {
	res, err := c.p.Reload(ctx)
	return adminReload(res), err
}

func (c control) Events(ctx context.Context) <-chan admin.Event { return c.p.Events(ctx) }

// adminSession is the session name the admin API's tracing calls use.
const adminSession = tracing.OperatorSession

func (c control) Tracing() admin.TracingStatus {
	if c.p.tracer == nil {
		return admin.TracingStatus{}
	}
	st := c.p.tracingHealth.status()
	q := c.p.tracer.Stats()
	return admin.TracingStatus{
		Enabled: true, Up: st.Up, Reason: st.Reason, Since: st.Since, Failures: st.Failures, NextAttempt: st.NextAttempt,
		Responses: q.Responses, Dropped: q.Dropped, QueueDepth: q.QueueDepth, QueueBytes: q.QueueBytes,
	}
}

func (c control) TraceTool(ctx context.Context, name string, args json.RawMessage) (json.RawMessage, error) {
	t := c.p.tracer
	if t == nil {
		return nil, admin.ErrTracingOff
	}
	// "latest" from an operator means the newest response of any session:
	// of every copy sharing the store, when the plugin resolves it (the
	// built-in does), else of this copy.
	if id := gjson.GetBytes(args, "response_id"); id.Str == "latest" && !c.p.tracingHealth.operatorLatest.Load() {
		last := t.LastResponse()
		if last == "" {
			return nil, fmt.Errorf("%w: no client response has been traced", admin.ErrNothingRecorded)
		}
		args, _ = sjson.SetBytes(args, "response_id", last)
	}
	plugin, err := c.p.tracingPlugin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := plugin.CallTool(ctx, tracing.CallToolRequest{Session: adminSession, Name: name, Arguments: args})
	if err != nil {
		return nil, err
	}
	t.NotifyChanged(r.ChangedURIs)
	return r.Result, nil
}

func (c control) TraceResource(ctx context.Context, uri string) (json.RawMessage, error) {
	if c.p.tracer == nil {
		return nil, admin.ErrTracingOff
	}
	plugin, err := c.p.tracingPlugin(ctx)
	if err != nil {
		return nil, err
	}
	r, err := plugin.ReadResource(ctx, tracing.ReadResourceRequest{Session: adminSession, URI: uri})
	if err != nil {
		return nil, err
	}
	return r.Result, nil
}

// Config is the running configuration with every secret replaced.
func (c control) Config() any { return c.configView() }

func (c control) configView() admin.ConfigView {
	c.p.mu.Lock()
	cfg := c.p.cfg
	transports := make(map[string]json.RawMessage, len(c.p.transportConfigs))
	for k, v := range c.p.transportConfigs {
		transports[k] = v
	}
	c.p.mu.Unlock()
	out := admin.ConfigView{
		File: cfg.Filename,
		Proxy: admin.ConfigProxy{
			ToolNameTemplate: cfg.Proxy.ToolNameTemplate, PromptNameTemplate: cfg.Proxy.PromptNameTemplate,
			ResourceURITemplate: cfg.Proxy.ResourceURITemplate, MaxMessageBytes: cfg.Proxy.MaxMessageBytes,
			NameBudget: cfg.Proxy.NameBudget, ClientPrefix: cfg.Proxy.ClientPrefix,
			RequestTimeout: cfg.Proxy.RequestTimeout.String(), ShutdownTimeout: cfg.Proxy.ShutdownTimeout.String(),
			DrainDelay: cfg.Proxy.DrainDelay.String(), InstanceID: c.p.instanceID,
			LogLevel: cfg.Proxy.LogLevel, LogFormat: cfg.Proxy.LogFormat, LogDir: cfg.Proxy.LogDir,
			Translators: nonNil(cfg.Proxy.Translators), WatchConfig: cfg.Proxy.WatchConfig,
			Restart: configRestart(cfg.Proxy.Restart), Health: configHealth(cfg.Proxy.Health),
		},
		Listeners: []admin.ConfigListener{},
		Admin:     admin.ConfigAdmin{Address: cfg.Admin.Address, AuthToken: redactedIfSet(cfg.Admin.AuthToken)},
		Plugins:   []admin.ConfigPlugin{},
		Servers:   []admin.ConfigServer{},
		Activity:  configActivity(cfg.Activity),
		Profiles:  []admin.ConfigProfile{},
	}
	for _, pr := range cfg.Profiles {
		out.Profiles = append(out.Profiles, admin.ConfigProfile{
			Name: pr.Name, Servers: nonNil(pr.Servers), Tools: nonNil(pr.Tools), Scopes: nonNil(pr.Scopes),
			Token: redactedIfSet(pr.Token),
		})
	}
	for _, l := range cfg.Listeners {
		out.Listeners = append(out.Listeners, admin.ConfigListener{
			Kind: l.Kind, Address: l.Address, Path: l.Path, SSEPath: l.SSEPath, MessagePath: l.MessagePath,
			WebSocketPath: l.WebSocketPath, MetricsPath: l.MetricsPath, AllowedOrigins: nonNil(l.AllowedOrigins),
			AuthToken: redactedIfSet(l.AuthToken), AllowUnauthenticated: l.AllowUnauthenticated,
			MaxSessions: l.MaxSessions, ResumeBufferBytes: max(l.ResumeBufferBytes, 0), ResumeTotalBytes: l.ResumeTotalBytes,
		})
	}
	if t := cfg.Tracing; t.Enabled {
		out.Tracing = &admin.ConfigTracing{
			Plugin: t.Plugin, Weighting: t.Weighting, StoreDir: t.StoreDir, StoreContent: t.StoreContent,
			IdleGap: t.IdleGap.String(), MaxUnits: t.MaxUnits, Queue: t.Queue,
			DefaultRetrievalScore: t.DefaultRetrievalScore,
		}
	}
	if t := cfg.Telemetry.Redacted(); t.Enabled {
		out.Telemetry = &admin.ConfigTelemetry{OTLPEndpoint: t.OTLPEndpoint, Headers: t.Headers, ServiceName: t.ServiceName}
	}
	for _, pl := range cfg.Plugins {
		out.Plugins = append(out.Plugins, admin.ConfigPlugin{
			Name: pl.Name, Source: pl.Source, SHA256: pl.SHA256, Mode: pl.Mode, Version: pl.Version, PassEnv: pl.PassEnv,
		})
	}
	for _, s := range cfg.Servers {
		srv := admin.ConfigServer{
			Name: s.Name, Enabled: s.Enabled, Prefix: s.Prefix, ProtocolVersion: s.ProtocolVersion,
			Transport: s.Transport.Plugin, Restart: configRestart(s.Restart), Health: configHealth(s.Health),
		}
		if s.RequestTimeout > 0 {
			srv.RequestTimeout = s.RequestTimeout.String()
		}
		srv.TransportConfig = transports[s.Name] // redacted by backendSpec
		srv.ToolFilter, srv.PromptFilter, srv.ResourceFilter = configFilter(s.Tools), configFilter(s.Prompts), configFilter(s.Resources)
		for _, o := range s.ToolOverrides {
			srv.ToolOverrides = append(srv.ToolOverrides, admin.ConfigToolOverride{
				Name: o.Name, ExposeAs: o.ExposeAs, Description: o.Description, Annotations: o.Annotations, Hidden: o.Hidden,
			})
		}
		out.Servers = append(out.Servers, srv)
	}
	return out
}

func configRestart(r config.Restart) admin.ConfigRestart {
	return admin.ConfigRestart{
		MaxRestarts: r.MaxRestarts, Window: r.Window.String(), InitialDelay: r.InitialDelay.String(), MaxDelay: r.MaxDelay.String(),
	}
}

func configHealth(h config.Health) admin.ConfigHealth {
	return admin.ConfigHealth{Interval: h.Interval.String(), Timeout: h.Timeout.String(), FailureThreshold: h.FailureThreshold}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func redactedIfSet(s string) string {
	if s == "" {
		return ""
	}
	return redact.Value
}

// configFilter is a server's filter block for the config view; nil when
// the server has none.
func configFilter(f config.Filter) *admin.ConfigFilter {
	if f.DeclRange.Filename == "" {
		return nil
	}
	return &admin.ConfigFilter{Allow: nonNil(f.Allow), Deny: nonNil(f.Deny)}
}
