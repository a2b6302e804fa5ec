package router

import (
	"testing"
)

func TestExposeResultURIs(t *testing.T) {
	t.Parallel()
	opts := Options{ResourceURITemplate: "mcp+proxy://{server}/{uri}"}
	prefixed := &backend{spec: BackendSpec{Name: "ex", Prefix: true}}
	plain := &backend{spec: BackendSpec{Name: "ex", Prefix: false}}
	tests := []struct {
		name    string
		b       *backend
		method  string
		in, out string
	}{
		{"read contents", prefixed, "resources/read",
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"a://x","text":"t"},{"uri":"a://y","blob":"AA=="}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"mcp+proxy://ex/a://x","text":"t"},{"uri":"mcp+proxy://ex/a://y","blob":"AA=="}]}}`},
		{"tool resource link and embedded resource", prefixed, "tools/call",
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"uri"},{"type":"resource_link","uri":"a://l","name":"l"},{"type":"resource","resource":{"uri":"a://e","text":"e"}}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"uri"},{"type":"resource_link","uri":"mcp+proxy://ex/a://l","name":"l"},{"type":"resource","resource":{"uri":"mcp+proxy://ex/a://e","text":"e"}}]}}`},
		{"prompt embedded resource", prefixed, "prompts/get",
			`{"jsonrpc":"2.0","id":1,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"a://p","text":"p"}}}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"mcp+proxy://ex/a://p","text":"p"}}}]}}`},
		{"tool result without resources is untouched", prefixed, "tools/call",
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a://x"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a://x"}]}}`},
		{"unprefixed server keeps its URIs", plain, "resources/read",
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"a://x","text":"t"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"a://x","text":"t"}]}}`},
		{"other methods untouched", prefixed, "completion/complete",
			`{"jsonrpc":"2.0","id":1,"result":{"completion":{"values":["resource"]}}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"completion":{"values":["resource"]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(exposeResultURIs(opts, tt.b, tt.method, []byte(tt.in))); got != tt.out {
				t.Errorf("got  %s\nwant %s", got, tt.out)
			}
		})
	}
}
