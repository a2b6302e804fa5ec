package tracestore

import (
	"testing"

	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestTracingSuite runs the SDK's tracing suite on the Badger store, in
// process and over gRPC, each subtest on a store of its own.
func TestTracingSuite(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name     string
		newStore func(t *testing.T) tracing.Tracing
	}{
		{"direct", func(t *testing.T) tracing.Tracing { return configure(t, t.TempDir(), nil) }},
		{"over gRPC", func(t *testing.T) tracing.Tracing {
			return plugintest.ServeTracing(t, configure(t, t.TempDir(), nil))
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			plugintest.TracingSuite(t, s.newStore)
		})
	}
}
