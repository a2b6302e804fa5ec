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
// checked). The block applies at start; a reload that changes it is
// reported and not applied (see reload.go).
func (p *Proxy) setupTelemetry(ctx context.Context) (router.Spans, hcl.Diagnostics) {
	t := p.cfg.Telemetry
	if !t.Enabled || p.opts.CheckOnly {
		return nil, nil
	}
	e, err := telemetry.New(ctx, telemetry.Options{
		Endpoint: t.OTLPEndpoint, Headers: t.Headers, ServiceName: t.ServiceName, ServiceVersion: Version,
		Logger: p.log.Named("telemetry"), Dropped: p.metrics.TelemetrySpanDropped, ExportFailed: p.metrics.TelemetryExportFailed,
	})
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Telemetry exporter failed",
			Detail: fmt.Sprintf("The OTLP exporter for %q could not be set up: %v", t.OTLPEndpoint, err), Subject: t.DeclRange.Ptr(),
		}}
	}
	p.spans = e
	p.log.Info("exporting OpenTelemetry spans", "otlp_endpoint", t.OTLPEndpoint, "service_name", t.ServiceName,
		"headers", t.HeaderNames())
	return e, nil
}

// stopTelemetry sends the spans still queued, waiting at most
// telemetryFlushTimeout (or until ctx ends), and stops the exporter.
func (p *Proxy) stopTelemetry(ctx context.Context) {
	if p.spans == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, telemetryFlushTimeout)
	defer cancel()
	if err := p.spans.Shutdown(ctx); err != nil {
		p.log.Warn("telemetry: the last spans were not all sent", "error", err)
	}
}

// telemetryChanged says whether a reload changed the telemetry block
// (which applies at start only).
func telemetryChanged(old, next config.Telemetry) bool {
	old.DeclRange, next.DeclRange = hcl.Range{}, hcl.Range{}
	return !reflect.DeepEqual(old, next)
}
