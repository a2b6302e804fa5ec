package router

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/plugins/versions"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// searchServers are two backends with distinct tools, for search mode.
func searchServers() (*fakeServer, *fakeServer) {
	files := newFakeServer([]string{
		`{"name":"compress_archive","description":"Packs a folder into a gzip tarball.","inputSchema":{"type":"object","properties":{"folder":{"type":"string"}}}}`,
		`{"name":"stat","description":"Size and times of a path.","inputSchema":{"type":"object","properties":{"path":{"type":"string"}}}}`,
	})
	notes := newFakeServer([]string{
		`{"name":"jot","description":"Saves a short note for later.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}`,
	})
	return files, notes
}

func TestSearchModeListsAndAnswers(t *testing.T) {
	t.Parallel()
	files, notes := searchServers()
	r := startRouter(t, Options{ToolMode: ToolModeSearch, PinnedTools: []string{"*__jot"}},
		files.spec("files", true, 0), notes.spec("notes", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	id := 0
	ask := func(method, params string) []byte {
		id++
		s.Handle([]byte(`{"jsonrpc":"2.0","id":`+strconv.Itoa(id)+`,"method":"`+method+`","params":`+params+`}`), nil)
		return sink.response(t, strconv.Itoa(id))
	}

	if got := r.PinnedTools(); !slices.Equal(got, []string{"mcp__proxy__notes__jot"}) {
		t.Errorf("PinnedTools() = %q", got)
	}
	want := []string{"search_tools", "describe_tool", "call_tool", "mcp__proxy__notes__jot"}
	if got := toolNames(t, ask("tools/list", `{}`)); !slices.Equal(got, want) {
		t.Fatalf("tools/list = %q, want %q", got, want)
	}
	if got := string(jsonrpc.Get(ask("tools/list", `{}`), "result.tools.0.annotations.readOnlyHint")); got != "true" {
		t.Errorf("search_tools readOnlyHint = %s, want true", got)
	}

	found := ask("tools/call", `{"name":"search_tools","arguments":{"query":"pack a directory into a tarball","limit":2}}`)
	if first, _ := jsonrpc.GetString(found, "result.structuredContent.tools.0.name"); first != "mcp__proxy__files__compress_archive" {
		t.Fatalf("search_tools top hit = %q: %s", first, found)
	}
	if why, _ := jsonrpc.GetString(found, "result.structuredContent.tools.0.why"); !strings.Contains(why, "tarball") {
		t.Errorf("why = %q, want the matched word", why)
	}

	described := ask("tools/call", `{"name":"describe_tool","arguments":{"name":"mcp__proxy__files__stat"}}`)
	if got, _ := jsonrpc.GetString(described, "result.structuredContent.tool.inputSchema.properties.path.type"); got != "string" {
		t.Errorf("describe_tool = %s, want the input schema", described)
	}

	// call_tool is the real call: the backend gets its own name and the
	// inner arguments.
	called := ask("tools/call", `{"name":"call_tool","arguments":{"name":"mcp__proxy__files__stat","arguments":{"path":"/x"}}}`)
	if got := string(jsonrpc.Get(called, "result.received.name")); got != `"stat"` {
		t.Errorf("call_tool reached the backend as %s", got)
	}
	if got := string(jsonrpc.Get(called, "result.received.arguments")); got != `{"path":"/x"}` {
		t.Errorf("call_tool arguments = %s", got)
	}
	if got, ok := s.TargetServer("tools/call", []byte(`{"name":"call_tool","arguments":{"name":"mcp__proxy__notes__jot"}}`)); !ok || got != "notes" {
		t.Errorf("TargetServer(call_tool jot) = %q, %t; want notes", got, ok)
	}
	// A direct call by the exposed name still works, pinned or not.
	if got := string(jsonrpc.Get(ask("tools/call", `{"name":"mcp__proxy__files__stat","arguments":{}}`), "result.received.name")); got != `"stat"` {
		t.Errorf("direct call reached the backend as %s", got)
	}

	errorsOf := []struct{ name, params string }{
		{"unknown tool", `{"name":"call_tool","arguments":{"name":"mcp__proxy__files__nope"}}`},
		{"no name", `{"name":"call_tool","arguments":{}}`},
		{"arguments not an object", `{"name":"call_tool","arguments":{"name":"mcp__proxy__files__stat","arguments":[1]}}`},
		{"empty query", `{"name":"search_tools","arguments":{"query":" "}}`},
		{"limit too large", `{"name":"search_tools","arguments":{"query":"x","limit":51}}`},
		{"describe unknown", `{"name":"describe_tool","arguments":{"name":"nope"}}`},
	}
	for _, e := range errorsOf {
		if code := errorCode(ask("tools/call", e.params)); code != jsonrpc.CodeInvalidParams {
			t.Errorf("%s: error code %d, want %d", e.name, code, jsonrpc.CodeInvalidParams)
		}
	}
	viaCallTool := string(jsonrpc.Get(ask("tools/call", `{"name":"call_tool","arguments":{"name":"mcp__proxy__files__nope"}}`), "error"))
	direct := string(jsonrpc.Get(ask("tools/call", `{"name":"mcp__proxy__files__nope"}`), "error"))
	if viaCallTool != direct {
		t.Errorf("call_tool of an unknown tool: %s, want the direct call's %s", viaCallTool, direct)
	}
	if n := files.count(isToolCall("nope")); n != 0 {
		t.Errorf("the backend got %d calls of an unknown tool", n)
	}
}

func TestSearchModeRespectsVisibleServers(t *testing.T) {
	t.Parallel()
	files, notes := searchServers()
	r := startRouter(t, Options{ToolMode: ToolModeSearch, PinnedTools: []string{"*__jot"}},
		files.spec("files", true, 0), notes.spec("notes", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	s.SetVisibleServers(func(server string) bool { return server == "files" })
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "1")); !slices.Equal(got, []string{"search_tools", "describe_tool", "call_tool"}) {
		t.Errorf("tools/list with notes hidden = %q", got)
	}
	s.Handle(callMsg("2", "search_tools", `{"query":"save a short note","limit":50}`), nil)
	res := sink.response(t, "2")
	if strings.Contains(string(res), "notes__jot") {
		t.Errorf("search_tools found a tool of a hidden server: %s", res)
	}
	s.Handle(callMsg("3", "describe_tool", `{"name":"mcp__proxy__notes__jot"}`), nil)
	if code := errorCode(sink.response(t, "3")); code != jsonrpc.CodeInvalidParams {
		t.Errorf("describe_tool of a hidden server's tool: code %d", code)
	}
}

func TestSetToolModeNotifies(t *testing.T) {
	t.Parallel()
	files, notes := searchServers()
	r := startRouter(t, Options{}, files.spec("files", true, 0), notes.spec("notes", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "1")); len(got) != 3 || slices.Contains(got, "search_tools") {
		t.Fatalf("tools/list in mode all = %q", got)
	}
	s.Handle(callMsg("2", "search_tools", `{"query":"x"}`), nil)
	if code := errorCode(sink.response(t, "2")); code != jsonrpc.CodeInvalidParams {
		t.Errorf("search_tools in mode all: code %d, want unknown tool", code)
	}
	if got := r.PinnedTools(); got != nil {
		t.Errorf("PinnedTools() in mode all = %q, want nil", got)
	}
	r.SetToolMode(ToolModeSearch, nil)
	sink.waitFor(t, "tools/list_changed", isNotification("notifications/tools/list_changed"))
	s.Handle([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "3")); !slices.Equal(got, []string{"search_tools", "describe_tool", "call_tool"}) {
		t.Errorf("tools/list after switching to search = %q", got)
	}
	r.SetToolMode(ToolModeAll, nil)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":4,"method":"tools/list"}`), nil)
	if got := toolNames(t, sink.response(t, "4")); len(got) != 3 || slices.Contains(got, "search_tools") {
		t.Errorf("tools/list back in mode all = %q", got)
	}
	poll.Until(t, "a tools/list_changed for each switch", func() bool {
		return sink.countOf(isNotification("notifications/tools/list_changed")) >= 2
	})
}

// TestSearchToolsInEveryVersion: the search tools' results are put into
// the client's version as a backend's are: no structuredContent before
// 2025-06-18, a resultType for 2026-07-28.
func TestSearchToolsInEveryVersion(t *testing.T) {
	t.Parallel()
	files, notes := searchServers()
	opts := withVersions(&countedVersions{Translator: versions.New(nil)})
	opts.ToolMode = ToolModeSearch
	r := startRouter(t, opts, files.spec("files", true, 0), notes.spec("notes", true, 0))

	old, oldSink := newClient(t, r, "2025-03-26", `{}`)
	old.Handle(callMsg("1", "search_tools", `{"query":"save a note"}`), nil)
	res := oldSink.response(t, "1")
	if jsonrpc.Get(res, "result.structuredContent") != nil {
		t.Errorf("a 2025-03-26 client got structuredContent: %s", res)
	}
	if text, _ := jsonrpc.GetString(res, "result.content.0.text"); !strings.Contains(text, "mcp__proxy__notes__jot") {
		t.Errorf("text block %q lacks the hit", text)
	}

	modernSink := &recSink{}
	modern := r.NewSession(modernSink)
	t.Cleanup(modern.Close)
	modern.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_tools","arguments":{"query":"save a note"},`+modernMeta+`}}`), nil)
	res = modernSink.response(t, "2")
	if rt, _ := jsonrpc.GetString(res, "result.resultType"); rt != "complete" {
		t.Errorf("a 2026-07-28 client's search_tools result has resultType %q: %s", rt, res)
	}
	if name, _ := jsonrpc.GetString(res, "result.structuredContent.tools.0.name"); name != "mcp__proxy__notes__jot" {
		t.Errorf("2026-07-28 search_tools = %s", res)
	}
}
