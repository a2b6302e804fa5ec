package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// conn is one WebSocket connection. A single reader goroutine owns the read
// side: the library closes the whole connection when a read's context ends,
// so Recv waits on a channel instead of reading with its own context. That
// goroutine also answers the server's pings and collects our pongs.
type conn struct {
	ws     *ws.Conn
	logger hclog.Logger
	m      connMetrics
	forget func(*conn)
	limit  int

	// msgs is closed after recvErr is set, when the read side ends.
	msgs       chan []byte
	recvErr    error
	readerDone chan struct{}
	pingerDone chan struct{}
	// pingErr is set by the pinger before it drops the connection, so
	// that the reader reports why.
	pingErr atomic.Pointer[error]
	// binarySeen is set once a binary frame has been logged as a warning.
	binarySeen atomic.Bool

	closing   chan struct{}
	closeOnce sync.Once
	closed    chan struct{} // closed once Close's teardown has finished
}

// errClosedByUs ends Recv once Close has been called.
var errClosedByUs = fmt.Errorf("%w: connection closed", transport.ErrClosed)

// dial opens the connection; rt makes the handshake's HTTP request (see
// options.roundTripper).
func dial(ctx context.Context, o options, rt http.RoundTripper, limit int, logger hclog.Logger, m connMetrics, forget func(*conn)) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout.D())
	defer cancel()
	wc, resp, err := ws.Dial(dctx, o.url.String(), &ws.DialOptions{
		HTTPClient:   &http.Client{Transport: rt},
		HTTPHeader:   o.header,
		Host:         o.host,
		Subprotocols: []string{o.Subprotocol},
	})
	if err != nil {
		if nle, ok := errors.AsType[*oauth.NeedsLoginError](err); ok {
			// Its words alone, which the host recognises (and without the
			// handshake URL's query, which may hold secrets).
			return nil, nle
		}
		if resp != nil && resp.StatusCode != 0 {
			return nil, fmt.Errorf("handshake with %s failed (HTTP %s): %w", o.redactedURL(), resp.Status, err)
		}
		return nil, fmt.Errorf("dial %s: %w", o.redactedURL(), err)
	}
	if got := wc.Subprotocol(); got != o.Subprotocol {
		_ = wc.CloseNow()
		if got == "" {
			return nil, fmt.Errorf("server at %s did not accept the %q subprotocol", o.redactedURL(), o.Subprotocol)
		}
		return nil, fmt.Errorf("server at %s chose subprotocol %q, want %q", o.redactedURL(), got, o.Subprotocol)
	}
	wc.SetReadLimit(int64(limit))

	c := &conn{
		ws: wc, logger: logger, m: m, forget: forget, limit: limit,
		msgs: make(chan []byte), readerDone: make(chan struct{}), pingerDone: make(chan struct{}),
		closing: make(chan struct{}), closed: make(chan struct{}),
	}
	m.Open.Inc()
	logger.Debug("connected", "subprotocol", o.Subprotocol)
	go c.read()
	go c.ping(o.PingInterval.D())
	return c, nil
}

func (c *conn) read() {
	defer close(c.readerDone)
	for {
		// No deadline: the connection ends through Close, a ping failure
		// or the server, each of which ends this read.
		typ, msg, err := c.ws.Read(context.Background())
		if err != nil {
			c.recvErr = c.endReason(err)
			close(c.msgs)
			return
		}
		if typ != ws.MessageText {
			c.m.binaryIgnored.Inc()
			// Warn once per connection; a server sending a stream of them
			// must not flood the log.
			log := c.logger.Debug
			if c.binarySeen.CompareAndSwap(false, true) {
				log = c.logger.Warn
			}
			log("ignoring binary frame from backend; MCP over WebSocket uses text frames", "bytes", len(msg))
			continue
		}
		c.m.MsgsIn.Inc()
		c.m.BytesIn.Add(len(msg))
		select {
		case c.msgs <- msg:
		case <-c.closing:
		}
	}
}

// endReason describes why the read side ended, wrapping ErrClosed.
func (c *conn) endReason(err error) error {
	select {
	case <-c.closing:
		return errClosedByUs
	default:
	}
	if p := c.pingErr.Load(); p != nil {
		return fmt.Errorf("%w: server did not answer ping: %v", transport.ErrClosed, *p)
	}
	if errors.Is(err, ws.ErrMessageTooBig) {
		return fmt.Errorf("%w: server sent a message over the %d byte limit", transport.ErrClosed, c.limit)
	}
	var ce ws.CloseError
	if errors.As(err, &ce) {
		if ce.Reason != "" {
			return fmt.Errorf("%w: server closed the connection with status %d (%v): %s", transport.ErrClosed, int(ce.Code), ce.Code, ce.Reason)
		}
		return fmt.Errorf("%w: server closed the connection with status %d (%v)", transport.ErrClosed, int(ce.Code), ce.Code)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: connection lost: the server dropped the socket without a close frame", transport.ErrClosed)
	}
	return fmt.Errorf("%w: connection lost: %v", transport.ErrClosed, err)
}

// ping pings the server every interval; one that is not answered within
// the interval ends the connection.
func (c *conn) ping(interval time.Duration) {
	defer close(c.pingerDone)
	if interval <= 0 {
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-c.readerDone:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := c.ws.Ping(ctx)
		cancel()
		if err == nil {
			continue
		}
		select {
		case <-c.closing:
			return
		case <-c.readerDone:
			return
		default:
		}
		c.m.pingFailures.Inc()
		c.pingErr.Store(&err)
		c.logger.Warn("ping failed; dropping the connection", "error", err)
		_ = c.ws.CloseNow()
		return
	}
}

// Send writes msg as one text frame.
func (c *conn) Send(ctx context.Context, msg []byte) error {
	// One line: not needed by WebSocket framing, but servers that bridge
	// frames to a line-based session expect one message per line.
	msg, err := transport.PrepareSend(msg, c.limit)
	if err != nil {
		return err
	}
	select {
	case <-c.closing:
		return fmt.Errorf("send: %w", errClosedByUs)
	default:
	}
	// The library serializes writers (and closes the connection if ctx
	// ends mid-frame, since half a frame cannot be taken back).
	if err := c.ws.Write(ctx, ws.MessageText, msg); err != nil {
		return fmt.Errorf("send: %w: %v", transport.ErrClosed, err)
	}
	c.m.MsgsOut.Inc()
	c.m.BytesOut.Add(len(msg))
	return nil
}

// Recv returns the next text frame, or once the connection has ended an
// error wrapping transport.ErrClosed that says why.
func (c *conn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case <-c.closing:
		return nil, errClosedByUs
	default:
	}
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return nil, c.recvErr
		}
		return m, nil
	case <-c.closing:
		return nil, errClosedByUs
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close sends a normal closure and waits for the server's reply, or until
// ctx is done; the library bounds the close handshake itself, so the
// socket is always released soon after. Later calls do nothing.
func (c *conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		close(c.closing)
		go c.teardown()
	})
	select {
	case <-c.closed:
	case <-ctx.Done():
	}
	return nil
}

func (c *conn) teardown() {
	defer close(c.closed)
	if err := c.ws.Close(ws.StatusNormalClosure, ""); err != nil {
		c.logger.Debug("close handshake", "error", err)
	}
	<-c.readerDone
	<-c.pingerDone
	c.m.Open.Dec()
	c.forget(c)
}
