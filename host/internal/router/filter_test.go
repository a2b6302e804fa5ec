package router

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

func TestFilterAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		filter Filter
		item   string
		want   bool
	}{
		{"no filter", Filter{}, "anything", true},
		{"allowed by glob", Filter{Allow: []string{"get_*"}}, "get_user", true},
		{"not in allow", Filter{Allow: []string{"get_*"}}, "delete_user", false},
		{"denied", Filter{Deny: []string{"delete_*"}}, "delete_user", false},
		{"deny wins over allow", Filter{Allow: []string{"*_user"}, Deny: []string{"delete_*"}}, "delete_user", false},
		{"deny leaves the rest", Filter{Allow: []string{"*_user"}, Deny: []string{"delete_*"}}, "get_user", true},
		{"uri glob", Filter{Allow: []string{"file:///docs/*"}}, "file:///docs/a.md", true},
		{"star stops at slash", Filter{Allow: []string{"file:///docs/*"}}, "file:///docs/sub/a.md", false},
		{"char class", Filter{Deny: []string{"v[0-9]"}}, "v7", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.filter.Allows(tc.item); got != tc.want {
				t.Fatalf("%+v allows %q = %t, want %t", tc.filter, tc.item, got, tc.want)
			}
		})
	}
}

// filteredServer lists two of each kind; the filters keep one of each.
func filteredServer() (*fakeServer, Filters) {
	srv := newFakeServer([]string{tool("echo"), tool("crash")})
	srv.prompts = []string{`{"name":"greet"}`, `{"name":"debug_dump"}`}
	srv.resources = []string{`{"uri":"file:///docs/a","name":"a"}`, `{"uri":"file:///secret/key","name":"key"}`}
	srv.templates = []string{`{"uriTemplate":"file:///docs/{name}","name":"docs"}`, `{"uriTemplate":"db://{table}","name":"db"}`}
	return srv, Filters{
		Tools:     Filter{Deny: []string{"crash"}},
		Prompts:   Filter{Allow: []string{"gr*"}, Deny: []string{"debug*"}},
		Resources: Filter{Allow: []string{"file:///docs/*"}},
	}
}

func TestFiltersHideAndRefuse(t *testing.T) {
	t.Parallel()
	srv, fs := filteredServer()
	spec := srv.spec("srv", true, 0)
	spec.Filters = fs
	r := startRouter(t, Options{}, spec)
	s, sink := newClient(t, r, v0618, `{}`)

	id := 0
	ask := func(method, params string) []byte {
		id++
		s.Handle([]byte(`{"jsonrpc":"2.0","id":`+strconv.Itoa(id)+`,"method":"`+method+`","params":`+params+`}`), nil)
		return sink.response(t, strconv.Itoa(id))
	}
	lists := []struct{ method, want string }{
		{"tools/list", `{"tools":[` + tool("mcp__proxy__srv__echo") + `]}`},
		{"prompts/list", `{"prompts":[{"name":"mcp__proxy__srv__greet"}]}`},
		{"resources/list", `{"resources":[{"uri":"mcp+proxy://srv/file:///docs/a","name":"a"}]}`},
		{"resources/templates/list", `{"resourceTemplates":[{"uriTemplate":"mcp+proxy://srv/file:///docs/{name}","name":"docs"}]}`},
	}
	for _, l := range lists {
		if got := string(jsonrpc.Get(ask(l.method, `{}`), "result")); got != l.want {
			t.Errorf("%s = %s, want %s", l.method, got, l.want)
		}
	}

	// A filtered item gets exactly the answer a name never listed gets.
	refused := []struct{ method, field, filtered, never string }{
		{"tools/call", "name", "mcp__proxy__srv__crash", "mcp__proxy__srv__never"},
		{"prompts/get", "name", "mcp__proxy__srv__debug_dump", "mcp__proxy__srv__never"},
		{"resources/read", "uri", "mcp+proxy://srv/file:///secret/key", "mcp+proxy://nobody/never"},
		{"resources/subscribe", "uri", "mcp+proxy://srv/file:///secret/key", "mcp+proxy://nobody/never"},
		// A URI built from a filtered template.
		{"resources/read", "uri", "mcp+proxy://srv/db://users", "mcp+proxy://nobody/never"},
	}
	for _, rf := range refused {
		params := func(v string) string { return `{"` + rf.field + `":` + string(jsonrpc.String(v)) + `}` }
		got := string(jsonrpc.Get(ask(rf.method, params(rf.filtered)), "error"))
		want := string(jsonrpc.Get(ask(rf.method, params(rf.never)), "error"))
		want = strings.ReplaceAll(want, rf.never, rf.filtered)
		if got == "" || got != want {
			t.Errorf("%s %s: error %s, want %s", rf.method, rf.filtered, got, want)
		}
	}
	completion := func(kind, key, value string) string {
		return `{"ref":{"type":"ref/` + kind + `","` + key + `":` + string(jsonrpc.String(value)) + `},"argument":{"name":"a","value":"b"}}`
	}
	for _, ref := range []struct{ kind, key, filtered string }{
		{"prompt", "name", "mcp__proxy__srv__debug_dump"},
		{"resource", "uri", "mcp+proxy://srv/db://{table}"},
	} {
		got := string(jsonrpc.Get(ask("completion/complete", completion(ref.kind, ref.key, ref.filtered)), "error"))
		want := string(jsonrpc.Get(ask("completion/complete", completion(ref.kind, ref.key, "mcp+proxy://nobody/never")), "error"))
		want = strings.ReplaceAll(want, "mcp+proxy://nobody/never", ref.filtered)
		if got == "" || got != want {
			t.Errorf("completion for %s: error %s, want %s", ref.filtered, got, want)
		}
	}
	if n := srv.count(isToolCall("crash")); n != 0 {
		t.Errorf("the backend got %d calls of the filtered tool", n)
	}
	if srv.find(func(m []byte) bool {
		return strings.Contains(string(m), "secret") || strings.Contains(string(m), "debug_dump") || strings.Contains(string(m), "db://")
	}) != nil {
		t.Error("a filtered prompt or resource reached the backend")
	}
	// What the filters keep still works, a URI from an allowed template too.
	if got := string(jsonrpc.Get(ask("resources/read", `{"uri":"mcp+proxy://srv/file:///docs/b"}`), "error")); got != "" {
		t.Errorf("reading a URI of the allowed template: %s", got)
	}
	if got := string(jsonrpc.Get(ask("tools/call", `{"name":"mcp__proxy__srv__echo","arguments":{}}`), "result.received.name")); got != `"echo"` {
		t.Errorf("allowed tool call reached the backend as %s", got)
	}
	if got := r.Tools(); len(got) != 1 || got[0].Name != "mcp__proxy__srv__echo" {
		t.Errorf("Router.Tools() = %+v, want only the allowed tool", got)
	}
	if st := r.Backends()[0]; len(st.Warnings) != 0 || st.Tools != 2 {
		t.Errorf("status %+v: want no warnings and the 2 tools the server lists", st)
	}
}

func TestFilterAllowMatchingNothingWarns(t *testing.T) {
	t.Parallel()
	srv, _ := filteredServer()
	spec := srv.spec("srv", true, 0)
	spec.Filters = Filters{
		Tools:   Filter{Allow: []string{"nope*"}, Where: "proxy.hcl:12"},
		Prompts: Filter{Allow: []string{"greet"}, Where: "proxy.hcl:15"},
	}
	r := startRouter(t, Options{}, spec)
	s, sink := newClient(t, r, v0618, `{}`)
	want := []string{"tools.allow in proxy.hcl:12 matches none of the 2 tools server srv lists"}
	if got := r.Backends()[0].Warnings; !slices.Equal(got, want) {
		t.Fatalf("warnings %q, want %q", got, want)
	}

	// The server comes to list a matching tool: the warning goes.
	srv.setTools([]string{tool("echo"), tool("nope_a")})
	srv.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	poll.Until(t, "the warning cleared by a matching tool", func() bool { return len(r.Backends()[0].Warnings) == 0 })

	// New filters apply without reconnecting, and sessions are told.
	before := srv.opens()
	if err := r.SetFilters("srv", Filters{Prompts: Filter{Allow: []string{"x*"}, Where: "proxy.hcl:3"}}); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "prompts/list_changed", isNotification("notifications/prompts/list_changed"))
	sink.waitFor(t, "tools/list_changed", isNotification("notifications/tools/list_changed"))
	want = []string{"prompts.allow in proxy.hcl:3 matches none of the 2 prompts server srv lists"}
	if got := r.Backends()[0].Warnings; !slices.Equal(got, want) {
		t.Fatalf("warnings after SetFilters %q, want %q", got, want)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if names := toolNames(t, sink.response(t, "1")); !slices.Equal(names, []string{"mcp__proxy__srv__echo", "mcp__proxy__srv__nope_a"}) {
		t.Fatalf("tools after SetFilters: %q", names)
	}
	if srv.opens() != before {
		t.Fatalf("SetFilters reconnected the backend (%d opens, were %d)", srv.opens(), before)
	}
	if err := r.SetFilters("nobody", Filters{}); err == nil {
		t.Fatal("SetFilters of an unknown server succeeded")
	}
}
