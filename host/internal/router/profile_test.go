package router

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/plugins/versions"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// TestProfileLists: a profile session lists only its servers' entries and,
// of their tools, those its globs match; a session without one lists all.
func TestProfileLists(t *testing.T) {
	t.Parallel()
	a, b := newFakeServer([]string{tool("read_file"), tool("write_file"), tool("echo")}), newFakeServer([]string{tool("search")})
	a.prompts = []string{`{"name":"greet"}`}
	b.prompts = []string{`{"name":"summarize"}`}
	a.resources = []string{`{"uri":"file:///a.txt","name":"a"}`}
	b.resources = []string{`{"uri":"file:///b.txt","name":"b"}`}
	r := startRouter(t, Options{}, a.spec("alpha", true, 0), b.spec("beta", true, 0))
	r.SetProfiles([]Profile{
		{Name: "coding", Servers: []string{"alpha"}, Tools: []string{"*_file"}},
		{Name: "chat", Servers: []string{"beta"}},
		{Name: "all"},
	})
	tests := []struct {
		profile                 string
		tools, prompts, uris    []string
		toolsHidden, promptHide bool
	}{
		{"coding", []string{"mcp__proxy__alpha__read_file", "mcp__proxy__alpha__write_file"},
			[]string{"mcp__proxy__alpha__greet"}, []string{"mcp+proxy://alpha/file:///a.txt"}, true, true},
		{"chat", []string{"mcp__proxy__beta__search"},
			[]string{"mcp__proxy__beta__summarize"}, []string{"mcp+proxy://beta/file:///b.txt"}, true, true},
		{"all", []string{"mcp__proxy__alpha__read_file", "mcp__proxy__alpha__write_file", "mcp__proxy__alpha__echo", "mcp__proxy__beta__search"},
			[]string{"mcp__proxy__alpha__greet", "mcp__proxy__beta__summarize"},
			[]string{"mcp+proxy://alpha/file:///a.txt", "mcp+proxy://beta/file:///b.txt"}, false, false},
		{"", []string{"mcp__proxy__alpha__read_file", "mcp__proxy__alpha__write_file", "mcp__proxy__alpha__echo", "mcp__proxy__beta__search"},
			[]string{"mcp__proxy__alpha__greet", "mcp__proxy__beta__summarize"},
			[]string{"mcp+proxy://alpha/file:///a.txt", "mcp+proxy://beta/file:///b.txt"}, false, false},
	}
	for _, tt := range tests {
		t.Run("profile "+tt.profile, func(t *testing.T) {
			t.Parallel()
			s, sink := newClient(t, r, "2025-06-18", "{}")
			if tt.profile != "" {
				if err := s.SetProfile(tt.profile); err != nil {
					t.Fatal(err)
				}
			}
			if s.Profile() != tt.profile {
				t.Errorf("Profile() = %q, want %q", s.Profile(), tt.profile)
			}
			lists := []struct {
				method, path string
				want         []string
			}{
				{"tools/list", "result.tools.#.name", tt.tools},
				{"prompts/list", "result.prompts.#.name", tt.prompts},
				{"resources/list", "result.resources.#.uri", tt.uris},
			}
			for i, l := range lists {
				id := strconv.Itoa(10 + i)
				s.Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"`+l.method+`"}`), nil)
				var got []string
				gjson.GetBytes(sink.response(t, id), l.path).ForEach(func(_, v gjson.Result) bool {
					got = append(got, v.Str)
					return true
				})
				if !slices.Equal(got, l.want) {
					t.Errorf("%s: %q, want %q", l.method, got, l.want)
				}
			}
		})
	}
	if err := r.OpenSession("http").SetProfile("nope"); err == nil {
		t.Error("SetProfile of an unknown profile succeeded")
	}
}

// TestProfileCalls: what a profile does not grant is answered exactly as
// what does not exist, and is never forwarded; what it grants reaches the
// backend.
func TestProfileCalls(t *testing.T) {
	t.Parallel()
	a, b := newFakeServer([]string{tool("read_file"), tool("echo")}), newFakeServer([]string{tool("search")})
	b.prompts = []string{`{"name":"summarize"}`}
	b.resources = []string{`{"uri":"file:///b.txt","name":"b"}`}
	r := startRouter(t, Options{}, a.spec("alpha", true, 0), b.spec("beta", true, 0))
	r.SetProfiles([]Profile{{Name: "coding", Servers: []string{"alpha"}, Tools: []string{"*_file"}}})
	s, sink := newClient(t, r, "2025-06-18", "{}")
	if err := s.SetProfile("coding"); err != nil {
		t.Fatal(err)
	}
	unknown, unknownSink := newClient(t, r, "2025-06-18", "{}")
	tests := []struct {
		name, method, params string
		// unknownParams is the same request naming something no server has.
		unknownParams string
	}{
		{"tool filtered out", "tools/call", `{"name":"mcp__proxy__alpha__echo","arguments":{}}`, `{"name":"mcp__proxy__alpha__nope","arguments":{}}`},
		{"tool of another server", "tools/call", `{"name":"mcp__proxy__beta__search","arguments":{}}`, `{"name":"mcp__proxy__alpha__nope","arguments":{}}`},
		{"prompt of another server", "prompts/get", `{"name":"mcp__proxy__beta__summarize"}`, `{"name":"mcp__proxy__beta__nope"}`},
		{"resource of another server", "resources/read", `{"uri":"mcp+proxy://beta/file:///b.txt"}`, `{"uri":"mcp+proxy://gamma/file:///b.txt"}`},
	}
	for i, tt := range tests {
		id, uid := strconv.Itoa(100+i), strconv.Itoa(200+i)
		s.Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"`+tt.method+`","params":`+tt.params+`}`), nil)
		got := sink.response(t, id)
		unknown.Handle([]byte(`{"jsonrpc":"2.0","id":`+uid+`,"method":"`+tt.method+`","params":`+tt.unknownParams+`}`), nil)
		want := unknownSink.response(t, uid)
		gotCode, wantCode := gjson.GetBytes(got, "error.code").Int(), gjson.GetBytes(want, "error.code").Int()
		if wantCode == 0 || gotCode != wantCode {
			t.Errorf("%s: error code %d (%s), want %d as for an unknown name (%s)", tt.name, gotCode, got, wantCode, want)
		}
		server, ok := s.TargetServer(tt.method, []byte(tt.params))
		if ok {
			t.Errorf("%s: TargetServer = %q for what the profile hides", tt.name, server)
		}
	}
	forwarded := func(msg []byte) bool {
		m, _ := jsonrpc.GetString(msg, "method")
		return m == "tools/call" || m == "prompts/get" || m == "resources/read"
	}
	if n := b.count(forwarded); n != 0 {
		t.Errorf("beta got %d calls through a profile that does not reach it", n)
	}
	// A retry carrying a requestState resumes nothing the profile hides.
	s.Handle([]byte(`{"jsonrpc":"2.0","id":301,"method":"tools/call","params":{"name":"mcp__proxy__beta__search","arguments":{},"requestState":"`+requestStatePrefix+`x"}}`), nil)
	if msg, _ := jsonrpc.GetString(sink.response(t, "301"), "error.message"); !strings.Contains(msg, "unknown tool") {
		t.Errorf("a retry of a hidden tool: %q, want an unknown tool", msg)
	}
	s.Handle(callMsg("300", "mcp__proxy__alpha__read_file", `{}`), nil)
	if resp := sink.response(t, "300"); jsonrpc.Get(resp, "result") == nil {
		t.Errorf("a granted tool failed: %s", resp)
	}
}

// TestProfileReload: a changed profile changes what its sessions see at
// once and tells them (list_changed); a removed one closes its sessions.
func TestProfileReload(t *testing.T) {
	t.Parallel()
	a := newFakeServer([]string{tool("read_file"), tool("echo")})
	r := startRouter(t, Options{}, a.spec("alpha", true, 0))
	r.SetProfiles([]Profile{{Name: "coding", Tools: []string{"*_file"}}, {Name: "gone"}})
	s, sink := newClient(t, r, "2025-06-18", "{}")
	if err := s.SetProfile("coding"); err != nil {
		t.Fatal(err)
	}
	doomed, _ := newClient(t, r, "2025-06-18", "{}")
	if err := doomed.SetProfile("gone"); err != nil {
		t.Fatal(err)
	}
	same, sameSink := newClient(t, r, "2025-06-18", "{}")
	if err := same.SetProfile("coding"); err != nil {
		t.Fatal(err)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "1")); !slices.Equal(got, []string{"mcp__proxy__alpha__read_file"}) {
		t.Fatalf("before reload: %q", got)
	}
	// same keeps its view when its profile does not change.
	r.SetProfiles([]Profile{{Name: "coding", Tools: []string{"*_file"}}, {Name: "gone"}})
	r.SetProfiles([]Profile{{Name: "coding", Tools: []string{"*__echo"}}})
	sink.waitFor(t, "tools list_changed", isNotification("notifications/tools/list_changed"))
	s.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "2")); !slices.Equal(got, []string{"mcp__proxy__alpha__echo"}) {
		t.Errorf("after reload: %q, want the echo tool only", got)
	}
	if n := sameSink.countOf(isNotification("notifications/tools/list_changed")); n != 1 {
		t.Errorf("a session got %d list_changed for one change, want 1", n)
	}
	select {
	case <-doomed.Done():
	default:
		t.Error("the session of a removed profile is still open")
	}
}

// TestProfileTranslatedListsAreTheirOwn: lists put into an older revision
// are cached per view; a profile session whose token also hides a server
// does not get the translated list of one that sees it.
func TestProfileTranslatedListsAreTheirOwn(t *testing.T) {
	t.Parallel()
	a, b := newFakeServer([]string{tool("a1")}), newFakeServer([]string{tool("b1"), tool("b2")})
	tr := &countedVersions{Translator: versions.New(nil)}
	r := startRouter(t, withVersions(tr), a.spec("alpha", true, 0), b.spec("beta", true, 0))
	r.SetProfiles([]Profile{{Name: "p", Tools: []string{"*__a1", "*__b2"}}})
	open := func(visible func(string) bool) (*Session, *recSink) {
		s, sink := newClient(t, r, "2025-06-18", "{}")
		if err := s.SetProfile("p"); err != nil {
			t.Fatal(err)
		}
		s.SetVisibleServers(visible)
		return s, sink
	}
	both, bothSink := open(nil)
	alphaOnly, alphaSink := open(func(server string) bool { return server == "alpha" })
	both.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if got := toolNames(t, bothSink.response(t, "1")); !slices.Equal(got, []string{"mcp__proxy__alpha__a1", "mcp__proxy__beta__b2"}) {
		t.Fatalf("the profile lists %q", got)
	}
	alphaOnly.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), nil)
	if got := toolNames(t, alphaSink.response(t, "2")); !slices.Equal(got, []string{"mcp__proxy__alpha__a1"}) {
		t.Errorf("the profile with a token for alpha only lists %q", got)
	}
}

// TestProfileInSearchMode: in search mode a profile session finds,
// describes and calls only the tools its profile grants.
func TestProfileInSearchMode(t *testing.T) {
	t.Parallel()
	files, notes := searchServers()
	r := startRouter(t, Options{ToolMode: ToolModeSearch, PinnedTools: []string{"*__jot"}},
		files.spec("files", true, 0), notes.spec("notes", true, 0))
	r.SetProfiles([]Profile{{Name: "stat-only", Servers: []string{"files", "notes"}, Tools: []string{"*__stat"}}})
	s, sink := newClient(t, r, v0618, `{}`)
	if err := s.SetProfile("stat-only"); err != nil {
		t.Fatal(err)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "1")); !slices.Equal(got, []string{"search_tools", "describe_tool", "call_tool"}) {
		t.Errorf("tools/list = %q, want no pinned tool the profile leaves out", got)
	}
	s.Handle(callMsg("2", "search_tools", `{"query":"pack a folder into a tarball, save a note, size of a path","limit":50}`), nil)
	res := string(sink.response(t, "2"))
	if strings.Contains(res, "compress_archive") || strings.Contains(res, "notes__jot") || !strings.Contains(res, "files__stat") {
		t.Errorf("search_tools beyond the profile: %s", res)
	}
	s.Handle(callMsg("3", "describe_tool", `{"name":"mcp__proxy__files__compress_archive"}`), nil)
	if code := errorCode(sink.response(t, "3")); code != jsonrpc.CodeInvalidParams {
		t.Errorf("describe_tool of a tool the profile hides: code %d", code)
	}
	s.Handle(callMsg("4", "call_tool", `{"name":"mcp__proxy__files__compress_archive","arguments":{}}`), nil)
	if msg, _ := jsonrpc.GetString(sink.response(t, "4"), "error.message"); !strings.Contains(msg, "unknown tool") {
		t.Errorf("call_tool of a tool the profile hides: %q", msg)
	}
	if n := files.count(isToolCall("compress_archive")); n != 0 {
		t.Errorf("the backend got %d calls the profile hides", n)
	}
}
