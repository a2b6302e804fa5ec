package plugintest

import "testing"

func TestSDKModuleGraphHasNoHostModule(t *testing.T) {
	t.Parallel()
	CheckModuleGraph(t, HostModules...)
}

func TestIsModuleVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, module string
		want         bool
	}{
		{"github.com/dgraph-io/badger/v4", "github.com/dgraph-io/badger", true},
		{"github.com/dgraph-io/badger", "github.com/dgraph-io/badger", true},
		{"github.com/hashicorp/hcl/v2", "github.com/hashicorp/hcl", true},
		{"github.com/mcphost/mcphost", "github.com/mcphost/mcphost", true},
		{"github.com/mcphost/mcphost/sdk", "github.com/mcphost/mcphost", false},
		{"github.com/mcphost/mcphost/v2", "github.com/mcphost/mcphost", true},
		{"github.com/mcphost/mcphost/vendor", "github.com/mcphost/mcphost", false},
		{"github.com/hashicorp/hcl-lang", "github.com/hashicorp/hcl", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			if got := isModuleVersion(tt.path, tt.module); got != tt.want {
				t.Errorf("isModuleVersion(%q, %q) = %v, want %v", tt.path, tt.module, got, tt.want)
			}
		})
	}
}
