package proxy

import (
	"strings"
	"testing"

	"github.com/mcphost/mcphost/host/internal/router"
)

// TestDefaultInstanceID: the host name, made a valid instance id, then a
// random suffix that differs between calls.
func TestDefaultInstanceID(t *testing.T) {
	t.Parallel()
	tests := []struct{ host, prefix string }{
		{"build-01", "build-01-"},
		{"Build-01.Example.COM", "build-01-example-com-"},
		{"", "mcphost-"},
		{"..", "mcphost-"},
		{"ünïcode_host", "n-code-host-"},
		{strings.Repeat("x", 60), strings.Repeat("x", router.MaxInstanceIDLen-1-2*instanceSuffixBytes) + "-"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			a, b := defaultInstanceID(tt.host), defaultInstanceID(tt.host)
			if !router.ValidInstanceID(a) || !strings.HasPrefix(a, tt.prefix) || len(a) != len(tt.prefix)+2*instanceSuffixBytes {
				t.Errorf("defaultInstanceID(%q) = %q, want %q and %d random characters", tt.host, a, tt.prefix, 2*instanceSuffixBytes)
			}
			if a == b {
				t.Errorf("two starts on %q share the instance id %q", tt.host, a)
			}
		})
	}
}
