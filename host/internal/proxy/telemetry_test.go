package proxy

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/config"
)

func TestTelemetryChanged(t *testing.T) {
	t.Parallel()
	base := config.Telemetry{Enabled: true, OTLPEndpoint: "http://c:4318", ServiceName: "mcphost",
		Headers: map[string]string{"k": "v"}, DeclRange: hcl.Range{Filename: "a.hcl"}}
	tests := []struct {
		name string
		edit func(*config.Telemetry)
		want bool
	}{
		{"same, block moved", func(t *config.Telemetry) { t.DeclRange = hcl.Range{Filename: "b.hcl"} }, false},
		{"endpoint", func(t *config.Telemetry) { t.OTLPEndpoint = "http://d:4318" }, true},
		{"header value", func(t *config.Telemetry) { t.Headers = map[string]string{"k": "w"} }, true},
		{"service name", func(t *config.Telemetry) { t.ServiceName = "x" }, true},
		{"removed", func(t *config.Telemetry) { *t = config.Telemetry{} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := base
			next.Headers = map[string]string{"k": "v"}
			tc.edit(&next)
			if got := telemetryChanged(base, next); got != tc.want {
				t.Errorf("telemetryChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
