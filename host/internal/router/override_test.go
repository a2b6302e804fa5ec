package router

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

func TestToolOverrides(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo"), tool("crash"), tool("slow")})
	spec := srv.spec("srv", true, 0)
	spec.Filters = Filters{ToolOverrides: map[string]ToolOverride{
		"echo":  {ExposeAs: "say", Description: "Says it back.", Annotations: []byte(`{"readOnlyHint":true,"title":"Say"}`), Where: "proxy.hcl:4"},
		"crash": {Hidden: true, Where: "proxy.hcl:9"},
		"gone":  {Description: "x", Where: "proxy.hcl:12"},
	}}
	r := startRouter(t, Options{}, spec)
	s, sink := newClient(t, r, v0618, `{}`)
	id := 0
	ask := func(method, params string) []byte {
		id++
		s.Handle([]byte(`{"jsonrpc":"2.0","id":`+strconv.Itoa(id)+`,"method":"`+method+`","params":`+params+`}`), nil)
		return sink.response(t, strconv.Itoa(id))
	}

	list := ask("tools/list", `{}`)
	if names := toolNames(t, list); !slices.Equal(names, []string{"say", "mcp__proxy__srv__slow"}) {
		t.Fatalf("tools %q: want the renamed tool and the untouched one, not the hidden one", names)
	}
	say := jsonrpc.Get(list, "result.tools.0")
	for path, want := range map[string]string{
		"description": `"Says it back."`, "annotations.readOnlyHint": "true", "annotations.title": `"Say"`,
		"inputSchema.properties.x.type": `"string"`,
	} {
		if got := string(jsonrpc.Get(say, path)); got != want {
			t.Errorf("say.%s = %s, want %s", path, got, want)
		}
	}

	// The new name reaches the original; neither the old name nor the
	// hidden tool can be called, with the answer a name never listed gets.
	if got := string(jsonrpc.Get(ask("tools/call", `{"name":"say","arguments":{}}`), "result.received.name")); got != `"echo"` {
		t.Errorf("a call of say reached the backend as %s, want echo", got)
	}
	never := string(jsonrpc.Get(ask("tools/call", `{"name":"never"}`), "error.code"))
	for _, name := range []string{"mcp__proxy__srv__echo", "mcp__proxy__srv__crash"} {
		if got := string(jsonrpc.Get(ask("tools/call", `{"name":"`+name+`"}`), "error.code")); got == "" || got != never {
			t.Errorf("call of %s: error code %s, want %s as for an unknown tool", name, got, never)
		}
	}
	if n := srv.count(isToolCall("crash")); n != 0 {
		t.Errorf("the hidden tool was called %d times at the backend", n)
	}
	want := []string{`tool "gone" in proxy.hcl:12 is not among the 3 tools server srv lists`}
	if got := r.Backends()[0].Warnings; !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	tools := r.Tools()
	if len(tools) != 2 || tools[1].Name != "say" || !slices.Equal(tools[1].Overridden, []string{"name", "description", "annotations"}) ||
		tools[1].Original != "echo" || tools[1].State != ToolExposed || tools[0].Overridden != nil {
		t.Errorf("Tools() = %+v: want say marked overridden and the other not", tools)
	}
	if left := r.LeftOutTools(); len(left) != 1 || left[0].Original != "crash" || left[0].State != ToolHidden || left[0].Name != "" {
		t.Errorf("LeftOutTools() = %+v, want crash, hidden", left)
	}

	// Changing only the overrides re-lists nothing at the backend and
	// tells the sessions.
	opens, lists := srv.opens(), srv.count(isMethod("tools/list"))
	if err := r.SetFilters("srv", Filters{ToolOverrides: map[string]ToolOverride{"slow": {Hidden: true}}}); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "tools/list_changed", isNotification("notifications/tools/list_changed"))
	if names := toolNames(t, ask("tools/list", `{}`)); !slices.Equal(names, []string{"mcp__proxy__srv__echo", "mcp__proxy__srv__crash"}) {
		t.Fatalf("tools after the change %q", names)
	}
	if srv.opens() != opens || srv.count(isMethod("tools/list")) != lists {
		t.Errorf("changing overrides reconnected (%d→%d) or re-listed (%d→%d)", opens, srv.opens(), lists, srv.count(isMethod("tools/list")))
	}
	poll.Until(t, "the warning gone with its block", func() bool { return len(r.Backends()[0].Warnings) == 0 })
}

func TestOverrideOfFilteredToolWarns(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo"), tool("crash")})
	spec := srv.spec("srv", true, 0)
	spec.Filters = Filters{
		Tools:         Filter{Deny: []string{"crash"}},
		ToolOverrides: map[string]ToolOverride{"crash": {ExposeAs: "boom", Where: "proxy.hcl:7"}},
	}
	r := startRouter(t, Options{}, spec)
	newClient(t, r, v0618, `{}`)
	want := []string{`tool "crash" in proxy.hcl:7 is left out by the tools filter of server srv`}
	if got := r.Backends()[0].Warnings; !slices.Equal(got, want) {
		t.Fatalf("warnings %q, want %q", got, want)
	}
	if got := r.Tools(); len(got) != 1 || got[0].Name != "mcp__proxy__srv__echo" {
		t.Fatalf("tools %+v: a filtered tool must stay out whatever its block says", got)
	}
}

func TestNameBudget(t *testing.T) {
	t.Parallel()
	long := "search_repositories_by_language_and_stars"
	srv := newFakeServer([]string{tool("echo"), tool(long)})
	srv.prompts = []string{`{"name":"` + long + `"}`}
	// Claude Code puts "mcp__gw__" (9 characters) in front of every name.
	r := startRouter(t, Options{NameBudget: 64, ClientPrefix: "mcp__gw__"}, srv.spec("github", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	names := toolNames(t, sink.response(t, "1"))
	if len(names) != 2 || names[0] != "mcp__proxy__github__echo" {
		t.Fatalf("tools %q", names)
	}
	full := "mcp__proxy__github__" + long
	short := names[1]
	if len("mcp__gw__"+short) != 64 || !strings.HasPrefix(full, short[:55-9]) {
		t.Fatalf("shortened %q (%d with the client's prefix), want 64 and a start of %q", short, len("mcp__gw__"+short), full)
	}
	got := r.Shortened()
	want := []ShortenedName{
		{Kind: "tool", Server: "github", Original: long, Full: full, Exposed: short},
		{Kind: "prompt", Server: "github", Original: long, Full: "mcp__proxy__github__" + long, Exposed: got[len(got)-1].Exposed},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Shortened() = %+v, want %+v", got, want)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"`+short+`","arguments":{}}}`), nil)
	if got := string(jsonrpc.Get(sink.response(t, "2"), "result.received.name")); got != strconv.Quote(long) {
		t.Fatalf("the shortened name reached the backend as %s", got)
	}
}
