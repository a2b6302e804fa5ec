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
func (s *Session) handleBatch(msg []byte, reply replyStream) {
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
			b.put(outItem{msg: jsonrpc.Error(jsonrpc.Get(p, "id"), jsonrpc.CodeInvalidRequest, "initialize must not be part of a batch", nil), final: true})
			continue
		}
		s.handle(p, b)
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

// batchSink collects the responses to a batch's requests and answers the
// batch with one array once all are in; the rest of what belongs to its
// requests goes to the batch's own reply stream.
type batchSink struct {
	session *Session
	reply   replyStream
	mu      sync.Mutex
	want    int
	got     []outItem
	sent    bool
}

func (b *batchSink) put(it outItem) bool {
	if !it.final {
		b.session.deliverItem(b.reply, it)
		return true
	}
	b.mu.Lock()
	if it.abandoned {
		b.want-- // a cancelled request of the batch gets no response
	} else {
		b.got = append(b.got, it)
	}
	b.mu.Unlock()
	b.maybeDone()
	return true
}

func (b *batchSink) abandon() { b.put(outItem{final: true, abandoned: true}) }

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
		if b.reply != nil {
			b.reply.abandon()
		}
	default:
		// Each response is rendered (translated, traced) as the writer
		// takes the batch's answer.
		size := 0
		for _, it := range got {
			size += len(it.msg)
		}
		b.session.respondItem(b.reply, outItem{msg: []byte("[]"), size: size, render: func([]byte) [][]byte {
			parts := make([][]byte, 0, len(got))
			for _, it := range got {
				if it.render == nil {
					parts = append(parts, it.msg)
					continue
				}
				if out := it.render(it.msg); len(out) > 0 {
					parts = append(parts, out[0])
					for _, extra := range out[1:] {
						b.session.out.put(outItem{msg: extra})
					}
				}
			}
			return [][]byte{append(append([]byte{'['}, bytes.Join(parts, []byte{','})...), ']')}
		}})
	}
}
