package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// The load clients speak raw JSON-RPC, each worker on a session of its
// own, one request at a time (a closed loop). None decodes a payload:
// requests are built by appending bytes and results are checked with one
// search for the payload (callSpec.checkResult). Each client is as lean
// as its transport allows, so that a cell's cost is the server's.

// session is one client connection that carries one request at a time.
type session interface {
	// roundTrip sends req, a request whose id is id, and returns the
	// response to it. The response is valid until the next call. req may
	// be appended to.
	roundTrip(id int64, req []byte) ([]byte, error)
	// close ends the session; a roundTrip blocked in it returns an error.
	close()
}

// clientKind is a client transport.
type clientKind int

const (
	stdioClient     clientKind = iota // newline-delimited JSON-RPC on a process's stdin/stdout
	streamableJSON                    // streamable HTTP, replies as application/json
	streamableSSE                     // streamable HTTP, replies as an SSE stream
	legacySSEClient                   // HTTP+SSE: a GET event stream, POSTed messages
	webSocketClient                   // one message per text frame
)

func (k clientKind) String() string {
	return [...]string{"stdio", "streamable HTTP, JSON replies", "streamable HTTP, SSE replies", "legacy HTTP+SSE", "WebSocket"}[k]
}

// short is the kind's name in benchmark names.
func (k clientKind) short() string {
	return [...]string{"stdio", "http-json", "http-sse", "legacy-sse", "ws"}[k]
}

// initializeRequest is the request that opens an initialize-era session.
func initializeRequest(id int64, version string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + strconv.FormatInt(id, 10) + `,"method":"initialize","params":{"protocolVersion":"` +
		version + `","capabilities":{},"clientInfo":{"name":"mcphost-bench","version":"1"}}}`)
}

var initializedNotification = []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

// checkInitialized checks that resp, the answer to initialize, gives the
// version asked for: a proxy negotiates each hop on its own, so a client
// must get what it asked even when the backend speaks another version.
func checkInitialized(resp []byte, version string) error {
	e, err := parseEnvelope(resp)
	if err != nil {
		return fmt.Errorf("initialize: %w: %s", err, clip(resp))
	}
	if e.err != nil {
		return fmt.Errorf("initialize: %s", clip(e.err))
	}
	if got := member(e.result, "protocolVersion"); string(got) != `"`+version+`"` {
		return fmt.Errorf("initialize: the server answered protocol version %s, want %q", got, version)
	}
	return nil
}

// ---- stdio ----

// stdioPipe is a process's stdin and stdout. One worker reads its own
// answers; several share it through a demultiplexer that hands each
// answer to the worker whose id it carries (the low byte).
type stdioPipe struct {
	w     io.WriteCloser
	lines *lineReader

	wmu     sync.Mutex
	version string // what it was initialized at, "" before

	mux      sync.Once
	demuxing atomic.Bool
	waiters  [maxWorkers]chan []byte
	readErr  error
	dead     chan struct{} // closed when the demultiplexer stops
}

// maxWorkers bounds a cell's concurrency: a worker's index is the low byte
// of its request ids.
const maxWorkers = 256

func newStdioPipe(w io.WriteCloser, r io.Reader) *stdioPipe {
	return &stdioPipe{w: w, lines: newLineReader(r), dead: make(chan struct{})}
}

// initialize opens the pipe's one MCP session at version; later calls
// must ask for the same.
func (p *stdioPipe) initialize(version string) error {
	if p.version != "" {
		if p.version != version {
			return fmt.Errorf("the stdio session is at %s; a cell asked for %s", p.version, version)
		}
		return nil
	}
	resp, err := p.exchange(1, initializeRequest(1, version))
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if err := checkInitialized(resp, version); err != nil {
		return err
	}
	if _, err := p.w.Write(append(initializedNotification, '\n')); err != nil {
		return err
	}
	p.version = version
	return nil
}

// exchange writes req and reads lines until the response with id.
func (p *stdioPipe) exchange(id int64, req []byte) ([]byte, error) {
	if _, err := p.w.Write(append(req, '\n')); err != nil {
		return nil, err
	}
	want := strconv.AppendInt(nil, id, 10)
	for {
		line, err := p.lines.next()
		if err != nil {
			return nil, err
		}
		if e, err := parseEnvelope(line); err == nil && e.isResponse() && bytes.Equal(e.id, want) {
			return line, nil
		}
	}
}

// startMux switches the pipe to shared use: from then on one goroutine
// reads, until the process's stdout ends.
func (p *stdioPipe) startMux() {
	p.mux.Do(func() {
		for i := range p.waiters {
			p.waiters[i] = make(chan []byte, 1)
		}
		p.demuxing.Store(true)
		go p.demux()
	})
}

// waitDemux waits for the demultiplexer, if any, to stop; the process's
// stdout must be ended or closed.
func (p *stdioPipe) waitDemux() {
	if p.demuxing.Load() {
		<-p.dead
	}
}

func (p *stdioPipe) demux() {
	defer close(p.dead)
	for {
		line, err := p.lines.next()
		if err != nil {
			p.readErr = err
			return
		}
		e, err := parseEnvelope(line)
		if err != nil || !e.isResponse() {
			continue
		}
		id, err := strconv.ParseInt(string(e.id), 10, 64)
		if err != nil {
			continue
		}
		select {
		case p.waiters[id%maxWorkers] <- bytes.Clone(line):
		default:
			// Nobody waits for it (a worker gave up after an error): a
			// blocked demultiplexer would never see the pipe end.
		}
	}
}

// stdioSession is one worker's use of a pipe.
type stdioSession struct {
	p      *stdioPipe
	shared bool
}

func (s *stdioSession) roundTrip(id int64, req []byte) ([]byte, error) {
	if !s.shared {
		return s.p.exchange(id, req)
	}
	s.p.wmu.Lock()
	_, err := s.p.w.Write(append(req, '\n'))
	s.p.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case resp := <-s.p.waiters[id%maxWorkers]:
		return resp, nil
	case <-s.p.dead:
		return nil, fmt.Errorf("the process's stdout ended: %v", s.p.readErr)
	}
}

// close does nothing: the pipe belongs to its system, which closes it.
func (s *stdioSession) close() {}

// ---- HTTP/1.1 ----

// httpConn is one keep-alive HTTP/1.1 connection, used by one worker. It
// writes each request with one write and reads the response in the
// calling goroutine (net/http's client hands every response between
// goroutines, which on a 2-core machine costs as much as a fast server).
type httpConn struct {
	addr string // host:port, also the Host header
	conn net.Conn
	br   *bufio.Reader
	req  []byte
	body bytes.Buffer
}

// header is one request header.
type header struct{ name, value string }

// httpReply is a response, its body read whole.
type httpReply struct {
	status      int
	contentType string
	header      http.Header
	body        []byte // valid until the connection's next request
}

func (c *httpConn) dial() error {
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 64<<10)
	return nil
}

// do sends one request and reads its whole response.
func (c *httpConn) do(method, path string, headers []header, body []byte) (httpReply, error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return httpReply{}, err
		}
	}
	c.req = append(c.req[:0], method...)
	c.req = append(c.req, ' ')
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	for _, h := range headers {
		c.req = append(c.req, "\r\n"...)
		c.req = append(c.req, h.name...)
		c.req = append(c.req, ": "...)
		c.req = append(c.req, h.value...)
	}
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		c.closeConn()
		return httpReply{}, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.closeConn()
		return httpReply{}, err
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.closeConn()
		return httpReply{}, err
	}
	if resp.Close {
		c.closeConn()
	}
	return httpReply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), header: resp.Header, body: c.body.Bytes()}, nil
}

func (c *httpConn) closeConn() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// jsonRPCReply finds the response with id in a reply sent as JSON or as an
// SSE stream.
func jsonRPCReply(r httpReply, id int64) ([]byte, error) {
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", r.status, clip(r.body))
	}
	mediaType, _, _ := strings.Cut(r.contentType, ";")
	switch strings.TrimSpace(mediaType) {
	case "application/json":
		return r.body, nil
	case "text/event-stream":
		want := strconv.AppendInt(nil, id, 10)
		var found []byte
		sseEvents(r.body, func(data []byte) bool {
			if e, err := parseEnvelope(data); err == nil && e.isResponse() && bytes.Equal(e.id, want) {
				found = data
				return false
			}
			return true
		})
		if found == nil {
			return nil, fmt.Errorf("no response with id %d in the SSE stream: %s", id, clip(r.body))
		}
		return found, nil
	}
	return nil, fmt.Errorf("unexpected Content-Type %q: %s", r.contentType, clip(r.body))
}

// ---- streamable HTTP ----

// streamableSession is one streamable HTTP session: an initialize-era one
// with its Mcp-Session-Id, or a 2026-07-28 client's stateless requests.
type streamableSession struct {
	c       httpConn
	path    string
	headers []header // sent with every tools/call
	// replies is the media type the cell is about; the first call checks
	// that the server answers with it.
	replies string
	checked bool
}

// openStreamable opens a session at endpoint for a client at version.
// sse asks for replies as SSE streams (Accept names only
// text/event-stream); otherwise the client takes JSON.
func openStreamable(endpoint, version string, sse bool, spec *callSpec) (_ *streamableSession, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	s := &streamableSession{c: httpConn{addr: u.Host}, path: u.RequestURI(), replies: "application/json"}
	accept := header{"Accept", "application/json, text/event-stream"}
	if sse {
		accept.value, s.replies = "text/event-stream", "text/event-stream"
	}
	base := []header{{"Content-Type", "application/json"}, accept}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if version == v20260728 {
		if err := s.openModern(base, spec); err != nil {
			return nil, err
		}
		return s, nil
	}
	r, err := s.c.do(http.MethodPost, s.path, base, initializeRequest(1, version))
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	resp, err := jsonRPCReply(r, 1)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if err := checkInitialized(resp, version); err != nil {
		return nil, err
	}
	id := r.header.Get("Mcp-Session-Id")
	if id == "" {
		return nil, errors.New("initialize: no Mcp-Session-Id")
	}
	s.headers = append(base, header{"Mcp-Session-Id", id}, header{"MCP-Protocol-Version", version})
	r, err = s.c.do(http.MethodPost, s.path, s.headers, initializedNotification)
	if err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	if r.status != http.StatusAccepted {
		return nil, fmt.Errorf("notifications/initialized: HTTP %d: %s", r.status, clip(r.body))
	}
	return s, nil
}

// openModern sets up a 2026-07-28 client: no handshake, the version and
// routing in headers on every request. It asks server/discover once, as
// a client may, to check that the endpoint serves that version.
func (s *streamableSession) openModern(base []header, spec *callSpec) error {
	version := header{"MCP-Protocol-Version", v20260728}
	discover := []byte(`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{` + modernMeta + `}}`)
	r, err := s.c.do(http.MethodPost, s.path, append(base, version, header{"Mcp-Method", "server/discover"}), discover)
	if err != nil {
		return fmt.Errorf("server/discover: %w", err)
	}
	resp, err := jsonRPCReply(r, 1)
	if err != nil {
		return fmt.Errorf("server/discover: %w", err)
	}
	if e, err := parseEnvelope(resp); err != nil || e.err != nil || !bytes.Contains(member(e.result, "supportedVersions"), []byte(v20260728)) {
		return fmt.Errorf("server/discover does not offer %s: %s", v20260728, clip(resp))
	}
	s.headers = append(base, version, header{"Mcp-Method", "tools/call"}, header{"Mcp-Name", spec.tool})
	return nil
}

func (s *streamableSession) roundTrip(id int64, req []byte) ([]byte, error) {
	r, err := s.c.do(http.MethodPost, s.path, s.headers, req)
	if err != nil {
		return nil, err
	}
	if !s.checked {
		if !strings.HasPrefix(r.contentType, s.replies) {
			return nil, fmt.Errorf("the reply is %q; this cell measures %s replies", r.contentType, s.replies)
		}
		s.checked = true
	}
	return jsonRPCReply(r, id)
}

func (s *streamableSession) close() { s.c.closeConn() }

// ---- legacy HTTP+SSE ----

// legacySession is an HTTP+SSE (2024-11-05 transport) session: answers
// come on the GET stream, each POST is only acknowledged. The worker reads
// the stream itself after each POST: the stream's bytes wait in the
// socket meanwhile.
type legacySession struct {
	stream  net.Conn
	events  *lineReader
	post    httpConn
	path    string // where to POST, with the session id
	headers []header
}

// openLegacy opens the GET stream at endpoint, learns where to POST from
// its endpoint event, and initializes at version.
func openLegacy(endpoint, version string) (*legacySession, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	s := &legacySession{stream: conn, post: httpConn{addr: u.Host}, headers: []header{{"Content-Type", "application/json"}}}
	br := bufio.NewReaderSize(conn, 64<<10)
	get := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\n\r\n"
	if _, err := io.WriteString(conn, get); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("GET %s: HTTP %d", endpoint, resp.StatusCode)
	}
	s.events = newLineReader(resp.Body)
	event, data, err := s.nextEvent()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("reading the endpoint event: %w", err)
	}
	if event != "endpoint" {
		s.close()
		return nil, fmt.Errorf("the stream starts with a %q event, want endpoint", event)
	}
	postURL, err := u.Parse(string(data))
	if err != nil {
		s.close()
		return nil, fmt.Errorf("endpoint event %q: %w", data, err)
	}
	s.path = postURL.RequestURI()
	resp1, err := s.roundTrip(1, initializeRequest(1, version))
	if err == nil {
		err = checkInitialized(resp1, version)
	}
	if err == nil {
		err = s.send(initializedNotification)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// nextEvent reads one event off the stream: its type and its data,
// valid until the next read. Comments are skipped. The proxy writes each
// message as one data line, which ends the event (the line reader drops
// the blank line after it).
func (s *legacySession) nextEvent() (string, []byte, error) {
	event := "message"
	for {
		line, err := s.events.next()
		if err != nil {
			return "", nil, err
		}
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			return event, bytes.TrimPrefix(line[len("data:"):], []byte{' '}), nil
		}
	}
}

// send POSTs one message; the transport acknowledges it with 202.
func (s *legacySession) send(msg []byte) error {
	r, err := s.post.do(http.MethodPost, s.path, s.headers, msg)
	if err != nil {
		return err
	}
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		return fmt.Errorf("POST: HTTP %d: %s", r.status, clip(r.body))
	}
	return nil
}

func (s *legacySession) roundTrip(id int64, req []byte) ([]byte, error) {
	if err := s.send(req); err != nil {
		return nil, err
	}
	want := strconv.AppendInt(nil, id, 10)
	for {
		event, data, err := s.nextEvent()
		if err != nil {
			return nil, err
		}
		if event != "message" {
			continue
		}
		if e, err := parseEnvelope(data); err == nil && e.isResponse() && bytes.Equal(e.id, want) {
			return data, nil
		}
	}
}

func (s *legacySession) close() {
	s.stream.Close()
	s.post.closeConn()
}

// ---- WebSocket ----

// wsSession is MCP over one WebSocket connection, subprotocol "mcp".
type wsSession struct {
	c *websocket.Conn
}

func openWebSocket(endpoint, version string) (*wsSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{Subprotocols: []string{"mcp"}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(-1)
	s := &wsSession{c: c}
	resp, err := s.roundTrip(1, initializeRequest(1, version))
	if err == nil {
		err = checkInitialized(resp, version)
	}
	if err == nil {
		err = c.Write(context.Background(), websocket.MessageText, initializedNotification)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// roundTrip uses a context that is never done: a cancellable one costs
// the library a hand-off to its timeout goroutine on every read and
// write. close unblocks it instead.
func (s *wsSession) roundTrip(id int64, req []byte) ([]byte, error) {
	if err := s.c.Write(context.Background(), websocket.MessageText, req); err != nil {
		return nil, err
	}
	want := strconv.AppendInt(nil, id, 10)
	for {
		_, data, err := s.c.Read(context.Background())
		if err != nil {
			return nil, err
		}
		if e, err := parseEnvelope(data); err == nil && e.isResponse() && bytes.Equal(e.id, want) {
			return data, nil
		}
	}
}

func (s *wsSession) close() { _ = s.c.CloseNow() }
