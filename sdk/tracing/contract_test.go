package tracing_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/tracing"
)

func TestResourceURIEscapesAsATemplateExpansion(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, want string }{
		{"resp_0a1b", "trace://response/resp_0a1b"},
		{"srv/tool {\"q\":1}", "trace://response/srv%2Ftool%20%7B%22q%22%3A1%7D"},
		{"a.b-c~d", "trace://response/a.b-c~d"},
		{"é?#%", "trace://response/%C3%A9%3F%23%25"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			got := tracing.ResourceURI(tracing.ResourceResponsePrefix, tt.id)
			if got != tt.want {
				t.Fatalf("ResourceURI(%q) = %q, want %q", tt.id, got, tt.want)
			}
			back, err := url.PathUnescape(strings.TrimPrefix(got, tracing.ResourceResponsePrefix))
			if err != nil || back != tt.id {
				t.Fatalf("%q unescapes to %q, %v; want the id back", got, back, err)
			}
		})
	}
}
