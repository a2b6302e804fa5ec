package router

import "sync"

// subscriptions are what a session asked to be told about: the resources
// it subscribed to (by exposed URI), and, for a 2026-07-28 client, its
// open listen streams, each with a filter. Its lock is a leaf: nothing is
// called with it held.
type subscriptions struct {
	mu      sync.Mutex
	uris    map[string]bool
	listens map[string]*listenStream
}

func newSubscriptions() subscriptions {
	return subscriptions{uris: map[string]bool{}, listens: map[string]*listenStream{}}
}

// has says whether the session subscribed to uri.
func (t *subscriptions) has(uri string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uris[uri]
}

// set subscribes to uri, or unsubscribes.
func (t *subscriptions) set(uri string, on bool) {
	t.mu.Lock()
	if on {
		t.uris[uri] = true
	} else {
		delete(t.uris, uri)
	}
	t.mu.Unlock()
}

// addListen opens a listen stream subscribed to uris.
func (t *subscriptions) addListen(ls *listenStream, uris []string) {
	t.mu.Lock()
	t.listens[string(ls.id)] = ls
	for _, u := range uris {
		t.uris[u] = true
	}
	t.mu.Unlock()
}

// removeListen closes a listen stream, dropping the subscriptions no other
// open stream holds.
func (t *subscriptions) removeListen(ls *listenStream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.listens, string(ls.id))
	for u := range ls.uris {
		still := false
		for _, other := range t.listens {
			still = still || other.uris[u]
		}
		if !still {
			delete(t.uris, u)
		}
	}
}

// listen returns the listen stream opened by the request with id, if open.
func (t *subscriptions) listen(id []byte) *listenStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.listens[string(id)]
}

// openListens are every open listen stream.
func (t *subscriptions) openListens() []*listenStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*listenStream, 0, len(t.listens))
	for _, ls := range t.listens {
		out = append(out, ls)
	}
	return out
}

// listensFor are the listen streams whose filter takes a notification of
// method (about uri, for resources/updated).
func (t *subscriptions) listensFor(method, uri string) []*listenStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	var targets []*listenStream
	for _, ls := range t.listens {
		var wants bool
		switch method {
		case listChanged[listTools]:
			wants = ls.tools
		case listChanged[listPrompts]:
			wants = ls.prompts
		case listChanged[listResources]:
			wants = ls.resources
		case "notifications/resources/updated":
			wants = ls.uris[uri]
		}
		if wants {
			targets = append(targets, ls)
		}
	}
	return targets
}
