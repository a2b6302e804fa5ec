package listen

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
)

// detachedStreamBytes is what a streamable HTTP session keeps for its GET
// stream while the client has none open: beyond it the oldest messages go.
const detachedStreamBytes = 1 << 20

type httpSession struct {
	id string
	// owner is the identity of the token that opened the session (see
	// caller.owner): only it may continue the session.
	owner    string
	s        *router.Session
	lastSeen atomic.Int64
	once     sync.Once

	// mu guards the session's resumable streams: streams by key, get its
	// GET stream; ended once they are freed with the session.
	mu      sync.Mutex
	streams map[string]*eventStream
	get     *eventStream
	ended   bool
}

func (s *httpSession) touch() { s.lastSeen.Store(time.Now().UnixNano()) }

func (s *httpSession) idleFor() time.Duration {
	return time.Since(time.Unix(0, s.lastSeen.Load()))
}

// done is closed when the session has ended: closed here, or ended by the
// router for not reading.
func (s *httpSession) done() <-chan struct{} { return s.s.Done() }

func (s *httpSession) close() {
	s.once.Do(s.s.Close)
}

// abortWritesOnShed makes a write blocked on a client that stopped reading
// fail as soon as the router ends the client's session, so that the
// handler returns and the connection closes. Call stop before returning.
func abortWritesOnShed(w http.ResponseWriter, s *router.Session) (stop func() bool) {
	rc := http.NewResponseController(w)
	return context.AfterFunc(s.Context(), func() {
		if s.Shed() {
			_ = rc.SetWriteDeadline(time.Now())
		}
	})
}
