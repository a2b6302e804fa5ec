package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// The rewrites the router makes (ids, exposed names and URIs, progress
// tokens), and a session fed arbitrary bytes.

// FuzzIDRewrite: the client's id put in place of the backend's in an
// answer is exactly the client's, and nothing else changes.
func FuzzIDRewrite(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1000000001,"result":{"content":[{"type":"text","text":"hi"}]}}`), []byte(`"client-7"`))
	f.Add([]byte(`{"jsonrpc":"2.0","result":{"id":5},"id":1000000002}`), []byte(`3`))
	f.Add([]byte(` { "id" : 1000000003 , "jsonrpc" : "2.0" , "error" : {"code":-32601,"message":"nope"} } `), []byte(`"a very long client id that does not fit where the backend's was"`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"id":2,"result":null}`), []byte(`-1.5e3`))
	f.Add([]byte(`{"jsonrpc":"2.0","i\u0064":1000000004,"result":{}}`), []byte(`"\u00e9"`))
	f.Fuzz(func(t *testing.T, msg, id []byte) {
		env, err := jsonrpc.Peek(msg)
		if err != nil || env.Kind != jsonrpc.KindResponse || topLevelKeys(msg)["id"] > 1 {
			return // an answer with two ids is left to the backend's peer to read
		}
		if ienv, err := jsonrpc.Peek(jsonrpc.Result(id, []byte("null"))); err != nil || !bytes.Equal(ienv.ID, id) || string(id) == "null" {
			return // not an id a client could have sent
		}
		out, err := withID(bytes.Clone(msg), id)
		if err != nil {
			t.Fatalf("withID(%q, %s): %v", msg, id, err)
		}
		if !json.Valid(out) {
			t.Fatalf("withID(%q, %s) = %q: not JSON", msg, id, out)
		}
		oenv, err := jsonrpc.Peek(out)
		if err != nil || oenv.Kind != jsonrpc.KindResponse || !bytes.Equal(oenv.ID, id) || oenv.IsError != env.IsError {
			t.Fatalf("withID(%q, %s) = %q: envelope %+v, %v", msg, id, out, oenv, err)
		}
		for _, path := range []string{"result", "error", "jsonrpc"} {
			if a, b := jsonrpc.Get(msg, path), jsonrpc.Get(out, path); !bytes.Equal(a, b) {
				t.Fatalf("withID(%q, %s) changed %s: %q", msg, id, path, out)
			}
		}
	})
}

// FuzzRequestRewrite: a request forwarded to a backend carries the
// backend's name for the tool and the proxy's progress token, the rest of
// params as the client sent it; the backend's progress, with the client's
// token put back, carries the client's token.
func FuzzRequestRewrite(f *testing.F) {
	f.Add(`{"name":"mcp__proxy__srv__echo","arguments":{"text":"hi"}}`, "echo", int64(1000000001))
	f.Add(`{"name":"x","arguments":{},"_meta":{"progressToken":"tok-1"}}`, "café", int64(1000000002))
	f.Add(`{"_meta":{"progressToken":17,"other":true},"arguments":{"name":"not this one"}}`, "a\"b", int64(5))
	f.Add(`{"name":"a","name":"b","_meta":{}}`, "x", int64(1))
	f.Add(`{}`, "", int64(-1))
	f.Fuzz(func(t *testing.T, params, name string, backendID int64) {
		p := []byte(params)
		if !json.Valid(p) || p[0] != '{' || !utf8.ValidString(name) {
			return // names come from JSON strings: valid UTF-8
		}
		idRaw := jsonrpc.Int(backendID)
		edits := []memberEdit{{path: "name", raw: jsonrpc.String(name), value: name}}
		token := jsonrpc.Get(p, "_meta.progressToken")
		if token != nil {
			edits = append(edits, memberEdit{path: "_meta.progressToken", raw: idRaw})
		}
		req, err := buildRequest(idRaw, "tools/call", p, edits)
		if err != nil {
			return // refused (sjson could not add a member): the client gets -32602
		}
		if !json.Valid(req) {
			t.Fatalf("buildRequest(%q, %q) = %q: not JSON", params, name, req)
		}
		env, err := jsonrpc.Peek(req)
		if err != nil || env.Kind != jsonrpc.KindRequest || !bytes.Equal(env.ID, idRaw) || env.Method != "tools/call" {
			t.Fatalf("buildRequest(%q, %q) = %q: envelope %+v, %v", params, name, req, env, err)
		}
		if got, ok := jsonrpc.GetString(req, "params.name"); !ok || got != name {
			t.Fatalf("buildRequest(%q, %q) = %q: name %q", params, name, req, got)
		}
		if token != nil {
			if got := jsonrpc.Get(req, "params._meta.progressToken"); !bytes.Equal(got, idRaw) {
				t.Fatalf("buildRequest(%q) = %q: progress token %q, want %s", params, req, got, idRaw)
			}
		}
		// Everything else is as the client sent it.
		strip := func(b []byte) []byte {
			b, _ = jsonrpc.Delete(b, "name")
			if token != nil {
				b, _ = jsonrpc.Delete(b, "_meta.progressToken")
			}
			return b
		}
		if a, b := strip(bytes.Clone(p)), strip(bytes.Clone(jsonrpc.Get(req, "params"))); !sameDoc(a, b) {
			t.Fatalf("buildRequest(%q, %q) changed more than the name and token:\n%s\n%s", params, name, a, b)
		}
		if token == nil {
			return
		}
		// The backend's progress on that request goes back with the
		// client's own token.
		progress := jsonrpc.Notification("notifications/progress", []byte(`{"progressToken":`+string(idRaw)+`,"progress":1}`))
		back, err := jsonrpc.Set(progress, "params.progressToken", token)
		if err != nil || !json.Valid(back) || !bytes.Equal(jsonrpc.Get(back, "params.progressToken"), token) {
			t.Fatalf("progress with token %q = %q, %v", token, back, err)
		}
	})
}

// topLevelKeys counts the members of a JSON object by key.
func topLevelKeys(msg []byte) map[string]int {
	n := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(msg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return n
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		key, _ := tok.(string)
		n[key]++
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return n
		}
	}
	return n
}

func sameDoc(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// FuzzExposedNames: every exposed name is a valid tool name, and the
// catalog maps it back to the backend and the name the backend gave, for
// two tools of one server (the same name twice included).
func FuzzExposedNames(f *testing.F) {
	f.Add("mcp__proxy__{server}__{tool}", "srv", "echo", "add", true)
	f.Add("{server}__{tool}", "my.srv", "a.b c", "a_b_c", true)
	f.Add("{tool}", "srv", "café→x", "café→x", false)
	f.Add("mcp__proxy__{server}__{tool}", "srv", strings.Repeat("x", 80), strings.Repeat("x", 81), true)
	f.Add("{server}{server}{tool}{tool}", "", "", "{server}", true)
	f.Fuzz(func(t *testing.T, template, server, a, b string, prefix bool) {
		if !strings.Contains(template, "{tool}") {
			return // config refuses a template without {tool}
		}
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return // names come from JSON strings: valid UTF-8
		}
		be := &backend{spec: BackendSpec{Name: server, Prefix: prefix}}
		c := &catalog{tools: map[string]route{}}
		var items [][]byte
		for _, name := range []string{a, b} {
			items = c.addNamed(Options{NameBudget: maxNameLen}, items, c.tools, be, []byte(`{"name":`+string(jsonrpc.String(name))+`,"description":"d"}`), "name", template, "{tool}", nil)
		}
		if len(items) != 2 {
			t.Fatalf("%d items listed for 2 tools", len(items))
		}
		seen := map[string]bool{}
		for i, item := range items {
			if !json.Valid(item) {
				t.Fatalf("item %q: not JSON", item)
			}
			exposed, ok := jsonrpc.GetString(item, "name")
			if !ok || !validName.MatchString(exposed) {
				t.Fatalf("exposed name %q (template %q, server %q): not a valid tool name", exposed, template, server)
			}
			if seen[exposed] {
				t.Fatalf("%q and %q of server %q both exposed as %q", a, b, server, exposed)
			}
			seen[exposed] = true
			rt, ok := c.tools[exposed]
			if !ok || rt.backend != be || rt.original != []string{a, b}[i] {
				t.Fatalf("exposed %q routes to %+v, want %q", exposed, rt, []string{a, b}[i])
			}
		}
	})
}

// FuzzExposedURIs: a backend's URI, exposed (listed, or inside a result),
// resolves back to that backend and URI.
func FuzzExposedURIs(f *testing.F) {
	f.Add("mcp+proxy://{server}/{uri}", "srv", "file:///tmp/a.txt", true)
	f.Add("{server}:{uri}", "docs", "https://example.com/x?y=1#z", true)
	f.Add("mcp+proxy://{server}/{uri}", "srv", "", false)
	f.Add("{uri}", "srv", "mem://\"quoted\"\u2028", true)
	f.Fuzz(func(t *testing.T, template, server, uri string, prefix bool) {
		if !utf8.ValidString(uri) || !utf8.ValidString(template) || !utf8.ValidString(server) {
			return // URIs come from JSON strings: valid UTF-8
		}
		opts := Options{ResourceURITemplate: template}
		be := &backend{spec: BackendSpec{Name: server, Prefix: prefix}}
		c := &catalog{resources: map[string]route{}}
		if p := uriPrefix(template, server); prefix && p != "" {
			c.prefixes = []uriRoute{{prefix: p, backend: be}}
		} else if !prefix {
			c.unprefixed = []*backend{be}
		}
		items := c.addURI(nil, c.resources, be, []byte(`{"uri":`+string(jsonrpc.String(uri))+`,"name":"n"}`), "uri", template)
		if len(items) != 1 || !json.Valid(items[0]) {
			t.Fatalf("addURI(%q) = %q", uri, items)
		}
		exposed, _ := jsonrpc.GetString(items[0], "uri")
		if exposed != exposeURI(opts, be, uri) {
			t.Fatalf("listed as %q, exposed as %q", exposed, exposeURI(opts, be, uri))
		}
		if rt, ok := c.resolveURI(exposed); !ok || rt.backend != be || rt.original != uri {
			t.Fatalf("%q (template %q, server %q) resolves to %+v %t, want %q", exposed, template, server, rt, ok, uri)
		}
		// In a result.
		for _, tc := range []struct{ method, result, path string }{
			{"resources/read", `{"contents":[{"uri":` + string(jsonrpc.String(uri)) + `,"text":"t"}]}`, "result.contents.0.uri"},
			{"tools/call", `{"content":[{"type":"text","text":"x"},{"type":"resource_link","uri":` + string(jsonrpc.String(uri)) + `}]}`, "result.content.1.uri"},
			{"tools/call", `{"content":[{"type":"resource","resource":{"uri":` + string(jsonrpc.String(uri)) + `,"text":"t"}}]}`, "result.content.0.resource.uri"},
		} {
			msg := jsonrpc.Result([]byte(`1`), []byte(tc.result))
			out := exposeResultURIs(opts, be, tc.method, bytes.Clone(msg))
			if !json.Valid(out) {
				t.Fatalf("exposeResultURIs(%q) = %q: not JSON", msg, out)
			}
			got, _ := jsonrpc.GetString(out, tc.path)
			if rt, ok := c.resolveURI(got); !ok || rt.backend != be || rt.original != uri {
				t.Fatalf("%s result %q: URI %q resolves to %+v %t, want %q", tc.method, out, got, rt, ok, uri)
			}
		}
	})
}

// FuzzExposeResultURIs: whatever a backend answers, the URIs rewritten
// into it leave valid JSON valid.
func FuzzExposeResultURIs(f *testing.F) {
	f.Add("tools/call", []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"resource_link","uri":"file:///a"},{"type":"resource","resource":{"uri":"x"}}]}}`))
	f.Add("resources/read", []byte(`{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///a","text":"t"},{"uri":5},{}]}}`))
	f.Add("prompts/get", []byte(`{"jsonrpc":"2.0","id":1,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"a"}}},{"content":[{"type":"resource_link","uri":"b"}]}]}}`))
	f.Add("tasks/result", []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":{"type":"resource_link","uri":"u"}}}`))
	f.Fuzz(func(t *testing.T, method string, msg []byte) {
		be := &backend{spec: BackendSpec{Name: "srv", Prefix: true}}
		opts := Options{ResourceURITemplate: "mcp+proxy://{server}/{uri}"}
		valid := json.Valid(msg)
		out := exposeResultURIs(opts, be, method, bytes.Clone(msg))
		if valid && !json.Valid(out) {
			t.Fatalf("exposeResultURIs(%s, %q) = %q: not JSON", method, msg, out)
		}
	})
}

// newFuzzRouter is one router with a fake backend, shared by the inputs
// of a fuzz run (starting one per input would be most of the work).
func newFuzzRouter(f *testing.F) *Router {
	fs := newFakeServer([]string{tool("echo"), tool("hang")})
	fs.prompts = []string{`{"name":"greet"}`}
	fs.resources = []string{`{"uri":"file:///a","name":"a"}`}
	r := New(Options{RestartDelay: 10 * time.Millisecond},
		[]BackendSpec{fs.spec("fake", true, 300*time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	f.Cleanup(r.Close)
	return r
}

// FuzzSessionHandle: whatever a client sends, nothing panics, and a
// request (or anything that is not a notification or a response) gets
// exactly one answer: -32700 with a null id for what is not JSON, -32600
// for JSON that is not a JSON-RPC message, the answer to its id otherwise.
func FuzzSessionHandle(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"mcp__proxy__fake__echo","arguments":{"x":"y"},"_meta":{"progressToken":"p"}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nope"}}`,
		`{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mcp+proxy://fake/file:///a"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"mcp__proxy__fake__greet"}}`,
		`{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"mcp__proxy__fake__greet"},"argument":{"name":"a","value":"b"}}}`,
		`{"jsonrpc":"2.0","id":6,"method":"logging/setLevel","params":{"level":"debug"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":8,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}`,
		`{"jsonrpc":"2.0","id":"s-1","result":{}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},5]`,
		`[]`,
		`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"jsonrpc":"2.0","id":{},"method":"ping"}`,
		`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
		`{"id":1}`,
		`"just a string"`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__fake__echo","arguments":{}}`,
		"",
	} {
		for _, v := range []uint8{0, 1, 2} {
			f.Add([]byte(s), v)
		}
	}
	r := newFuzzRouter(f)
	f.Fuzz(func(t *testing.T, msg []byte, v uint8) {
		version := []string{"2025-03-26", "2025-06-18", "2025-11-25"}[int(v)%3]
		sink := &recSink{}
		s := r.NewSession(sink)
		defer s.Close()
		s.Handle([]byte(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"`+version+
			`","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}`), nil)
		s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), nil)
		s.Handle(bytes.Clone(msg), nil)

		env, err := jsonrpc.Peek(msg)
		var wantCode int
		var wantID []byte
		switch {
		case errors.Is(err, jsonrpc.ErrParse):
			wantCode, wantID = jsonrpc.CodeParseError, []byte("null")
		case err != nil:
			wantCode, wantID = jsonrpc.CodeInvalidRequest, env.ID
			if wantID == nil {
				wantID = []byte("null")
			}
		case env.Kind == jsonrpc.KindRequest:
			wantID = env.ID
		case env.Kind == jsonrpc.KindBatch:
			if version != batchVersion || BatchRequests(msg) == 0 {
				wantCode, wantID = jsonrpc.CodeInvalidRequest, []byte("null")
			}
			if version == batchVersion && BatchRequests(msg) == 0 && len(bytes.Trim(msg, " \t\r\n")) > 2 {
				return // a batch of notifications and responses: nothing to answer
			}
		default:
			return // a notification or a response: nothing to answer
		}
		// The answers to msg: everything but the initialize answer.
		answers := func() [][]byte {
			var out [][]byte
			for _, m := range sink.all() {
				if bytes.HasPrefix(bytes.TrimSpace(m.msg), []byte("[")) {
					out = append(out, m.msg)
					continue
				}
				e, err := jsonrpc.Peek(m.msg)
				if err == nil && e.Kind == jsonrpc.KindResponse && string(e.ID) != `"init"` {
					out = append(out, m.msg)
				}
			}
			return out
		}
		poll.Within(t, 5*time.Second, fmt.Sprintf("%q (%s): an answer", msg, version), func() bool { return len(answers()) > 0 })
		got := answers()
		if len(got) != 1 {
			t.Fatalf("%q (%s): %d answers, want 1: %q", msg, version, len(got), got)
		}
		if env.Kind == jsonrpc.KindBatch && wantCode == 0 {
			var arr []json.RawMessage
			if err := json.Unmarshal(got[0], &arr); err != nil || len(arr) != BatchRequests(msg) {
				t.Fatalf("batch %q (%s): answered %q, want %d answers", msg, version, got[0], BatchRequests(msg))
			}
			return
		}
		aenv, err := jsonrpc.Peek(got[0])
		if err != nil || !bytes.Equal(aenv.ID, wantID) {
			t.Fatalf("%q (%s): answered %q, want id %s", msg, version, got[0], wantID)
		}
		if wantCode != 0 && errorCode(got[0]) != wantCode {
			t.Fatalf("%q (%s): answered %q, want error %d", msg, version, got[0], wantCode)
		}
		// Nothing more comes for it: an absence is watched for a while.
		time.Sleep(time.Millisecond)
		if n := len(answers()); n != 1 {
			t.Fatalf("%q (%s): %d answers, want 1: %q", msg, version, n, answers())
		}
	})
}
