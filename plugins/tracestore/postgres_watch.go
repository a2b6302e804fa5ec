package tracestore

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// changeNote is the payload of a notification on notifyChannel.
type changeNote struct {
	Origin string   `json:"origin"`
	URIs   []string `json:"uris"`
}

// maxNotifyPayload keeps a payload under PostgreSQL's limit (8000 bytes);
// more changed URIs are split over several notifications.
const maxNotifyPayload = 7000

// notifications are the payloads announcing uris as changed by this store.
func (s *pgStore) notifications(uris []string) []string {
	var out []string
	note := changeNote{Origin: s.origin}
	size := 0
	emit := func() {
		if len(note.URIs) == 0 {
			return
		}
		b, _ := json.Marshal(note) // strings only: cannot fail
		out = append(out, string(b))
		note.URIs, size = nil, 0
	}
	for _, u := range uris {
		// A URI escapes to at most 6 bytes per byte in JSON.
		n := 6*len(u) + 3
		if size+n > maxNotifyPayload-len(s.origin)-32 {
			emit()
		}
		note.URIs = append(note.URIs, u)
		size += n
	}
	emit()
	return out
}

// Listener reconnection backoff.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// listen receives the notifications of every instance on a connection of
// its own, reconnecting with backoff when it drops, until ctx ends; the
// changes other instances made go to the watchers.
func (s *pgStore) listen(ctx context.Context) {
	wait := listenRetryMin
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() { wait = listenRetryMin })
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("tracing change listener lost its connection; reconnecting", "retry_in", wait,
			"error", redactErr(err, s.opts.password))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listenOnce listens on one connection until it fails or ctx ends;
// listening calls after LISTEN succeeded.
func (s *pgStore) listenOnce(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.opts.pool.ConnConfig)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	listening()
	s.watch.ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var note changeNote
		if json.Unmarshal([]byte(n.Payload), &note) != nil || note.Origin == s.origin {
			continue
		}
		s.watch.publish(note.URIs)
	}
}

// watchers are the WatchChanges calls of a store. Changes are merged
// into each watcher's pending set and handed over by its own goroutine,
// so a slow reader delays only itself and loses nothing.
type watchers struct {
	mu        sync.Mutex
	set       map[*watcher]struct{}
	closed    bool
	done      chan struct{} // closed by closeAll
	listening chan struct{}
	onceReady sync.Once
}

type watcher struct {
	mu      sync.Mutex
	pending uriSet
	wake    chan struct{}
}

func newWatchers() *watchers {
	return &watchers{set: map[*watcher]struct{}{}, done: make(chan struct{}), listening: make(chan struct{})}
}

// ready marks the first LISTEN done.
func (ws *watchers) ready() { ws.onceReady.Do(func() { close(ws.listening) }) }

func (ws *watchers) publish(uris []string) {
	if len(uris) == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		w.mu.Lock()
		w.pending.add(uris...)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// closeAll ends every watcher: their channels close.
func (ws *watchers) closeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.closed {
		return
	}
	ws.closed = true
	close(ws.done)
	for w := range ws.set {
		delete(ws.set, w)
		close(w.wake)
	}
}

// watch starts a watcher whose channel is closed when ctx ends or the
// store closes.
func (ws *watchers) watch(ctx context.Context) (<-chan tracing.WatchChangesResponse, error) {
	out := make(chan tracing.WatchChangesResponse)
	w := &watcher{wake: make(chan struct{}, 1)}
	ws.mu.Lock()
	if ws.closed {
		ws.mu.Unlock()
		return nil, errNotConfigured
	}
	ws.set[w] = struct{}{}
	ws.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			ws.mu.Lock()
			if _, ok := ws.set[w]; ok {
				delete(ws.set, w)
				close(w.wake)
			}
			ws.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.wake:
				if !ok {
					return
				}
			}
			w.mu.Lock()
			uris := w.pending.list
			w.pending = uriSet{}
			w.mu.Unlock()
			if len(uris) == 0 {
				continue
			}
			select {
			case out <- tracing.WatchChangesResponse{ChangedURIs: uris}:
			case <-ctx.Done():
				return
			case <-ws.done:
				return
			}
		}
	}()
	return out, nil
}
