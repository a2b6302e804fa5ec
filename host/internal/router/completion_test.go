package router

import (
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

func TestCompletionForTemplatesOfSeveralUnprefixedBackends(t *testing.T) {
	t.Parallel()
	one, two, pre := newFakeServer(), newFakeServer(), newFakeServer()
	one.templates = []string{`{"uriTemplate":"file:///a/{x}","name":"a"}`}
	two.templates = []string{`{"uriTemplate":"db://{table}","name":"t"}`, `{"uriTemplate":"file:///a/{x}","name":"dup"}`}
	two.resources = []string{`{"uri":"db://users","name":"u"}`}
	pre.templates = []string{`{"uriTemplate":"file:///a/{x}","name":"a"}`}
	r := startRouter(t, Options{}, one.spec("one", false, 0), two.spec("two", false, 0), pre.spec("pre", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	tests := []struct {
		name, id, uri string
		backend       *fakeServer // nil: -32602
		original      string
	}{
		{"first unprefixed backend's template", "1", "file:///a/{x}", one, "file:///a/{x}"},
		{"second unprefixed backend's template", "2", "db://{table}", two, "db://{table}"},
		{"listed resource of an unprefixed backend", "3", "db://users", two, "db://users"},
		{"prefixed backend's template", "4", "mcp+proxy://pre/file:///a/{x}", pre, "file:///a/{x}"},
		{"no backend's template", "5", "nope://{y}", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.Handle([]byte(`{"jsonrpc":"2.0","id":`+tc.id+`,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":`+
				string(jsonrpc.String(tc.uri))+`},"argument":{"name":"x","value":"v`+tc.id+`"}}}`), nil)
			resp := sink.response(t, tc.id)
			if tc.backend == nil {
				if errorCode(resp) != jsonrpc.CodeInvalidParams {
					t.Fatalf("got %s, want error %d", resp, jsonrpc.CodeInvalidParams)
				}
				return
			}
			if got, _ := jsonrpc.GetString(resp, "result.received.ref.uri"); got != tc.original {
				t.Fatalf("backend saw ref.uri %q, want %q: %s", got, tc.original, resp)
			}
			mine := func(m []byte) bool {
				v, _ := jsonrpc.GetString(m, "params.argument.value")
				return isMethod("completion/complete")(m) && v == "v"+tc.id
			}
			for _, f := range []*fakeServer{one, two, pre} {
				if n, want := f.count(mine), map[bool]int{true: 1}[f == tc.backend]; n != want {
					t.Fatalf("a backend got %d of the requests, want %d", n, want)
				}
			}
		})
	}
}
