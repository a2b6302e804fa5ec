package router

import (
	"context"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// deliverFrom queues a notification or server→client request from backend
// b for the session, in the session's version.
func (s *Session) deliverFrom(b *backend, reply replyStream, method, kind string, msg []byte) {
	s.deliverIn(b.protocolVersion(), reply, method, kind, msg, nil)
}

// deliverIn queues msg, written in version from, for the session. A
// message that needs translation is translated by the session's writer as
// it takes it, so that a slow translator holds up only this session;
// onDrop, when set, is called then if a translator drops the message (it
// has no form in the session's version).
func (s *Session) deliverIn(from string, reply replyStream, method, kind string, msg []byte, onDrop func()) {
	to := s.ProtocolVersion()
	if !s.router.mayTranslate(from, to) {
		s.deliver(reply, msg)
		return
	}
	s.deliverItem(reply, outItem{msg: msg, render: func(msg []byte) [][]byte {
		// A failed translation drops the message too (translate logged
		// it): the client never gets it in another revision.
		out, extra, _ := s.router.translate(s, from, to, translator.ToClient, method, kind, msg)
		if out == nil {
			if onDrop != nil {
				onDrop()
			}
			return extra
		}
		return append([][]byte{out}, extra...)
	}})
}

// mayTranslate says whether a message between the two versions may need a
// translator at all.
func (r *Router) mayTranslate(from, to string) bool {
	return from != to && from != "" && to != "" && len(r.translators.Load().refs) > 0
}

// sendIn translates msg, written in version from, into the backend's
// version and sends it and any further messages the translators add.
func (b *backend) sendIn(ctx context.Context, s *Session, from, method, kind string, msg []byte) error {
	out, extra, err := b.router.translate(s, from, b.protocolVersion(), translator.ToBackend, method, kind, msg)
	if err != nil {
		// The backend still waits for an answer to its request: it gets
		// an error rather than the client's answer in another revision.
		if id := jsonrpc.Get(msg, "id"); kind == translator.KindResponse && id != nil {
			_ = b.send(ctx, jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil))
		}
		return err
	}
	if out != nil {
		err = b.send(ctx, out)
	}
	for _, m := range extra {
		if err == nil {
			err = b.send(ctx, m)
		}
	}
	return err
}

// sendBounded sends msg, waiting no longer than the backend's request
// timeout: a backend that stops reading cannot hold the sender for good.
func (b *backend) sendBounded(msg []byte) error {
	ctx, cancel := context.WithTimeout(b.router.ctx, b.spec.Timeout)
	defer cancel()
	return b.send(ctx, msg)
}

// sendAsync sends msg off the caller's goroutine: a backend's read loop
// answering the backend must not wait on the backend reading.
func (b *backend) sendAsync(msg []byte) {
	b.router.spawn(func(context.Context) {
		if err := b.sendBounded(msg); err != nil {
			b.log.Debug("send", "error", err)
		}
	})
}

// requestContext bounds sending a forwarded request by its deadline. It
// hangs off no parent: registering with the router's context would take
// one lock shared by every request, and closing the router closes the
// connections, which ends a send anyway.
func (b *backend) requestContext(start time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), start.Add(b.spec.Timeout))
}
