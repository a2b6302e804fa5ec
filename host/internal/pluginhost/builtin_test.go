package pluginhost

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// Both tracing stores are built in as tracing plugins; tracing-postgres,
// whose store other instances write too, watches for their changes, and
// its DSN is a sensitive attribute, which the host redacts.
func TestBuiltinTracingStores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		watches   bool
		sensitive string
	}{
		{"tracing", false, ""},
		{"tracing-postgres", true, "dsn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, ok := builtins[tc.name]
			if !ok || b.kind != base.KindTracing {
				t.Fatalf("no built-in tracing plugin %q", tc.name)
			}
			p := b.new(hclog.NewNullLogger())
			if !hasKind(p, base.KindTracing) {
				t.Fatalf("%s does not implement tracing.Tracing", tc.name)
			}
			info, err := p.Info(context.Background(), base.InfoRequest{})
			if err != nil || info.Name != tc.name {
				t.Fatalf("Info = %+v, %v", info, err)
			}
			_, watcher := p.(tracing.ChangeWatcher)
			listed := false
			for _, c := range info.Capabilities {
				listed = listed || c == tracing.CapabilityWatchesChanges
			}
			if watcher != tc.watches || listed != tc.watches {
				t.Errorf("ChangeWatcher %v, capability listed %v; want %v", watcher, listed, tc.watches)
			}
			schema, err := p.Schema(context.Background(), base.SchemaRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range schema.Plugin.Attributes {
				if a.Sensitive != (a.Name == tc.sensitive) {
					t.Errorf("attribute %s sensitive = %v", a.Name, a.Sensitive)
				}
			}
		})
	}
}
