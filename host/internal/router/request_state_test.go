package router

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

func TestRequestStateToken(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, RequestStateKeyBytes)
	now := time.Unix(1_800_000_000, 0)
	claims := stateClaims{Call: "c1", Expires: now.Add(time.Minute).Unix(), Binding: requestBinding("tools/call", []byte(`{"name":"t","arguments":{"a":1}}`))}
	token := sealState(key, "mcp-a", claims)
	parts := strings.Split(token, ".")
	tamper := func(i int, with string) string {
		p := append([]string(nil), parts...)
		p[i] = with
		return strings.Join(p, ".")
	}
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"c":"c2","e":1900000000,"b":"` + claims.Binding + `"}`))
	tests := []struct {
		name  string
		key   []byte
		token string
		at    time.Time
		want  error
	}{
		{"round trip", key, token, now, nil},
		{"another owner", key, tamper(1, "mcp-b"), now, errStateMAC},
		{"another payload", key, tamper(2, otherPayload), now, errStateMAC},
		{"another MAC", key, tamper(3, base64.RawURLEncoding.EncodeToString(make([]byte, 32))), now, errStateMAC},
		{"another key", bytes.Repeat([]byte{8}, RequestStateKeyBytes), token, now, errStateMAC},
		{"expired", key, token, now.Add(time.Minute), errStateExpired},
		{"not ours", key, "opaque-backend-state", now, errStateMalformed},
		{"too few parts", key, "ms1.mcp-a.abc", now, errStateMalformed},
		{"MAC not base64", key, tamper(3, "!!"), now, errStateMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			owner, got, err := openState(tt.key, tt.token, tt.at)
			if err != tt.want {
				t.Fatalf("openState: %v, want %v", err, tt.want)
			}
			if err == nil && (owner != "mcp-a" || got != claims) {
				t.Fatalf("openState = %q %+v, want mcp-a %+v", owner, got, claims)
			}
		})
	}
}

func TestRequestBinding(t *testing.T) {
	t.Parallel()
	base := requestBinding("tools/call", []byte(`{"name":"t","arguments":{"a":1,"b":[true,"x"]}}`))
	tests := []struct {
		name, method, params string
		same                 bool
	}{
		{"keys in another order, retry members added", "tools/call",
			`{"requestState":"s","inputResponses":{},"arguments":{"b":[true,"x"],"a":1},"name":"t","_meta":{"k":1}}`, true},
		{"another argument", "tools/call", `{"name":"t","arguments":{"a":2,"b":[true,"x"]}}`, false},
		{"another tool", "tools/call", `{"name":"u","arguments":{"a":1,"b":[true,"x"]}}`, false},
		{"another method", "prompts/get", `{"name":"t","arguments":{"a":1,"b":[true,"x"]}}`, false},
		{"no arguments", "tools/call", `{"name":"t"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := requestBinding(tt.method, []byte(tt.params)) == base; got != tt.same {
				t.Fatalf("same binding = %v, want %v", got, tt.same)
			}
		})
	}
	if requestBinding("resources/read", []byte(`{"uri":"a://x"}`)) == requestBinding("resources/read", []byte(`{"uri":"a://y"}`)) {
		t.Fatal("two resources share a binding")
	}
}

// parkSample parks a call of the fake server's "sample" tool for a
// 2026-07-28 client of r and returns its requestState.
func parkSample(t *testing.T, s *Session, sink *recSink, id, args string) string {
	t.Helper()
	s.Handle([]byte(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"mcp__proxy__old__sample","arguments":`+args+`,`+modernMeta+`}}`), nil)
	first := sink.response(t, id)
	if rt, _ := jsonrpc.GetString(first, "result.resultType"); rt != "input_required" {
		t.Fatalf("want input_required, got %s", first)
	}
	state, _ := jsonrpc.GetString(first, "result.requestState")
	return state
}

// retrySample is the client's retry of a parked "sample" call.
func retrySample(id, name, args, state string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args +
		`,"inputResponses":{"input":{"role":"assistant","content":{"type":"text","text":"ok"},"model":"m"}},"requestState":"` + state + `",` + modernMeta + `}}`)
}

// TestRequestStateRefusals: a token that is altered or bound to another
// request is refused with invalid params that say why, and nothing runs;
// the genuine retry then resumes the parked call.
func TestRequestStateRefusals(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("sample")})
	r := startRouter(t, Options{InstanceID: "mcp-a"}, srv.spec("old", true, 0))
	ss := sinkSession(t, r)
	state := parkSample(t, ss.s, ss.sink, "1", `{"x":"a"}`)
	if !strings.HasPrefix(state, "ms1.mcp-a.") {
		t.Fatalf("requestState %q does not name its owner", state)
	}
	parts := strings.Split(state, ".")
	parts[2] = base64.RawURLEncoding.EncodeToString([]byte(`{"c":"forged","e":9999999999,"b":"x"}`))
	forged := strings.Join(parts, ".")
	tests := []struct {
		name, tool, args, state, why string
	}{
		{"altered", "mcp__proxy__old__sample", `{"x":"a"}`, forged, "failed authentication"},
		{"other arguments", "mcp__proxy__old__sample", `{"x":"b"}`, state, "another request"},
		{"other tool", "mcp__proxy__old__other", `{"x":"a"}`, state, "another request"},
	}
	for i, tt := range tests {
		id := string(jsonrpc.Int(int64(10 + i)))
		ss.s.Handle(retrySample(id, tt.tool, tt.args, tt.state), nil)
		resp := ss.sink.response(t, id)
		if code := errorCode(resp); code != jsonrpc.CodeInvalidParams {
			t.Errorf("%s: code %d, want invalid params: %s", tt.name, code, resp)
		}
		if msg, _ := jsonrpc.GetString(resp, "error.message"); !strings.Contains(msg, tt.why) {
			t.Errorf("%s: message %q does not say %q", tt.name, msg, tt.why)
		}
	}
	if n := srv.count(isToolCall("sample")); n != 1 {
		t.Fatalf("the backend saw %d calls; a refused retry ran something", n)
	}
	if n := srv.count(isMethod("tools/call")); n != 1 {
		t.Fatalf("the backend saw %d tools/call", n)
	}
	ss.s.Handle(retrySample("20", "mcp__proxy__old__sample", `{"x":"a"}`, state), nil)
	if got := string(jsonrpc.Get(ss.sink.response(t, "20"), "result.answer.result.content.text")); got != `"ok"` {
		t.Fatalf("the genuine retry did not resume the call: %s", got)
	}
}

// peerRouters forwards to other routers in this process, the way the HTTP
// forwarder does over the network: one session per request, marked as
// forwarded.
type peerRouters map[string]*Router

func (p peerRouters) Forward(ctx context.Context, req ForwardRequest) (ForwardResponse, error) {
	r, ok := p[req.Owner]
	if !ok {
		return ForwardResponse{}, ErrUnknownPeer
	}
	s := r.OpenSession("peer")
	defer s.Close()
	s.SetFromPeer()
	reply := s.NewReply(false)
	defer reply.Close()
	s.Handle(req.Message, reply)
	for {
		for {
			m, ok := reply.TryNext()
			if !ok {
				break
			}
			if m.Final {
				return ForwardResponse{Message: m.Data}, nil
			}
		}
		select {
		case <-ctx.Done():
			return ForwardResponse{}, ctx.Err()
		case <-reply.Ready():
		}
	}
}

// TestRequestStateOwnerElsewhere: a retry that reaches another router is
// resumed by the owner through the forwarder; when the owner is gone, a
// read-only tool runs again here and anything else fails with
// CodeRequestStateLost, without a second run.
func TestRequestStateOwnerElsewhere(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{3}, RequestStateKeyBytes)
	readOnly := `{"name":"sample","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object"}}`
	tests := []struct {
		name    string
		tools   []string
		ownerUp bool
		// resumed: the owner resumed the call already, so it has it no more.
		resumed  bool
		wantCode int // 0: a result
		// wantRerun: the retry became a fresh call here.
		wantRerun bool
	}{
		{"forwarded to the owner", []string{tool("sample")}, true, false, 0, false},
		{"owner gone, read-only tool", []string{readOnly}, false, false, 0, true},
		{"owner gone, tool with side effects", []string{tool("sample")}, false, false, CodeRequestStateLost, false},
		{"owner has the call no more", []string{tool("sample")}, true, true, CodeRequestStateLost, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ownerSrv, otherSrv := newFakeServer(tt.tools), newFakeServer(tt.tools)
			owner := startRouter(t, Options{InstanceID: "mcp-a", RequestStateKey: key}, ownerSrv.spec("old", true, 0))
			peers := peerRouters{}
			other := startRouter(t, Options{InstanceID: "mcp-b", RequestStateKey: key, Peers: peers}, otherSrv.spec("old", true, 0))
			if tt.ownerUp {
				peers["mcp-a"] = owner
			}
			first := sinkSession(t, owner)
			state := parkSample(t, first.s, first.sink, "1", `{"x":"a"}`)
			if tt.resumed {
				first.s.Handle(retrySample("3", "mcp__proxy__old__sample", `{"x":"a"}`, state), nil)
				first.sink.response(t, "3")
			}
			retry := sinkSession(t, other)
			retry.s.Handle(retrySample("2", "mcp__proxy__old__sample", `{"x":"a"}`, state), nil)
			resp := retry.sink.response(t, "2")
			if code := errorCode(resp); code != tt.wantCode {
				t.Fatalf("code %d, want %d: %s", code, tt.wantCode, resp)
			}
			switch {
			case tt.wantCode != 0:
				if msg, _ := jsonrpc.GetString(resp, "error.message"); !strings.Contains(msg, "start the call again") || strings.Contains(msg, state) {
					t.Errorf("error message %q", msg)
				}
			case tt.wantRerun:
				if rt, _ := jsonrpc.GetString(resp, "result.resultType"); rt != "input_required" {
					t.Errorf("the re-run should ask for input again: %s", resp)
				}
			default:
				if got := string(jsonrpc.Get(resp, "result.answer.result.content.text")); got != `"ok"` {
					t.Errorf("the owner did not resume the call: %s", resp)
				}
			}
			wantHere := 0
			if tt.wantRerun {
				wantHere = 1
			}
			if a, b := ownerSrv.count(isToolCall("sample")), otherSrv.count(isToolCall("sample")); a != 1 || b != wantHere {
				t.Errorf("calls: owner %d, other %d; want 1 and %d", a, b, wantHere)
			}
		})
	}
}

// TestForwardedRetryIsNotForwardedAgain: a retry another instance
// forwarded, whose token names a third instance, fails with
// CodeRequestStateLost here, without being forwarded or run, even though
// this instance could reach the owner and the tool is read-only.
func TestForwardedRetryIsNotForwardedAgain(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{5}, RequestStateKeyBytes)
	readOnly := `{"name":"sample","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object"}}`
	ownerSrv, relaySrv := newFakeServer([]string{readOnly}), newFakeServer([]string{readOnly})
	owner := startRouter(t, Options{InstanceID: "mcp-a", RequestStateKey: key}, ownerSrv.spec("old", true, 0))
	relay := startRouter(t, Options{InstanceID: "mcp-c", RequestStateKey: key, Peers: peerRouters{"mcp-a": owner}}, relaySrv.spec("old", true, 0))
	first := sinkSession(t, owner)
	state := parkSample(t, first.s, first.sink, "1", `{"x":"a"}`)
	forwarded := sinkSession(t, relay)
	forwarded.s.SetFromPeer()
	forwarded.s.Handle(retrySample("2", "mcp__proxy__old__sample", `{"x":"a"}`, state), nil)
	if code := errorCode(forwarded.sink.response(t, "2")); code != CodeRequestStateLost {
		t.Fatalf("code %d, want %d", code, CodeRequestStateLost)
	}
	if n := relaySrv.count(isToolCall("sample")); n != 0 {
		t.Fatalf("the forwarded retry ran here %d times", n)
	}
	// The owner still holds the call: it was not forwarded there.
	first.s.Handle(retrySample("3", "mcp__proxy__old__sample", `{"x":"a"}`, state), nil)
	if got := string(jsonrpc.Get(first.sink.response(t, "3"), "result.answer.result.content.text")); got != `"ok"` {
		t.Fatalf("the owner lost the call: %s", got)
	}
}
