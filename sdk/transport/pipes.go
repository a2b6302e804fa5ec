package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// PipeConn is a Conn whose messages are newline-delimited JSON on two
// pipes, such as a stdio child's stdin and stdout. A plugin's Conn that
// implements it lets a host in another process read and write the pipes
// itself (the SDK passes it duplicates of the descriptors on the data
// socket): messages then no longer cross the plugin process, which keeps
// the control plane, starting the backend, its logs, its lifecycle and
// Close. A host that cannot take descriptors, and an in-process host, use
// the Conn as usual.
type PipeConn interface {
	Conn
	// HandOver returns the pipes for the host. From then on the plugin
	// calls neither Send nor Recv, and must not read or write the pipes
	// until Close. The host closes its copies before it calls Close, so
	// the backend sees the end of its input when the plugin closes its
	// own. An error leaves the Conn as it was, to be used as a plain Conn.
	HandOver(ctx context.Context, req HandOverRequest) (HandOverResponse, error)
	// Wait returns once the backend has gone, with why: an error wrapping
	// ErrClosed, as Recv would have returned (with an exit status, say).
	// It returns ctx's error if ctx ends first.
	Wait(ctx context.Context) error
}

// HandOverRequest asks a PipeConn for its pipes.
type HandOverRequest struct{}

// HandOverResponse carries a PipeConn's pipes, which the host gets
// duplicates of. They must be non-blocking, as os.Pipe's are: the host's
// copies share that mode. The SDK closes these files once it has passed
// them on (or failed to), so a PipeConn keeps duplicates of its own for
// Close (closing the backend's input, draining its output): best bare
// descriptors, not *os.File, since the runtime's poller would watch a
// non-blocking file and wake the plugin for every message the host passes
// through the pipes.
type HandOverResponse struct {
	// In is the write end of the pipe the backend reads its messages from.
	In *os.File
	// Out is the read end of the pipe the backend writes its messages to.
	Out *os.File
}

// framePipes is the data socket frame that carries the pipes.
const framePipes = 'P'

// goneWait bounds how long Recv waits, once the backend's output has
// ended, for the plugin to say why (the backend's exit status).
const goneWait = 5 * time.Second

// handOver takes conn's pipes if the host asked for them and conn can give
// them.
func handOver(ctx context.Context, req *pluginv1.OpenRequest, conn Conn) (PipeConn, HandOverResponse, bool) {
	pc, ok := conn.(PipeConn)
	if !ok || !req.GetAcceptPipes() || !canPassPipes {
		return nil, HandOverResponse{}, false
	}
	pipes, err := pc.HandOver(ctx, HandOverRequest{})
	if err != nil {
		return nil, HandOverResponse{}, false
	}
	return pc, pipes, true
}

// servePipes accepts the host on ln, passes it conn's pipes, and tells it
// when the backend has gone.
func servePipes(ln *net.UnixListener, cleanup func(), token []byte, conn PipeConn, pipes HandOverResponse) {
	sock, frames, err := acceptHost(ln, cleanup, token, 0)
	if err == nil {
		err = sendPipes(sock, pipes.In, pipes.Out)
	}
	// Sent (the socket holds its own references) or not, these copies
	// are done with: closed, they stop the poller watching the pipes.
	_ = pipes.In.Close()
	_ = pipes.Out.Close()
	if err != nil {
		if sock != nil {
			sock.Close()
		}
		return
	}
	defer sock.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The host sends nothing more: its end of the socket closing (Close,
	// or the host gone) ends the wait.
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		defer cancel()
		for {
			if _, _, err := frames.next(); err != nil {
				return
			}
		}
	}()
	err = conn.Wait(ctx)
	if ctx.Err() == nil {
		_, _ = writeFrame(sock, frameClosed, []byte(closedDetail(err)))
	}
	sock.Close()
	<-hostDone
}

// pipeConn is the host's side of a connection whose backend pipes the
// plugin handed over: the host writes the backend's input and reads its
// output itself, and the data socket only says when the backend has gone.
type pipeConn struct {
	id     string
	client pluginv1.TransportClient
	sock   *net.UnixConn
	// in is the write end of the backend's input, out the read end of its
	// output: the host's copies.
	in, out *os.File
	limit   int
	logger  hclog.Logger

	send   sendLock
	broken atomic.Bool

	// lines and recvErr are Recv's alone.
	lines   *jsonrpc.LineReader
	recvErr error

	// gone is closed once the plugin has said the backend has gone, or the
	// data socket has ended; goneErr, set before, says why.
	gone    chan struct{}
	goneErr error

	closing   chan struct{}
	closeOnce sync.Once
	// watched is closed when the goroutine watching the socket returns.
	watched chan struct{}
}

// dialPipes connects to a plugin's data socket and takes the pipes the
// plugin hands over on it.
func dialPipes(ctx context.Context, id string, client pluginv1.TransportClient, path string, token []byte, maxBytes int, logger hclog.Logger) (*pipeConn, error) {
	sock, err := dialHost(ctx, path, token)
	if err != nil {
		return nil, err
	}
	finish := WakeOnDone(ctx, sock.SetReadDeadline)
	in, out, err := recvPipes(sock)
	finish()
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("data socket: receive the pipes: %w", err)
	}
	if maxBytes <= 0 {
		maxBytes = 64 << 20
	}
	c := &pipeConn{
		id: id, client: client, sock: sock, in: in, out: out, limit: maxBytes, logger: logger,
		send: newSendLock(), lines: jsonrpc.NewLineReader(out, maxBytes),
		gone: make(chan struct{}), closing: make(chan struct{}), watched: make(chan struct{}),
	}
	go c.watch(newFrameReader(sock, 64<<10))
	return c, nil
}

// watch waits for the plugin's word that the backend has gone. A socket
// that ends without one means the plugin process is gone: the backend
// went with it, but a descendant of the backend may still hold the pipes,
// so the host closes its copies, which ends Recv and lets such a
// descendant see the end of its input.
func (c *pipeConn) watch(frames *frameReader) {
	defer close(c.watched)
	kind, detail, err := frames.next()
	if err == nil && kind == frameClosed {
		c.goneErr = closedError(string(detail))
	} else {
		c.goneErr = fmt.Errorf("%w: the transport plugin ended the connection", ErrClosed)
		c.closePipes()
	}
	close(c.gone)
}

func (c *pipeConn) closePipes() {
	_ = c.in.Close()
	_ = c.out.Close()
}

func (c *pipeConn) Send(ctx context.Context, msg []byte) error {
	msg, err := PrepareSend(msg, c.limit)
	if err != nil {
		return err
	}
	if err := c.send.lock(ctx); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer c.send.unlock()
	select {
	case <-c.closing:
		return fmt.Errorf("send: %w: connection closed", ErrClosed)
	default:
	}
	if c.broken.Load() {
		return fmt.Errorf("send: %w: %v", ErrClosed, errBroken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	finish := WakeOnDone(ctx, c.in.SetWriteDeadline)
	n, err := WriteLine(c.in, msg)
	woke := finish()
	switch {
	case err == nil:
		return nil
	case n == 0 && woke:
		return fmt.Errorf("send: %w", ctx.Err())
	case n > 0:
		// Half a line cannot be taken back: end the connection, so that
		// Recv ends too and the host reconnects.
		c.broken.Store(true)
		c.closePipes()
		if woke {
			err = ctx.Err() // the deadline that cut the write short was ctx's
		}
		return fmt.Errorf("send: %w: cut short mid-message: %w", ErrClosed, err)
	}
	return fmt.Errorf("send: %w: %v", ErrClosed, err)
}

func (c *pipeConn) Recv(ctx context.Context) ([]byte, error) {
	if c.recvErr != nil {
		return nil, c.recvErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recv: %w", err)
	}
	finish := WakeOnDone(ctx, c.out.SetReadDeadline)
	line, err := c.nextLine()
	woke := finish()
	switch {
	case err == nil:
		return line, nil
	case woke && errors.Is(err, os.ErrDeadlineExceeded):
		// What was read of the line stays with the reader.
		return nil, fmt.Errorf("recv: %w", ctx.Err())
	}
	return nil, c.ended(ctx, err)
}

// nextLine reads the next message; one over the limit is dropped, not the
// connection.
func (c *pipeConn) nextLine() ([]byte, error) {
	for {
		line, err := c.lines.Next()
		var tooLarge *jsonrpc.TooLargeError
		if !errors.As(err, &tooLarge) {
			return line, err
		}
		c.logger.Warn("discarded oversized message from backend", "bytes", tooLarge.Size, "limit", c.limit)
	}
}

// ended is Recv's error once the backend's output has ended, or the pipe
// was closed under it: why the backend has gone, as the plugin says,
// waited for a moment since the output ends first.
func (c *pipeConn) ended(ctx context.Context, readErr error) error {
	select {
	case <-c.closing:
		c.recvErr = fmt.Errorf("%w: connection closed", ErrClosed)
		return c.recvErr
	default:
	}
	if c.broken.Load() {
		c.recvErr = fmt.Errorf("%w: %v", ErrClosed, errBroken)
		return c.recvErr
	}
	timer := time.NewTimer(goneWait)
	defer timer.Stop()
	select {
	case <-c.closing:
		c.recvErr = fmt.Errorf("%w: connection closed", ErrClosed)
	case <-c.gone:
		c.recvErr = c.goneErr
	case <-timer.C:
		if errors.Is(readErr, io.EOF) {
			c.recvErr = fmt.Errorf("%w: the backend closed its output but has not exited", ErrClosed)
		} else {
			c.recvErr = fmt.Errorf("%w: %v", ErrClosed, readErr)
		}
	case <-ctx.Done():
		// Not yet an end: the next Recv waits again.
		return fmt.Errorf("recv: %w", ctx.Err())
	}
	return c.recvErr
}

// Close closes the host's copies of the pipes first: the backend sees the
// end of its input only once every copy is closed, the plugin's last.
func (c *pipeConn) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closing)
		c.closePipes()
		var deadline int64
		if d, ok := ctx.Deadline(); ok {
			deadline = d.UnixNano()
		}
		_, err = c.client.Close(ctx, &pluginv1.CloseRequest{ConnId: c.id, DeadlineUnixNano: deadline})
		c.sock.Close()
		<-c.watched
	})
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
