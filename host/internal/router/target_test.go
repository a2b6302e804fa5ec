package router

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
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

// TestVisibleServers: a session limited to some servers lists only their
// entries, others still list everything.
func TestVisibleServers(t *testing.T) {
	t.Parallel()
	a, b := newFakeServer([]string{tool("ta")}), newFakeServer([]string{tool("tb")})
	a.resources = []string{`{"uri":"file:///a.txt","name":"a"}`}
	b.resources = []string{`{"uri":"file:///b.txt","name":"b"}`}
	r := startRouter(t, Options{}, a.spec("alpha", true, 0), b.spec("beta", true, 0))
	limited, limitedSink := newClient(t, r, "2025-06-18", "{}")
	limited.SetVisibleServers(func(server string) bool { return server == "alpha" })
	full, fullSink := newClient(t, r, "2025-06-18", "{}")
	tests := []struct {
		name   string
		s      *Session
		sink   *recSink
		method string
		want   []string // the entries' names
	}{
		{"limited tools", limited, limitedSink, "tools/list", []string{"mcp__proxy__alpha__ta"}},
		{"limited resources", limited, limitedSink, "resources/list", []string{"a"}},
		{"full tools", full, fullSink, "tools/list", []string{"mcp__proxy__alpha__ta", "mcp__proxy__beta__tb"}},
		{"full resources", full, fullSink, "resources/list", []string{"a", "b"}},
	}
	for i, tt := range tests {
		id := strconv.Itoa(100 + i)
		tt.s.Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"`+tt.method+`"}`), nil)
		resp := tt.sink.response(t, id)
		var got []string
		gjson.GetBytes(resp, "result."+strings.TrimSuffix(tt.method, "/list")+".#.name").ForEach(func(_, v gjson.Result) bool {
			got = append(got, v.Str)
			return true
		})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	limited.SetVisibleServers(nil)
	limited.Handle([]byte(`{"jsonrpc":"2.0","id":200,"method":"tools/list"}`), nil)
	if n := gjson.GetBytes(limitedSink.response(t, "200"), "result.tools.#").Int(); n != 2 {
		t.Errorf("after SetVisibleServers(nil): %d tools, want 2", n)
	}
}
