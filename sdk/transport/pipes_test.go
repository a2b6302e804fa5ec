//go:build linux

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 30 * time.Second

// echoBackend plays a stdio child: it answers each line on its input with
// the same line on its output, until its input ends or it echoes a
// request for the method "exit"; then it closes its output and "exits"
// with status.
type echoBackend struct {
	// The plugin's ends: the write end of the input, the read end of the
	// output.
	in, out *os.File
	status  string
	// exited is closed once the backend has stopped.
	exited chan struct{}
}

func startEchoBackend(t *testing.T, status string) *echoBackend {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{in: inW, out: outR, status: status, exited: make(chan struct{})}
	go func() {
		defer close(b.exited)
		defer inR.Close()
		defer outW.Close()
		lines := jsonrpc.NewLineReader(inR, 64<<20)
		for {
			line, err := lines.Next()
			if err != nil {
				return
			}
			if _, err := outW.Write(append(line, '\n')); err != nil {
				return
			}
			if bytes.Contains(line, []byte(`"method":"exit"`)) {
				return
			}
		}
	}()
	t.Cleanup(func() {
		b.in.Close()
		b.out.Close()
		<-b.exited
	})
	return b
}

// fakePipeConn is a plugin's PipeConn on an echoBackend; used as a plain
// Conn it reads and writes the pipes itself.
type fakePipeConn struct {
	b           *echoBackend
	lines       *jsonrpc.LineReader
	handOverErr error
	closeOnce   sync.Once
}

func newFakePipeConn(b *echoBackend) *fakePipeConn {
	return &fakePipeConn{b: b, lines: jsonrpc.NewLineReader(b.out, 64<<20)}
}

func (c *fakePipeConn) Send(_ context.Context, msg []byte) error {
	_, err := WriteLine(c.b.in, msg)
	return err
}

func (c *fakePipeConn) Recv(context.Context) ([]byte, error) {
	line, err := c.lines.Next()
	if err != nil {
		<-c.b.exited
		return nil, fmt.Errorf("%w: %s", ErrClosed, c.b.status)
	}
	return line, nil
}

func (c *fakePipeConn) Close(context.Context) error {
	c.closeOnce.Do(func() { c.b.in.Close() })
	return nil
}

func (c *fakePipeConn) HandOver(context.Context, HandOverRequest) (HandOverResponse, error) {
	if c.handOverErr != nil {
		return HandOverResponse{}, c.handOverErr
	}
	return HandOverResponse{In: c.b.in, Out: c.b.out}, nil
}

func (c *fakePipeConn) Wait(ctx context.Context) error {
	select {
	case <-c.b.exited:
		return fmt.Errorf("%w: %s", ErrClosed, c.b.status)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// plainConn hides the PipeConn methods of the Conn it holds.
type plainConn struct{ Conn }

// fakeTransport opens the connection conn returns.
type fakeTransport struct {
	base.Unimplemented
	conn func() Conn
}

func (f *fakeTransport) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "fake", Kind: base.KindTransport, Version: "0"}, nil
}

func (f *fakeTransport) Open(context.Context, OpenRequest) (OpenResponse, error) {
	return OpenResponse{Conn: f.conn()}, nil
}

// serveGRPC serves impl on a Unix socket and returns a client for it.
func serveGRPC(t *testing.T, impl Transport) *GRPCClient {
	t.Helper()
	dir, err := os.MkdirTemp("", "tr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "grpc")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pluginv1.RegisterTransportServer(srv, NewGRPCServer(impl))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	cc, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		srv.Stop()
		<-served
	})
	return NewGRPCClient(cc)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenNegotiatesThePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// conn builds the plugin's connection on b.
		conn func(b *echoBackend) Conn
		// host sets up the host's client.
		host func(c *GRPCClient)
		want string
	}{
		{"pipes handed over", func(b *echoBackend) Conn { return newFakePipeConn(b) }, func(*GRPCClient) {}, "*transport.pipeConn"},
		{"host does not ask", func(b *echoBackend) Conn { return newFakePipeConn(b) }, func(c *GRPCClient) { c.NoPipes = true }, "*transport.socketConn"},
		{"conn cannot hand over", func(b *echoBackend) Conn { return plainConn{newFakePipeConn(b)} }, func(*GRPCClient) {}, "*transport.socketConn"},
		{"hand-over refused", func(b *echoBackend) Conn {
			c := newFakePipeConn(b)
			c.handOverErr = errors.New("not now")
			return c
		}, func(*GRPCClient) {}, "*transport.socketConn"},
		{"stream only", func(b *echoBackend) Conn { return newFakePipeConn(b) }, func(c *GRPCClient) { c.StreamOnly = true }, "*transport.grpcConn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startEchoBackend(t, "exit status 0")
			client := serveGRPC(t, &fakeTransport{conn: func() Conn { return tt.conn(b) }})
			tt.host(client)
			ctx := ctxTimeout(t)
			r, err := client.Open(ctx, OpenRequest{Name: "fake"})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", r.Conn); got != tt.want {
				t.Errorf("connection is a %s, want a %s", got, tt.want)
			}
			if tt.want == "*transport.pipeConn" {
				// Passed on, the handed-over files are closed, so that the
				// plugin's poller no longer watches the pipes.
				poll.Within(t, testTimeout, "both pipes closed", func() bool { return isClosed(b.in) && isClosed(b.out) })
			}
			for i := range 3 {
				msg := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"x"}`, i))
				if err := r.Conn.Send(ctx, msg); err != nil {
					t.Fatal(err)
				}
				got, err := r.Conn.Recv(ctx)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("Recv = %s, %v; want %s", got, err, msg)
				}
			}
			if err := r.Conn.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// The host closed its copies, the plugin its own: the backend
			// sees the end of its input.
			select {
			case <-b.exited:
			case <-ctx.Done():
				t.Fatal("the backend did not see the end of its input after Close")
			}
		})
	}
}

// isClosed reports whether f has been closed.
func isClosed(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	return rc.Control(func(uintptr) {}) != nil
}

// pluginSide plays the plugin's end of a data socket that hands pipes
// over, so that a test can end it as it likes.
type pluginSide struct {
	sock *net.UnixConn
	b    *echoBackend
}

// handOverByHand opens a pipe connection from the host to a plugin side
// played by the test, handing over the pipes of an echo backend.
func handOverByHand(t *testing.T, status string, maxBytes int, logger hclog.Logger) (*pipeConn, *pluginSide) {
	t.Helper()
	b := startEchoBackend(t, status)
	c, sock := handOverPipes(t, b.in, b.out, maxBytes, logger)
	return c, &pluginSide{sock: sock, b: b}
}

// handOverPipes opens a pipe connection from the host to a plugin side
// played by the test, handing over in and out.
func handOverPipes(t *testing.T, in, out *os.File, maxBytes int, logger hclog.Logger) (*pipeConn, *net.UnixConn) {
	t.Helper()
	ln, path, token, cleanup, err := listenData()
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *net.UnixConn, 1)
	go func() {
		sock, _, err := acceptHost(ln, cleanup, token, 0)
		if err != nil {
			accepted <- nil
			return
		}
		if err := sendPipes(sock, in, out); err != nil {
			sock.Close()
			accepted <- nil
			return
		}
		accepted <- sock
	}()
	c, err := dialPipes(ctxTimeout(t), "1", closeOnlyClient{}, path, token, maxBytes, logger)
	if err != nil {
		t.Fatal(err)
	}
	sock := <-accepted
	if sock == nil {
		t.Fatal("plugin side failed")
	}
	t.Cleanup(func() {
		_ = c.Close(context.Background())
		sock.Close()
	})
	return c, sock
}

// closeOnlyClient answers Close; the host calls nothing else on a pipe
// connection.
type closeOnlyClient struct{ pluginv1.TransportClient }

func (closeOnlyClient) Close(context.Context, *pluginv1.CloseRequest, ...grpc.CallOption) (*pluginv1.CloseResponse, error) {
	return &pluginv1.CloseResponse{}, nil
}

func TestPipeConnReportsTheExitStatus(t *testing.T) {
	t.Parallel()
	c, p := handOverByHand(t, "exit status 3", 0, hclog.NewNullLogger())
	ctx := ctxTimeout(t)
	msg := []byte(`{"jsonrpc":"2.0","method":"exit"}`)
	if err := c.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	// The backend exits, then the plugin says why.
	<-p.b.exited
	if _, err := writeFrame(p.sock, frameClosed, []byte("exit status 3")); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Recv(ctx); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Recv = %s, %v; want the message written before the exit", got, err)
	}
	_, err := c.Recv(ctx)
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Recv = %v, want ErrClosed with the exit status", err)
	}
	if _, again := c.Recv(ctx); fmt.Sprint(again) != fmt.Sprint(err) {
		t.Fatalf("second Recv = %v, want %v again", again, err)
	}
}

func TestPipeConnEndsWhenThePluginDies(t *testing.T) {
	t.Parallel()
	c, p := handOverByHand(t, "killed", 0, hclog.NewNullLogger())
	ctx := ctxTimeout(t)
	recvErr := make(chan error, 1)
	go func() {
		_, err := c.Recv(ctx)
		recvErr <- err
	}()
	// The plugin process dies: its socket and its copies of the pipes
	// close, with no word. A descendant of the backend still holds the
	// backend's ends, so only the host closing its copies ends Recv.
	p.sock.Close()
	p.b.in.Close()
	p.b.out.Close()
	select {
	case err := <-recvErr:
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "plugin") {
			t.Fatalf("Recv = %v, want ErrClosed naming the plugin", err)
		}
	case <-ctx.Done():
		t.Fatal("Recv did not end after the plugin died")
	}
	// The backend's descendant sees the end of its input.
	select {
	case <-p.b.exited:
	case <-ctx.Done():
		t.Fatal("the backend still has an open input after the plugin died")
	}
	if err := c.Send(ctx, []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after the plugin died = %v, want ErrClosed", err)
	}
}

func TestPipeConnDropsAnOversizedMessage(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	c, _ := handOverByHand(t, "exit status 0", 1000, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}))
	ctx := ctxTimeout(t)
	// Sent raw, past Send's own limit: the backend echoes it back.
	big := []byte(`{"jsonrpc":"2.0","method":"big","params":"` + strings.Repeat("x", 5000) + `"}`)
	if _, err := WriteLine(c.in, big); err != nil {
		t.Fatal(err)
	}
	small := []byte(`{"jsonrpc":"2.0","method":"small"}`)
	if err := c.Send(ctx, small); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Recv(ctx); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("Recv = %.100s, %v; want the small message after the big one was dropped", got, err)
	}
	if !strings.Contains(logs.String(), "oversized") {
		t.Errorf("no warning about the dropped message; logs:\n%s", logs.String())
	}
	if err := c.Send(ctx, big); err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("Send of an oversized message = %v, want a refusal that leaves the connection open", err)
	}
}

func TestPipeConnSendCutShort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// room is how much the backend's input pipe takes before Send
		// blocks.
		room int
		// broken says the connection ends: part of the line went out.
		broken bool
	}{
		{"before any of the line went out", 0, false},
		// Whole pages: a large write only takes free pages of a pipe.
		{"mid-line", 2 << 12, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A backend that never reads its input.
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, f := range []*os.File{inR, inW, outR, outW} {
					f.Close()
				}
			}()
			c, _ := handOverPipes(t, inW, outR, 16<<20, hclog.NewNullLogger())
			capacity := fillPipe(t, inW, tt.room)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sent := make(chan error, 1)
			go func() { sent <- c.Send(ctx, bytes.Repeat([]byte("x"), 1<<20)) }()
			// Once the pipe is full the Send is blocked, with room bytes of
			// the line out.
			poll.Within(t, testTimeout, "the pipe full", func() bool { return pipeBuffered(t, inR) == capacity })
			cancel()
			var sendErr error
			select {
			case sendErr = <-sent:
			case <-time.After(testTimeout):
				t.Fatal("Send did not return after its ctx was cancelled")
			}
			ctx2 := ctxTimeout(t)
			if !tt.broken {
				if !errors.Is(sendErr, context.Canceled) || errors.Is(sendErr, ErrClosed) {
					t.Fatalf("Send = %v, want ctx's error alone", sendErr)
				}
				// The connection goes on: make room, and a message passes.
				drained := make([]byte, capacity)
				if _, err := io.ReadFull(inR, drained); err != nil {
					t.Fatal(err)
				}
				if err := c.Send(ctx2, []byte(`{"after":1}`)); err != nil {
					t.Fatalf("Send after a cancelled one = %v", err)
				}
				return
			}
			if !errors.Is(sendErr, ErrClosed) {
				t.Fatalf("Send = %v, want ErrClosed for a line cut short", sendErr)
			}
			if err := c.Send(ctx2, []byte(`{}`)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after a cut-short one = %v, want ErrClosed", err)
			}
			if _, err := c.Recv(ctx2); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv after a cut-short Send = %v, want ErrClosed", err)
			}
		})
	}
}

// fillPipe writes to w until its pipe holds all but room bytes, and
// returns the pipe's capacity.
func fillPipe(t *testing.T, w *os.File, room int) int {
	t.Helper()
	capacity, err := unixPipeSize(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, capacity-room)); err != nil {
		t.Fatal(err)
	}
	return capacity
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// TestPipeConnLeaksNothing opens, uses and closes pipe connections: the
// host's copies, the socket and every goroutine must go. Not parallel: it
// counts the process's descriptors.
func TestPipeConnLeaksNothing(t *testing.T) {
	for _, end := range []string{"close", "backend exits", "plugin dies"} {
		t.Run(end, func(t *testing.T) {
			before := openFDs(t)
			for range 5 {
				func() {
					c, p := handOverByHand(t, "exit status 0", 0, hclog.NewNullLogger())
					ctx := ctxTimeout(t)
					if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","method":"x"}`)); err != nil {
						t.Fatal(err)
					}
					if _, err := c.Recv(ctx); err != nil {
						t.Fatal(err)
					}
					switch end {
					case "backend exits":
						if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","method":"exit"}`)); err != nil {
							t.Fatal(err)
						}
						if _, err := c.Recv(ctx); err != nil {
							t.Fatal(err)
						}
						<-p.b.exited
						_, _ = writeFrame(p.sock, frameClosed, []byte("exit status 0"))
						if _, err := c.Recv(ctx); !errors.Is(err, ErrClosed) {
							t.Fatalf("Recv = %v, want ErrClosed", err)
						}
					case "plugin dies":
						p.sock.Close()
						if _, err := c.Recv(ctx); !errors.Is(err, ErrClosed) {
							t.Fatalf("Recv = %v, want ErrClosed", err)
						}
					}
					if err := c.Close(ctx); err != nil {
						t.Fatal(err)
					}
					p.sock.Close()
					p.b.in.Close()
					p.b.out.Close()
					<-p.b.exited
					select {
					case <-c.watched:
					default:
						t.Fatal("the socket watcher still runs after Close")
					}
				}()
			}
			if after := openFDs(t); after > before {
				t.Errorf("%d open descriptors before, %d after", before, after)
			}
		})
	}
}
