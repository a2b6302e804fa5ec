package proxy

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/pluginhost"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/toolsearch"
	"github.com/mcphost/mcphost/host/internal/tracer"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// setupTracing checks the tracing block's plugins and, unless only
// checking, starts the tracer and returns the backend that serves the
// tracing tools and resources. Validation (and a reload's check) does not
// start the tracing plugin: its store has one owner, the running proxy.
func (p *Proxy) setupTracing(ctx context.Context) (*router.BackendSpec, hcl.Diagnostics) {
	t := p.cfg.Tracing
	if !t.Enabled {
		return nil, nil
	}
	subject := t.DeclRange.Ptr()
	var diags hcl.Diagnostics
	if _, clash := p.cfg.Server(tracer.ServerName); clash {
		s, _ := p.cfg.Server(tracer.ServerName)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Server name reserved for tracing",
			Detail:  fmt.Sprintf("With tracing on, %q serves the tracing tools and resources; rename the server.", tracer.ServerName),
			Subject: s.DeclRange.Ptr(),
		})
	}
	for _, name := range []string{t.Plugin, t.Weighting} {
		if _, declared := p.cfg.Plugin(name); !declared && !pluginhost.IsBuiltin(name) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unknown plugin",
				Detail: fmt.Sprintf("Plugin %q is neither built in nor declared with a plugin block.", name), Subject: subject,
			})
		}
	}
	if diags.HasErrors() || p.opts.CheckOnly {
		return nil, diags
	}
	p.toolQuality = toolsearch.NewQualityKeeper(toolsearch.QualityKeeperOptions{
		Read:   p.readToolQuality,
		Active: func() bool { return p.config().Proxy.ToolMode == config.ToolModeSearch },
		Logger: p.log.Named("toolsearch"),
	})
	p.tracer = tracer.New(tracer.Options{
		// The names are read at each use, so that a reload can swap them.
		Tracing:   p.tracingPlugin,
		Weighting: p.tracingWeighting,
		IdleGap:   t.IdleGap, MaxUnits: t.MaxUnits, Queue: t.Queue, QueueBytes: t.QueueBytes, Batch: t.Batch,
		DefaultScore: t.DefaultRetrievalScore, SendContent: t.StoreContent,
		Logger: p.log.Named("tracer"), Up: p.tracingHealth.isUp,
		Changed: p.toolQuality.Changed,
	})
	// Tracing never stops the proxy from starting: when its plugins cannot
	// be used (the store unusable, say), MCP is served without it and the
	// plugins are retried in the background (see superviseTracing).
	if err := p.connectTracing(ctx); err != nil {
		p.tracingFailed(err)
	} else {
		p.tracingHealth.setUp()
	}
	return &router.BackendSpec{Name: tracer.ServerName, Prefix: false, Internal: true, Open: p.tracer.Open}, diags
}

// connectTracing starts (or finds running) the tracing and weighting
// plugins, and learns whether the tracing plugin weighs through the host.
func (p *Proxy) connectTracing(ctx context.Context) error {
	t := p.config().Tracing
	tp, err := p.plugins.Tracing(ctx, t.Plugin)
	if err != nil {
		return fmt.Errorf("tracing plugin %q: %w", t.Plugin, err)
	}
	// A tracing plugin that weighs through the host (the built-in does)
	// gets responses unweighed; for any other the host weighs them.
	weighsItself, operatorLatest := false, false
	if info, err := tp.Info(ctx, base.InfoRequest{}); err == nil {
		weighsItself = slices.Contains(info.Capabilities, tracing.CapabilityWeighsThroughHost)
		operatorLatest = slices.Contains(info.Capabilities, tracing.CapabilityOperatorLatest)
	}
	if _, err := p.plugins.Weighting(ctx, t.Weighting); err != nil {
		return fmt.Errorf("weighting plugin %q: %w", t.Weighting, err)
	}
	p.tracingHealth.weighsItself.Store(weighsItself)
	p.tracingHealth.operatorLatest.Store(operatorLatest)
	return nil
}

// tracingPlugin is the tracing plugin for the tracer: at once ErrDown
// while tracing is down (the supervisor retries it, not every caller).
func (p *Proxy) tracingPlugin(ctx context.Context) (tracing.Tracing, error) {
	if up, reason := p.tracingHealth.state(); !up {
		return nil, fmt.Errorf("%w (%s); mcphost retries it in the background", tracer.ErrDown, reason)
	}
	tp, err := p.plugins.Tracing(ctx, p.config().Tracing.Plugin)
	if err != nil {
		// The plugin died and could not be started again.
		p.tracingFailed(err)
		return nil, fmt.Errorf("%w: %w", tracer.ErrDown, err)
	}
	return tp, nil
}

// readToolQuality reads the tracing plugin's per-tool quality for search
// mode's ranking (toolsearch.QualityKeeper, off the message path).
func (p *Proxy) readToolQuality(ctx context.Context) ([]byte, error) {
	tp, err := p.tracingPlugin(ctx)
	if err != nil {
		return nil, err
	}
	info, err := tp.Info(ctx, base.InfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("tracing plugin info: %w", err)
	}
	if !slices.Contains(info.Capabilities, tracing.CapabilityToolQuality) {
		return nil, toolsearch.ErrUnsupported
	}
	res, err := tp.ReadResource(ctx, tracing.ReadResourceRequest{Session: tracing.OperatorCallPrefix + "toolsearch", URI: tracing.ResourceToolQuality})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tracing.ResourceToolQuality, err)
	}
	return res.Result, nil
}

// tracingWeighting is the weighting plugin for the tracer, or nil when
// the tracing plugin weighs through the host itself.
func (p *Proxy) tracingWeighting(ctx context.Context) (weighting.Weighting, error) {
	if p.tracingHealth.weighsItself.Load() {
		return nil, nil
	}
	return p.weighting(ctx)
}

// weighting is the configured weighting plugin (read at each use, so that
// a reload can swap it).
func (p *Proxy) weighting(ctx context.Context) (weighting.Weighting, error) {
	return p.plugins.Weighting(ctx, p.config().Tracing.Weighting)
}

// hostServices is what the host offers the tracing plugin (tracing.Host):
// its responses are weighed by the configured weighting plugin, through
// the host.
type hostServices struct{ p *Proxy }

func (h hostServices) Weigh(ctx context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	w, err := h.p.weighting(ctx)
	if err != nil {
		return weighting.WeighResponse{}, err
	}
	return w.Weigh(ctx, req)
}
