package router

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcphost/mcphost/plugins/versions"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
)

// countedVersions is the built-in versions translator, in process,
// counting its Translate calls.
type countedVersions struct {
	*versions.Translator
	calls atomic.Int64
}

func (c *countedVersions) Translate(ctx context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	c.calls.Add(1)
	return c.Translator.Translate(ctx, req)
}

func withVersions(c *countedVersions) Options {
	return Options{Translators: []TranslatorRef{{Name: "versions", Get: func(context.Context) (translator.Translator, error) {
		return c, nil
	}}}}
}

// revisionServer is a backend speaking one revision whose tools answer
// canned results: 2026-07-28 (server/discover) when modern, otherwise the
// revision initialize asks for. It keeps the tools/call requests it gets.
type revisionServer struct {
	modern  bool
	results map[string]string // tool name → result
	calls   chan []byte
}

func newRevisionServer(modern bool, results map[string]string) *revisionServer {
	return &revisionServer{modern: modern, results: results, calls: make(chan []byte, 16)}
}

func (v *revisionServer) spec(name string) BackendSpec {
	spec := BackendSpec{Name: name, Prefix: true, Open: func(context.Context) (transport.Conn, error) {
		c := newFakeConn()
		go v.serve(c)
		return c, nil
	}}
	if !v.modern {
		spec.ProtocolVersion = "2025-11-25"
	}
	return spec
}

func (v *revisionServer) serve(c *fakeConn) {
	for {
		select {
		case msg := <-c.fromProxy:
			v.answer(c, msg)
		case <-c.closed:
			return
		case <-c.eof:
			return
		}
	}
}

func (v *revisionServer) answer(c *fakeConn, msg []byte) {
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindRequest {
		return
	}
	params := jsonrpc.Get(msg, "params")
	complete := ""
	if v.modern {
		complete = `"resultType":"complete",`
	}
	switch env.Method {
	case "server/discover":
		if !v.modern {
			c.toProxy(string(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound, "Method not found", nil)))
			return
		}
		c.toProxy(result(env.ID, `{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"serverInfo":{"name":"r","version":"1"}}`))
	case "initialize":
		c.toProxy(result(env.ID, `{"protocolVersion":`+string(jsonrpc.Get(params, "protocolVersion"))+
			`,"capabilities":{"tools":{}},"serverInfo":{"name":"r","version":"1"}}`))
	case "tools/list":
		var tools []string
		for name := range v.results {
			tools = append(tools, tool(name))
		}
		c.toProxy(result(env.ID, `{`+complete+`"tools":[`+strings.Join(tools, ",")+`]}`))
	case "tools/call":
		v.calls <- msg
		name, _ := jsonrpc.GetString(params, "name")
		c.toProxy(result(env.ID, v.results[name]))
	default:
		c.toProxy(result(env.ID, `{`+strings.TrimSuffix(complete, ",")+`}`))
	}
}

// callCounting calls tool through s and returns the result and how many
// Translate calls the call and its result cost.
func callCounting(t *testing.T, s *Session, sink *recSink, tr *countedVersions, id, tool string) ([]byte, int64) {
	t.Helper()
	before := tr.calls.Load()
	s.Handle(callMsg(id, tool, `{}`), nil)
	resp := sink.response(t, id)
	return resp, tr.calls.Load() - before
}

// TestPlainToolResultNeedsNoTranslatorCall: between 2025-11-25 and
// 2025-06-18 a text result needs nothing, and the host sees that on the
// bytes; a resource link with icons still goes to the plugin.
func TestPlainToolResultNeedsNoTranslatorCall(t *testing.T) {
	t.Parallel()
	tr := &countedVersions{Translator: versions.New(nil)}
	srv := newRevisionServer(false, map[string]string{
		"text": `{"content":[{"type":"text","text":"hi"}],"isError":false}`,
		"link": `{"content":[{"type":"resource_link","uri":"file:///a","name":"a","icons":[{"src":"i.png"}]}]}`,
	})
	r := startRouter(t, withVersions(tr), srv.spec("s"))
	if v := r.Backends()[0].ProtocolVersion; v != "2025-11-25" {
		t.Fatalf("backend speaks %s, want 2025-11-25", v)
	}
	s, sink := newClient(t, r, "2025-06-18", `{}`)

	resp, calls := callCounting(t, s, sink, tr, "1", "mcp__proxy__s__text")
	if got := string(jsonrpc.Get(resp, "result.content.0.text")); got != `"hi"` || calls != 0 {
		t.Fatalf("plain text result: %s after %d Translate calls, want it unchanged after none", resp, calls)
	}
	resp, calls = callCounting(t, s, sink, tr, "2", "mcp__proxy__s__link")
	if calls != 1 || jsonrpc.Get(resp, "result.content.0.icons") != nil || jsonrpc.Get(resp, "result.content.0.uri") == nil {
		t.Fatalf("resource link result: %s after %d Translate calls, want its icons stripped by one", resp, calls)
	}
}

// TestModernResultIsStrippedByTheHost: a 2026-07-28 backend's result
// reaches a 2025-06-18 session without the 2026-07-28 members, and the
// request reached the backend with request metadata from the session,
// all without a call into the plugin.
func TestModernResultIsStrippedByTheHost(t *testing.T) {
	t.Parallel()
	tr := &countedVersions{Translator: versions.New(nil)}
	srv := newRevisionServer(true, map[string]string{
		"text": `{"resultType":"complete","content":[{"type":"text","text":"hi"}],"structuredContent":{"n":1},"ttlMs":0,"cacheScope":"private",` +
			`"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"r","version":"1"}}}`,
		"link": `{"resultType":"complete","content":[{"type":"resource_link","uri":"file:///a","name":"a","icons":[{"src":"i.png"}]}]}`,
	})
	r := startRouter(t, withVersions(tr), srv.spec("m"))
	if v := r.Backends()[0].ProtocolVersion; v != ModernVersion {
		t.Fatalf("backend speaks %s, want %s", v, ModernVersion)
	}
	s, sink := newClient(t, r, "2025-06-18", `{"roots":{}}`)

	resp, calls := callCounting(t, s, sink, tr, "1", "mcp__proxy__m__text")
	if calls != 0 {
		t.Errorf("%d Translate calls for a text result and its request, want none", calls)
	}
	res := jsonrpc.Get(resp, "result")
	for _, gone := range []string{"resultType", "ttlMs", "cacheScope", "_meta"} {
		if jsonrpc.Get(res, gone) != nil {
			t.Errorf("result keeps %s: %s", gone, resp)
		}
	}
	if jsonrpc.Get(res, "structuredContent.n") == nil || jsonrpc.Get(res, "content.0.text") == nil {
		t.Errorf("result lost its content: %s", resp)
	}
	req := <-srv.calls
	meta := jsonrpc.Get(req, "params._meta")
	if v, _ := jsonrpc.GetString(meta, `io\.modelcontextprotocol/protocolVersion`); v != ModernVersion {
		t.Errorf("request reached the backend without its protocol version: %s", req)
	}
	if name, _ := jsonrpc.GetString(meta, `io\.modelcontextprotocol/clientInfo.name`); name != "test" {
		t.Errorf("request reached the backend without the session's client info: %s", req)
	}
	if caps := string(jsonrpc.Get(meta, `io\.modelcontextprotocol/clientCapabilities`)); caps != `{"roots":{}}` {
		t.Errorf("request reached the backend with capabilities %s, want the session's", caps)
	}

	// A link with icons still needs the plugin.
	resp, calls = callCounting(t, s, sink, tr, "2", "mcp__proxy__m__link")
	if calls != 1 || jsonrpc.Get(resp, "result.content.0.icons") != nil || jsonrpc.Get(resp, "result.resultType") != nil {
		t.Fatalf("resource link result: %s after %d Translate calls, want it translated by one", resp, calls)
	}
}

// TestStructuredResultIsMovedByTheHost: the example server's echo result
// reaches a client before 2025-06-18 with its structuredContent as a text
// block of JSON, from a 2026-07-28 backend and from a 2025-11-25 one,
// without a call into the plugin (the host's EditMoveToTextBlock).
func TestStructuredResultIsMovedByTheHost(t *testing.T) {
	t.Parallel()
	echo := `"content":[{"type":"text","text":"hi"}],"structuredContent":{"text":"hi"}`
	backends := []struct {
		name, result string
		modern       bool
	}{
		{"2026-07-28", `{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"example","version":"1.0.0"}},` + echo + `,"resultType":"complete"}`, true},
		{"2025-11-25", `{` + echo + `}`, false},
	}
	for _, b := range backends {
		for _, client := range []string{"2024-11-05", "2025-03-26"} {
			t.Run(b.name+"→"+client, func(t *testing.T) {
				t.Parallel()
				tr := &countedVersions{Translator: versions.New(nil)}
				srv := newRevisionServer(b.modern, map[string]string{"echo": b.result})
				r := startRouter(t, withVersions(tr), srv.spec("e"))
				s, sink := newClient(t, r, client, `{}`)

				resp, calls := callCounting(t, s, sink, tr, "1", "mcp__proxy__e__echo")
				if calls != 0 {
					t.Errorf("%d Translate calls for the echo result and its request, want none", calls)
				}
				want := `{"content":[{"type":"text","text":"hi"},{"type":"text","text":"{\"text\":\"hi\"}"}]}`
				if got := string(jsonrpc.Get(resp, "result")); got != want {
					t.Errorf("result %s, want %s", got, want)
				}
			})
		}
	}
}

// flakyTranslator fails its first Translate, then marks results; it
// counts how often its rules are read.
type flakyTranslator struct {
	markTranslator
	rulesRead atomic.Int64
	failed    atomic.Bool
	mark      string
}

func (f *flakyTranslator) Rules(ctx context.Context, req translator.RulesRequest) (translator.RulesResponse, error) {
	f.rulesRead.Add(1)
	return f.markTranslator.Rules(ctx, req)
}

func (f *flakyTranslator) Translate(_ context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	if f.failed.CompareAndSwap(false, true) {
		return translator.TranslateResponse{}, context.DeadlineExceeded
	}
	out, err := jsonrpc.Set(req.Message, "result.marked", jsonrpc.String(f.mark))
	return translator.TranslateResponse{Message: out}, err
}

// TestTranslatorRulesAreReadAgain: a failed translation answers the client
// with an error, never the untranslated message; a translator that failed
// is fetched again with its rules (go-plugin may have restarted it), and a
// reload's translators bring their own rules.
func TestTranslatorRulesAreReadAgain(t *testing.T) {
	t.Parallel()
	first := &flakyTranslator{mark: "first"}
	var gets atomic.Int64
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{Translators: []TranslatorRef{{Name: "flaky", Get: func(context.Context) (translator.Translator, error) {
		gets.Add(1)
		return first, nil
	}}}}, srv.spec("s", true, 0))
	s, sink := newClient(t, r, "2024-11-05", `{}`)
	marked := func(id string) string {
		s.Handle(callMsg(id, "mcp__proxy__s__echo", `{}`), nil)
		m, _ := jsonrpc.GetString(sink.response(t, id), "result.marked")
		return m
	}
	s.Handle(callMsg("1", "mcp__proxy__s__echo", `{}`), nil)
	if resp := sink.response(t, "1"); errorCode(resp) != jsonrpc.CodeInternalError || jsonrpc.Get(resp, "result") != nil {
		t.Fatalf("a failed translation answered %s; want an internal error and never the untranslated result", resp)
	}
	if m := marked("2"); m != "first" || gets.Load() != 2 || first.rulesRead.Load() != 2 {
		t.Fatalf("after a failure: marked %q, %d fetches, rules read %d times; want first, 2, 2", m, gets.Load(), first.rulesRead.Load())
	}
	second := &flakyTranslator{mark: "second"}
	second.failed.Store(true)
	r.SetTranslators([]TranslatorRef{{Name: "flaky", Get: func(context.Context) (translator.Translator, error) { return second, nil }}})
	if m := marked("3"); m != "second" || second.rulesRead.Load() != 1 {
		t.Fatalf("after a reload: marked %q, rules read %d times; want second, 1", m, second.rulesRead.Load())
	}
}

// TestUnavailableTranslatorSendsNothingUntranslated: while the translator
// cannot be started, a call between revisions gets a JSON-RPC error (in
// either direction), never the message in the other revision; once it can
// be, calls go through again.
func TestUnavailableTranslatorSendsNothingUntranslated(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	tr := &countedVersions{Translator: versions.New(nil)}
	srv := newRevisionServer(true, map[string]string{
		"echo": `{"resultType":"complete","content":[{"type":"text","text":"hi"}],"structuredContent":{"text":"hi"}}`,
	})
	r := startRouter(t, Options{Translators: []TranslatorRef{{Name: "versions", Get: func(context.Context) (translator.Translator, error) {
		if down.Load() {
			return nil, errors.New("plugin process exited")
		}
		return tr, nil
	}}}}, srv.spec("m"))
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	s.Handle(callMsg("1", "mcp__proxy__m__echo", `{}`), nil)
	resp := sink.response(t, "1")
	if errorCode(resp) != jsonrpc.CodeInternalError || jsonrpc.Get(resp, "result") != nil {
		t.Fatalf("with the translator down: %s; want an internal error", resp)
	}
	select {
	case msg := <-srv.calls:
		t.Fatalf("the backend got a request no translator put into its revision: %s", msg)
	default:
	}
	down.Store(false)
	s.Handle(callMsg("2", "mcp__proxy__m__echo", `{}`), nil)
	if resp := sink.response(t, "2"); jsonrpc.Get(resp, "result.resultType") != nil || jsonrpc.Get(resp, "result.content") == nil {
		t.Fatalf("with the translator back: %s; want a 2025-06-18 result", resp)
	}
}
