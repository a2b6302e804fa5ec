package metrics

// TelemetrySpanDropped counts a span dropped because the export queue was
// full (telemetry.Options.Dropped).
func (r *Registry) TelemetrySpanDropped() {
	r.set.GetOrCreateCounter(`mcphost_telemetry_spans_dropped_total`).Inc()
}

// TelemetryExportFailed counts a batch of spans the collector did not
// take (telemetry.Options.ExportFailed).
func (r *Registry) TelemetryExportFailed() {
	r.set.GetOrCreateCounter(`mcphost_telemetry_export_failures_total`).Inc()
}
