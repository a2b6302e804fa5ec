package router

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

const v0618 = "2025-06-18"

func TestCatalogNamesAndRouting(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 80)
	type server struct {
		name   string
		prefix bool
		pages  [][]string
	}
	type target struct {
		server   int
		original string
	}
	tests := []struct {
		name       string
		opts       Options
		servers    []server
		want       map[string]target // exposed name → where it routes
		collisions int
	}{
		{
			name: "default template, two pages, odd names",
			servers: []server{{"a_b-c", true, [][]string{
				{tool("t.one"), tool("t two")},
				{tool("tö"), tool("plain")},
			}}},
			want: map[string]target{
				"mcp__proxy__a_b-c__t_one": {0, "t.one"},
				"mcp__proxy__a_b-c__t_two": {0, "t two"},
				"mcp__proxy__a_b-c__t_":    {0, "tö"},
				"mcp__proxy__a_b-c__plain": {0, "plain"},
			},
		},
		{
			name:    "custom template",
			opts:    Options{ToolNameTemplate: "{server}__{tool}"},
			servers: []server{{"srv", true, [][]string{{tool("plain")}, {tool("x.y")}}}},
			want: map[string]target{
				"srv__plain": {0, "plain"},
				"srv__x_y":   {0, "x.y"},
			},
		},
		{
			name: "unprefixed keeps names",
			servers: []server{
				{"raw", false, [][]string{{tool("plain"), tool("Do-It_2")}}},
				{"srv", true, [][]string{{tool("plain")}}},
			},
			want: map[string]target{
				"plain":                  {0, "plain"},
				"Do-It_2":                {0, "Do-It_2"},
				"mcp__proxy__srv__plain": {1, "plain"},
			},
		},
		{
			name: "server names with underscore and dash",
			servers: []server{
				{"my_srv", true, [][]string{{tool("t")}}},
				{"my-srv", true, [][]string{{tool("t")}}},
			},
			want: map[string]target{
				"mcp__proxy__my_srv__t": {0, "t"},
				"mcp__proxy__my-srv__t": {1, "t"},
			},
		},
		{
			name:    "collision inside one server",
			servers: []server{{"srv", true, [][]string{{tool("a.b"), tool("a b")}}}},
			want: map[string]target{
				"mcp__proxy__srv__a_b":                            {0, "a.b"},
				"mcp__proxy__srv__a_b_" + shortHash("srv", "a b"): {0, "a b"},
			},
			collisions: 1,
		},
		{
			// Found by FuzzExposedNames: the second copy of a long name was
			// renamed to what the first was already exposed as.
			name:    "one long name listed twice",
			servers: []server{{"srv", true, [][]string{{tool(long), tool(long)}}}},
			want: map[string]target{
				exposedName("mcp__proxy__{server}__{tool}", "{tool}", "srv", long, maxNameLen):                                          {0, long},
				exposedName("mcp__proxy__{server}__{tool}", "{tool}", "srv", long, maxNameLen)[:55] + "_" + shortHash("srv", long, "2"): {0, long},
			},
			collisions: 1,
		},
		{
			name:    "one name listed three times",
			servers: []server{{"srv", true, [][]string{{tool("t"), tool("t"), tool("t")}}}},
			want: map[string]target{
				"mcp__proxy__srv__t":                               {0, "t"},
				"mcp__proxy__srv__t_" + shortHash("srv", "t"):      {0, "t"},
				"mcp__proxy__srv__t_" + shortHash("srv", "t", "2"): {0, "t"},
			},
			collisions: 2,
		},
		{
			name: "collision across servers",
			opts: Options{ToolNameTemplate: "{server}_{tool}"},
			servers: []server{
				{"a", true, [][]string{{tool("b_c")}}},
				{"a_b", true, [][]string{{tool("c")}}},
			},
			want: map[string]target{
				"a_b_c":                          {0, "b_c"},
				"a_b_c_" + shortHash("a_b", "c"): {1, "c"},
			},
			collisions: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fakes []*fakeServer
			var specs []BackendSpec
			for _, s := range tc.servers {
				f := newFakeServer(s.pages...)
				fakes = append(fakes, f)
				specs = append(specs, f.spec(s.name, s.prefix, 0))
			}
			r := startRouter(t, tc.opts, specs...)
			if got := r.Collisions(); len(got) != tc.collisions {
				t.Fatalf("Collisions() = %q, want %d", got, tc.collisions)
			}
			s, sink := newClient(t, r, v0618, `{}`)
			s.Handle([]byte(`{"jsonrpc":"2.0","id":"list","method":"tools/list"}`), nil)
			names := toolNames(t, sink.response(t, `"list"`))
			var want []string
			for n := range tc.want {
				want = append(want, n)
			}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("tools/list names = %q, want %q", names, want)
			}
			for i, exposed := range want {
				tg := tc.want[exposed]
				id := strconv.Itoa(100 + i)
				var before []int
				for _, f := range fakes {
					before = append(before, f.count(isToolCall(tg.original)))
				}
				s.Handle(callMsg(id, exposed, `{}`), nil)
				resp := sink.response(t, id)
				if got, _ := jsonrpc.GetString(resp, "result.received.name"); got != tg.original {
					t.Fatalf("calling %q: backend saw name %q, want %q: %s", exposed, got, tg.original, resp)
				}
				for j, f := range fakes {
					n := f.count(isToolCall(tg.original)) - before[j]
					if j == tg.server && n != 1 || j != tg.server && n != 0 {
						t.Fatalf("calling %q: server %d got %d calls of %q", exposed, j, n, tg.original)
					}
				}
			}
		})
	}
}

func TestRoutingKeepsBytes(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	srv.prompts = []string{`{"name":"greet.me","arguments":[{"name":"who"}]}`}
	srv.resources = []string{`{"uri":"file:///a b.txt","name":"a"}`}
	srv.templates = []string{`{"uriTemplate":"file:///logs/{day}","name":"logs"}`}
	other := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0), other.spec("other", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)

	const schema = `{"$schema":"http://json-schema.org/draft-07/schema#", "type":"object","properties":{"a":{"type":"string","enum":["x"]}},"required":["a"],"$ref":"#/$defs/x","additionalProperties":false}`
	tests := []struct {
		name, id, method string
		params, want     string // want: params as the backend must see them
		backend          *fakeServer
	}{
		{"tools/call string id", `"str-id"`, "tools/call",
			`{ "name" : "mcp__proxy__srv__echo", "arguments": ` + schema + `, "_meta":{"trace":"abc","n":1.50}, "unknown":[1, 2.0, {"k":null}] }`,
			`{ "name" : "echo", "arguments": ` + schema + `, "_meta":{"trace":"abc","n":1.50}, "unknown":[1, 2.0, {"k":null}] }`, srv},
		{"tools/call other backend numeric id", `7`, "tools/call",
			`{"name":"mcp__proxy__other__echo","arguments":{"nested":{"deep":[{"x":"\u00e9\n"}]}}}`,
			`{"name":"echo","arguments":{"nested":{"deep":[{"x":"\u00e9\n"}]}}}`, other},
		{"tools/call huge id", `123456789012345678901234567890`, "tools/call",
			`{"name":"mcp__proxy__srv__echo","arguments":{}}`, `{"name":"echo","arguments":{}}`, srv},
		{"tools/call negative id", `-3`, "tools/call",
			`{"name":"mcp__proxy__srv__echo"}`, `{"name":"echo"}`, srv},
		{"prompts/get", `"p"`, "prompts/get",
			`{"name":"mcp__proxy__srv__greet_me","arguments":{"who":"x"},"_meta":{"m":true}}`,
			`{"name":"greet.me","arguments":{"who":"x"},"_meta":{"m":true}}`, srv},
		{"resources/read listed", `8`, "resources/read",
			`{"uri":"mcp+proxy://srv/file:///a b.txt","_meta":{},"x":1}`,
			`{"uri":"file:///a b.txt","_meta":{},"x":1}`, srv},
		{"resources/read from template", `9`, "resources/read",
			`{"uri":"mcp+proxy://srv/file:///logs/today"}`, `{"uri":"file:///logs/today"}`, srv},
		{"completion for prompt", `"c1"`, "completion/complete",
			`{"ref":{"type":"ref/prompt","name":"mcp__proxy__srv__greet_me"},"argument":{"name":"who","value":"a"},"context":{"arguments":{}}}`,
			`{"ref":{"type":"ref/prompt","name":"greet.me"},"argument":{"name":"who","value":"a"},"context":{"arguments":{}}}`, srv},
		{"completion for template", `"c2"`, "completion/complete",
			`{"ref":{"type":"ref/resource","uri":"mcp+proxy://srv/file:///logs/{day}"},"argument":{"name":"day","value":"1"}}`,
			`{"ref":{"type":"ref/resource","uri":"file:///logs/{day}"},"argument":{"name":"day","value":"1"}}`, srv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.Handle([]byte(`{"jsonrpc":"2.0","id":`+tc.id+`,"method":"`+tc.method+`","params":`+tc.params+`}`), nil)
			resp := sink.response(t, tc.id)
			want := string(jsonrpc.Result([]byte(tc.id), []byte(echo([]byte(tc.want)))))
			if string(resp) != want {
				t.Fatalf("response\n got %s\nwant %s", resp, want)
			}
			if tc.backend.find(func(m []byte) bool { return string(jsonrpc.Get(m, "params")) == tc.want }) == nil {
				t.Fatalf("the expected backend never got %s", tc.want)
			}
		})
	}
}

func TestUnknownTargets(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	tests := []struct {
		name, msg string
		code      int
	}{
		{"unknown tool", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, jsonrpc.CodeInvalidParams},
		{"unknown prompt", `{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"x"}}`, jsonrpc.CodeInvalidParams},
		{"unknown resource", `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mcp+proxy://nope/x"}}`, -32002},
		{"list cursor", `{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"cursor":"page-1"}}`, jsonrpc.CodeInvalidParams},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.Handle([]byte(tc.msg), nil)
			if got := errorCode(sink.response(t, strconv.Itoa(i+1))); got != tc.code {
				t.Fatalf("error code %d, want %d", got, tc.code)
			}
		})
	}
}

func TestIDSpaces(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("barrier"), tool("hang"), tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))

	t.Run("same id in two sessions", func(t *testing.T) {
		t.Parallel()
		a, sa := newClient(t, r, v0618, `{}`)
		b, sb := newClient(t, r, v0618, `{}`)
		a.Handle(callMsg("1", "mcp__proxy__srv__barrier", `{"who":"A"}`), nil)
		b.Handle(callMsg("1", "mcp__proxy__srv__barrier", `{"who":"B"}`), nil)
		for who, sink := range map[string]*recSink{"A": sa, "B": sb} {
			resp := sink.response(t, "1")
			if got, _ := jsonrpc.GetString(resp, "result.received.arguments.who"); got != who {
				t.Fatalf("session %s got the answer for %q: %s", who, got, resp)
			}
			if n := sink.countOf(isResponse("1")); n != 1 {
				t.Fatalf("session %s got %d responses for id 1", who, n)
			}
		}
	})

	t.Run("duplicate in-flight id", func(t *testing.T) {
		t.Parallel()
		s, sink := newClient(t, r, v0618, `{}`)
		s.Handle(callMsg(`"dup"`, "mcp__proxy__srv__hang", `{"n":1}`), nil)
		srv.waitReceived(t, "the first hang", func(m []byte) bool {
			return isToolCall("hang")(m) && gjson.GetBytes(m, "params.arguments.n").Int() == 1
		})
		s.Handle(callMsg(`"dup"`, "mcp__proxy__srv__echo", `{"n":2}`), nil)
		resp := sink.response(t, `"dup"`)
		if errorCode(resp) != jsonrpc.CodeInvalidRequest {
			t.Fatalf("duplicate id answered with %s", resp)
		}
		if srv.find(func(m []byte) bool { return gjson.GetBytes(m, "params.arguments.n").Int() == 2 }) != nil {
			t.Fatal("the duplicate request reached the backend")
		}
	})
}

func TestProgress(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("progress")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	tests := []struct{ name, token string }{
		{"string token", `"tok-A"`},
		{"numeric token", `1`}, // the same as a backend id is likely to be
		{"large token", `98765432109876543210`},
	}
	type client struct {
		sink  *recSink
		token string
	}
	var clients []client
	for i, tc := range tests {
		s, sink := newClient(t, r, v0618, `{}`)
		clients = append(clients, client{sink, tc.token})
		s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__srv__progress","arguments":{"i":`+
			strconv.Itoa(i)+`},"_meta":{"progressToken":`+tc.token+`,"keep":"me"}}}`), nil)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := clients[i]
			resp := c.sink.response(t, "1")
			if got := jsonrpc.Get(resp, "result.received._meta.keep"); string(got) != `"me"` {
				t.Fatalf("other _meta members changed: %s", resp)
			}
			backendTok := jsonrpc.Get(resp, "result.received._meta.progressToken")
			call := srv.waitReceived(t, "the call", func(m []byte) bool {
				return isToolCall("progress")(m) && gjson.GetBytes(m, "params.arguments.i").Int() == int64(i)
			})
			if !bytes.Equal(backendTok, jsonrpc.Get(call, "id")) {
				t.Fatalf("backend saw progress token %s, want its request id %s", backendTok, jsonrpc.Get(call, "id"))
			}
			var progress []string
			respAt := c.sink.index(isResponse("1"))
			for j, m := range c.sink.all() {
				if isNotification("notifications/progress")(m) {
					if j > respAt {
						t.Fatalf("progress after the response: %s", m.msg)
					}
					progress = append(progress, string(jsonrpc.Get(m.msg, "params.progressToken"))+"@"+string(jsonrpc.Get(m.msg, "params.progress")))
				}
			}
			want := []string{tc.token + "@1", tc.token + "@2"}
			if !slices.Equal(progress, want) {
				t.Fatalf("progress = %q, want %q", progress, want)
			}
		})
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("hang"), tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)

	s.Handle(callMsg(`"c1"`, "mcp__proxy__srv__hang", `{}`), nil)
	call := srv.waitReceived(t, "hang", isToolCall("hang"))
	backendID := jsonrpc.Get(call, "id")
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user said stop"}}`), nil)
	cancel := srv.waitReceived(t, "notifications/cancelled", isMethod("notifications/cancelled"))
	if got := jsonrpc.Get(cancel, "params.requestId"); !bytes.Equal(got, backendID) {
		t.Fatalf("backend cancelled requestId %s, want %s", got, backendID)
	}
	if got, _ := jsonrpc.GetString(cancel, "params.reason"); got != "user said stop" {
		t.Fatalf("reason = %q", got)
	}
	// A late answer from the backend is not passed on.
	srv.notify(result(backendID, `{"late":true}`))
	sink.never(t, "a response to the cancelled request", 100*time.Millisecond, isResponse(`"c1"`))
	// The id is free again.
	s.Handle(callMsg(`"c1"`, "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sink.response(t, `"c1"`); jsonrpc.Get(resp, "result.received") == nil {
		t.Fatalf("request after cancel: %s", resp)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	srv := newFakeServer([]string{tool("hang"), tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, timeout))
	s, sink := newClient(t, r, v0618, `{}`)

	start := time.Now()
	s.Handle(callMsg("1", "mcp__proxy__srv__hang", `{}`), nil)
	resp := sink.response(t, "1")
	if elapsed := time.Since(start); elapsed < timeout {
		t.Fatalf("timed out after %s, before the %s timeout", elapsed, timeout)
	}
	if errorCode(resp) != jsonrpc.CodeRequestTimeout {
		t.Fatalf("got %s, want error %d", resp, jsonrpc.CodeRequestTimeout)
	}
	backendID := jsonrpc.Get(srv.waitReceived(t, "hang", isToolCall("hang")), "id")
	cancel := srv.waitReceived(t, "notifications/cancelled", isMethod("notifications/cancelled"))
	if got := jsonrpc.Get(cancel, "params.requestId"); !bytes.Equal(got, backendID) {
		t.Fatalf("backend cancelled requestId %s, want %s", got, backendID)
	}
	s.Handle(callMsg("1", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sink.waitFor(t, "second response", func(m recMsg) bool {
		return isResponse("1")(m) && jsonrpc.Get(m.msg, "result") != nil
	}); jsonrpc.Get(resp, "result.received.name") == nil {
		t.Fatalf("request after timeout: %s", resp)
	}
}

func TestBackendCloseAndReconnect(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("hang"), tool("crash"), tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	uninit := &recSink{}
	u := r.NewSession(uninit)
	t.Cleanup(u.Close)
	first := srv.current()

	s.Handle(callMsg("1", "mcp__proxy__srv__hang", `{}`), nil)
	srv.waitReceived(t, "hang", isToolCall("hang"))
	s.Handle(callMsg("2", "mcp__proxy__srv__crash", `{}`), nil)
	for _, id := range []string{"1", "2"} {
		resp := sink.response(t, id)
		msg, _ := jsonrpc.GetString(resp, "error.message")
		if errorCode(resp) != jsonrpc.CodeBackendUnavailable || !strings.Contains(msg, `"srv"`) {
			t.Fatalf("request %s: got %s, want error %d naming the server", id, resp, jsonrpc.CodeBackendUnavailable)
		}
	}
	changed := isNotification("notifications/tools/list_changed")
	poll.Until(t, "tools to disappear and come back", func() bool {
		return srv.opens() == 2 && sink.countOf(changed) == 2
	})
	poll.Until(t, "the proxy to close the dead connection", func() bool { return first.closes.Load() > 0 })
	if n := uninit.countOf(changed); n != 0 {
		t.Fatalf("uninitialized session got %d list_changed", n)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`), nil)
	if names := toolNames(t, sink.response(t, "3")); !slices.Contains(names, "mcp__proxy__srv__echo") {
		t.Fatalf("tools after reconnect: %q", names)
	}
	s.Handle(callMsg("4", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sink.response(t, "4"); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("call after reconnect: %s", resp)
	}
	if st := r.Backends()[0]; st.State != StateRunning || st.Restarts != 1 {
		t.Fatalf("status after reconnect: %+v", st)
	}
}

func TestServerToClientRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		caps     string
		forwards bool
	}{
		{"client declared sampling", samplingCaps, true},
		{"client without sampling", `{"roots":{}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer([]string{tool("sample")})
			r := startRouter(t, Options{}, srv.spec("srv", true, 0))
			a, sa := newClient(t, r, v0618, tc.caps)
			_, sb := newClient(t, r, v0618, samplingCaps) // idle, and more recently active than a
			a.Handle(callMsg(`"q"`, "mcp__proxy__srv__sample", `{}`), nil)
			isSampling := isNotification("sampling/createMessage")
			if !tc.forwards {
				resp := sa.response(t, `"q"`)
				if got := jsonrpc.Get(resp, "result.answer.id"); string(got) != `"s-1"` {
					t.Fatalf("backend got an answer with id %s: %s", got, resp)
				}
				if code := gjson.GetBytes(resp, "result.answer.error.code").Int(); code != jsonrpc.CodeMethodNotFound {
					t.Fatalf("backend got %s, want error %d", resp, jsonrpc.CodeMethodNotFound)
				}
				if sa.countOf(isSampling)+sb.countOf(isSampling) != 0 {
					t.Fatal("a client got the sampling request")
				}
				return
			}
			req := sa.waitFor(t, "sampling/createMessage", isSampling)
			proxyID := jsonrpc.Get(req, "id")
			if _, err := strconv.ParseInt(string(proxyID), 10, 64); err != nil {
				t.Fatalf("sampling request id %s is not the proxy's", proxyID)
			}
			if got := string(jsonrpc.Get(req, "params")); got != `{"messages":[],"maxTokens":5,"x-extra":[1,2]}` {
				t.Fatalf("params changed: %s", got)
			}
			const answer = `{"model":"m","role":"assistant","content":{"type":"text","text":"hi"}}`
			a.Handle([]byte(`{"jsonrpc":"2.0","id":`+string(proxyID)+`,"result":`+answer+`}`), nil)
			resp := sa.response(t, `"q"`)
			if got := string(jsonrpc.Get(resp, "result.answer")); got != `{"jsonrpc":"2.0","id":"s-1","result":`+answer+`}` {
				t.Fatalf("backend got %s", got)
			}
			if n := sb.countOf(isSampling); n != 0 {
				t.Fatal("the idle session got the sampling request")
			}
		})
	}
}

func TestListChanged(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	uninit := &recSink{}
	u := r.NewSession(uninit)
	t.Cleanup(u.Close)

	srv.setTools([]string{tool("echo")}, []string{tool("fresh")})
	srv.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	changed := isNotification("notifications/tools/list_changed")
	sink.waitFor(t, "tools/list_changed", changed)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	names := toolNames(t, sink.response(t, "1"))
	if !slices.Equal(names, []string{"mcp__proxy__srv__echo", "mcp__proxy__srv__fresh"}) {
		t.Fatalf("tools after list_changed: %q", names)
	}
	if uninit.countOf(changed) != 0 || sink.countOf(isNotification("notifications/prompts/list_changed")) != 0 {
		t.Fatalf("unexpected notifications: %v", uninit.all())
	}
}

func TestResourceSubscribe(t *testing.T) {
	t.Parallel()
	srv := newFakeServer()
	srv.resources = []string{`{"uri":"file:///a","name":"a"}`, `{"uri":"file:///b","name":"b"}`}
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	a, sa := newClient(t, r, v0618, `{}`)
	_, sb := newClient(t, r, v0618, `{}`)

	a.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"mcp+proxy://srv/file:///a"}}`), nil)
	if resp := sa.response(t, "1"); string(jsonrpc.Get(resp, "result.received")) != `{"uri":"file:///a"}` {
		t.Fatalf("subscribe reached the backend as %s", resp)
	}
	srv.notify(`{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///b"}}`)
	srv.notify(`{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a","extra":[1]}}`)
	updated := isNotification("notifications/resources/updated")
	got := sa.waitFor(t, "resources/updated", updated)
	if string(jsonrpc.Get(got, "params")) != `{"uri":"mcp+proxy://srv/file:///a","extra":[1]}` {
		t.Fatalf("update delivered as %s", got)
	}
	sb.never(t, "an update it did not subscribe to", 50*time.Millisecond, updated)
	if n := sa.countOf(updated); n != 1 {
		t.Fatalf("subscribed session got %d updates, want 1", n)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	const batch = `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__srv__echo"}},` +
		`{"jsonrpc":"2.0","method":"notifications/roots/list_changed"},` +
		`{"jsonrpc":"2.0","id":"two","method":"ping"}]`
	tests := []struct {
		version string
		ids     []string // ids in the answer array; nil for a -32600 error
	}{
		{"2025-03-26", []string{`"two"`, "1"}}, // sorted
		{v0618, nil},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			s, sink := newClient(t, r, tc.version, `{}`)
			s.Handle([]byte(batch), nil)
			poll.Until(t, "the batch answer", func() bool { return sink.countOf(func(m recMsg) bool { return m.response }) == 2 })
			time.Sleep(20 * time.Millisecond) // for a third, wrong answer to show
			var responses [][]byte
			for _, m := range sink.all() {
				if m.response {
					responses = append(responses, m.msg)
				}
			}
			if len(responses) != 2 {
				t.Fatalf("got %d responses, want the initialize answer and one more", len(responses))
			}
			answer := responses[1]
			if tc.ids == nil {
				if errorCode(answer) != jsonrpc.CodeInvalidRequest || string(jsonrpc.Get(answer, "id")) != "null" {
					t.Fatalf("got %s, want a -32600 error with a null id", answer)
				}
				return
			}
			arr := gjson.ParseBytes(answer)
			if !arr.IsArray() {
				t.Fatalf("batch answer is not an array: %s", answer)
			}
			var ids []string
			for _, el := range arr.Array() {
				ids = append(ids, el.Get("id").Raw)
				if !el.Get("result").Exists() {
					t.Fatalf("batch element without result: %s", el.Raw)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.ids) {
				t.Fatalf("batch answer ids %q, want %q", ids, tc.ids)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	r := startRouter(t, Options{})
	tests := []struct {
		name, msg string
		code      int
		id        string
	}{
		{"garbage", `{not json`, jsonrpc.CodeParseError, "null"},
		{"truncated array", `[`, jsonrpc.CodeParseError, "null"},
		{"no method, result or error", `{"jsonrpc":"2.0","id":1}`, jsonrpc.CodeInvalidRequest, "1"},
		{"wrong version", `{"jsonrpc":"1.0","id":"x","method":"ping"}`, jsonrpc.CodeInvalidRequest, `"x"`},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, jsonrpc.CodeInvalidRequest, "null"},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, jsonrpc.CodeInvalidRequest, "null"},
		{"not an object", `"hello"`, jsonrpc.CodeInvalidRequest, "null"},
		{"unknown method", `{"jsonrpc":"2.0","id":2,"method":"no/such"}`, jsonrpc.CodeMethodNotFound, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &recSink{}
			s := r.NewSession(sink)
			defer s.Close()
			s.Handle([]byte(tc.msg), nil)
			sink.waitFor(t, "a response", func(m recMsg) bool { return m.response })
			msgs := sink.all()
			if len(msgs) != 1 || !msgs[0].response {
				t.Fatalf("got %d messages, want one response: %v", len(msgs), msgs)
			}
			resp := msgs[0].msg
			if errorCode(resp) != tc.code || string(jsonrpc.Get(resp, "id")) != tc.id {
				t.Fatalf("got %s, want error %d with id %s", resp, tc.code, tc.id)
			}
		})
	}
}

func TestSessionCloseCancels(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("hang"), tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	a, sa := newClient(t, r, v0618, `{}`)
	b, sb := newClient(t, r, v0618, `{}`)

	a.Handle(callMsg("9", "mcp__proxy__srv__hang", `{}`), nil)
	backendID := jsonrpc.Get(srv.waitReceived(t, "hang", isToolCall("hang")), "id")
	a.Close()
	cancel := srv.waitReceived(t, "notifications/cancelled", isMethod("notifications/cancelled"))
	if got := jsonrpc.Get(cancel, "params.requestId"); !bytes.Equal(got, backendID) {
		t.Fatalf("backend cancelled requestId %s, want %s", got, backendID)
	}
	sa.never(t, "a response after Close", 50*time.Millisecond, isResponse("9"))
	b.Handle(callMsg("9", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sb.response(t, "9"); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("other session after close: %s", resp)
	}
}

// TestRouterCloseLeavesNoGoroutines is not parallel, so that no other test
// starts or ends goroutines while it counts.
func TestRouterCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	one := newFakeServer([]string{tool("hang"), tool("progress"), tool("sample")})
	two := newFakeServer([]string{tool("hang")})
	r := New(Options{RestartDelay: 10 * time.Millisecond}, []BackendSpec{one.spec("one", true, 0), two.spec("two", true, 0)})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	r.Start(ctx)
	cancel()
	s, sink := newClient(t, r, v0618, samplingCaps)
	s.Handle(callMsg("1", "mcp__proxy__one__hang", `{}`), nil)
	s.Handle(callMsg("2", "mcp__proxy__two__hang", `{}`), nil)
	s.Handle(callMsg("3", "mcp__proxy__one__sample", `{}`), nil)
	sink.waitFor(t, "sampling request", isNotification("sampling/createMessage"))
	// A re-list that will still be waiting when the router closes.
	two.mu.Lock()
	two.hangLists = true
	two.mu.Unlock()
	two.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	poll.Until(t, "tools/list after list_changed", func() bool { return two.count(isMethod("tools/list")) == 2 })

	done := make(chan struct{})
	go func() {
		r.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Router.Close did not return")
	}
	for _, id := range []string{"1", "2", "3"} {
		if resp := sink.response(t, id); errorCode(resp) != jsonrpc.CodeBackendUnavailable {
			t.Fatalf("request %s after Close: %s", id, resp)
		}
	}
	s.Close()
	for _, st := range r.Backends() {
		if st.State != StateStopped || st.InFlight != 0 {
			t.Fatalf("after Close: %+v", st)
		}
	}
	poll.GoroutinesBackTo(t, before)

}

func TestStatusAndPing(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("a")}, []string{tool("b")})
	srv.prompts = []string{`{"name":"p"}`}
	r := startRouter(t, Options{Name: "px", Version: "9"}, srv.spec("srv", true, 0))
	st := r.Backends()[0]
	want := BackendStatus{Name: "srv", State: StateRunning, ProtocolVersion: "2025-06-18", Tools: 2, Prompts: 1}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	tests := []struct{ method, want string }{
		{"ping", `{}`},
		{"prompts/list", `{"prompts":[{"name":"mcp__proxy__srv__p"}]}`},
		{"resources/templates/list", `{"resourceTemplates":[]}`},
	}
	s, sink := newClient(t, r, v0618, `{}`)
	for i, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			t.Parallel()
			id := strconv.Itoa(i + 1)
			s.Handle([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q}`, id, tc.method)), nil)
			if got := string(jsonrpc.Get(sink.response(t, id), "result")); got != tc.want {
				t.Fatalf("%s = %s, want %s", tc.method, got, tc.want)
			}
		})
	}
}
