package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// connection is a backend's transport connection and the requests open on
// it: the pending table, sending, and the read loop. One connection value
// serves every reconnect of its backend: attach and detach mark the
// transport connection of the moment. It knows nothing of the backend's
// state; the supervisor decides when it connects (see doc.go for the lock
// order between the two).
type connection struct {
	name string
	log  hclog.Logger
	// nextID numbers the requests sent to the backend, from firstID.
	nextID atomic.Int64

	mu      sync.Mutex
	conn    transport.Conn
	pending map[int64]*pending
	// listenID is the open subscriptions/listen request of a 2026-07-28
	// backend; subs counts the sessions subscribed to each of its URIs
	// (kept across reconnects: the next stream asks for them again).
	listenID int64
	subs     map[string]int
}

func newConnection(name string, log hclog.Logger) *connection {
	c := &connection{name: name, log: log, pending: map[int64]*pending{}}
	c.nextID.Store(firstID - 1)
	return c
}

// attach makes conn the connection requests are sent on.
func (c *connection) attach(conn transport.Conn) {
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
}

// detach forgets the connection once it has ended and returns the
// requests that were open on it, for the caller to fail.
func (c *connection) detach() map[int64]*pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.pending
	c.pending = map[int64]*pending{}
	c.conn = nil
	c.listenID = 0
	return ps
}

// send writes msg to the backend, giving up when ctx ends.
func (c *connection) send(ctx context.Context, msg []byte) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("server %q is not connected", c.name)
	}
	return conn.Send(ctx, msg)
}

// addInternal registers an internal request, connected or not: detach
// fails it like any other if the connection ends first.
func (c *connection) addInternal(id int64, p *pending) {
	c.mu.Lock()
	c.pending[id] = p
	c.mu.Unlock()
}

// drop removes and returns the request with backend id, if still open.
func (c *connection) drop(id int64) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[id]
	delete(c.pending, id)
	return p
}

// pendingFor returns the request with backend id, if still open.
func (c *connection) pendingFor(id int64) *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[id]
}

// latestClientRequest is the most recent client request still open on this
// backend: the best guess of who a server→client request is for, since
// stdio carries no link between the two.
func (c *connection) latestClientRequest() *pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *pending
	for _, p := range c.pending {
		if p.session != nil && (best == nil || p.started > best.started) {
			best = p
		}
	}
	return best
}

// clientRequests counts the clients' requests open: the proxy's own
// (lists, health checks, a 2026-07-28 backend's listen stream, open for
// good) are not load.
func (c *connection) clientRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.pending {
		if p.session != nil {
			n++
		}
	}
	return n
}

// readLoop reads conn until it ends, handing each well-formed message to
// handle on the reading goroutine.
func (c *connection) readLoop(conn transport.Conn, handle func(jsonrpc.Envelope, []byte)) error {
	ctx := context.Background()
	for {
		msg, err := conn.Recv(ctx)
		if err != nil {
			if errors.Is(err, transport.ErrClosed) {
				return err
			}
			return fmt.Errorf("%w: %v", transport.ErrClosed, err)
		}
		env, err := jsonrpc.Peek(msg)
		if err != nil {
			c.log.Warn("dropping malformed message from backend", "error", err, "bytes", len(msg))
			continue
		}
		handle(env, msg)
	}
}
