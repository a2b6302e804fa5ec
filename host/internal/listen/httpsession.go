package listen

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
)

type httpSession struct {
	id       string
	s        *router.Session
	out      *sessionStream
	lastSeen atomic.Int64
	done     chan struct{}
	once     sync.Once
}

func (s *httpSession) touch() { s.lastSeen.Store(time.Now().UnixNano()) }

func (s *httpSession) idleFor() time.Duration {
	return time.Since(time.Unix(0, s.lastSeen.Load()))
}

func (s *httpSession) close() {
	s.once.Do(func() {
		close(s.done)
		s.s.Close()
	})
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var errStreamGone = errors.New("stream closed")

type event struct {
	msg   []byte
	final bool
	// abandoned: the request was cancelled and will get no response.
	abandoned bool
}

// requestSink carries what belongs to one POSTed request onto its
// response. Notifications and the response share one channel, so that the
// response is never written before the progress that preceded it.
type requestSink struct {
	ch       chan event
	done     chan struct{}
	once     sync.Once
	streamed atomic.Bool
}

func newRequestSink() *requestSink {
	// A small buffer: the handler drains it as it fills, and this is
	// allocated for every request.
	s := &requestSink{ch: make(chan event, 16), done: make(chan struct{})}
	s.streamed.Store(true)
	return s
}

// noStream makes Send refuse, so that the router delivers notifications on
// the session's stream instead (a client that accepts only JSON).
func (s *requestSink) noStream() { s.streamed.Store(false) }

func (s *requestSink) close() { s.once.Do(func() { close(s.done) }) }

func (s *requestSink) Send(msg []byte) error {
	if !s.streamed.Load() {
		return errStreamGone
	}
	select {
	case s.ch <- event{msg: msg}:
		return nil
	case <-s.done:
		return errStreamGone
	}
}

// Abandon ends the request's stream without a response: the client
// cancelled it, and a cancelled request is not answered.
func (s *requestSink) Abandon() {
	select {
	case s.ch <- event{final: true, abandoned: true}:
	case <-s.done:
	}
}

func (s *requestSink) Respond(msg []byte) error {
	select {
	case s.ch <- event{msg: msg, final: true}:
		return nil
	case <-s.done:
		return errStreamGone
	}
}

// sessionStream is the session's GET stream. Messages that come while no
// stream is open are kept (up to a bound) and sent when one opens.
type sessionStream struct {
	mu     sync.Mutex
	cur    *streamConn
	queued [][]byte
}

type streamConn struct {
	ch   chan []byte
	done chan struct{}
}

const maxQueued = 1024

func newSessionStream() *sessionStream { return &sessionStream{} }

func (s *sessionStream) attach() (*streamConn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		return nil, false
	}
	c := &streamConn{ch: make(chan []byte, maxQueued+256), done: make(chan struct{})}
	for _, m := range s.queued {
		c.ch <- m
	}
	s.queued = nil
	s.cur = c
	return c, true
}

func (s *sessionStream) detach(c *streamConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == c {
		s.cur = nil
		close(c.done)
	}
}

func (s *sessionStream) attached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

func (s *sessionStream) Send(msg []byte) error {
	s.mu.Lock()
	c := s.cur
	if c == nil {
		if len(s.queued) >= maxQueued {
			s.queued = s.queued[1:]
		}
		s.queued = append(s.queued, msg)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	select {
	case c.ch <- msg:
	case <-c.done:
	}
	return nil
}

// Respond is never used for HTTP: every request has its own sink, and a
// response must not travel on the GET stream.
func (s *sessionStream) Respond([]byte) error { return errStreamGone }
