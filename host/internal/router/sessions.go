package router

import (
	"sync"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// sessionSet is the router's open client sessions, and the choices made
// among them (who gets a broadcast, a server→client request no open
// request explains, or is shed first). mu is a leaf: what is sent to the
// sessions is sent after it is released.
type sessionSet struct {
	mu   sync.Mutex
	open map[*Session]struct{}
}

func newSessionSet() *sessionSet {
	return &sessionSet{open: map[*Session]struct{}{}}
}

func (ss *sessionSet) add(s *Session) {
	ss.mu.Lock()
	ss.open[s] = struct{}{}
	ss.mu.Unlock()
}

func (ss *sessionSet) remove(s *Session) {
	ss.mu.Lock()
	delete(ss.open, s)
	ss.mu.Unlock()
}

// count is the number of open sessions.
func (ss *sessionSet) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.open)
}

// live is a snapshot of the open sessions.
func (ss *sessionSet) live() []*Session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return keysOf(ss.open)
}

// keysOf lists a set's members (a map's keys), in no order, in one
// allocation.
func keysOf[K comparable, V any](set map[K]V) []K {
	out := make([]K, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

// broadcast sends a notification the proxy makes (list_changed) to every
// initialized session, and to the listen streams of 2026-07-28 sessions
// that asked for it.
func (ss *sessionSet) broadcast(msg []byte) {
	method, _ := jsonrpc.GetString(msg, "method")
	for _, s := range ss.live() {
		s.version.era().notify(s, nil, method, "", msg)
	}
}

// mostRecent picks, for a request no open client request explains, the
// session that was active last and can answer method.
func (ss *sessionSet) mostRecent(method string, msg []byte) *Session {
	var best *Session
	var bestAt int64
	for _, s := range ss.live() {
		if !s.isInitialized() || !s.clientSupports(method, msg) {
			continue
		}
		if at := s.lastActive.Load(); best == nil || at > bestAt {
			best, bestAt = s, at
		}
	}
	return best
}

// largestOutbox is the live session with the most bytes waiting.
func (ss *sessionSet) largestOutbox() *Session {
	var best *Session
	var most int64
	for _, s := range ss.live() {
		if q := s.queued.Load(); q > most && !s.shed.Load() {
			best, most = s, q
		}
	}
	return best
}
