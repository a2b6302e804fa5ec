// Package httpdrain shuts an http.Server down without waiting on
// connections that never sent a request.
//
// http.Server.Shutdown closes idle connections and waits for the rest, but
// it counts a connection that was accepted and has not sent its first
// request (StateNew) as busy until it is five seconds old. HTTP clients
// open such connections routinely: Go's transport keeps a connection it
// dialled for a request that an idle one served first. So a shutdown whose
// deadline is five seconds or less fails with every open request answered,
// and a longer one waits for nothing. Conns closes those connections as
// the drain begins, and any accepted after.
package httpdrain

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Conns tracks the connections of one http.Server that have not sent a
// request yet. The zero value is ready; call Track before Serve.
type Conns struct {
	mu       sync.Mutex
	fresh    map[net.Conn]struct{}
	draining bool
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
	if st != http.StateNew {
		delete(c.fresh, conn)
		return
	}
	if c.draining {
		_ = conn.Close()
		return
	}
	if c.fresh == nil {
		c.fresh = map[net.Conn]struct{}{}
	}
	c.fresh[conn] = struct{}{}
}

// Shutdown closes the connections that have not sent a request, then
// shuts srv down gracefully: open requests get their answers until ctx
// ends (see http.Server.Shutdown).
func (c *Conns) Shutdown(ctx context.Context, srv *http.Server) error {
	c.mu.Lock()
	c.draining = true
	fresh := c.fresh
	c.fresh = nil
	c.mu.Unlock()
	for conn := range fresh {
		_ = conn.Close()
	}
	return srv.Shutdown(ctx)
}
