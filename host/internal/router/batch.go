package router

import (
	"bytes"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// batchVersion is the only revision with JSON-RPC batches: 2025-03-26
// clients may send them, later revisions removed them.
const batchVersion = "2025-03-26"

// handleBatch answers a batch with one array holding a response to each of
// its requests, in whatever order they complete.
func (s *Session) handleBatch(msg []byte, reply Sink) {
	if v := s.ProtocolVersion(); v != batchVersion {
		s.respond(reply, jsonrpc.Error(nil, jsonrpc.CodeInvalidRequest,
			"JSON-RPC batches are only part of protocol version "+batchVersion+", not "+v, nil))
		return
	}
	var parts [][]byte
	gjson.ParseBytes(msg).ForEach(func(_, v gjson.Result) bool {
		parts = append(parts, []byte(v.Raw))
		return true
	})
	if len(parts) == 0 {
		s.respond(reply, jsonrpc.Error(nil, jsonrpc.CodeInvalidRequest, "empty batch", nil))
		return
	}
	b := &batchSink{session: s, reply: reply}
	for _, p := range parts {
		if env, err := jsonrpc.Peek(p); err != nil || env.Kind != jsonrpc.KindNotification && env.Kind != jsonrpc.KindResponse {
			b.want++
		}
	}
	for _, p := range parts {
		if gjson.GetBytes(p, "method").Str == "initialize" {
			b.Respond(jsonrpc.Error(jsonrpc.Get(p, "id"), jsonrpc.CodeInvalidRequest, "initialize must not be part of a batch", nil))
			continue
		}
		s.Handle(p, b)
	}
}

// BatchRequests counts the messages in a batch that expect a response.
func BatchRequests(msg []byte) int {
	n := 0
	gjson.ParseBytes(msg).ForEach(func(_, v gjson.Result) bool {
		if env, err := jsonrpc.Peek([]byte(v.Raw)); err != nil || env.Kind == jsonrpc.KindRequest {
			n++
		}
		return true
	})
	return n
}

type batchSink struct {
	session *Session
	reply   Sink
	mu      sync.Mutex
	want    int
	got     [][]byte
	sent    bool
}

func (b *batchSink) Send(msg []byte) error {
	b.session.deliver(b.reply, msg)
	return nil
}

func (b *batchSink) Respond(msg []byte) error {
	b.mu.Lock()
	b.got = append(b.got, msg)
	b.mu.Unlock()
	b.maybeDone()
	return nil
}

// Abandon counts a cancelled request of the batch out: it gets no response.
func (b *batchSink) Abandon() {
	b.mu.Lock()
	b.want--
	b.mu.Unlock()
	b.maybeDone()
}

func (b *batchSink) maybeDone() {
	b.mu.Lock()
	done := len(b.got) == b.want && !b.sent
	if done {
		b.sent = true
	}
	got := b.got
	b.mu.Unlock()
	switch {
	case !done:
	case len(got) == 0:
		if a, ok := b.reply.(Abandoner); ok {
			a.Abandon()
		}
	default:
		b.session.respond(b.reply, append(append([]byte{'['}, bytes.Join(got, []byte{','})...), ']'))
	}
}
