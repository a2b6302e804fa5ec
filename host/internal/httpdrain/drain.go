// Package httpdrain shuts an http.Server down without waiting on
// connections that never sent a request.
//
// http.Server.Shutdown closes idle connections and waits for the rest, but
// it counts a connection that was accepted and has not sent its first
// request (StateNew) as busy until it is five seconds old. HTTP clients
// open such connections routinely: Go's transport keeps a connection it
// dialled for a request that an idle one served first. So a shutdown whose
// deadline is five seconds or less fails with every open request answered,
// and a longer one waits for nothing. Conns closes those connections once
// they have been silent for NewConnGrace, from the moment the drain begins.
// Not at once: a connection just accepted may carry a request whose bytes
// are on their way (a load balancer opens one per request), and closing it
// would lose that request.
//
// Nor may such a request reach the server once its Shutdown has begun: it
// drops every request it reads from then on, unanswered. So a server
// served on Conns.Listener first stops accepting (new connections are
// refused, which a load balancer can safely send elsewhere), then lets the
// connections it accepted send their requests, and only then shuts down.
package httpdrain

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// NewConnGrace is how long, during a drain, a connection may stay silent
// after it was accepted before it is closed: far longer than a client
// takes to send the request it connected for.
const NewConnGrace = time.Second

// IdleGrace is how long, during a drain, connections kept alive between
// requests get to be used once more (their answer closes them) or closed
// by their clients, before the shutdown closes the rest. A client that
// sends a request on one just as it is closed loses that request, as with
// any HTTP/1.1 server closing an idle connection.
const IdleGrace = time.Second

// Conns tracks the connections of one http.Server that have not sent a
// request yet. The zero value is ready; call Track before Serve.
type Conns struct {
	mu     sync.Mutex
	fresh  map[net.Conn]time.Time // when each was accepted
	active map[net.Conn]struct{}  // serving a request
	idle   map[net.Conn]struct{}  // kept alive between requests
	// closing is set once the drain has begun: answers then close their
	// connections (Handler).
	closing atomic.Bool
	ln      *stoppable
}

// Track makes srv report its connections' states to c, keeping any
// ConnState hook srv already has.
func (c *Conns) Track(srv *http.Server) {
	prev := srv.ConnState
	srv.ConnState = func(conn net.Conn, st http.ConnState) {
		c.observe(conn, st)
		if prev != nil {
			prev(conn, st)
		}
	}
}

func (c *Conns) observe(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == http.StateActive {
		if c.active == nil {
			c.active = map[net.Conn]struct{}{}
		}
		c.active[conn] = struct{}{}
	} else {
		delete(c.active, conn)
	}
	if st == http.StateIdle {
		if c.idle == nil {
			c.idle = map[net.Conn]struct{}{}
		}
		c.idle[conn] = struct{}{}
	} else {
		delete(c.idle, conn)
	}
	if st != http.StateNew {
		delete(c.fresh, conn)
		return
	}
	if c.fresh == nil {
		c.fresh = map[net.Conn]time.Time{}
	}
	c.fresh[conn] = time.Now()
}

// closeSilent closes the connections accepted NewConnGrace or more before
// now that have sent nothing.
func (c *Conns) closeSilent(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, at := range c.fresh {
		if now.Sub(at) >= NewConnGrace {
			_ = conn.Close()
			delete(c.fresh, conn)
		}
	}
}

// Handler wraps h so that, once the drain has begun, every answer closes
// its connection (Connection: close) rather than leave it idle: a client
// then never sends a request on a connection the shutdown is closing.
func (c *Conns) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.closing.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// Listener wraps ln so that Shutdown can stop accepting before the server
// drains; serve the server on it. Once stopped, its Accept returns
// http.ErrServerClosed, so Serve returns that.
func (c *Conns) Listener(ln net.Listener) net.Listener {
	l := &stoppable{Listener: ln}
	c.mu.Lock()
	c.ln = l
	c.mu.Unlock()
	return l
}

// stoppable is a listener that can be closed before the server's Shutdown
// closes it again.
type stoppable struct {
	net.Listener
	once    sync.Once
	stopped atomic.Bool
	err     error
}

func (l *stoppable) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil && l.stopped.Load() {
		return nil, http.ErrServerClosed
	}
	return conn, err
}

func (l *stoppable) Close() error {
	l.once.Do(func() {
		l.stopped.Store(true)
		l.err = l.Listener.Close()
	})
	return l.err
}

// Shutdown shuts srv down gracefully: open requests get their answers until
// ctx ends (see http.Server.Shutdown). Served on Listener, srv first stops
// accepting; the connections it accepted get to send their requests
// (connections silent for NewConnGrace are closed), and every request is
// answered, before the shutdown proper (which would drop a request read
// after it began). Meanwhile answers close their connections (served
// through Handler), and idle connections get IdleGrace to be used once
// more or closed by their clients.
func (c *Conns) Shutdown(ctx context.Context, srv *http.Server) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	tick := time.NewTicker(NewConnGrace / 10)
	wg.Go(func() {
		defer tick.Stop()
		for {
			select {
			case now := <-tick.C:
				c.closeSilent(now)
			case <-done:
				return
			}
		}
	})
	c.mu.Lock()
	ln := c.ln
	c.mu.Unlock()
	if ln != nil {
		c.closing.Store(true)
		_ = ln.Close()
		// Past ctx, Shutdown closes what is left and says so.
		c.awaitRequests(ctx, time.Now().Add(IdleGrace))
	}
	return srv.Shutdown(ctx)
}

// awaitRequests waits until no accepted connection is still to send its
// first request (each sends it or is closed as silent) and none is serving
// one, or ctx ends; and, until idleBy, for the idle ones to be used (and so
// closed) or closed by their clients.
func (c *Conns) awaitRequests(ctx context.Context, idleBy time.Time) {
	wait := time.NewTicker(5 * time.Millisecond)
	defer wait.Stop()
	for {
		c.mu.Lock()
		n := len(c.fresh) + len(c.active)
		if time.Now().Before(idleBy) {
			n += len(c.idle)
		}
		c.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-wait.C:
		case <-ctx.Done():
			return
		}
	}
}
