package listen

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/mcphost/mcphost/host/internal/router"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

const (
	// wsSubprotocol is the WebSocket subprotocol MCP clients offer.
	wsSubprotocol = "mcp"
	// wsPingInterval is how often an open WebSocket is pinged; a peer that
	// does not answer within wsPingTimeout is disconnected.
	wsPingInterval = 30 * time.Second
	wsPingTimeout  = 15 * time.Second
	// wsKeptReadBuffer bounds the read buffer a connection keeps between
	// messages; one larger message gets a buffer of its own.
	wsKeptReadBuffer = 1 << 20
)

// wsSink writes each message as one text frame. The websocket.Conn
// serializes concurrent writers itself, so frames never interleave.
//
// Reads and writes take a context that is never done: a cancellable one
// costs the library a hand-off to its timeout goroutine on every frame. A
// write or read that must end is ended by closing the connection, which
// watchSocket does when a ping goes unanswered (a dead peer), the session
// is shed (a client that stopped reading) or the listener stops.
type wsSink struct {
	c *websocket.Conn
}

func (s wsSink) write(msg []byte) error {
	return s.c.Write(context.Background(), websocket.MessageText, msg)
}

func (s wsSink) Send(msg []byte) error    { return s.write(msg) }
func (s wsSink) Respond(msg []byte) error { return s.write(msg) }

// serveWebSocket speaks MCP over one WebSocket connection as one session:
// each text frame from the client is a JSON-RPC message or batch, and each
// message to it is a text frame.
func (h *HTTP) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	// admit does the Origin check: the library's own is skipped below only
	// because ours has already passed. The token is checked once, here: the
	// connection is closed when it expires.
	caller, ok := h.admit(w, r)
	if !ok {
		return
	}
	if offered := offeredSubprotocols(r); len(offered) > 0 && !slices.ContainsFunc(offered, func(p string) bool {
		return strings.EqualFold(p, wsSubprotocol)
	}) {
		httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest,
			"Bad Request: unsupported WebSocket subprotocol; offer \""+wsSubprotocol+"\" or none")
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError, "shutting down")
		return
	}
	if h.full(w, "websocket") {
		h.mu.Unlock()
		return
	}
	h.conns.Add(1)
	h.sockets++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.sockets--
		h.mu.Unlock()
		h.conns.Done()
	}()

	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{wsSubprotocol},
		InsecureSkipVerify: true,
	})
	if err != nil {
		// Accept has answered the request.
		h.log.Debug("WebSocket upgrade failed", "error", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(int64(h.opts.MaxBytes))

	// The request's context is unreliable once the connection is hijacked.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The session writes to the socket from a goroutine of its own: a client
	// that stops reading fills its outbox and is ended alone.
	s := h.router.NewSession(wsSink{c: c})
	s.SetListener("websocket")
	defer s.Close()
	if caller.profile != "" {
		if err := s.SetProfile(caller.profile); err != nil {
			_ = c.Close(websocket.StatusPolicyViolation, "no profile named "+caller.profile)
			return
		}
	}
	h.showServers(caller, s)
	var expired <-chan time.Time
	if exp := caller.identity.Expiry; caller.token && !exp.IsZero() {
		t := time.NewTimer(time.Until(exp))
		defer t.Stop()
		expired = t.C
	}
	go h.watchSocket(ctx, c, s, expired)

	var buf bytes.Buffer
	for {
		typ, msg, err := readWebSocket(c, &buf)
		if err != nil {
			// The peer closed, the read limit was hit (the library closes
			// with StatusMessageTooBig), a ping failed, or we are stopping.
			if websocket.CloseStatus(err) == -1 {
				h.log.Debug("WebSocket closed", "error", err)
			}
			return
		}
		if typ != websocket.MessageText {
			_ = c.Close(websocket.StatusUnsupportedData, "MCP messages are JSON-RPC in text frames")
			return
		}
		if denied := h.deniedOnSocket(caller, s, msg); denied != nil {
			_ = c.Write(context.Background(), websocket.MessageText, denied)
			continue
		}
		s.Handle(msg, nil)
	}
}

// deniedOnSocket is the error answering a message that would reach a
// server the caller's token lacks the scopes for (a WebSocket has no 403
// once open), or nil when the message may go on.
func (h *HTTP) deniedOnSocket(c caller, s *router.Session, msg []byte) []byte {
	if !c.token || !h.opts.OAuth.HasServerScopes() {
		return nil
	}
	env, err := jsonrpc.Peek(msg)
	if err != nil {
		return nil // the session answers the parse error
	}
	server := h.deniedServer(c, s, env, msg)
	if server == "" {
		return nil
	}
	h.authRefused("insufficient_scope")
	need := h.opts.OAuth.RequiredScopes(server)
	return jsonrpc.Error(env.ID, jsonrpc.CodeInvalidRequest, "Forbidden: the access token lacks the scope server "+server+" requires",
		map[string]any{"scope": need})
}

// readWebSocket reads one whole message from c through buf, which it
// keeps for the next one unless it grew past wsKeptReadBuffer. The library's
// Read starts every message in a new 512-byte slice and doubles it: for
// 100 KB that is eight copies and as many short reads.
func readWebSocket(c *websocket.Conn, buf *bytes.Buffer) (websocket.MessageType, []byte, error) {
	typ, r, err := c.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(r)
	msg := bytes.Clone(buf.Bytes())
	if buf.Cap() > wsKeptReadBuffer {
		*buf = bytes.Buffer{}
	}
	return typ, msg, err
}

// watchSocket pings c until ctx ends, and closes it when a ping goes
// unanswered, the session ends (the router ends a client that stops
// reading), the access token it was opened with expires, or the listener
// shuts down.
func (h *HTTP) watchSocket(ctx context.Context, c *websocket.Conn, s *router.Session, expired <-chan time.Time) {
	t := time.NewTicker(wsPingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Done():
			if s.Shed() {
				// It reads nothing, a close handshake included.
				_ = c.CloseNow()
			}
			return
		case <-h.stop:
			_ = c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-expired:
			_ = c.Close(websocket.StatusPolicyViolation, "access token expired")
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, wsPingTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					h.log.Debug("WebSocket ping failed", "error", err)
					_ = c.CloseNow()
				}
				return
			}
		}
	}
}

// waitSockets waits for the WebSocket connections to end, or ctx.
func (h *HTTP) waitSockets(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// offeredSubprotocols lists the Sec-WebSocket-Protocol tokens a client
// offers.
func offeredSubprotocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
