package router

import (
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// TestNestingDepthIsBounded: a client message nested deeper than the
// bound is refused with -32600 and never reaches the backend; a backend's
// answer nested deeper reaches the client as an error in its place; what
// is within the bound goes through.
func TestNestingDepthIsBounded(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{MaxNestingDepth: 10}, srv.spec("s", true, 0))
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	calls := func() int { return srv.count(isMethod("tools/call")) }

	// {"params":{"arguments":{"x": <n>}}}: the message nests n+3 deep.
	s.Handle(callMsg("1", "mcp__proxy__s__echo", `{"x":`+nested(200000)+`}`), nil)
	resp := sink.response(t, "1")
	if errorCode(resp) != jsonrpc.CodeInvalidRequest || !strings.Contains(string(resp), "more than 10 levels") {
		t.Fatalf("a too deep request: %s", resp)
	}

	// Within the bound: it goes through; its echo, one level deeper than
	// the request, comes back from the backend too deep.
	s.Handle(callMsg("2", "mcp__proxy__s__echo", `{"x":`+nested(7)+`}`), nil)
	resp = sink.response(t, "2")
	if errorCode(resp) != jsonrpc.CodeInternalError || !strings.Contains(string(resp), "answer nests") {
		t.Fatalf("a too deep answer: %s", resp)
	}
	if n := calls(); n != 1 {
		t.Fatalf("the backend got %d calls; want only the one within the bound", n)
	}

	s.Handle(callMsg("3", "mcp__proxy__s__echo", `{"x":[1,[2]]}`), nil)
	if resp := sink.response(t, "3"); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("a shallow call: %s", resp)
	}
}
