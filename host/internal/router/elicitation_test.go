package router

import (
	"slices"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

const (
	urlElicitCaps  = `{"elicitation":{"form":{},"url":{}}}`
	formElicitCaps = `{"elicitation":{}}`
)

func askMsg(id, method, params string) []byte {
	return callMsg(id, "mcp__proxy__srv__ask", `{"method":"`+method+`","params":`+params+`}`)
}

func urlElicitation(id string) string {
	return `{"mode":"url","elicitationId":"` + id + `","url":"https://example.com/x","message":"go"}`
}

func TestElicitationComplete(t *testing.T) {
	t.Parallel()
	const (
		urlClient  = iota // declared elicitation.url
		formClient        // declared elicitation (form only)
		noClient          // declared no elicitation
	)
	tests := []struct {
		name    string
		trigger func(t *testing.T, sessions []*Session, sinks []*recSink)
		id      string // elicitationId in the completion
		want    []int  // sessions that get the completion
	}{
		{
			name: "url elicitation: back to the session that got it",
			trigger: func(t *testing.T, sessions []*Session, sinks []*recSink) {
				sessions[urlClient].Handle(askMsg(`"q"`, "elicitation/create", urlElicitation("e-1")), nil)
				req := sinks[urlClient].waitFor(t, "elicitation/create", isNotification("elicitation/create"))
				sessions[urlClient].Handle([]byte(`{"jsonrpc":"2.0","id":`+string(jsonrpc.Get(req, "id"))+`,"result":{"action":"accept"}}`), nil)
				sinks[urlClient].response(t, `"q"`)
			},
			id: "e-1", want: []int{urlClient},
		},
		{
			name: "URL_ELICITATION_REQUIRED error: back to the session that got it",
			trigger: func(t *testing.T, sessions []*Session, sinks []*recSink) {
				sessions[formClient].Handle(callMsg(`"f"`, "mcp__proxy__srv__fail",
					`{"error":{"code":-32042,"message":"needs auth","data":{"elicitations":[`+urlElicitation("e-2")+`]}}}`), nil)
				if resp := sinks[formClient].response(t, `"f"`); errorCode(resp) != -32042 {
					t.Fatalf("error passed on as %s", resp)
				}
			},
			id: "e-2", want: []int{formClient},
		},
		{
			name:    "unknown id: every session that can elicit",
			trigger: func(*testing.T, []*Session, []*recSink) {},
			id:      "e-unknown", want: []int{urlClient, formClient},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer([]string{tool("ask"), tool("fail")})
			r := startRouter(t, Options{}, srv.spec("srv", true, 0))
			var sessions []*Session
			var sinks []*recSink
			for _, caps := range []string{urlElicitCaps, formElicitCaps, `{}`} {
				s, sink := newClient(t, r, "2025-11-25", caps)
				sessions, sinks = append(sessions, s), append(sinks, sink)
			}
			tc.trigger(t, sessions, sinks)
			note := `{"jsonrpc":"2.0","method":"notifications/elicitation/complete","params":{"elicitationId":"` + tc.id + `"}}`
			srv.notify(note)
			complete := isNotification("notifications/elicitation/complete")
			for _, i := range tc.want {
				if got := sinks[i].waitFor(t, "the completion", complete); string(got) != note {
					t.Fatalf("session %d got %s, want it unchanged", i, got)
				}
			}
			time.Sleep(30 * time.Millisecond) // for a wrong delivery to show
			for i, sink := range sinks {
				want := 0
				if slices.Contains(tc.want, i) {
					want = 1
				}
				if n := sink.countOf(complete); n != want {
					t.Fatalf("session %d got %d completions, want %d", i, n, want)
				}
			}
		})
	}
}

func TestURLElicitationNeedsURLCapability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, caps string
		forwards   bool
	}{
		{"client declared url", urlElicitCaps, true},
		{"client declared form only", formElicitCaps, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer([]string{tool("ask")})
			r := startRouter(t, Options{}, srv.spec("srv", true, 0))
			s, sink := newClient(t, r, "2025-11-25", tc.caps)
			s.Handle(askMsg(`"q"`, "elicitation/create", urlElicitation("e-1")), nil)
			elicit := isNotification("elicitation/create")
			if tc.forwards {
				sink.waitFor(t, "elicitation/create", elicit)
				return
			}
			resp := sink.response(t, `"q"`)
			if code := gjson.GetBytes(resp, "result.answer.error.code").Int(); code != jsonrpc.CodeMethodNotFound {
				t.Fatalf("backend got %s, want error %d", resp, jsonrpc.CodeMethodNotFound)
			}
			if sink.countOf(elicit) != 0 {
				t.Fatal("the client got a URL elicitation it cannot handle")
			}
		})
	}
}

func TestBackendDeclaresURLElicitation(t *testing.T) {
	t.Parallel()
	srv := newFakeServer()
	startRouter(t, Options{}, srv.spec("srv", true, 0))
	init := srv.waitReceived(t, "initialize", isMethod("initialize"))
	if !gjson.GetBytes(init, "params.capabilities.elicitation.url").Exists() {
		t.Fatalf("the proxy did not declare URL elicitation: %s", init)
	}
}

func TestClientNotificationsToBackend(t *testing.T) {
	t.Parallel()
	const sampling = `{"messages":[],"maxTokens":1,"_meta":{"progressToken":"bp-7"}}`
	tests := []struct {
		name string
		// send is what the client sends, given the proxy's id for the
		// sampling request; want is what the backend must get then, given
		// the backend's id, or "" for nothing.
		send, want func(proxyID, backendID string) string
	}{
		{
			name: "progress on a server request goes to its backend unchanged",
			send: func(string, string) string {
				return `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"bp-7","progress":1,"total":2}}`
			},
			want: func(string, string) string {
				return `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"bp-7","progress":1,"total":2}}`
			},
		},
		{
			name: "progress with a token no open request carries is dropped",
			send: func(string, string) string {
				return `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"other","progress":1}}`
			},
			want: func(string, string) string { return "" },
		},
		{
			name: "cancelling a server request reaches the backend under its id",
			send: func(proxyID, _ string) string {
				return `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + proxyID + `,"reason":"no"}}`
			},
			want: func(_, backendID string) string {
				return `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + backendID + `,"reason":"no"}}`
			},
		},
		{
			name: "cancelling an unknown server request is dropped",
			send: func(string, string) string {
				return `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999}}`
			},
			want: func(string, string) string { return "" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer([]string{tool("ask")})
			r := startRouter(t, Options{}, srv.spec("srv", true, 0))
			s, sink := newClient(t, r, v0618, samplingCaps)
			s.Handle(askMsg(`"q"`, "sampling/createMessage", sampling), nil)
			req := sink.waitFor(t, "sampling/createMessage", isNotification("sampling/createMessage"))
			if got := string(jsonrpc.Get(req, "params")); got != sampling {
				t.Fatalf("the client got params %s", got)
			}
			proxyID := string(jsonrpc.Get(req, "id"))
			const backendID = `"s-1"`
			before := len(srv.all())
			s.Handle([]byte(tc.send(proxyID, backendID)), nil)
			if want := tc.want(proxyID, backendID); want != "" {
				srv.waitReceived(t, want, func(m []byte) bool { return string(m) == want })
				return
			}
			// Nothing reaches the backend: a notification sent after is the next thing it gets.
			s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`), nil)
			srv.waitReceived(t, "roots/list_changed", isMethod("notifications/roots/list_changed"))
			if got := srv.all()[before:]; len(got) != 1 {
				t.Fatalf("the backend got %q", got)
			}
		})
	}
}

func TestClientCancelPrefersOwnRequest(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("ask"), tool("hang")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s, sink := newClient(t, r, v0618, samplingCaps)
	s.Handle(askMsg(`"q"`, "sampling/createMessage", `{"messages":[],"maxTokens":1}`), nil)
	req := sink.waitFor(t, "sampling/createMessage", isNotification("sampling/createMessage"))
	proxyID := string(jsonrpc.Get(req, "id"))
	// The client's own request under the same id as the proxy's request.
	s.Handle(callMsg(proxyID, "mcp__proxy__srv__hang", `{}`), nil)
	hang := srv.waitReceived(t, "hang", isToolCall("hang"))
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":`+proxyID+`}}`), nil)
	cancel := srv.waitReceived(t, "notifications/cancelled", isMethod("notifications/cancelled"))
	if got := string(jsonrpc.Get(cancel, "params.requestId")); got != string(jsonrpc.Get(hang, "id")) {
		t.Fatalf("cancelled requestId %s, want the client's own request %s", got, jsonrpc.Get(hang, "id"))
	}
	// The server request is still open: the client's answer gets through.
	s.Handle([]byte(`{"jsonrpc":"2.0","id":`+proxyID+`,"result":{"role":"assistant","content":{"type":"text","text":"ok"},"model":"m"}}`), nil)
	if resp := sink.response(t, `"q"`); jsonrpc.Get(resp, "result.answer.result") == nil {
		t.Fatalf("the answer did not reach the backend: %s", resp)
	}
}
