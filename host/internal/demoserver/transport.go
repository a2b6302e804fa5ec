package demoserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// mcp-go's StdioServer keeps its session in a package-level singleton
// (writer, notification channel, pending server→client requests), so two
// concurrent Listen calls in one process, even on different MCPServers,
// overwrite each other's writer and steal each other's notifications and
// replies. ServeStream is a small newline-delimited JSON-RPC transport with
// per-call state instead, which makes one MCP session per TCP connection safe
// and lets tests run many sessions in parallel.

// ServeStream serves one MCP session of newline-delimited JSON-RPC read from r
// and written to w. sessionID must be unique among the sessions served by s at
// the same time. opts should be those s was built with. It returns nil when r
// reaches EOF or ctx is cancelled, after every request handler of the session
// has finished.
//
// A read blocked in r cannot be interrupted, so when ctx is cancelled the
// goroutine reading r lingers until r returns; callers serving a closable
// stream should close it on cancellation.
func ServeStream(ctx context.Context, s *server.MCPServer, sessionID string, r io.Reader, w io.Writer, opts ...Option) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	protocol := buildOptions(opts).protocol

	sess := &lineSession{
		id:            sessionID,
		w:             w,
		notifications: make(chan mcp.JSONRPCNotification, 256),
		pending:       make(map[int64]chan rpcReply),
		barrier:       make(chan chan struct{}),
		pumpDone:      make(chan struct{}),
	}
	if err := s.RegisterSession(ctx, sess); err != nil {
		return fmt.Errorf("register session %q: %w", sessionID, err)
	}
	defer s.UnregisterSession(context.WithoutCancel(ctx), sessionID)
	sctx := s.WithContext(ctx, sess)
	if versions := protocol.versions(); versions != nil {
		// What server/discover lists; mcp-go's default is every version.
		sctx = server.WithSupportedProtocolVersions(sctx, versions)
	}

	var handlers sync.WaitGroup
	handlers.Go(func() { sess.pumpNotifications(ctx) })

	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r)
		for {
			// ReadBytes rather than a Scanner: a line has no size limit, and
			// the bytes tool legitimately sends tens of megabytes.
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case e := <-readErr:
			if !errors.Is(e, io.EOF) && ctx.Err() == nil {
				err = fmt.Errorf("read: %w", e)
			}
			break loop
		case line := <-lines:
			sess.dispatch(sctx, s, protocol, line, &handlers)
		}
	}
	// Cancelling releases handlers waiting on the client (sampling, sleep),
	// which can no longer be answered.
	cancel()
	sess.failPending(errSessionClosed)
	handlers.Wait()
	return err
}

var errSessionClosed = errors.New("session closed")

type rpcReply struct {
	result json.RawMessage
	err    error
}

// lineSession is the per-connection server.ClientSession behind ServeStream.
type lineSession struct {
	id            string
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool
	logLevel      atomic.Value // mcp.LoggingLevel
	clientInfo    atomic.Value // mcp.Implementation
	clientCaps    atomic.Value // mcp.ClientCapabilities
	protocol      atomic.Value // string

	writeMu sync.Mutex
	w       io.Writer

	barrier  chan chan struct{}
	pumpDone chan struct{}

	nextID    atomic.Int64
	pendingMu sync.Mutex
	pending   map[int64]chan rpcReply
	closed    bool
}

var (
	_ server.ClientSession              = (*lineSession)(nil)
	_ server.SessionWithLogging         = (*lineSession)(nil)
	_ server.SessionWithClientInfo      = (*lineSession)(nil)
	_ server.SessionWithProtocolVersion = (*lineSession)(nil)
	_ server.SessionWithSampling        = (*lineSession)(nil)
	_ server.SessionWithElicitation     = (*lineSession)(nil)
	_ server.SessionWithRoots           = (*lineSession)(nil)
)

func (l *lineSession) SessionID() string { return l.id }

func (l *lineSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return l.notifications
}

func (l *lineSession) Initialize()       { l.initialized.Store(true) }
func (l *lineSession) Initialized() bool { return l.initialized.Load() }

func (l *lineSession) SetLogLevel(level mcp.LoggingLevel) { l.logLevel.Store(level) }

// GetLogLevel defaults to debug: a test backend should forward every log
// unless the client asked for less with logging/setLevel.
func (l *lineSession) GetLogLevel() mcp.LoggingLevel {
	if v, ok := l.logLevel.Load().(mcp.LoggingLevel); ok {
		return v
	}
	return mcp.LoggingLevelDebug
}

func (l *lineSession) GetClientInfo() mcp.Implementation {
	v, _ := l.clientInfo.Load().(mcp.Implementation)
	return v
}

func (l *lineSession) SetClientInfo(info mcp.Implementation) { l.clientInfo.Store(info) }

func (l *lineSession) GetClientCapabilities() mcp.ClientCapabilities {
	v, _ := l.clientCaps.Load().(mcp.ClientCapabilities)
	return v
}

func (l *lineSession) SetClientCapabilities(c mcp.ClientCapabilities) { l.clientCaps.Store(c) }

func (l *lineSession) ProtocolVersion() string {
	v, _ := l.protocol.Load().(string)
	return v
}

// SetProtocolVersion lets mcp-go record the version negotiated in initialize.
func (l *lineSession) SetProtocolVersion(v string) { l.protocol.Store(v) }

func (l *lineSession) RequestSampling(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	raw, err := l.call(ctx, string(mcp.MethodSamplingCreateMessage), req.CreateMessageParams)
	if err != nil {
		return nil, err
	}
	var result mcp.CreateMessageResult
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("decode sampling result: %w", err)
	}
	if content, err := mcp.ParseSamplingContent(result.Content); err == nil {
		result.Content = content
	}
	return &result, nil
}

func (l *lineSession) RequestElicitation(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	raw, err := l.call(ctx, string(mcp.MethodElicitationCreate), req.Params)
	if err != nil {
		return nil, err
	}
	var result mcp.ElicitationResult
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("decode elicitation result: %w", err)
	}
	return &result, nil
}

func (l *lineSession) ListRoots(ctx context.Context, _ mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	raw, err := l.call(ctx, string(mcp.MethodListRoots), nil)
	if err != nil {
		return nil, err
	}
	var result mcp.ListRootsResult
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("decode roots result: %w", err)
	}
	return &result, nil
}

// call sends a server→client request and waits for the client's reply.
func (l *lineSession) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := l.nextID.Add(1)
	ch := make(chan rpcReply, 1)
	l.pendingMu.Lock()
	if l.closed {
		l.pendingMu.Unlock()
		return nil, errSessionClosed
	}
	l.pending[id] = ch
	l.pendingMu.Unlock()
	defer func() {
		l.pendingMu.Lock()
		delete(l.pending, id)
		l.pendingMu.Unlock()
	}()

	msg := map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if err := l.write(msg); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		return r.result, r.err
	}
}

// failPending ends every outstanding server→client request with err and
// refuses new ones.
func (l *lineSession) failPending(err error) {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	l.closed = true
	for id, ch := range l.pending {
		ch <- rpcReply{err: err}
		delete(l.pending, id)
	}
}

// deliver routes a client's reply to the server→client request awaiting it.
func (l *lineSession) deliver(id json.RawMessage, result json.RawMessage, rpcErr *mcp.JSONRPCErrorDetails) {
	var n int64
	if err := json.Unmarshal(id, &n); err != nil {
		// Only ids this session issued, all integers, can match.
		return
	}
	l.pendingMu.Lock()
	ch, ok := l.pending[n]
	delete(l.pending, n)
	l.pendingMu.Unlock()
	if !ok {
		return
	}
	if rpcErr != nil {
		ch <- rpcReply{err: fmt.Errorf("client error %d: %s", rpcErr.Code, rpcErr.Message)}
		return
	}
	ch <- rpcReply{result: result}
}

// dispatch handles one incoming line. Requests run on their own goroutine so
// a long tool call never stalls the read loop, which must stay free to
// deliver replies to the server→client requests that call may be waiting on.
func (l *lineSession) dispatch(ctx context.Context, s *server.MCPServer, protocol Protocol, line []byte, handlers *sync.WaitGroup) {
	var head struct {
		ID     json.RawMessage          `json:"id"`
		Method string                   `json:"method"`
		Result json.RawMessage          `json:"result"`
		Error  *mcp.JSONRPCErrorDetails `json:"error"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		_ = l.write(mcp.NewJSONRPCError(mcp.NewRequestId(nil), mcp.PARSE_ERROR, "Parse error", nil))
		return
	}
	switch {
	case head.Method == "" && head.ID != nil && (head.Result != nil || head.Error != nil):
		l.deliver(head.ID, head.Result, head.Error)
	case head.ID == nil:
		// Notifications (initialized, cancelled) are handled in order and
		// inline, so a cancellation takes effect before later input is read.
		if resp := s.HandleMessage(ctx, line); resp != nil {
			_ = l.write(resp)
		}
	default:
		if ref := protocol.refuse(line); ref != nil {
			_ = l.write(ref.resp)
			return
		}
		handlers.Go(func() {
			if resp := s.HandleMessage(ctx, line); resp != nil {
				l.respond(resp)
			}
		})
	}
}

// pumpNotifications is the only receiver of the notification channel. A
// barrier request makes it write everything already queued and then
// acknowledge, which is how respond orders a handler's notifications before
// its result.
func (l *lineSession) pumpNotifications(ctx context.Context) {
	defer close(l.pumpDone)
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-l.notifications:
			_ = l.write(n)
		case ack := <-l.barrier:
			l.drainNotifications()
			close(ack)
		}
	}
}

func (l *lineSession) drainNotifications() {
	for {
		select {
		case n := <-l.notifications:
			_ = l.write(n)
		default:
			return
		}
	}
}

// respond writes a request's response after every notification the handler
// queued, so a client never sees progress for a call it already has the
// result of.
func (l *lineSession) respond(resp mcp.JSONRPCMessage) {
	ack := make(chan struct{})
	select {
	case l.barrier <- ack:
		<-ack
	case <-l.pumpDone:
	}
	_ = l.write(resp)
}

// write sends one message as a single line; writeMu keeps concurrent
// responses and notifications from interleaving.
func (l *lineSession) write(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	b = append(b, '\n')
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	_, err = l.w.Write(b)
	return err
}

// ServeTCP accepts connections on ln until ctx is cancelled, serving each as
// one MCP session of newline-delimited JSON-RPC. All connections share one
// server named name, so a tool added by one client is listed, with a
// list_changed notification, to the others. It closes ln and returns nil once
// ctx is cancelled and every connection has been closed.
func ServeTCP(ctx context.Context, ln net.Listener, name string, opts ...Option) error {
	return serveTCP(ctx, ln, New(name, opts...), opts...)
}

func serveTCP(ctx context.Context, ln net.Listener, s *server.MCPServer, opts ...Option) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var conns sync.WaitGroup
	defer conns.Wait()

	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()

	var seq atomic.Int64
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			_ = ln.Close()
			return fmt.Errorf("accept: %w", err)
		}
		id := fmt.Sprintf("tcp-%d-%s", seq.Add(1), conn.RemoteAddr())
		conns.Go(func() {
			defer conn.Close()
			// Closing the connection is the only way to unblock its reader.
			unblock := context.AfterFunc(ctx, func() { _ = conn.Close() })
			defer unblock()
			_ = ServeStream(ctx, s, id, conn, conn, opts...)
		})
	}
}

// ServeHTTP serves the streamable HTTP transport at /mcp on ln until ctx is
// cancelled, then shuts down and returns nil.
func ServeHTTP(ctx context.Context, ln net.Listener, name string, opts ...Option) error {
	protocol := buildOptions(opts).protocol
	// The transport's list is what server/discover reports, and what it
	// checks the version of a 2026-07-28 request against.
	streamable := server.NewStreamableHTTPServer(New(name, opts...),
		server.WithEndpointPath("/mcp"),
		server.WithStreamableHTTPProtocolVersions(protocol.versions()...))
	mux := http.NewServeMux()
	mux.Handle("/mcp", protocol.httpHandler(streamable))
	return serveHTTPUntilDone(ctx, ln, mux, func(ctx context.Context) { _ = streamable.Shutdown(ctx) })
}
