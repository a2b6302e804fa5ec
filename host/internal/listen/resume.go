package listen

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Resumable streams (streamable HTTP, 2025-03-26 to 2025-11-25). Every SSE
// event the proxy writes on a session's GET stream or on a POST's response
// stream carries an id, "<stream key>-<sequence>": the key is 64 random bits
// naming the stream within its session, the sequence counts its events from
// 1. The events written last are kept in a replay buffer, bounded per stream
// and for the whole listener, so that a client whose connection breaks can
// come back with GET and Last-Event-ID (and its Mcp-Session-Id) and get what
// followed, then the rest of the stream live. What has not been written yet
// waits in the router's outbox as before: the buffer holds only what was
// written, which a broken connection may have lost.
//
// 2026-07-28 removed resumption (a broken stream loses its request), and
// 2024-11-05 had none: their streams carry no ids.

const (
	// DefaultResumeBufferBytes is what each stream keeps of the events it
	// wrote last, for a client that resumes it.
	DefaultResumeBufferBytes = 1 << 20
	// DefaultResumeTotalBytes bounds the replay buffers of all the streams
	// of one listener together.
	DefaultResumeTotalBytes = 64 << 20
	// retryMillis is the reconnection time sent with "retry:" as each
	// stream starts.
	retryMillis = 1000
	// resumeWindow is how long a POST's response stream whose client left
	// waits for it to resume before it is dropped (and with it the rest of
	// that request's messages).
	resumeWindow = time.Minute
	// takeoverWait is how long a resuming client waits for the connection
	// it replaces to let go of the stream.
	takeoverWait = 5 * time.Second
)

// resumable says whether a session on revision v gets resumable streams.
func resumable(v string) bool {
	switch v {
	case "2025-03-26", "2025-06-18", "2025-11-25":
		return true
	}
	return false
}

// sentEvent is an event a stream wrote, kept for replay.
type sentEvent struct {
	seq  uint64
	data []byte
}

// eventStream is one resumable SSE stream: a session's GET stream or one
// request's response stream.
type eventStream struct {
	h    *HTTP
	sess *httpSession
	key  string
	// reply is the request's reply outbox; nil for the GET stream.
	reply *router.Outbox

	mu     sync.Mutex
	events []sentEvent // kept for replay, oldest first from head
	head   int
	bytes  int
	// dropped is the last sequence no longer kept (0: none): a client may
	// resume after any event from dropped on.
	dropped uint64
	next    uint64 // the sequence of the next event
	// kick, while a writer is attached, is closed to ask it to let go;
	// released is closed when it has.
	kick, released chan struct{}
	expiry         *time.Timer
	// done: the stream's last event (its response) is written; it is kept
	// for a client that did not get it, until replayed, expired or
	// evicted.
	done  bool
	freed bool
}

func newStreamKey() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openStream registers a new stream of sess (reply nil for its GET stream).
func (h *HTTP) openStream(sess *httpSession, reply *router.Outbox) *eventStream {
	es := &eventStream{h: h, sess: sess, key: newStreamKey(), reply: reply, next: 1}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended {
		es.freed = true
		return es
	}
	if sess.streams == nil {
		sess.streams = map[string]*eventStream{}
	}
	sess.streams[es.key] = es
	return es
}

// getStream is the session's GET stream, made on first use.
func (h *HTTP) getStream(sess *httpSession) *eventStream {
	sess.mu.Lock()
	es := sess.get
	sess.mu.Unlock()
	if es != nil {
		return es
	}
	es = h.openStream(sess, nil)
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.get == nil {
		sess.get = es
	} else {
		delete(sess.streams, es.key)
		es = sess.get
	}
	return es
}

// parseEventID splits "<key>-<seq>".
func parseEventID(id string) (key string, seq uint64, ok bool) {
	key, n, ok := strings.Cut(id, "-")
	if !ok || len(key) != 16 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return key, seq, true
}

// lookup finds the stream a Last-Event-ID names in sess.
func (sess *httpSession) lookup(id string) (*eventStream, uint64, bool) {
	key, seq, ok := parseEventID(id)
	if !ok {
		return nil, 0, false
	}
	sess.mu.Lock()
	es := sess.streams[key]
	sess.mu.Unlock()
	return es, seq, es != nil
}

// attach makes the caller the stream's writer. With takeover, a writer
// still attached (a connection the client has left without the proxy
// having noticed yet) is asked to let go first; without, attach fails.
// The returned channel is closed when the caller must let go.
func (es *eventStream) attach(takeover bool) (<-chan struct{}, bool) {
	var deadline *time.Timer // only when there is a writer to wait for
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	es.mu.Lock()
	for es.kick != nil {
		if !takeover {
			es.mu.Unlock()
			return nil, false
		}
		if deadline == nil {
			deadline = time.NewTimer(takeoverWait)
		}
		kick, released := es.kick, es.released
		select {
		case <-kick:
		default:
			close(kick)
		}
		es.mu.Unlock()
		select {
		case <-released:
		case <-deadline.C:
			return nil, false
		}
		es.mu.Lock()
	}
	if es.freed {
		es.mu.Unlock()
		return nil, false
	}
	if es.expiry != nil {
		es.expiry.Stop()
		es.expiry = nil
	}
	es.kick, es.released = make(chan struct{}), make(chan struct{})
	kick := es.kick
	es.mu.Unlock()
	return kick, true
}

// detach ends the caller's turn as the writer. A response stream left
// before its end waits resumeWindow for its client to come back.
func (es *eventStream) detach() {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.released == nil {
		return
	}
	close(es.released)
	es.kick, es.released = nil, nil
	if es.reply != nil && !es.freed {
		es.expiry = time.AfterFunc(es.h.opts.resumeWindow, es.expire)
	}
}

// markDone records that a response stream wrote its response. It stays
// resumable (the client may not have got what was written last) for
// resumeWindow, unless room is needed: finished streams hold at most a
// quarter of the listener's ResumeTotalBytes, and are the first to go when
// live streams need room.
func (es *eventStream) markDone() {
	es.mu.Lock()
	es.done = true
	n := es.bytes
	es.mu.Unlock()
	if es.reply != nil {
		es.reply.Close()
	}
	h := es.h
	h.doneMu.Lock()
	for len(h.doneStreams) > 0 && h.doneStreams[0].isFreed() {
		h.doneStreams[0] = nil
		h.doneStreams = h.doneStreams[1:]
	}
	h.doneStreams = append(h.doneStreams, es)
	h.doneMu.Unlock()
	if h.doneBytes.Add(int64(n)) > int64(h.opts.ResumeTotalBytes/4) {
		h.evict(func() bool { return h.doneBytes.Load() > int64(h.opts.ResumeTotalBytes/4) })
	}
}

func (es *eventStream) isFreed() bool {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.freed
}

func (es *eventStream) isDone() bool {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.done
}

// evictDone frees finished streams, oldest first, until n more bytes fit
// in the listener's bound or none is left.
func (h *HTTP) evictDone(n int) {
	h.evict(func() bool { return h.resumeBytes.Load()+int64(n) > int64(h.opts.ResumeTotalBytes) })
}

// evict frees finished streams, oldest first, while over says so.
func (h *HTTP) evict(over func() bool) {
	for over() {
		h.doneMu.Lock()
		if len(h.doneStreams) == 0 {
			h.doneMu.Unlock()
			return
		}
		es := h.doneStreams[0]
		h.doneStreams[0] = nil
		h.doneStreams = h.doneStreams[1:]
		h.doneMu.Unlock()
		es.finish()
	}
}

// expire drops a response stream nobody resumed.
func (es *eventStream) expire() {
	es.mu.Lock()
	idle := es.kick == nil
	es.mu.Unlock()
	if idle {
		es.finish()
	}
}

// finish forgets the stream and frees its buffer; a response stream's
// reply is closed with it.
func (es *eventStream) finish() {
	sess := es.sess
	sess.mu.Lock()
	if sess.streams[es.key] == es {
		delete(sess.streams, es.key)
	}
	sess.mu.Unlock()
	es.free()
}

func (es *eventStream) free() {
	es.mu.Lock()
	if es.freed {
		es.mu.Unlock()
		return
	}
	es.freed = true
	freed := es.bytes
	if es.done {
		es.h.doneBytes.Add(-int64(freed))
	}
	es.events, es.head, es.bytes = nil, 0, 0
	if es.kick != nil {
		// The writer still attached lets go.
		select {
		case <-es.kick:
		default:
			close(es.kick)
		}
	}
	if es.expiry != nil {
		es.expiry.Stop()
		es.expiry = nil
	}
	es.mu.Unlock()
	es.h.resumeBytes.Add(-int64(freed))
	if es.reply != nil {
		es.reply.Close()
	}
}

// freeStreams frees every stream of a session that has ended.
func (sess *httpSession) freeStreams() {
	sess.mu.Lock()
	sess.ended = true
	streams := sess.streams
	sess.streams, sess.get = nil, nil
	sess.mu.Unlock()
	for _, es := range streams {
		es.free()
	}
}

// keep records an event the writer is about to write, dropping the oldest
// beyond the stream's bound or the listener's; the writer alone calls it.
func (es *eventStream) keep(data []byte) uint64 {
	n := len(data)
	limit := es.h.opts.ResumeBufferBytes
	if n <= limit && es.h.resumeBytes.Load()+int64(n) > int64(es.h.opts.ResumeTotalBytes) {
		es.h.evictDone(n)
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	seq := es.next
	es.next++
	if es.freed {
		return seq
	}
	freed := 0
	for es.head < len(es.events) && es.bytes+n > limit {
		ev := es.events[es.head]
		es.events[es.head] = sentEvent{}
		es.head++
		es.bytes -= len(ev.data)
		freed += len(ev.data)
		es.dropped = ev.seq
	}
	// What was trimmed is still counted: charge the difference.
	if total := es.h.resumeBytes.Add(int64(n - freed)); n > limit || total > int64(es.h.opts.ResumeTotalBytes) {
		// Too large to keep, or the live streams together hold too much:
		// this stream keeps nothing up to this event.
		release := n + es.bytes
		for i := es.head; i < len(es.events); i++ {
			es.events[i] = sentEvent{}
		}
		es.events, es.head, es.bytes = es.events[:0], 0, 0
		es.dropped = seq
		es.h.resumeBytes.Add(-int64(release))
		return seq
	}
	if es.head > 0 && es.head == len(es.events) {
		es.events, es.head = es.events[:0], 0
	} else if es.head > 64 && es.head > len(es.events)/2 {
		m := copy(es.events, es.events[es.head:])
		clear(es.events[m:])
		es.events, es.head = es.events[:m], 0
	}
	es.events = append(es.events, sentEvent{seq: seq, data: data})
	es.bytes += n
	return seq
}

// since returns the events after seq, or false when some of them are no
// longer kept or seq was never sent.
func (es *eventStream) since(seq uint64) ([]sentEvent, bool) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.freed || seq < es.dropped || seq >= es.next {
		return nil, false
	}
	var out []sentEvent
	for _, ev := range es.events[es.head:] {
		if ev.seq > seq {
			out = append(out, ev)
		}
	}
	return out, true
}

// lost says whether some of the events after seq are no longer kept.
func (es *eventStream) lost(seq uint64) bool {
	es.mu.Lock()
	defer es.mu.Unlock()
	return seq < es.dropped
}

// lastSent is the sequence of the last event written (0: none yet).
func (es *eventStream) lastSent() uint64 {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.next - 1
}

// writeEvent writes msg as the stream's next event, keeping it for replay.
func (es *eventStream) writeEvent(w io.Writer, msg []byte) error {
	msg, err := jsonrpc.Compact(msg)
	if err != nil {
		return err
	}
	seq := es.keep(msg)
	return writeEventID(w, es.key, seq, msg)
}

// writeEventID writes one event with its id.
func writeEventID(w io.Writer, key string, seq uint64, msg []byte) error {
	buf := make([]byte, 0, len(msg)+64)
	buf = append(buf, "id: "...)
	buf = append(buf, key...)
	buf = append(buf, '-')
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, "\nevent: message\ndata: "...)
	buf = append(buf, msg...)
	buf = append(buf, "\n\n"...)
	_, err := w.Write(buf)
	return err
}

// writeStart begins a connection to the stream: the reconnection time,
// and with prime on 2025-11-25 a priming event (an id and empty data)
// naming where the stream is, so that a client can resume even before any
// message came. A resumed connection is not primed: its replay comes next.
func (es *eventStream) writeStart(w io.Writer, prime bool) error {
	var buf []byte
	prime = prime && es.sess.s.ProtocolVersion() == "2025-11-25"
	if prime {
		buf = append(buf, "id: "...)
		buf = append(buf, es.key...)
		buf = append(buf, '-')
		buf = strconv.AppendUint(buf, es.lastSent(), 10)
		buf = append(buf, '\n')
	}
	buf = append(buf, "retry: "...)
	buf = strconv.AppendInt(buf, retryMillis, 10)
	buf = append(buf, '\n')
	if prime {
		buf = append(buf, "data: \n"...)
	}
	buf = append(buf, '\n')
	_, err := w.Write(buf)
	return err
}

// replay writes the events after seq, which since returned.
func (es *eventStream) replay(w io.Writer, events []sentEvent) error {
	for _, ev := range events {
		if err := writeEventID(w, es.key, ev.seq, ev.data); err != nil {
			return err
		}
	}
	return nil
}
