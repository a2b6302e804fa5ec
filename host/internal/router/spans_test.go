package router

import (
	"sync"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// recSpans records the spans the router asks for.
type recSpans struct {
	mu    sync.Mutex
	spans []*recSpan
}

type recSpan struct {
	info      RequestInfo
	mu        sync.Mutex
	forwarded []string // server/original
	ends      [][]byte
	ended     int
}

func (r *recSpans) Begin(info RequestInfo) RequestSpan {
	s := &recSpan{info: info}
	r.mu.Lock()
	r.spans = append(r.spans, s)
	r.mu.Unlock()
	return s
}

func (s *recSpan) Forwarded(server, original string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forwarded = append(s.forwarded, server+"/"+original)
	return "00-4bf92f3577b34da6a3ce929d0e0e4736-00000000000000" + string(rune('a'+len(s.forwarded))) + "1-01"
}

func (s *recSpan) End(response []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended++
	if response != nil {
		response = append([]byte(nil), response...) // the router edits it after End
	}
	s.ends = append(s.ends, response)
}

// byID is the span of the request with the given raw id.
func (r *recSpans) byID(id string) *recSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if string(s.info.ID) == id {
			return s
		}
	}
	return nil
}

func (s *recSpan) state() (forwarded []string, ends [][]byte, ended int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.forwarded...), append([][]byte(nil), s.ends...), s.ended
}

// TestSpans: with Options.Spans, each client request gets a span that the
// response ends exactly once (on the session's own outbox, in a batch, or
// without a response when cancelled), and a forwarded request carries the
// span's traceparent to the backend in params._meta.
func TestSpans(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("other"), tool("hang")})
	rec := &recSpans{}
	r := startRouter(t, Options{Spans: rec}, srv.spec("srv", true, waitTimeout))
	s, sink := newClient(t, r, "2025-11-25", `{}`)
	name := "mcp__proxy__srv__other"

	s.Handle([]byte(`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"`+name+`","arguments":{},"_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","progressToken":"p"}}}`), nil)
	sink.response(t, "10")
	got := srv.waitReceived(t, "the traced call", isToolCall("other"))
	if tp, _ := jsonrpc.GetString(got, "params._meta.traceparent"); tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00000000000000b1-01" {
		t.Errorf("the backend got _meta.traceparent %q, want the span's", tp)
	}
	s.Handle(callMsg("11", "mcp__proxy__srv__never", `{}`), nil)
	sink.response(t, "11")
	s.Handle([]byte(`{"jsonrpc":"2.0","id":12,"method":"tools/list"}`), nil)
	sink.response(t, "12")
	// Batches are of 2025-03-26.
	old, _ := newClient(t, r, "2025-03-26", `{}`)
	old.Handle([]byte(`[`+string(callMsg("13", name, `{}`))+`,`+string(callMsg("14", name, `{}`))+`]`), nil)
	s.Handle(callMsg("15", "mcp__proxy__srv__hang", `{}`), nil)
	srv.waitReceived(t, "the hanging call", isToolCall("hang"))
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":15}}`), nil)

	tests := []struct {
		id        string
		forwarded []string
		wantError bool // the response is a JSON-RPC error
		noAnswer  bool
	}{
		{id: "10", forwarded: []string{"srv/other"}},
		{id: "11", wantError: true},
		{id: "12"},
		{id: "13", forwarded: []string{"srv/other"}},
		{id: "14", forwarded: []string{"srv/other"}},
		{id: "15", forwarded: []string{"srv/hang"}, noAnswer: true},
	}
	for _, tc := range tests {
		var span *recSpan
		poll.Until(t, "request "+tc.id+"'s span ended", func() bool {
			if span = rec.byID(tc.id); span == nil {
				return false
			}
			_, _, ended := span.state()
			return ended > 0
		})
		forwarded, ends, ended := span.state()
		if ended != 1 {
			t.Errorf("request %s: span ended %d times", tc.id, ended)
		}
		if len(forwarded) != len(tc.forwarded) || (len(forwarded) > 0 && forwarded[0] != tc.forwarded[0]) {
			t.Errorf("request %s: forwarded %v, want %v", tc.id, forwarded, tc.forwarded)
		}
		switch {
		case tc.noAnswer:
			if ends[0] != nil {
				t.Errorf("request %s (cancelled): ended with %s, want no response", tc.id, ends[0])
			}
		case ends[0] == nil:
			t.Errorf("request %s: ended without its response", tc.id)
		case (jsonrpc.Get(ends[0], "error") != nil) != tc.wantError:
			t.Errorf("request %s: ended with %s", tc.id, ends[0])
		}
		if session := span.info.Session; session != s.ID() && session != old.ID() || span.info.ProtocolVersion == "" {
			t.Errorf("request %s: span info %+v", tc.id, span.info)
		}
	}
}
