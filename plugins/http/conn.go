package httptransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// deleteTimeout bounds the DELETE that ends a session on Close.
const deleteTimeout = 2 * time.Second

// errorBodyLimit bounds how much of an HTTP error response is read.
const errorBodyLimit = 64 << 10

// queueSize is how many received messages wait for Recv before the
// readers block.
const queueSize = 256

// conn is one backend connection, in one of the two HTTP transports. In auto
// mode it starts undecided and settles on one with its first message.
type conn struct {
	o      options
	client *http.Client
	limit  int
	logger hclog.Logger
	m      connMetrics
	forget func(*conn)

	// ctx lives until the connection ends; every request hangs off it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// in carries received messages to Recv. done is closed when the
	// connection ends, after err (wrapping transport.ErrClosed) is set.
	in      chan []byte
	done    chan struct{}
	endOnce sync.Once
	err     error
	// closed is closed by Close: from then on Recv drops what is queued.
	closed    chan struct{}
	closeOnce sync.Once

	mu sync.Mutex
	// closing stops new requests from starting once Close has begun.
	closing bool
	// mode is ModeStreamable or ModeSSE, or ModeAuto until decided is
	// closed; detecting is set once the first message that can decide it
	// has gone out.
	mode       string
	detecting  bool
	decided    chan struct{}
	decideOnce sync.Once
	// Streamable HTTP session state.
	sessionID       string
	protocolVersion string
	streamStarted   bool
	// streamWait is made when the initialized notification goes out and
	// closed (streamWaitDone) once the GET stream has been answered or
	// will not be opened; see awaitStream.
	streamWait     chan struct{}
	streamWaitDone bool
	// resuming are the requests of the initialize era whose answer is
	// an event stream, which may need resuming, by JSON-RPC id; see
	// resume.
	resuming map[string]*resumption
	// endpoint is where a legacy connection POSTs.
	endpoint *url.URL
	// modern is set once the backend has accepted a 2026-07-28 request.
	modern bool
	// inflight are the modern requests still waiting for their answer, by
	// JSON-RPC id.
	inflight map[string]*inflight
	// toolHeaders are the x-mcp-header parameters of the backend's tools,
	// learned from its modern tools/list answers.
	toolHeaders map[string][]paramBinding
}

func newConn(o options, client *http.Client, limit int, logger hclog.Logger, m connMetrics, forget func(*conn)) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		o: o, client: client, limit: limit, logger: logger, m: m, forget: forget,
		ctx: ctx, cancel: cancel,
		in: make(chan []byte, queueSize), done: make(chan struct{}), closed: make(chan struct{}),
		mode: o.Mode, decided: make(chan struct{}),
		inflight: map[string]*inflight{}, toolHeaders: map[string][]paramBinding{},
		resuming: map[string]*resumption{},
	}
	if o.Mode != ModeAuto {
		c.settle("")
	}
	m.Open.Inc()
	return c
}

// abort releases a connection whose Open failed.
func (c *conn) abort() {
	c.end(fmt.Errorf("%w: open failed", transport.ErrClosed))
	c.wg.Wait()
	c.client.CloseIdleConnections()
	c.m.Open.Dec()
}

// end ends the connection with err, which wraps transport.ErrClosed, and
// stops every request. Only the first call counts.
func (c *conn) end(err error) bool {
	return c.endWith(err, nil)
}

// endWith is end, running first (if it is the first call) before anyone
// can see the end: whatever first records is there once Recv fails.
func (c *conn) endWith(err error, first func()) bool {
	ended := false
	c.endOnce.Do(func() {
		ended = true
		if first != nil {
			first()
		}
		c.err = err
		close(c.done)
		c.cancel()
	})
	return ended
}

// expire ends the connection because the server no longer knows its
// session, so that the host initializes a new one.
func (c *conn) expire() {
	c.endWith(fmt.Errorf("%w: session expired", transport.ErrClosed), func() {
		c.m.sessionsExpired.Inc()
		c.logger.Info("session expired; ending the connection")
	})
}

// goAsync runs f in a tracked goroutine, unless the connection is closing.
func (c *conn) goAsync(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

func (c *conn) closedErr() error {
	select {
	case <-c.done:
		return c.err
	default:
		return fmt.Errorf("%w: connection is closing", transport.ErrClosed)
	}
}

// deliver queues one received message for Recv.
func (c *conn) deliver(msg []byte) {
	select {
	case c.in <- msg:
		c.m.MsgsIn.Inc()
		c.m.BytesIn.Add(len(msg))
	case <-c.done:
	}
}

// deliverBody queues a JSON body, which is one message or a batch of them.
func (c *conn) deliverBody(body []byte, each func([]byte)) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return
	}
	if body[0] != '[' {
		if each != nil {
			each(body)
		}
		c.deliver(body)
		return
	}
	if !gjson.ValidBytes(body) {
		c.logger.Warn("dropping malformed batch from backend", "bytes", len(body))
		return
	}
	gjson.ParseBytes(body).ForEach(func(_, v gjson.Result) bool {
		msg := []byte(v.Raw)
		if each != nil {
			each(msg)
		}
		c.deliver(msg)
		return true
	})
}

// Recv returns the next message from the backend.
func (c *conn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case <-c.closed:
		return nil, c.err
	default:
	}
	select {
	case msg := <-c.in:
		return msg, nil
	default:
	}
	select {
	case msg := <-c.in:
		return msg, nil
	case <-c.done:
		// What arrived before the end is still the backend's to say,
		// unless the host itself closed the connection.
		select {
		case <-c.closed:
		case msg := <-c.in:
			return msg, nil
		default:
		}
		return nil, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errRequestTimeout replaces the error of a request that ran out of
// request_timeout, as opposed to one that could not reach the server.
var errRequestTimeout = errors.New("request timed out")

// sent is one message on its way to the backend.
type sent struct {
	msg []byte
	env jsonrpc.Envelope
	// session is the Mcp-Session-Id the request carried, if any.
	session string
	// modern is the protocol version of a 2026-07-28 (or later) request,
	// "" for a message of the legacy era.
	modern string
	// streamed is set when the answer comes on the POST's own response
	// (Streamable HTTP), which closing cancels; on HTTP+SSE it comes on the
	// event stream.
	streamed bool
	// flight is set for a modern, streamed request while its answer is
	// coming.
	flight *inflight
}

func (s sent) isRequest() bool { return s.env.Kind == jsonrpc.KindRequest }

// Send POSTs msg. It returns once the request is written (or after at most
// connect_timeout), never waiting for the answer, which the request's
// goroutine delivers to Recv. The cancellation of a 2026-07-28 request is
// not sent: it closes that request's stream instead.
func (c *conn) Send(ctx context.Context, msg []byte) error {
	msg, err := transport.PrepareSend(msg, c.limit)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return fmt.Errorf("send: %w", c.closedErr())
	default:
	}
	env, _ := jsonrpc.Peek(msg)
	s := sent{msg: msg, env: env}
	switch {
	case env.Kind == jsonrpc.KindRequest:
		s.modern = modernVersion(msg)
	case env.Kind == jsonrpc.KindNotification && env.Method == methodCancelled:
		// A request of the initialize era is cancelled by this
		// notification, which goes on to the server; the resumption of
		// its stream, if any, ends here.
		c.stopResume(jsonrpc.Get(msg, "params.requestId"))
		if c.cancelModern(msg) {
			return nil
		}
	}

	c.mu.Lock()
	mode := c.mode
	// The host probes every backend with server/discover (or another
	// request of the 2026-07-28 era) before it falls back to initialize. A
	// legacy Streamable HTTP server may well refuse that probe with an HTTP
	// error, and an HTTP+SSE one surely does, so a probe does not decide
	// the transport unless it succeeds: the first message of the legacy era
	// does.
	probe := mode == ModeAuto && (s.modern != "" || env.Method == methodDiscover)
	first := mode == ModeAuto && !probe && !c.detecting
	if first {
		c.detecting = true
	}
	c.mu.Unlock()
	if mode == ModeAuto && !probe && !first {
		select {
		case <-c.decided:
		case <-c.done:
			return fmt.Errorf("send: %w", c.closedErr())
		case <-ctx.Done():
			return fmt.Errorf("send: %w", ctx.Err())
		}
		c.mu.Lock()
		mode = c.mode
		c.mu.Unlock()
	}
	if mode == ModeStreamable && s.modern == "" && !probe && !first {
		if env.Kind == jsonrpc.KindNotification && env.Method == "notifications/initialized" {
			c.expectStream()
		} else if err := c.awaitStream(ctx); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	var req *http.Request
	var handle func(sent, *http.Response, error)
	switch {
	case probe:
		req, s.session = c.streamableRequest(http.MethodPost, s)
		handle, s.streamed = c.handleProbe, true
	case first:
		req, s.session = c.streamableRequest(http.MethodPost, s)
		handle, s.streamed = c.handleDetect, true
	case mode == ModeSSE:
		req = c.legacyRequest(msg)
		handle = c.handleLegacy
	default:
		req, s.session = c.streamableRequest(http.MethodPost, s)
		handle, s.streamed = c.handleStreamable, true
	}
	if err := c.post(ctx, req, s, handle); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	c.m.MsgsOut.Inc()
	c.m.BytesOut.Add(len(msg))
	return nil
}

// post starts req in its own goroutine, which passes the outcome to handle,
// and waits until the request is written.
func (c *conn) post(ctx context.Context, req *http.Request, s sent, handle func(sent, *http.Response, error)) error {
	rctx, rcancel := context.WithCancel(c.ctx)
	// A subscriptions/listen stream is meant to stay open until it is
	// cancelled; request_timeout would cut it.
	if c.o.requestTimeout > 0 && s.env.Method != methodListen {
		var stop context.CancelFunc
		rctx, stop = context.WithTimeout(rctx, c.o.requestTimeout)
		cancel := rcancel
		rcancel = func() { stop(); cancel() }
	}
	if s.modern != "" && s.streamed && s.isRequest() {
		s.flight = c.track(s, rcancel)
	}
	written := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(written) }) }}
	req = req.WithContext(httptrace.WithClientTrace(rctx, trace))
	returned := make(chan struct{})
	started := c.goAsync(func() {
		defer rcancel()
		if s.flight != nil {
			defer c.untrack(s, s.flight)
		}
		resp, err := c.client.Do(req)
		close(returned)
		if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) && c.ctx.Err() == nil {
			err = errRequestTimeout
		}
		if err == nil {
			defer resp.Body.Close()
		}
		handle(s, resp, err)
	})
	if !started {
		if s.flight != nil {
			c.untrack(s, s.flight)
		}
		rcancel()
		return c.closedErr()
	}
	timer := time.NewTimer(c.o.connectTimeout)
	defer timer.Stop()
	select {
	case <-written:
	case <-returned:
	case <-timer.C:
	case <-c.done:
	case <-ctx.Done():
	}
	return nil
}

// setHeaders adds the configured headers (and bearer token) to req.
func (c *conn) setHeaders(req *http.Request) {
	for k, v := range c.o.header {
		req.Header[k] = v
	}
}

// streamableRequest builds a Streamable HTTP request to the MCP endpoint,
// returning the session id it carries. s is the message a POST carries.
func (c *conn) streamableRequest(method string, s sent) (*http.Request, string) {
	var r io.Reader
	if s.msg != nil {
		r = bytes.NewReader(s.msg)
	}
	req, _ := http.NewRequestWithContext(c.ctx, method, c.o.url.String(), r)
	c.setHeaders(req)
	switch method {
	case http.MethodPost:
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	case http.MethodGet:
		req.Header.Set("Accept", "text/event-stream")
	}
	if s.modern != "" {
		// A modern request belongs to no session, and its version is its
		// own, not the one a legacy initialize negotiated.
		c.setModernHeaders(req, s)
		return req, ""
	}
	c.mu.Lock()
	sid, pv := c.sessionID, c.protocolVersion
	c.mu.Unlock()
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if pv != "" {
		req.Header.Set("MCP-Protocol-Version", pv)
	}
	return req, sid
}

// legacyRequest builds a POST of msg to a legacy server's endpoint.
func (c *conn) legacyRequest(msg []byte) *http.Request {
	c.mu.Lock()
	endpoint := c.endpoint
	c.mu.Unlock()
	req, _ := http.NewRequestWithContext(c.ctx, http.MethodPost, endpoint.String(), bytes.NewReader(msg))
	c.setHeaders(req)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// fail answers request s with a JSON-RPC error, so that the caller fails
// fast instead of waiting for an answer that will never come.
func (c *conn) fail(s sent, code int, text string, data any) {
	if s.cancelled() {
		return // the host gave up on the answer
	}
	if !s.isRequest() {
		c.logger.Warn("backend did not accept a message", "kind", s.env.Kind.String(), "method", s.env.Method, "error", text)
		return
	}
	c.deliver(jsonrpc.Error(s.env.ID, code, text, data))
}

// requestFailed handles a request that got no HTTP response at all.
func (c *conn) requestFailed(s sent, err error) {
	if c.ctx.Err() != nil || s.cancelled() {
		return // the connection is ending, or the host gave up on the answer
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message holds the URL, which may hold secrets
	}
	c.m.httpErrors.Inc()
	if nle, ok := errors.AsType[*oauth.NeedsLoginError](err); ok {
		// The host tells this close from others by its words, and waits
		// for a sign-in instead of restarting.
		c.m.signInsRequired.Inc()
		c.logger.Warn("backend needs a sign-in; ending the connection", "reason", nle.Reason)
		c.end(fmt.Errorf("%w: %w", transport.ErrClosed, nle))
		return
	}
	if errors.Is(err, errRequestTimeout) {
		c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend did not answer within request_timeout (%s)", c.o.requestTimeout), nil)
		return
	}
	c.logger.Warn("backend unreachable; ending the connection", "error", err)
	c.end(fmt.Errorf("%w: %s", transport.ErrClosed, unreachable(err, c.o.url)))
}

// unreachable says why a server could not be reached, in plain words,
// with its URL (scheme, host and path only: user info and query may hold
// secrets): "connection refused (http://127.0.0.1:9/mcp)".
func unreachable(err error, u *url.URL) string {
	where := ""
	if u != nil {
		where = " (" + u.Scheme + "://" + u.Host + u.Path + ")"
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused" + where
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset" + where
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable" + where
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("host %q not found%s", dnsErr.Name, where)
	case errors.As(err, &opErr) && opErr.Timeout():
		return "no answer from the server in time" + where
	case errors.As(err, &opErr) && opErr.Err != nil:
		return opErr.Err.Error() + where
	}
	return "unreachable" + where + ": " + err.Error()
}

// httpError answers request s after an HTTP error status.
func (c *conn) httpError(s sent, resp *http.Response) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	c.httpErrorBody(s, resp, body)
}

// httpErrorBody is httpError once the body has been read. A JSON-RPC error
// in the body is the server's answer to the request, and is passed on as it
// is, under the request's id (servers often cannot tell it and say null):
// its code matters to the host, which tells a 2026-07-28 server by the
// errors it refuses a request with (-32020 to -32022 among them). Any other
// error becomes -32000 with the HTTP status. Either way only this request
// fails, not the connection.
func (c *conn) httpErrorBody(s sent, resp *http.Response, body []byte) {
	c.m.httpErrors.Inc()
	if rpcErr := jsonrpcError(body); rpcErr != nil && s.isRequest() && !s.cancelled() {
		c.deliver(errorResponse(s.env.ID, rpcErr))
		return
	}
	text := "backend answered HTTP " + resp.Status
	if msg, ok := jsonrpc.GetString(body, "error.message"); ok && msg != "" {
		text += ": " + msg
	}
	c.fail(s, jsonrpc.CodeBackendUnavailable, text, map[string]int{"status": resp.StatusCode})
}

// jsonrpcError returns the error object of a body that is one JSON-RPC
// error response, or nil.
func jsonrpcError(body []byte) []byte {
	env, err := jsonrpc.Peek(body)
	if err != nil || env.Kind != jsonrpc.KindResponse || !env.IsError {
		return nil
	}
	e := jsonrpc.Get(body, "error")
	if gjson.GetBytes(e, "code").Type != gjson.Number {
		return nil
	}
	// The body's object may span lines; a message goes to the host on one.
	compact, err := jsonrpc.Compact(e)
	if err != nil {
		return nil
	}
	return compact
}

// errorResponse is a JSON-RPC error response carrying an error object as is.
func errorResponse(id, rpcErr []byte) []byte {
	b := make([]byte, 0, 36+len(id)+len(rpcErr))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":`...)
	b = append(b, rpcErr...)
	return append(b, '}')
}

// readBody reads a JSON body of at most limit bytes.
func (c *conn) readBody(s sent, r io.Reader) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r, int64(c.limit)+1))
	switch {
	case len(body) > c.limit:
		c.logger.Warn("discarded oversized message from backend", "limit", c.limit)
		c.fail(s, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("backend's answer exceeds the %d byte message limit", c.limit), nil)
		return nil, false
	case err != nil:
		if c.ctx.Err() == nil {
			c.fail(s, jsonrpc.CodeBackendUnavailable, "reading the backend's answer: "+err.Error(), nil)
		}
		return nil, false
	}
	return body, true
}

// mediaType is the response's content type without parameters.
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// handleDetect handles the first POST of an auto connection: a 400, 404 or
// 405 without a JSON-RPC error body means a legacy HTTP+SSE server, so the
// connection falls back to it and resends the message there.
func (c *conn) handleDetect(s sent, resp *http.Response, err error) {
	if err == nil {
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
			if env, perr := jsonrpc.Peek(body); perr != nil || !env.IsError {
				c.fallback(s, resp.Status)
				return
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	c.settle(ModeStreamable)
	c.handleStreamable(s, resp, err)
}

// handleProbe handles a request of the 2026-07-28 era while an auto
// connection is undecided. Only a success settles the transport: a server
// that serves the request speaks Streamable HTTP. A failure is the answer
// to the request, and leaves the decision to the next message.
func (c *conn) handleProbe(s sent, resp *http.Response, err error) {
	if err == nil && resp.StatusCode/100 == 2 {
		c.settle(ModeStreamable)
	}
	c.handleStreamable(s, resp, err)
}

// settle ends an auto connection's detection with mode, or, with "", leaves
// the mode as it is; only the first call counts.
func (c *conn) settle(mode string) {
	c.decideOnce.Do(func() {
		if mode != "" {
			c.mu.Lock()
			c.mode = mode
			c.mu.Unlock()
		}
		close(c.decided)
	})
}

// fallback switches an auto connection to legacy HTTP+SSE and resends s.
func (c *conn) fallback(s sent, status string) {
	// Later messages wait until s has been resent, so that they follow it.
	defer c.settle("")
	c.m.fallbacks.Inc()
	c.logger.Info("server rejected a Streamable HTTP POST; falling back to HTTP+SSE", "status", status)
	if err := c.openLegacy(c.ctx); err != nil {
		c.logger.Warn("HTTP+SSE fallback failed", "error", err)
		c.end(fmt.Errorf("%w: POST got HTTP %s and the HTTP+SSE fallback failed: %v", transport.ErrClosed, status, err))
		return
	}
	c.mu.Lock()
	c.mode = ModeSSE
	c.mu.Unlock()
	req := c.legacyRequest(s.msg)
	rctx, cancel := c.ctx, context.CancelFunc(func() {})
	if c.o.requestTimeout > 0 {
		rctx, cancel = context.WithTimeout(c.ctx, c.o.requestTimeout)
	}
	defer cancel()
	resp, err := c.client.Do(req.WithContext(rctx))
	if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) && c.ctx.Err() == nil {
		err = errRequestTimeout
	}
	if err == nil {
		defer resp.Body.Close()
	}
	c.handleLegacy(s, resp, err)
}

// Close ends the session with a DELETE (best effort), stops every request
// and stream, and makes Recv return ErrClosed.
func (c *conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		sid, mode := c.sessionID, c.mode
		c.mu.Unlock()
		c.end(fmt.Errorf("%w: connection closed", transport.ErrClosed))
		close(c.closed)
		if mode == ModeStreamable && sid != "" {
			c.deleteSession(ctx, sid)
		}
		waited := make(chan struct{})
		go func() {
			c.wg.Wait()
			close(waited)
		}()
		select {
		case <-waited:
		case <-ctx.Done():
		}
		c.client.CloseIdleConnections()
		c.m.Open.Dec()
		c.forget(c)
		c.logger.Debug("backend connection closed")
	})
	return nil
}

// deleteSession tells the server the session is over.
func (c *conn) deleteSession(ctx context.Context, sid string) {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, c.o.url.String(), nil)
	c.setHeaders(req)
	req.Header.Set("Mcp-Session-Id", sid)
	c.mu.Lock()
	if c.protocolVersion != "" {
		req.Header.Set("MCP-Protocol-Version", c.protocolVersion)
	}
	c.mu.Unlock()
	resp, err := c.client.Do(req)
	if err != nil {
		c.logger.Debug("session DELETE failed", "error", errors.Unwrap(err))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
	_ = resp.Body.Close()
	c.logger.Debug("session deleted", "status", strconv.Itoa(resp.StatusCode))
}
