package router

import "sync"

// openRequests are a session's requests open at backends, by the client's
// id, and how many each backend has (for the per-session cap). Its lock is
// a leaf: nothing is called with it held.
type openRequests struct {
	mu         sync.Mutex
	byClientID map[string]inflight
	perBackend map[*backend]int
}

type inflight struct {
	backend *backend
	id      int64
}

func newOpenRequests() openRequests {
	return openRequests{byClientID: map[string]inflight{}, perBackend: map[*backend]int{}}
}

// start records a request open at b under the client's id; false when
// the session already has limit open there (limit 0: no cap).
func (o *openRequests) start(clientID []byte, b *backend, id int64, limit int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if limit > 0 && o.perBackend[b] >= limit {
		return false
	}
	o.setLocked(clientID, b, id)
	return true
}

// set records the request (again: a retry under a new backend id).
func (o *openRequests) set(clientID []byte, b *backend, id int64) {
	o.mu.Lock()
	o.setLocked(clientID, b, id)
	o.mu.Unlock()
}

func (o *openRequests) setLocked(clientID []byte, b *backend, id int64) {
	if old, ok := o.byClientID[string(clientID)]; ok {
		o.perBackend[old.backend]--
	}
	o.byClientID[string(clientID)] = inflight{backend: b, id: id}
	o.perBackend[b]++
}

// end forgets the request with the client's id, returning where it was open.
func (o *openRequests) end(clientID []byte) (inflight, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	old, ok := o.byClientID[string(clientID)]
	if ok {
		delete(o.byClientID, string(clientID))
		if o.perBackend[old.backend]--; o.perBackend[old.backend] <= 0 {
			delete(o.perBackend, old.backend)
		}
	}
	return old, ok
}

// has says whether a request with the client's id is open.
func (o *openRequests) has(clientID []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.byClientID[string(clientID)]
	return ok
}

func (o *openRequests) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.byClientID)
}

// takeAll forgets every open request, returning them (the session closing).
func (o *openRequests) takeAll() map[string]inflight {
	o.mu.Lock()
	defer o.mu.Unlock()
	all := o.byClientID
	o.byClientID, o.perBackend = map[string]inflight{}, map[*backend]int{}
	return all
}
