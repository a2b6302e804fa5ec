package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
)

// TestTransportsAgreeOnHeaders runs the same headers and bearer tokens
// through every built-in transport that takes them: they accept and refuse
// the same ones (transport.HeaderRules). Only the headers a transport sets
// itself (its reserved ones) differ, and are tested with each transport.
func TestTransportsAgreeOnHeaders(t *testing.T) {
	t.Parallel()
	urls := map[string]string{"http": "http://h/mcp", "websocket": "ws://h/mcp"}
	tests := []struct {
		name    string
		headers map[string]string
		token   string
		want    []string // attributes with an error
	}{
		{"plain", map[string]string{"X-Api-Key": "k", "x-trace": "a\tb"}, "t0k3n", nil},
		{"bad name", map[string]string{"Bad Name": "v"}, "", []string{"headers"}},
		{"empty name", map[string]string{"": "v"}, "", []string{"headers"}},
		{"line break in value", map[string]string{"X-A": "a\r\nb"}, "", []string{"headers"}},
		{"NUL in value", map[string]string{"X-A": "a\x00b"}, "", []string{"headers"}},
		{"control character in value", map[string]string{"X-A": "a\x01b"}, "", []string{"headers"}},
		{"DEL in value", map[string]string{"X-A": "a\x7fb"}, "", []string{"headers"}},
		{"same name twice", map[string]string{"X-A": "1", "x-a": "2"}, "", []string{"headers"}},
		{"authorization and token", map[string]string{"Authorization": "Basic x"}, "t", []string{"headers"}},
		{"authorization alone", map[string]string{"authorization": "Basic x"}, "", nil},
		{"token with a space", nil, "two words", []string{"bearer_token"}},
		{"token with a line break", nil, "a\nb", []string{"bearer_token"}},
	}
	for _, tt := range tests {
		for name, url := range urls {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				b, ok := builtins[name]
				if !ok || b.kind != base.KindTransport {
					t.Fatalf("no built-in transport %q", name)
				}
				cfg, err := json.Marshal(map[string]any{"url": url, "headers": tt.headers, "bearer_token": tt.token})
				if err != nil {
					t.Fatal(err)
				}
				r, err := b.new(hclog.NewNullLogger()).Validate(context.Background(), base.ValidateRequest{Config: cfg})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range r.Diagnostics {
					if d.Severity == base.SeverityError {
						got = append(got, d.Attribute)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("error attributes = %q, want %q (%+v)", got, tt.want, r.Diagnostics)
				}
			})
		}
	}
}
