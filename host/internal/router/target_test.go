package router

import (
	"testing"
)

// TestTargetServer: every exposed tool, prompt and resource names the
// server dispatch forwards it to; what the proxy answers itself, or what
// names nothing, names no server.
func TestTargetServer(t *testing.T) {
	t.Parallel()
	a, b := newFakeServer([]string{tool("same"), tool("only_a")}), newFakeServer([]string{tool("same")})
	a.prompts = []string{`{"name":"greet"}`}
	b.resources = []string{`{"uri":"file:///b.txt","name":"b"}`}
	r := startRouter(t, Options{}, a.spec("alpha", true, 0), b.spec("beta", true, 0))
	s := r.OpenSession("http")
	t.Cleanup(s.Close)
	type call struct{ method, params, server string }
	var calls []call
	for _, tl := range r.Tools() {
		calls = append(calls, call{"tools/call", `{"name":"` + tl.Name + `"}`, tl.Server})
	}
	for _, p := range r.Prompts() {
		calls = append(calls,
			call{"prompts/get", `{"name":"` + p.Name + `"}`, p.Server},
			call{"completion/complete", `{"ref":{"type":"ref/prompt","name":"` + p.Name + `"}}`, p.Server})
	}
	for _, res := range r.Resources() {
		calls = append(calls,
			call{"resources/read", `{"uri":"` + res.URI + `"}`, res.Server},
			call{"resources/subscribe", `{"uri":"` + res.URI + `"}`, res.Server})
	}
	if len(calls) != 7 {
		t.Fatalf("catalog has %d routable entries, want 7: %+v", len(calls), calls)
	}
	calls = append(calls,
		call{"tools/call", `{"name":"nope"}`, ""},
		call{"tools/list", `{}`, ""},
		call{"initialize", `{}`, ""},
		call{"tasks/get", `{"taskId":"unknown"}`, ""},
	)
	for _, c := range calls {
		t.Run(c.method+" "+c.params, func(t *testing.T) {
			t.Parallel()
			server, ok := s.TargetServer(c.method, []byte(c.params))
			if server != c.server || ok != (c.server != "") {
				t.Errorf("TargetServer = %q, %v; want %q", server, ok, c.server)
			}
		})
	}
}
