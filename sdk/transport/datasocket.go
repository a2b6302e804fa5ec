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

// writeFrame writes one frame; small frames go out in one write.
func writeFrame(w io.Writer, kind byte, payload []byte) error {
	var hdr [frameHeader]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if len(payload) < 64<<10 {
		buf := make([]byte, 0, frameHeader+len(payload))
		buf = append(append(buf, hdr[:]...), payload...)
		_, err := w.Write(buf)
		return err
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame of at most limit bytes.
func readFrame(r *bufio.Reader, limit int) (byte, []byte, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if int64(n) > int64(limit) {
		return 0, nil, fmt.Errorf("frame of %d bytes exceeds the limit of %d", n, limit)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
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

// serveData accepts the host on ln and pumps conn's messages both ways
// until the backend connection ends.
func serveData(ln *net.UnixListener, cleanup func(), token []byte, conn Conn, maxBytes int) {
	_ = ln.SetDeadline(time.Now().Add(acceptTimeout))
	sock, err := ln.AcceptUnix()
	ln.Close()
	cleanup()
	if err != nil {
		return
	}
	defer sock.Close()
	r := bufio.NewReaderSize(sock, 64<<10)
	kind, got, err := readFrame(r, 1024)
	if err != nil || kind != frameToken || subtle.ConstantTimeCompare(got, token) != 1 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Host → backend. When the host goes away, Recv below is cancelled.
	go func() {
		defer cancel()
		for {
			kind, msg, err := readFrame(r, frameLimit(maxBytes))
			if err != nil || kind != frameMessage {
				return
			}
			if err := conn.Send(ctx, msg); err != nil {
				return
			}
		}
	}()
	// Backend → host; this loop is the socket's only writer.
	for {
		msg, err := conn.Recv(ctx)
		if err != nil {
			_ = writeFrame(sock, frameClosed, []byte(closedDetail(err)))
			return
		}
		if err := writeFrame(sock, frameMessage, msg); err != nil {
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
	r      *bufio.Reader
	limit  int
	sendMu sync.Mutex
	once   sync.Once
}

func dialData(ctx context.Context, id string, client pluginv1.TransportClient, path string, token []byte, maxBytes int) (*socketConn, error) {
	var d net.Dialer
	sock, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial data socket: %w", err)
	}
	if err := writeFrame(sock, frameToken, token); err != nil {
		sock.Close()
		return nil, fmt.Errorf("data socket: %w", err)
	}
	return &socketConn{id: id, client: client, sock: sock, r: bufio.NewReaderSize(sock, 64<<10), limit: frameLimit(maxBytes)}, nil
}

func (c *socketConn) Send(_ context.Context, msg []byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if err := writeFrame(c.sock, frameMessage, msg); err != nil {
		return fmt.Errorf("send: %w: %v", ErrClosed, err)
	}
	return nil
}

func (c *socketConn) Recv(context.Context) ([]byte, error) {
	kind, msg, err := readFrame(c.r, c.limit)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: plugin data socket closed", ErrClosed)
		}
		return nil, fmt.Errorf("%w: %v", ErrClosed, err)
	}
	if kind == frameClosed {
		return nil, fmt.Errorf("%w: %s", ErrClosed, msg)
	}
	return msg, nil
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
