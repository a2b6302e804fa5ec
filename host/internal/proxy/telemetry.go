package proxy

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/host/internal/telemetry"
)

// telemetryFlushTimeout bounds how long Shutdown waits for the last spans
// to reach the collector.
const telemetryFlushTimeout = 5 * time.Second

// setupTelemetry starts the span exporter of the telemetry block (nil,
// and no Spans for the router, when there is none or the config is only
// checked). A reload can change or remove the block (reloadTelemetry);
// adding one to a proxy started without needs a restart, so that a proxy
// without telemetry pays nothing for it.
func (p *Proxy) setupTelemetry(ctx context.Context) (router.Spans, hcl.Diagnostics) {
	t := p.cfg.Telemetry
	if !t.Enabled || p.opts.CheckOnly {
		return nil, nil
	}
	e, err := p.newExporter(ctx, t)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Telemetry exporter failed",
			Detail: fmt.Sprintf("The OTLP exporter for %q could not be set up: %v", t.OTLPEndpoint, err), Subject: t.DeclRange.Ptr(),
		}}
	}
	p.spans = telemetry.NewSwitch(e)
	return p.spans, nil
}

func (p *Proxy) newExporter(ctx context.Context, t config.Telemetry) (*telemetry.Exporter, error) {
	e, err := telemetry.New(ctx, telemetry.Options{
		Endpoint: t.OTLPEndpoint, Headers: t.Headers, ServiceName: t.ServiceName, ServiceVersion: Version,
		Logger: p.log.Named("telemetry"), Dropped: p.metrics.TelemetrySpanDropped, ExportFailed: p.metrics.TelemetryExportFailed,
	})
	if err != nil {
		return nil, err
	}
	p.log.Info("exporting OpenTelemetry spans", "otlp_endpoint", t.OTLPEndpoint, "service_name", t.ServiceName,
		"headers", t.HeaderNames())
	return e, nil
}

// reloadTelemetry applies a changed telemetry block: a new exporter takes
// over (or none, for a removed block) and the previous one sends what it
// holds, within telemetryFlushTimeout. It returns a warning for what it
// could not apply.
func (p *Proxy) reloadTelemetry(ctx context.Context, old, next config.Telemetry) string {
	if !telemetryChanged(old, next) {
		return ""
	}
	if p.spans == nil {
		if next.Enabled {
			return "telemetry block added; restart mcphost to turn it on"
		}
		return ""
	}
	var e *telemetry.Exporter
	if next.Enabled {
		var err error
		if e, err = p.newExporter(ctx, next); err != nil {
			return fmt.Sprintf("telemetry settings not applied (%v); the previous ones stay", err)
		}
	}
	if previous := p.spans.Swap(e); previous != nil {
		p.shutdownExporter(ctx, previous)
	}
	if e == nil {
		p.log.Info("OpenTelemetry spans no longer exported (telemetry block removed)")
	}
	return ""
}

// stopTelemetry sends the spans still queued, waiting at most
// telemetryFlushTimeout (or until ctx ends), and stops the exporter.
func (p *Proxy) stopTelemetry(ctx context.Context) {
	if p.spans == nil {
		return
	}
	if e := p.spans.Swap(nil); e != nil {
		p.shutdownExporter(ctx, e)
	}
}

func (p *Proxy) shutdownExporter(ctx context.Context, e *telemetry.Exporter) {
	ctx, cancel := context.WithTimeout(ctx, telemetryFlushTimeout)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		p.log.Warn("telemetry: the last spans were not all sent", "error", err)
	}
}

// telemetryChanged says whether a reload changed the telemetry block.
func telemetryChanged(old, next config.Telemetry) bool {
	old.DeclRange, next.DeclRange = hcl.Range{}, hcl.Range{}
	return !reflect.DeepEqual(old, next)
}
