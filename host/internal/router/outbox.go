package router

import (
	"context"
	"errors"
	"sync"
)

// Every message for a client waits in an Outbox, bounded in bytes, until
// the client's writer (a listener goroutine) takes it. The router puts
// messages without ever waiting, so no client, however slow, can hold up a
// backend's read loop or another client. A session whose outboxes hold
// more than its budget, or the largest one when all sessions together hold
// more than theirs, is ended alone (shed).
//
// Work that may be slow — translation by a plugin, tracing, rewriting a
// large message — is deferred to the writer as well: an item carries a
// render step that the writer runs as it takes the item, so that a backend's
// read loop only routes.

// ErrOutboxClosed is returned by Next once the outbox is closed and empty.
var ErrOutboxClosed = errors.New("outbox closed")

// Message is one message taken off an outbox.
type Message struct {
	Data []byte
	// Final is the response that ends a reply stream.
	Final bool
	// Abandoned ends a reply stream without a response: the client
	// cancelled the request.
	Abandoned bool
}

// renderFunc finishes a message as its writer takes it. It returns the
// messages to write in order: none when the message has no form for the
// client, more when a translator adds some.
type renderFunc func(msg []byte) [][]byte

// outItem is a message waiting in an outbox.
type outItem struct {
	msg       []byte
	final     bool
	abandoned bool
	render    renderFunc
	// size is what the item is charged to its session's budget: the
	// message's length unless set.
	size int
}

// replyStream takes what belongs to one client request: its progress, its
// server→client requests and its response.
type replyStream interface {
	// put queues it; false means the stream takes no such message (it has
	// ended, or takes no notifications), and the caller falls back to the
	// session's own outbox.
	put(it outItem) bool
	// abandon ends the stream without a response.
	abandon()
}

// Outbox is a FIFO of messages for one client stream: the session's own,
// or one request's reply. The router puts; one writer at a time takes.
type Outbox struct {
	s *Session

	mu    sync.Mutex
	items []outItem
	head  int
	bytes int
	// writing is, on a reply, the bytes of the item its writer took last,
	// still charged to the session: each request of a client has a writer
	// of its own, so what they hold while a client does not read must count
	// (up to session_max_in_flight messages). It is released when the
	// writer takes the next item or closes the reply.
	writing int
	// ready holds a token while items may be waiting.
	ready  chan struct{}
	closed bool
	// reply marks a request's stream: it ends with its final message,
	// and with noNotify it takes only that (a client reading plain JSON).
	reply, noNotify bool
	// detachedLimit, for a stream a client may leave and come back to (the
	// streamable HTTP GET stream), keeps at most that many bytes while no
	// writer is attached, dropping the oldest: such a client is not
	// "not reading", it is away.
	detachedLimit int
	attached      bool
	dropped       int

	// pending are rendered messages not yet returned, the writer's own.
	pending []Message
}

func newOutbox(s *Session, reply bool) *Outbox {
	return &Outbox{s: s, reply: reply, ready: make(chan struct{}, 1)}
}

// Ready has a token when messages may be waiting: a writer selecting on it
// takes every message with TryNext after each receive.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

func (o *Outbox) signal() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// Attach makes the caller the writer of a detachable outbox; false when
// another writer is attached.
func (o *Outbox) Attach() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.attached {
		return false
	}
	o.attached = true
	if o.head < len(o.items) {
		o.signal()
	}
	return true
}

// Detach ends the caller's turn as the writer.
func (o *Outbox) Detach() {
	o.mu.Lock()
	o.attached = false
	o.mu.Unlock()
}

// Attached says whether a writer is attached.
func (o *Outbox) Attached() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attached
}

// Len is the number of messages and bytes waiting.
func (o *Outbox) Len() (messages, bytes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items) - o.head, o.bytes
}

// put queues it without waiting. A message beyond the session's budget
// ends the session instead (the message is dropped with it).
func (o *Outbox) put(it outItem) bool {
	if o.reply && o.noNotify && !it.final {
		return false
	}
	if it.size == 0 {
		it.size = len(it.msg)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return false
	}
	detached := o.detachedLimit > 0 && !o.attached
	o.mu.Unlock()
	if detached {
		o.trimFor(it.size)
	}
	if !o.s.reserve(it.size) {
		return true // the session is being ended: nothing more reaches it
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		o.s.release(it.size)
		return false
	}
	if o.head > 0 && o.head == len(o.items) {
		o.items, o.head = o.items[:0], 0
	}
	o.items = append(o.items, it)
	o.bytes += it.size
	o.mu.Unlock()
	o.signal()
	return true
}

// trimFor drops the oldest waiting messages until n more bytes fit in the
// detached limit.
func (o *Outbox) trimFor(n int) {
	o.mu.Lock()
	freed := 0
	for o.head < len(o.items) && o.bytes+n > o.detachedLimit {
		it := o.items[o.head]
		o.items[o.head] = outItem{}
		o.head++
		o.bytes -= it.size
		freed += it.size
		o.dropped++
	}
	o.mu.Unlock()
	if freed > 0 {
		o.s.release(freed)
	}
}

func (o *Outbox) abandon() { o.put(outItem{final: true, abandoned: true}) }

// pop takes the oldest item, releasing its bytes from the budget (on a
// reply, those of the item taken before it: see writing).
func (o *Outbox) pop() (outItem, bool) {
	o.mu.Lock()
	if o.head == len(o.items) {
		o.mu.Unlock()
		return outItem{}, false
	}
	it := o.items[o.head]
	o.items[o.head] = outItem{}
	o.head++
	o.bytes -= it.size
	freed := it.size
	if o.reply {
		freed, o.writing = o.writing, it.size
	}
	o.mu.Unlock()
	o.s.release(freed)
	return it, true
}

// TryNext takes the next message without waiting; false when none is
// waiting. One writer at a time.
func (o *Outbox) TryNext() (Message, bool) {
	for len(o.pending) == 0 {
		it, ok := o.pop()
		if !ok {
			return Message{}, false
		}
		o.pending = o.s.renderItem(o, it, o.pending)
	}
	m := o.pending[0]
	o.pending[0] = Message{}
	o.pending = o.pending[1:]
	return m, true
}

// Next waits for the next message, until ctx ends or the outbox is closed
// and empty. One writer at a time.
func (o *Outbox) Next(ctx context.Context) (Message, error) {
	for {
		if m, ok := o.TryNext(); ok {
			return m, nil
		}
		o.mu.Lock()
		closed := o.closed
		o.mu.Unlock()
		if closed {
			return Message{}, ErrOutboxClosed
		}
		select {
		case <-o.ready:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Close ends the outbox: nothing more is put, and what waits is dropped.
// A reply's writer closes it when it stops reading it.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closed = true
	freed := o.bytes + o.writing
	o.items, o.head, o.bytes, o.writing = nil, 0, 0, 0
	o.mu.Unlock()
	o.s.release(freed)
	o.signal()
	if o.reply {
		o.s.forgetReply(o)
	}
}

// end stops puts but leaves what waits to the writer, which gets
// ErrOutboxClosed once it has taken everything.
func (o *Outbox) end() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

// renderItem turns a taken item into the messages to write, appending them
// to out. What a translator adds after a reply's final message goes to the
// session's own outbox: the reply stream ends with the response.
func (s *Session) renderItem(o *Outbox, it outItem, out []Message) []Message {
	if it.abandoned {
		return append(out, Message{Final: true, Abandoned: true})
	}
	if it.render == nil {
		return append(out, Message{Data: it.msg, Final: it.final})
	}
	msgs := it.render(it.msg)
	for i, m := range msgs {
		switch {
		case !it.final:
			out = append(out, Message{Data: m})
		case i == 0:
			out = append(out, Message{Data: m, Final: true})
		case o.reply:
			s.out.put(outItem{msg: m})
		default:
			out = append(out, Message{Data: m})
		}
	}
	return out
}

// NewReply opens the stream for one request's messages; streamed false
// makes it take only the response (notifications then go to the session's
// own outbox). The caller writes what it takes and closes it.
func (s *Session) NewReply(streamed bool) *Outbox {
	o := newOutbox(s, true)
	o.noNotify = !streamed
	s.mu.Lock()
	if s.closed {
		o.closed = true
	} else {
		s.replies[o] = struct{}{}
	}
	s.mu.Unlock()
	return o
}

func (s *Session) forgetReply(o *Outbox) {
	s.mu.Lock()
	delete(s.replies, o)
	s.mu.Unlock()
}

// Outbox is the session's own stream: notifications and server→client
// requests that belong to no open request, and, on a transport without
// per-request streams, every response.
func (s *Session) Outbox() *Outbox { return s.out }

// KeepWhileDetached makes the session's outbox keep at most limit bytes
// while no writer is attached, dropping the oldest (the streamable HTTP
// GET stream, which a client may open, leave and open again).
func (s *Session) KeepWhileDetached(limit int) {
	s.out.mu.Lock()
	s.out.detachedLimit = limit
	s.out.mu.Unlock()
}

// reserve charges n bytes to the session's budget and to the budget of all
// sessions. Over its own budget (with more than this message waiting), the
// session is ended; over the total, the session holding the most is.
func (s *Session) reserve(n int) bool {
	if s.shed.Load() {
		return false
	}
	r := s.router
	used := s.queued.Add(int64(n))
	total := r.queued.Add(int64(n))
	if used > int64(r.opts.SessionOutboxBytes) && used > int64(n) {
		s.release(n)
		r.shedSession(s, "its outbox is over its budget")
		return false
	}
	if total > int64(r.opts.OutboxBytes) {
		if victim := r.sessions.largestOutbox(); victim != nil {
			r.shedSession(victim, "the outboxes of all sessions are over their budget and it holds the most")
			if victim == s {
				s.release(n)
				return false
			}
		}
	}
	return true
}

func (s *Session) release(n int) {
	if n == 0 {
		return
	}
	s.queued.Add(-int64(n))
	s.router.queued.Add(-int64(n))
}

// QueuedBytes is what waits in the session's outboxes.
func (s *Session) QueuedBytes() int64 { return s.queued.Load() }

// QueuedBytes is what waits in every session's outboxes.
func (r *Router) QueuedBytes() int64 { return r.queued.Load() }

// shedSession ends a session that is not reading what it is sent. Its
// outboxes are emptied at once, so their bytes count no more; the rest of
// closing it (cancelling its requests at the backends) happens off the
// caller's goroutine, which may be a backend's read loop.
func (r *Router) shedSession(s *Session, why string) {
	if !s.shed.CompareAndSwap(false, true) {
		return
	}
	queued := s.queued.Load()
	s.closeOutboxes()
	s.mu.Lock()
	listener := s.listener
	s.mu.Unlock()
	r.log.Warn("ending a client session that is not reading its messages", "session", s.id, "listener", listener,
		"queued_bytes", queued, "reason", why)
	if f := r.opts.SessionShed; f != nil {
		f(listener)
	}
	r.spawn(func(context.Context) { s.Close() })
}

// closeOutboxes closes the session's outbox and its open replies,
// dropping what waits in them (a session being shed).
func (s *Session) closeOutboxes() {
	for _, o := range s.openReplies() {
		o.Close()
	}
	s.out.Close()
}

// endOutboxes ends the session's outboxes as it closes: the writers still
// get what came before, but for an outbox no writer may ever drain again
// (a GET stream the client left), whose bytes would stay charged.
func (s *Session) endOutboxes() {
	for _, o := range s.openReplies() {
		o.end()
	}
	if s.pumped != nil {
		s.out.end()
	} else {
		s.out.Close()
	}
}

func (s *Session) openReplies() []*Outbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return keysOf(s.replies)
}

// Shed reports whether the session was ended for not reading.
func (s *Session) Shed() bool { return s.shed.Load() }

// Done is closed when the session has ended, by its listener or by the
// router (shed): the listener then ends the client's connection.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// pump writes the session's outbox to out until the session has ended and
// everything that came before is written; it is the writer of a session
// opened with a Sink.
func (s *Session) pump(out Sink) {
	defer close(s.pumped)
	for {
		m, err := s.out.Next(context.Background())
		if err != nil {
			return
		}
		if m.Abandoned {
			continue
		}
		if m.Final {
			err = out.Respond(m.Data)
		} else {
			err = out.Send(m.Data)
		}
		if err != nil {
			// The client is gone: nothing more can reach it.
			s.router.log.Debug("client write failed; closing its session", "session", s.id, "error", err)
			s.out.Close()
			s.Close()
			return
		}
	}
}

// Flush waits, after Close, until the session's writer has written what
// came before (or ctx ends): a stdio client gets its last answers before
// the proxy exits.
func (s *Session) Flush(ctx context.Context) {
	if s.pumped == nil {
		return
	}
	select {
	case <-s.pumped:
	case <-ctx.Done():
	}
}

// Context ends when the session does.
func (s *Session) Context() context.Context { return s.ctx }
