package tracer

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/transport"
)

// sharedStore is a tracing plugin whose store other hosts write to: its
// WatchChanges emits what the test feeds it, as their writes.
type sharedStore struct {
	fakeTracing
	// capable lists tracing.CapabilityWatchesChanges in Info.
	capable bool
	infos   atomic.Int32
	// feed carries the URIs of one change to the current watch; endWatch
	// ends it, as a lost database connection would.
	feed     chan []string
	endWatch chan struct{}
	// watches gets a value when a watch starts, watchEnded when one ends.
	watches, watchEnded chan struct{}
}

func newSharedStore(capable bool) *sharedStore {
	return &sharedStore{
		capable: capable, feed: make(chan []string), endWatch: make(chan struct{}),
		watches: make(chan struct{}, 16), watchEnded: make(chan struct{}, 16),
	}
}

func (s *sharedStore) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	s.infos.Add(1)
	info := base.InfoResponse{Name: "shared", Kind: base.KindTracing, APIMinor: tracing.APIMinor}
	if s.capable {
		info.Capabilities = []string{tracing.CapabilityWatchesChanges}
	}
	return info, nil
}

func (s *sharedStore) WatchChanges(ctx context.Context, _ tracing.WatchChangesRequest) (<-chan tracing.WatchChangesResponse, error) {
	out := make(chan tracing.WatchChangesResponse)
	s.watches <- struct{}{}
	go func() {
		defer func() { s.watchEnded <- struct{}{} }()
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.endWatch:
				return
			case uris := <-s.feed:
				select {
				case out <- tracing.WatchChangesResponse{ChangedURIs: uris}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// emit hands the current watch one change, as another host's write.
func (s *sharedStore) emit(t *testing.T, uris ...string) {
	t.Helper()
	select {
	case s.feed <- uris:
	case <-t.Context().Done():
		t.Fatal("no watch took the change")
	}
}

// openConn opens a connection of the tracing backend, initialized and
// subscribed to uris, and returns it with a func that waits for the next
// resources/updated URI.
func openConn(t *testing.T, tr *Tracer, uris ...string) (transport.Conn, func() string) {
	t.Helper()
	ctx := t.Context()
	conn, err := tr.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	recv := func() []byte {
		t.Helper()
		msg, err := conn.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		return msg
	}
	for i, uri := range uris {
		id := []byte{'1' + byte(i)}
		if err := conn.Send(ctx, jsonrpc.Request(id, "resources/subscribe", []byte(`{"uri":"`+uri+`"}`))); err != nil {
			t.Fatal(err)
		}
		if msg := recv(); string(jsonrpc.Get(msg, "id")) != string(id) {
			t.Fatalf("subscribe answered with %s", msg)
		}
	}
	return conn, func() string {
		t.Helper()
		msg := recv()
		m, _ := jsonrpc.GetString(msg, "method")
		for strings.HasSuffix(m, "/list_changed") {
			msg = recv()
			m, _ = jsonrpc.GetString(msg, "method")
		}
		if m != "notifications/resources/updated" {
			t.Fatalf("got %s, want resources/updated", msg)
		}
		uri, _ := jsonrpc.GetString(msg, "params.uri")
		return uri
	}
}

func TestWatchedChangesReachSubscribers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// plugin is the store as the tracer gets it.
		plugin func(t *testing.T, s *sharedStore) tracing.Tracing
	}{
		{"in-process", func(_ *testing.T, s *sharedStore) tracing.Tracing { return s }},
		{"plugin over gRPC", func(t *testing.T, s *sharedStore) tracing.Tracing { return plugintest.ServeTracing(t, s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newSharedStore(true)
			p := tt.plugin(t, store)
			var hooked sync.Map
			tr := New(Options{
				Tracing: func(context.Context) (tracing.Tracing, error) { return p, nil },
				Changed: func(uris []string) {
					for _, u := range uris {
						hooked.Store(u, true)
					}
				},
			})
			defer tr.Close(context.Background())
			_, next := openConn(t, tr, "trace://context/a", tracing.ResourceRecentResponses)

			<-store.watches
			store.emit(t, "trace://context/unsubscribed", "trace://context/a")
			if got := next(); got != "trace://context/a" {
				t.Fatalf("updated %q, want trace://context/a (the only subscribed one of the change)", got)
			}
			if _, ok := hooked.Load("trace://context/unsubscribed"); !ok {
				t.Error("the Changed hook was not told of the watched change")
			}

			// The plugin ends its watch (its database connection lost,
			// say): the tracer watches again, and changes keep coming.
			store.endWatch <- struct{}{}
			<-store.watchEnded
			<-store.watches
			store.emit(t, tracing.ResourceRecentResponses)
			if got := next(); got != tracing.ResourceRecentResponses {
				t.Fatalf("updated %q after the watch was renewed, want %s", got, tracing.ResourceRecentResponses)
			}

			// Close ends the watch (the leak check in TestMain covers the
			// goroutines on both sides).
			tr.Close(context.Background())
			<-store.watchEnded
		})
	}
}

func TestWatchNeedsTheCapabilityAndTracingUp(t *testing.T) {
	t.Parallel()
	t.Run("without the capability", func(t *testing.T) {
		t.Parallel()
		store := newSharedStore(false)
		tr := New(Options{Tracing: func(context.Context) (tracing.Tracing, error) { return store, nil }})
		poll.Until(t, "the tracer asked the plugin what it does", func() bool { return store.infos.Load() > 0 })
		tr.Close(context.Background())
		if n := len(store.watches); n != 0 {
			t.Fatalf("%d watches of a plugin that does not list %s", n, tracing.CapabilityWatchesChanges)
		}
	})
	t.Run("once tracing is up", func(t *testing.T) {
		t.Parallel()
		store := newSharedStore(true)
		var up atomic.Bool
		var asked atomic.Int32
		tr := New(Options{
			Tracing: func(context.Context) (tracing.Tracing, error) { asked.Add(1); return store, nil },
			Up:      up.Load,
		})
		defer tr.Close(context.Background())
		_, next := openConn(t, tr, "trace://context/a")
		// Down, the plugin is not even asked for; up again (ListsChanged,
		// as the proxy's supervisor calls it), it is watched at once
		// rather than after the delay of the failed attempts.
		if asked.Load() != 0 {
			t.Fatal("the plugin was asked for while tracing was down")
		}
		up.Store(true)
		tr.ListsChanged()
		<-store.watches
		store.emit(t, "trace://context/a")
		if got := next(); got != "trace://context/a" {
			t.Fatalf("updated %q, want trace://context/a", got)
		}
	})
}

// TestWatchedChangeReachesARoutedClient is the whole path: another host's
// write, seen by the plugin's watch, reaches a client session of the
// router that subscribed to the resource, as notifications/resources/updated.
func TestWatchedChangeReachesARoutedClient(t *testing.T) {
	t.Parallel()
	store := newSharedStore(true)
	p := plugintest.ServeTracing(t, store)
	tr := New(Options{Tracing: func(context.Context) (tracing.Tracing, error) { return p, nil }})
	defer tr.Close(context.Background())
	r := router.New(router.Options{}, []router.BackendSpec{{Name: ServerName, Internal: true, Open: tr.Open}})
	defer r.Close()
	r.Start(t.Context())

	client := &clientSink{}
	s := r.NewSession(client)
	defer s.Close()
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",`+
		`"capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`), nil)
	client.wait(t, "the initialize answer", func(m []byte) bool { return string(jsonrpc.Get(m, "id")) == "1" })
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), nil)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"trace://context/a"}}`), nil)
	if resp := client.wait(t, "the subscribe answer", func(m []byte) bool { return string(jsonrpc.Get(m, "id")) == "2" }); jsonrpc.Get(resp, "error") != nil {
		t.Fatalf("subscribe failed: %s", resp)
	}

	<-store.watches
	store.emit(t, "trace://context/a")
	got := client.wait(t, "resources/updated", func(m []byte) bool {
		method, _ := jsonrpc.GetString(m, "method")
		return method == "notifications/resources/updated"
	})
	if uri, _ := jsonrpc.GetString(got, "params.uri"); uri != "trace://context/a" {
		t.Fatalf("client told %s, want trace://context/a updated", got)
	}
}

// clientSink keeps what the router sends a client session.
type clientSink struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (c *clientSink) Send(msg []byte) error    { return c.add(msg) }
func (c *clientSink) Respond(msg []byte) error { return c.add(msg) }

func (c *clientSink) add(msg []byte) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, append([]byte(nil), msg...))
	c.mu.Unlock()
	return nil
}

// wait returns the first message that matches, once it has come.
func (c *clientSink) wait(t *testing.T, what string, match func([]byte) bool) []byte {
	t.Helper()
	var found []byte
	poll.Until(t, what, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.msgs {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}
