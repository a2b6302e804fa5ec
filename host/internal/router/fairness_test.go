package router

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
)

// stallSink is a client that reads until stall is called, and then stops
// reading: its writes block until the test ends.
type stallSink struct {
	recSink
	stalled atomic.Bool
	release chan struct{}
}

func newStallSink(t *testing.T) *stallSink {
	s := &stallSink{release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	return s
}

func (s *stallSink) stall() { s.stalled.Store(true) }

func (s *stallSink) wait() error {
	if s.stalled.Load() {
		<-s.release
		return transport.ErrClosed
	}
	return nil
}

func (s *stallSink) Send(msg []byte) error {
	if err := s.wait(); err != nil {
		return err
	}
	return s.recSink.Send(msg)
}

func (s *stallSink) Respond(msg []byte) error {
	if err := s.wait(); err != nil {
		return err
	}
	return s.recSink.Respond(msg)
}

// stallingClient opens a session over a stallSink and performs the
// handshake while it still reads.
func stallingClient(t *testing.T, r *Router) (*Session, *stallSink) {
	t.Helper()
	sink := newStallSink(t)
	s := r.NewSession(sink)
	s.SetListener("test")
	t.Cleanup(s.Close)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}`), nil)
	sink.response(t, `"init"`)
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), nil)
	return s, sink
}

// shedCounter records SessionShed calls.
type shedCounter struct {
	mu  sync.Mutex
	got []string
}

func (c *shedCounter) shed(listener string) {
	c.mu.Lock()
	c.got = append(c.got, listener)
	c.mu.Unlock()
}

func (c *shedCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func bigArgs(n int) string { return `{"text":"` + strings.Repeat("x", n) + `"}` }

func TestClientThatStopsReadingIsEndedAlone(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo"), tool("hang")})
	var shed shedCounter
	r := startRouter(t, Options{SessionOutboxBytes: 1 << 20, OutboxBytes: 64 << 20, SessionShed: shed.shed},
		srv.spec("srv", true, 0))
	slow, slowSink := stallingClient(t, r)
	fast, fastSink := newClient(t, r, v0618, `{}`)

	slow.Handle(callMsg(`"h"`, "mcp__proxy__srv__hang", `{}`), nil)
	srv.waitReceived(t, "the slow client's open call", isToolCall("hang"))
	slowSink.stall()
	// Each answer is ~200 KB: the sixth puts the slow client over 1 MiB.
	for i := range 8 {
		slow.Handle(callMsg(strconv.Itoa(100+i), "mcp__proxy__srv__echo", bigArgs(200<<10)), nil)
	}
	// Meanwhile the other client of the same backend is served throughout.
	for i := range 20 {
		fast.Handle(callMsg(strconv.Itoa(i), "mcp__proxy__srv__echo", `{"i":`+strconv.Itoa(i)+`}`), nil)
		fastSink.response(t, strconv.Itoa(i))
	}
	select {
	case <-slow.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the slow client's session was not ended")
	}
	if !slow.Shed() || fast.Shed() {
		t.Fatalf("shed: slow %t, fast %t", slow.Shed(), fast.Shed())
	}
	poll.Until(t, "the shed to be counted", func() bool { return shed.count() == 1 })
	if shed.got[0] != "test" {
		t.Fatalf("counted for listener %q", shed.got[0])
	}
	// Its open request is cancelled at the backend.
	srv.waitReceived(t, "the cancellation of the slow client's call", func(m []byte) bool {
		return isMethod("notifications/cancelled")(m) && strings.Contains(string(m), "client session closed")
	})
	poll.Until(t, "the outboxes to be empty", func() bool { return r.QueuedBytes() == 0 })
	fast.Handle(callMsg(`"after"`, "mcp__proxy__srv__echo", `{}`), nil)
	fastSink.response(t, `"after"`)
}

func TestOverTheTotalBudgetTheLargestSessionIsEnded(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{SessionOutboxBytes: 4 << 20, OutboxBytes: 4 << 20}, srv.spec("srv", true, 0))
	big, bigSink := stallingClient(t, r)
	small, smallSink := stallingClient(t, r)
	bigSink.stall()
	smallSink.stall()
	// ~3 MB for big, under its own budget however many its writer took.
	for i := range 12 {
		big.Handle(callMsg(strconv.Itoa(i), "mcp__proxy__srv__echo", bigArgs(250<<10)), nil)
	}
	poll.Until(t, "big's answers to wait", func() bool { return big.QueuedBytes() > 2700<<10 })
	// small's answers (~100 KB each) take the total over 4 MiB long before
	// small holds as much as big.
	for i := range 20 {
		small.Handle(callMsg(strconv.Itoa(i), "mcp__proxy__srv__echo", bigArgs(100<<10)), nil)
	}
	select {
	case <-big.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the largest session was not ended")
	}
	if small.Shed() {
		t.Fatal("the smaller session was ended too")
	}
}

func TestRequestsInFlightPerSessionAreBounded(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("hang"), tool("echo")})
	r := startRouter(t, Options{SessionMaxInFlight: 2}, srv.spec("srv", true, 0))
	flood, floodSink := newClient(t, r, v0618, `{}`)
	other, otherSink := newClient(t, r, v0618, `{}`)
	for i := range 2 {
		flood.Handle(callMsg(strconv.Itoa(i), "mcp__proxy__srv__hang", `{}`), nil)
	}
	poll.Until(t, "both calls at the backend", func() bool { return srv.count(isToolCall("hang")) == 2 })
	flood.Handle(callMsg("2", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := floodSink.response(t, "2"); errorCode(resp) != CodeTooManyRequests {
		t.Fatalf("a third request got %s, want error %d", resp, CodeTooManyRequests)
	}
	if n := srv.count(isToolCall("echo")); n != 0 {
		t.Fatal("a refused request reached the backend")
	}
	other.Handle(callMsg("1", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := otherSink.response(t, "1"); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("another session was refused too: %s", resp)
	}
	flood.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":0}}`), nil)
	flood.Handle(callMsg("3", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := floodSink.response(t, "3"); jsonrpc.Get(resp, "result") == nil {
		t.Fatalf("after a cancellation the session was still refused: %s", resp)
	}
}

// stuckConn is a fakeConn whose backend stops reading once stuck is set:
// Send then waits for its ctx, as the Conn contract requires.
type stuckConn struct {
	*fakeConn
	stuck *atomic.Bool
}

func (c stuckConn) Send(ctx context.Context, msg []byte) error {
	if c.stuck.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return c.fakeConn.Send(ctx, msg)
}

func TestSendingToABackendThatStopsReadingEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	var stuck atomic.Bool
	spec := srv.spec("srv", true, 300*time.Millisecond)
	spec.Open = func(ctx context.Context) (transport.Conn, error) {
		c, err := srv.open(ctx)
		return stuckConn{c.(*fakeConn), &stuck}, err
	}
	other := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, spec, other.spec("other", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	stuck.Store(true)
	start := time.Now()
	s.Handle(callMsg("1", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sink.response(t, "1"); errorCode(resp) != jsonrpc.CodeRequestTimeout {
		t.Fatalf("got %s, want a timeout", resp)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("the send held the client for %s", waited)
	}
	s.Handle(callMsg("2", "mcp__proxy__other__echo", `{}`), nil)
	sink.response(t, "2")
}

// gateTranslator holds every translation until its gate opens.
type gateTranslator struct {
	base.Unimplemented
	gate  chan struct{}
	calls atomic.Int64
}

func (g *gateTranslator) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "gate", Kind: base.KindTranslator}, nil
}

func (g *gateTranslator) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{Rules: []translator.Rule{
		{From: translator.Wildcard, To: "2025-03-26", Direction: translator.ToClient, Methods: []string{"tools/call"}},
	}}, nil
}

func (g *gateTranslator) Translate(ctx context.Context, _ translator.TranslateRequest) (translator.TranslateResponse, error) {
	g.calls.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	return translator.TranslateResponse{}, nil
}

func TestASlowTranslatorHoldsUpOnlyItsSession(t *testing.T) {
	t.Parallel()
	gate := &gateTranslator{gate: make(chan struct{})}
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{Translators: []TranslatorRef{{Name: "gate", Get: func(context.Context) (translator.Translator, error) {
		return gate, nil
	}}}}, srv.spec("srv", true, 0))
	translated, translatedSink := newClient(t, r, "2025-03-26", `{}`)
	plain, plainSink := newClient(t, r, v0618, `{}`)
	translated.Handle(callMsg("1", "mcp__proxy__srv__echo", `{}`), nil)
	poll.Until(t, "the translation to start", func() bool { return gate.calls.Load() == 1 })
	for i := range 10 {
		id := strconv.Itoa(10 + i)
		plain.Handle(callMsg(id, "mcp__proxy__srv__echo", `{}`), nil)
		plainSink.response(t, id)
	}
	close(gate.gate)
	translatedSink.response(t, "1")
}

func TestADetachedStreamKeepsOnlyTheNewest(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	s := r.OpenSession("http")
	t.Cleanup(s.Close)
	s.KeepWhileDetached(1000)
	for i := range 50 {
		s.deliver(nil, jsonrpc.Notification("notifications/message", []byte(`{"n":`+strconv.Itoa(i)+`,"pad":"`+strings.Repeat("p", 60)+`"}`)))
	}
	msgs, bytes := s.Outbox().Len()
	if bytes > 1000 || msgs == 0 {
		t.Fatalf("%d messages (%d bytes) kept, want at most 1000 bytes", msgs, bytes)
	}
	if !s.Outbox().Attach() {
		t.Fatal("attach failed")
	}
	first, ok := s.Outbox().TryNext()
	if !ok || !strings.Contains(string(first.Data), `"n":`+strconv.Itoa(50-msgs)) {
		t.Fatalf("the oldest kept is %s, want message %d", first.Data, 50-msgs)
	}
	if s.Shed() {
		t.Fatal("a client that is away was ended")
	}
}
