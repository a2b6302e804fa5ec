package transport

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// The data socket carries one connection's messages between host and plugin
// processes. gRPC stays the control plane (open, close, schema, ...); on the
// hot path a message costs one framed write and one read instead of an
// HTTP/2 + protobuf round through gRPC's writer goroutines.

const (
	frameMessage = 'M'
	frameClosed  = 'C'
	frameToken   = 'T'
	frameHeader  = 5
	// acceptTimeout bounds how long an opened connection waits for the host.
	acceptTimeout = 30 * time.Second
)

// writeFrame writes one frame; small frames go out in one write. It
// returns how many bytes of the frame were written: a frame cut short
// leaves the stream unusable.
func writeFrame(w io.Writer, kind byte, payload []byte) (int, error) {
	var hdr [frameHeader]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if len(payload) < 64<<10 {
		buf := make([]byte, 0, frameHeader+len(payload))
		buf = append(append(buf, hdr[:]...), payload...)
		return w.Write(buf)
	}
	n, err := w.Write(hdr[:])
	if err != nil {
		return n, err
	}
	m, err := w.Write(payload)
	return n + m, err
}

// frameReader reads frames of at most limit bytes. A read that fails
// mid-frame (a deadline that cancels a wait) keeps what it has read, and
// the next call resumes the same frame.
type frameReader struct {
	r     *bufio.Reader
	limit int
	hdr   [frameHeader]byte
	hdrN  int
	// payload is allocated once the header is complete; payN bytes of it
	// are read.
	payload []byte
	payN    int
}

func newFrameReader(r io.Reader, limit int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// next returns the next frame's kind and payload.
func (f *frameReader) next() (byte, []byte, error) {
	for f.hdrN < frameHeader {
		n, err := f.r.Read(f.hdr[f.hdrN:])
		f.hdrN += n
		if err != nil && f.hdrN < frameHeader {
			return 0, nil, midFrame(err, f.hdrN > 0)
		}
	}
	if f.payload == nil {
		n := binary.BigEndian.Uint32(f.hdr[1:])
		if int64(n) > int64(f.limit) {
			return 0, nil, fmt.Errorf("frame of %d bytes exceeds the limit of %d", n, f.limit)
		}
		f.payload = make([]byte, n)
	}
	for f.payN < len(f.payload) {
		n, err := f.r.Read(f.payload[f.payN:])
		f.payN += n
		if err != nil && f.payN < len(f.payload) {
			return 0, nil, midFrame(err, true)
		}
	}
	kind, payload := f.hdr[0], f.payload
	f.hdrN, f.payload, f.payN = 0, nil, 0
	return kind, payload, nil
}

// midFrame turns EOF inside a frame into ErrUnexpectedEOF.
func midFrame(err error, inFrame bool) error {
	if inFrame && errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// frameLimit is the largest frame accepted for messages of up to max bytes.
func frameLimit(max int) int {
	if max <= 0 {
		max = 64 << 20
	}
	return max + 64<<10
}

// listenData opens a one-shot Unix socket for conn in a private directory.
func listenData() (ln *net.UnixListener, path string, token []byte, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "mcphost-data-")
	if err != nil {
		return nil, "", nil, nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "s")
	ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		cleanup()
		return nil, "", nil, nil, err
	}
	token = make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		ln.Close()
		cleanup()
		return nil, "", nil, nil, err
	}
	return ln, path, token, cleanup, nil
}

// acceptHost accepts the host on ln, once, and checks its token. The
// returned reader reads the frames that follow.
func acceptHost(ln *net.UnixListener, cleanup func(), token []byte, maxBytes int) (*net.UnixConn, *frameReader, error) {
	_ = ln.SetDeadline(time.Now().Add(acceptTimeout))
	sock, err := ln.AcceptUnix()
	ln.Close()
	cleanup()
	if err != nil {
		return nil, nil, err
	}
	frames := newFrameReader(sock, 1024)
	kind, got, err := frames.next()
	if err != nil || kind != frameToken || subtle.ConstantTimeCompare(got, token) != 1 {
		sock.Close()
		return nil, nil, errors.New("data socket: bad token")
	}
	frames.limit = frameLimit(maxBytes)
	return sock, frames, nil
}

// serveData accepts the host on ln and pumps conn's messages both ways
// until the backend connection ends.
func serveData(ln *net.UnixListener, cleanup func(), token []byte, conn Conn, maxBytes int) {
	sock, frames, err := acceptHost(ln, cleanup, token, maxBytes)
	if err != nil {
		return
	}
	defer sock.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hostDone := make(chan struct{})
	defer func() { <-hostDone }()
	// hostGone is set when the host's side of the socket has ended;
	// sendFailure holds why the backend refused a message.
	var hostGone atomic.Bool
	var sendFailure atomic.Pointer[error]
	// Host → backend. When the host goes away, Recv below is cancelled.
	// Once a send has failed with ErrClosed the backend is gone or going,
	// and Recv will say why (an exit status, say) within goneWait, or be
	// cancelled; later messages are dropped rather than left to block the
	// host. Any other failure refused that one message only.
	go func() {
		defer close(hostDone)
		defer cancel()
		for {
			kind, msg, err := frames.next()
			if err != nil || kind != frameMessage {
				hostGone.Store(true)
				return
			}
			if sendFailure.Load() != nil {
				continue
			}
			if err := conn.Send(ctx, msg); errors.Is(err, ErrClosed) {
				sendFailure.Store(&err)
				giveUp := time.AfterFunc(goneWait, cancel)
				defer giveUp.Stop()
			}
		}
	}()
	// Backend → host; this loop is the socket's only writer.
	for {
		msg, err := conn.Recv(ctx)
		if err != nil {
			if !hostGone.Load() {
				if failure := sendFailure.Load(); ctx.Err() != nil && failure != nil {
					err = *failure
				}
				_, _ = writeFrame(sock, frameClosed, []byte(closedDetail(err)))
			}
			// The host → backend goroutine may be blocked reading the
			// socket or sending to a backend that stopped reading: both
			// end now.
			cancel()
			sock.Close()
			return
		}
		if _, err := writeFrame(sock, frameMessage, msg); err != nil {
			return
		}
	}
}

// socketConn is the host's side of a connection whose messages travel on a
// data socket.
type socketConn struct {
	id     string
	client pluginv1.TransportClient
	sock   net.Conn
	// frames is Recv's alone.
	frames *frameReader
	send   sendLock
	// broken is set once a send was cut short mid-frame: the stream is
	// out of step and the socket closed.
	broken atomic.Bool
	once   sync.Once
}

func dialData(ctx context.Context, id string, client pluginv1.TransportClient, path string, token []byte, maxBytes int) (*socketConn, error) {
	sock, err := dialHost(ctx, path, token)
	if err != nil {
		return nil, err
	}
	return &socketConn{id: id, client: client, sock: sock, frames: newFrameReader(sock, frameLimit(maxBytes)), send: newSendLock()}, nil
}

// dialHost connects to a plugin's data socket and presents the token.
func dialHost(ctx context.Context, path string, token []byte) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial data socket: %w", err)
	}
	sock := c.(*net.UnixConn)
	if _, err := writeFrame(sock, frameToken, token); err != nil {
		sock.Close()
		return nil, fmt.Errorf("data socket: %w", err)
	}
	return sock, nil
}

// errBroken is why a connection whose send was cut short mid-message
// refuses to go on.
var errBroken = errors.New("an earlier send was cut short mid-message")

func (c *socketConn) Send(ctx context.Context, msg []byte) error {
	if err := c.send.lock(ctx); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer c.send.unlock()
	if c.broken.Load() {
		return fmt.Errorf("send: %w: %v", ErrClosed, errBroken)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	finish := WakeOnDone(ctx, c.sock.SetWriteDeadline)
	n, err := writeFrame(c.sock, frameMessage, msg)
	woke := finish()
	switch {
	case err == nil:
		return nil
	case n == 0 && woke:
		return fmt.Errorf("send: %w", ctx.Err())
	case n > 0:
		// Half a frame cannot be taken back: end the connection, so that
		// Recv ends too and the host reconnects.
		c.broken.Store(true)
		c.sock.Close()
		if woke {
			err = ctx.Err() // the deadline that cut the write short was ctx's
		}
		return fmt.Errorf("send: %w: cut short mid-message: %w", ErrClosed, err)
	}
	return fmt.Errorf("send: %w: %v", ErrClosed, err)
}

func (c *socketConn) Recv(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recv: %w", err)
	}
	finish := WakeOnDone(ctx, c.sock.SetReadDeadline)
	kind, msg, err := c.frames.next()
	woke := finish()
	switch {
	case err == nil && kind == frameClosed:
		return nil, closedError(string(msg))
	case err == nil:
		return msg, nil
	case woke && errors.Is(err, os.ErrDeadlineExceeded):
		// What was read of the frame stays with the reader.
		return nil, fmt.Errorf("recv: %w", ctx.Err())
	case c.broken.Load():
		return nil, fmt.Errorf("%w: %v", ErrClosed, errBroken)
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: plugin data socket closed", ErrClosed)
	}
	return nil, fmt.Errorf("%w: %v", ErrClosed, err)
}

func (c *socketConn) Close(ctx context.Context) error {
	var err error
	c.once.Do(func() {
		var deadline int64
		if d, ok := ctx.Deadline(); ok {
			deadline = d.UnixNano()
		}
		_, err = c.client.Close(ctx, &pluginv1.CloseRequest{ConnId: c.id, DeadlineUnixNano: deadline})
		c.sock.Close()
	})
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
