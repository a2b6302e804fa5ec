package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/proto/pluginv1"
)

// GRPCPlugin is the go-plugin Plugin for the transport kind. On the plugin
// side Impl is served; on the host side the client is a *GRPCClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Transport
}

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBaseServer(s, &base.GRPCServer{Impl: p.Impl})
	pluginv1.RegisterTransportServer(s, NewGRPCServer(p.Impl))
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return NewGRPCClient(c), nil
}

// GRPCServer adapts a Transport to the generated Transport service.
type GRPCServer struct {
	pluginv1.UnimplementedTransportServer
	impl  Transport
	next  atomic.Uint64
	mu    sync.Mutex
	conns map[string]Conn
}

// NewGRPCServer serves impl over gRPC.
func NewGRPCServer(impl Transport) *GRPCServer {
	return &GRPCServer{impl: impl, conns: make(map[string]Conn)}
}

func (s *GRPCServer) Open(ctx context.Context, req *pluginv1.OpenRequest) (*pluginv1.OpenResponse, error) {
	r, err := s.impl.Open(ctx, OpenRequest{Name: req.GetName(), Config: req.GetConfigJson(), MaxMessageBytes: int(req.GetMaxMessageBytes()),
		HostEnv: req.GetHostEnv()})
	if err != nil {
		return nil, err
	}
	id := strconv.FormatUint(s.next.Add(1), 10)
	s.mu.Lock()
	s.conns[id] = r.Conn
	s.mu.Unlock()
	resp := &pluginv1.OpenResponse{ConnId: id}
	if !req.GetStreamOnly() {
		// Where a Unix socket can't be made, the host falls back to Stream.
		// The socket carries the messages, or, where the host can take
		// them and the connection can give them, the backend's pipes.
		if ln, path, token, cleanup, err := listenData(); err == nil {
			if pc, pipes, ok := handOver(ctx, req, r.Conn); ok {
				go servePipes(ln, cleanup, token, pc, pipes)
				resp.Pipes = true
			} else {
				go serveData(ln, cleanup, token, r.Conn, int(req.GetMaxMessageBytes()))
			}
			resp.DataSocket, resp.DataToken = path, token
		}
	}
	return resp, nil
}

func (s *GRPCServer) conn(id string) (Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[id]
	return c, ok
}

func (s *GRPCServer) Stream(stream pluginv1.Transport_StreamServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	conn, ok := s.conn(first.GetConnId())
	if !ok {
		return fmt.Errorf("unknown connection %q", first.GetConnId())
	}
	ctx := stream.Context()
	// Backend → host.
	done := make(chan error, 1)
	go func() {
		for {
			msg, err := conn.Recv(ctx)
			if err != nil {
				done <- stream.Send(&pluginv1.Frame{Event: "closed", Detail: closedDetail(err)})
				return
			}
			if err := stream.Send(&pluginv1.Frame{Data: msg}); err != nil {
				done <- err
				return
			}
		}
	}()
	// Host → backend.
	go func() {
		for {
			f, err := stream.Recv()
			if err != nil {
				return
			}
			if err := conn.Send(ctx, f.GetData()); err != nil {
				return
			}
		}
	}()
	return <-done
}

func (s *GRPCServer) Close(ctx context.Context, req *pluginv1.CloseRequest) (*pluginv1.CloseResponse, error) {
	s.mu.Lock()
	conn, ok := s.conns[req.GetConnId()]
	delete(s.conns, req.GetConnId())
	s.mu.Unlock()
	if !ok {
		return &pluginv1.CloseResponse{}, nil
	}
	if d := req.GetDeadlineUnixNano(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, d))
		defer cancel()
	}
	return &pluginv1.CloseResponse{}, conn.Close(ctx)
}

// GRPCClient is a Transport backed by a plugin process.
type GRPCClient struct {
	*base.GRPCClient
	client pluginv1.TransportClient
	// StreamOnly carries messages on the Stream RPC even when the plugin
	// offers a data socket (for tests of that path).
	StreamOnly bool
	// NoPipes carries messages on the data socket even when the plugin
	// could hand the backend's pipes over (for tests of that path).
	NoPipes bool
	// Logger gets the warnings of connections whose pipes the host reads
	// itself (an oversized message dropped); nil discards them.
	Logger hclog.Logger
}

// NewGRPCClient returns a Transport that calls the plugin on conn.
func NewGRPCClient(conn grpc.ClientConnInterface) *GRPCClient {
	return &GRPCClient{GRPCClient: base.NewGRPCClient(conn), client: pluginv1.NewTransportClient(conn)}
}

func (c *GRPCClient) Open(ctx context.Context, req OpenRequest) (OpenResponse, error) {
	r, err := c.client.Open(ctx, &pluginv1.OpenRequest{
		Name: req.Name, ConfigJson: req.Config, MaxMessageBytes: uint64(max(req.MaxMessageBytes, 0)), StreamOnly: c.StreamOnly,
		AcceptPipes: canPassPipes && !c.StreamOnly && !c.NoPipes, HostEnv: req.HostEnv,
	})
	if err != nil {
		return OpenResponse{}, fromStatus(err)
	}
	if r.GetDataSocket() != "" {
		var conn Conn
		if r.GetPipes() {
			logger := c.Logger
			if logger == nil {
				logger = hclog.NewNullLogger()
			}
			conn, err = dialPipes(ctx, r.GetConnId(), c.client, r.GetDataSocket(), r.GetDataToken(), req.MaxMessageBytes, logger.With("server", req.Name))
		} else {
			conn, err = dialData(ctx, r.GetConnId(), c.client, r.GetDataSocket(), r.GetDataToken(), req.MaxMessageBytes)
		}
		if err != nil {
			_, _ = c.client.Close(context.Background(), &pluginv1.CloseRequest{ConnId: r.GetConnId()})
			return OpenResponse{}, fmt.Errorf("open %s: %w", req.Name, err)
		}
		return OpenResponse{Conn: conn}, nil
	}
	// The stream lives as long as the connection, not as long as ctx.
	streamCtx, cancel := context.WithCancel(context.Background())
	stream, err := c.client.Stream(streamCtx)
	if err != nil {
		cancel()
		return OpenResponse{}, fmt.Errorf("open %s stream: %w", req.Name, err)
	}
	if err := stream.Send(&pluginv1.Frame{ConnId: r.GetConnId()}); err != nil {
		cancel()
		return OpenResponse{}, fmt.Errorf("open %s stream: %w", req.Name, err)
	}
	return OpenResponse{Conn: newGRPCConn(r.GetConnId(), c.client, stream, cancel)}, nil
}

// grpcConn is the host's side of a connection whose messages travel on the
// Stream RPC (the fallback when the plugin offers no data socket).
type grpcConn struct {
	id     string
	client pluginv1.TransportClient
	stream pluginv1.Transport_StreamClient
	// cancel ends the stream: on Close, and when a send is abandoned
	// mid-message, which leaves the stream unusable.
	cancel context.CancelFunc
	send   sendLock
	broken atomic.Bool
	// pending is the result of a stream read that a Recv gave up on when
	// its ctx ended; the next Recv takes it. Recv's alone. The goroutine
	// that fills it ends with the stream, which Close cancels.
	pending chan recvResult
}

type recvResult struct {
	frame *pluginv1.Frame
	err   error
}

func newGRPCConn(id string, client pluginv1.TransportClient, stream pluginv1.Transport_StreamClient, cancel context.CancelFunc) *grpcConn {
	return &grpcConn{id: id, client: client, stream: stream, cancel: cancel, send: newSendLock()}
}

func (c *grpcConn) Send(ctx context.Context, msg []byte) error {
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
	// A stream send blocked on flow control cannot see ctx: cancelling
	// the stream wakes it, and ends the connection, since the message may
	// have gone out in part.
	var mu sync.Mutex
	finished := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			c.broken.Store(true)
			c.cancel()
		}
	})
	err := c.stream.Send(&pluginv1.Frame{Data: msg})
	stop()
	mu.Lock()
	finished = true
	mu.Unlock()
	if err != nil {
		if c.broken.Load() {
			return fmt.Errorf("send: %w: abandoned mid-message: %w", ErrClosed, ctx.Err())
		}
		return fmt.Errorf("send: %w", closedErr(err))
	}
	return nil
}

func (c *grpcConn) Recv(ctx context.Context) ([]byte, error) {
	if c.pending == nil {
		if ctx.Done() == nil {
			return c.frame(c.stream.Recv())
		}
		// A stream read cannot see ctx, and cancelling the stream would
		// end the connection: the read goes on in a goroutine whose
		// result the next Recv takes if this one gives up.
		pending := make(chan recvResult, 1)
		go func() {
			f, err := c.stream.Recv()
			pending <- recvResult{f, err}
		}()
		c.pending = pending
	}
	select {
	case r := <-c.pending:
		c.pending = nil
		return c.frame(r.frame, r.err)
	case <-ctx.Done():
		return nil, fmt.Errorf("recv: %w", ctx.Err())
	}
}

func (c *grpcConn) frame(f *pluginv1.Frame, err error) ([]byte, error) {
	if err != nil {
		if c.broken.Load() {
			return nil, fmt.Errorf("%w: %v", ErrClosed, errBroken)
		}
		return nil, closedErr(err)
	}
	if f.GetEvent() != "" {
		return nil, closedError(f.GetDetail())
	}
	return f.GetData(), nil
}

func (c *grpcConn) Close(ctx context.Context) error {
	var deadline int64
	if d, ok := ctx.Deadline(); ok {
		deadline = d.UnixNano()
	}
	_, err := c.client.Close(ctx, &pluginv1.CloseRequest{ConnId: c.id, DeadlineUnixNano: deadline})
	c.cancel()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

func closedErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: plugin stream ended", ErrClosed)
	}
	return fmt.Errorf("%w: %v", ErrClosed, err)
}
