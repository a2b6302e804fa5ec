package listen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/httpdrain"
	"github.com/mcphost/mcphost/host/internal/httpguard"
	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// HTTPOptions configure the streamable HTTP listener.
type HTTPOptions struct {
	Address        string
	Path           string
	AllowedOrigins []string
	// AuthToken, when set, is required as "Authorization: Bearer <token>"
	// (or, with OAuth, accepted beside access tokens as the operator's
	// credential, allowed every server).
	AuthToken string
	// OAuth, when set, makes the listener an OAuth 2.1 resource server:
	// every MCP request over every transport needs an access token it
	// validates, the protected resource metadata is served, and sessions
	// are bound to their token's subject. AuthRefused (when set) counts
	// each refusal by reason.
	OAuth       *oauthrs.Verifier
	AuthRefused func(reason string)
	MaxBytes    int
	IdleTimeout time.Duration // a session with no traffic and no stream is closed after this
	// SSEPath and MessagePath serve the legacy HTTP+SSE transport
	// (2024-11-05 clients): GET SSEPath opens a session's stream, POST
	// MessagePath?sessionId=ID carries the client's messages. Both must be
	// set for it to be served.
	SSEPath     string
	MessagePath string
	// WebSocketPath serves MCP over WebSocket, one message per text frame;
	// empty disables it.
	WebSocketPath string
	// MetricsPath serves Metrics (GET only, behind AuthToken when set,
	// else behind OAuth when set); empty, or a nil Metrics, disables it.
	MetricsPath string
	Metrics     http.Handler
	// MaxSessions bounds the sessions open at once over every transport of
	// this listener; 0 is no bound. A session beyond it is refused with
	// 503 and Retry-After, and SessionRefused (when set) is told the
	// transport ("http", "sse" or "websocket").
	MaxSessions    int
	SessionRefused func(transport string)
	// ResumeBufferBytes is what each resumable SSE stream (streamable
	// HTTP, 2025-03-26 to 2025-11-25) keeps of the events it wrote, for a
	// client that comes back with Last-Event-ID: 0 is
	// DefaultResumeBufferBytes, negative disables event ids and resumption.
	// ResumeTotalBytes bounds all the streams' buffers together (0 is
	// DefaultResumeTotalBytes).
	ResumeBufferBytes int
	ResumeTotalBytes  int
	// Readiness says whether the proxy behind the listener takes new
	// work, for GET ReadyPath; nil is always Ready. The listener answers
	// Draining itself once it shuts down.
	Readiness func() Readiness
	// InstanceID, when set, is sent on every response as Mcphost-Instance,
	// so that clients and load balancers see which instance answered.
	InstanceID string
	// PeerKey is the request_state_key, which authenticates requests
	// other instances forward (PeerHeader); nil refuses them all.
	PeerKey []byte
	Logger  hclog.Logger

	// resumeWindow is resumeWindow unless set (by tests).
	resumeWindow time.Duration
	// keepAlive is sseKeepalive unless set (by tests).
	keepAlive time.Duration
}

// HTTP serves MCP over streamable HTTP (2025-03-26 and later): POST for
// client messages, answered with JSON or an SSE stream; GET for the
// session's own stream; DELETE to end a session. On the same address it
// may also serve the legacy HTTP+SSE transport and WebSocket.
type HTTP struct {
	router *router.Router
	opts   HTTPOptions
	log    hclog.Logger
	ln     net.Listener
	srv    *http.Server
	// drain closes connections that never sent a request when Shutdown
	// begins, which the server would otherwise wait five seconds for.
	drain httpdrain.Conns
	// guard applies the Host, Origin and token checks; Listen sets its
	// Host policy from the bound address.
	guard *httpguard.Guard

	mu       sync.Mutex
	sessions map[string]*httpSession
	legacy   map[string]*legacySession
	sockets  int
	closed   bool
	stop     chan struct{}
	// stopCtx ends with stop.
	stopCtx    context.Context
	stopCancel context.CancelFunc
	// tick is closed and renewed by ticks (see slowTick).
	tickMu sync.Mutex
	tick   chan struct{}
	// conns counts the open WebSocket connections, which Shutdown waits
	// for: the server forgets a connection once it is hijacked.
	conns sync.WaitGroup
	// resumeBytes is what the replay buffers of all streams hold.
	resumeBytes atomic.Int64
	// doneStreams are the response streams that wrote their response and
	// are kept for a resume, oldest first: evicted first when the replay
	// buffers hold too much.
	doneMu      sync.Mutex
	doneStreams []*eventStream
	// doneBytes is what the finished streams hold (part of resumeBytes).
	doneBytes atomic.Int64
	// profiles are the profiles served at <path>/p/NAME (SetProfiles).
	profiles atomic.Pointer[map[string]*profileAccess]
}

// NewHTTP returns a listener for r; call Listen, then Serve.
func NewHTTP(r *router.Router, opts HTTPOptions) *HTTP {
	if opts.Address == "" {
		opts.Address = "127.0.0.1:3000"
	}
	if opts.Path == "" {
		opts.Path = "/mcp"
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.ResumeBufferBytes == 0 {
		opts.ResumeBufferBytes = DefaultResumeBufferBytes
	}
	if opts.ResumeTotalBytes <= 0 {
		opts.ResumeTotalBytes = DefaultResumeTotalBytes
	}
	if opts.resumeWindow <= 0 {
		opts.resumeWindow = resumeWindow
	}
	if opts.keepAlive <= 0 {
		opts.keepAlive = sseKeepalive
	}
	h := &HTTP{
		router: r, opts: opts, log: opts.Logger,
		sessions: map[string]*httpSession{}, legacy: map[string]*legacySession{}, stop: make(chan struct{}),
	}
	h.stopCtx, h.stopCancel = context.WithCancel(context.Background())
	h.tick = make(chan struct{})
	h.profiles.Store(&map[string]*profileAccess{})
	// The config rejects empty and shared paths; here a path that is taken
	// disables its endpoint rather than make ServeMux panic.
	mux := http.NewServeMux()
	mux.Handle(h.opts.Path, h)
	legacy := h.opts.SSEPath != "" && h.opts.MessagePath != ""
	if legacy && (h.opts.SSEPath == h.opts.MessagePath || h.opts.SSEPath == h.opts.Path || h.opts.MessagePath == h.opts.Path) {
		h.log.Error("HTTP+SSE paths clash; HTTP+SSE disabled", "sse_path", h.opts.SSEPath, "message_path", h.opts.MessagePath)
		legacy = false
	}
	if legacy {
		mux.HandleFunc(h.opts.SSEPath, h.serveSSE)
		mux.HandleFunc(h.opts.MessagePath, h.serveMessage)
	} else {
		h.opts.SSEPath, h.opts.MessagePath = "", ""
	}
	if ws := h.opts.WebSocketPath; ws != "" && (ws == h.opts.Path || ws == h.opts.SSEPath || ws == h.opts.MessagePath) {
		h.log.Error("WebSocket path clashes with another endpoint; WebSocket disabled", "websocket_path", ws)
		h.opts.WebSocketPath = ""
	}
	if h.opts.WebSocketPath != "" {
		mux.HandleFunc(h.opts.WebSocketPath, h.serveWebSocket)
	}
	if mp := h.opts.MetricsPath; mp != "" && (mp == h.opts.Path || mp == h.opts.SSEPath || mp == h.opts.MessagePath || mp == h.opts.WebSocketPath) {
		h.log.Error("metrics path clashes with another endpoint; metrics disabled", "metrics_path", mp)
		h.opts.MetricsPath = ""
	}
	if h.opts.MetricsPath != "" && h.opts.Metrics != nil {
		mux.HandleFunc(h.opts.MetricsPath, h.serveMetrics)
	} else {
		h.opts.MetricsPath = ""
	}
	h.handleProbes(mux)
	h.handleProfiles(mux, map[string]http.HandlerFunc{
		h.opts.Path: h.ServeHTTP, h.opts.SSEPath: h.serveSSE, h.opts.MessagePath: h.serveMessage, h.opts.WebSocketPath: h.serveWebSocket,
	}, []string{h.opts.Path, h.opts.SSEPath, h.opts.MessagePath, h.opts.WebSocketPath, h.opts.MetricsPath, HealthPath, ReadyPath})
	if h.opts.OAuth != nil {
		taken := []string{h.opts.Path, h.opts.SSEPath, h.opts.MessagePath, h.opts.WebSocketPath, h.opts.MetricsPath, HealthPath, ReadyPath}
		for _, p := range h.opts.OAuth.MetadataPaths(h.opts.Path) {
			if !slices.Contains(taken, p) {
				mux.HandleFunc(p, h.serveResourceMetadata)
			}
		}
	}
	h.guard = h.newGuard(true)
	h.srv = &http.Server{Handler: h.drain.Handler(h.checkHost(mux)), ReadHeaderTimeout: 10 * time.Second}
	h.drain.Track(h.srv)
	return h
}

// newGuard builds the listener's guard: any Host when it is not bound to
// loopback only (anyHost), else loopback names only; Origins that are
// loopback or listed in AllowedOrigins; the AuthToken.
func (h *HTTP) newGuard(anyHost bool) *httpguard.Guard {
	return httpguard.New(httpguard.Options{
		AnyHost:         anyHost,
		LoopbackOrigins: true,
		Origins:         h.opts.AllowedOrigins,
		Token:           h.opts.AuthToken,
	})
}

// InstanceHeader names the instance that answered (HTTPOptions.InstanceID).
const InstanceHeader = "Mcphost-Instance"

// checkHost refuses a foreign Host on every path, served or not: the
// DNS-rebinding defence. Every response, refusals too, names the instance.
func (h *HTTP) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.opts.InstanceID != "" {
			w.Header().Set(InstanceHeader, h.opts.InstanceID)
		}
		if h.guard.CheckHost(r) != nil {
			httpError(w, http.StatusForbidden, jsonrpc.CodeInvalidRequest, "Forbidden: host not allowed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Listen binds the address, so that a port in use is reported at once.
func (h *HTTP) Listen() error {
	ln, err := net.Listen("tcp", h.opts.Address)
	if err != nil {
		return fmt.Errorf("listen %s: %w", h.opts.Address, err)
	}
	h.ln = h.drain.Listener(ln)
	h.guard = h.newGuard(!isLoopbackAddr(ln.Addr()))
	return nil
}

// URL is the MCP endpoint's address, once listening.
func (h *HTTP) URL() string {
	return "http://" + h.ln.Addr().String() + h.opts.Path
}

// SSEURL is the legacy HTTP+SSE endpoint's address (the GET stream), once
// listening, or "" when it is not served.
func (h *HTTP) SSEURL() string {
	if h.opts.SSEPath == "" {
		return ""
	}
	return "http://" + h.ln.Addr().String() + h.opts.SSEPath
}

// WebSocketURL is the WebSocket endpoint's address, once listening, or ""
// when it is not served.
func (h *HTTP) WebSocketURL() string {
	if h.opts.WebSocketPath == "" {
		return ""
	}
	return "ws://" + h.ln.Addr().String() + h.opts.WebSocketPath
}

// Serve answers requests until Shutdown.
func (h *HTTP) Serve() error {
	go h.expireIdle()
	go h.ticks()
	if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// Shutdown stops accepting, waits for open requests up to ctx, and closes
// every session.
func (h *HTTP) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		// Ends the GET streams (and idle expiry); new sessions are refused.
		close(h.stop)
		h.stopCancel()
	}
	h.mu.Unlock()
	// Stop accepting and let open POSTs get their answers, until ctx ends.
	// The legacy SSE streams and the WebSockets end on stop.
	err := h.drain.Shutdown(ctx, h.srv)
	if werr := h.waitSockets(ctx); err == nil {
		err = werr
	}
	h.mu.Lock()
	sessions, legacy := h.sessions, h.legacy
	h.sessions, h.legacy = map[string]*httpSession{}, map[string]*legacySession{}
	h.mu.Unlock()
	// Requests still open now are cancelled with their sessions, and their
	// POSTs answered with an error; give those a moment to be written.
	for _, s := range sessions {
		s.close()
	}
	for _, s := range legacy {
		s.close()
	}
	if err != nil {
		grace, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if h.srv.Shutdown(grace) != nil {
			_ = h.srv.Close()
		}
	}
	return err
}

// Sessions is the number of open sessions, over every transport.
func (h *HTTP) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions) + len(h.legacy) + h.sockets
}

// SessionCounts is the number of open sessions per transport: streamable
// HTTP, legacy HTTP+SSE and WebSocket.
func (h *HTTP) SessionCounts() (streamable, sse, websocket int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions), len(h.legacy), h.sockets
}

// MetricsURL is the metrics endpoint's address, once listening, or "" when
// it is not served.
func (h *HTTP) MetricsURL() string {
	if h.opts.MetricsPath == "" {
		return ""
	}
	return "http://" + h.ln.Addr().String() + h.opts.MetricsPath
}

// serveMetrics answers GET on the metrics path, with the bearer token
// required as for MCP (and the same DNS rebinding check).
func (h *HTTP) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.guard.Check(r) != nil {
		http.Error(w, "Forbidden: host or origin not allowed", http.StatusForbidden)
		return
	}
	if h.guard.HasToken() && !h.guard.BearerOK(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcphost"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	// Without auth_token, an OAuth listener's metrics need an access token
	// rather than be open to whoever reaches the listener.
	if !h.guard.HasToken() && h.opts.OAuth != nil {
		if _, ok := h.authenticate(w, r); !ok {
			return
		}
	}
	h.opts.Metrics.ServeHTTP(w, r)
}

// admit applies the checks every endpoint shares (DNS rebinding, Origin,
// bearer token or OAuth access token, protocol version header), answering
// the request when it fails one; it says who sent the request.
func (h *HTTP) admit(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if err := h.guard.Check(r); err != nil {
		msg := "Forbidden: origin not allowed"
		if errors.Is(err, httpguard.ErrHost) {
			msg = "Forbidden: host not allowed"
		}
		httpError(w, http.StatusForbidden, jsonrpc.CodeInvalidRequest, msg)
		return caller{}, false
	}
	var c caller
	if p, ok := profileOf(r); ok {
		c, ok = h.authenticateProfile(w, r, p)
		if !ok {
			return caller{}, false
		}
	} else if c, ok = h.authenticate(w, r); !ok {
		return caller{}, false
	}
	if v := r.Header.Get("MCP-Protocol-Version"); v != "" && !slices.Contains(router.SupportedVersions, v) {
		httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "Bad Request: unsupported MCP-Protocol-Version "+v)
		return caller{}, false
	}
	return c, true
}

// readMessage reads a POSTed JSON-RPC message or batch, answering 413 or
// 400 when it is too large or not JSON-RPC.
func (h *HTTP) readMessage(w http.ResponseWriter, r *http.Request) ([]byte, jsonrpc.Envelope, bool) {
	if r.ContentLength > int64(h.opts.MaxBytes) {
		httpError(w, http.StatusRequestEntityTooLarge, jsonrpc.CodeMessageTooLarge,
			fmt.Sprintf("message of %d bytes exceeds the limit of %d", r.ContentLength, h.opts.MaxBytes))
		return nil, jsonrpc.Envelope{}, false
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, int64(h.opts.MaxBytes)), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, jsonrpc.CodeMessageTooLarge,
				fmt.Sprintf("message exceeds the limit of %d bytes", h.opts.MaxBytes))
			return nil, jsonrpc.Envelope{}, false
		}
		httpError(w, http.StatusBadRequest, jsonrpc.CodeParseError, "Bad Request: "+err.Error())
		return nil, jsonrpc.Envelope{}, false
	}
	env, err := jsonrpc.Peek(body)
	if err != nil {
		code := jsonrpc.CodeInvalidRequest
		if errors.Is(err, jsonrpc.ErrParse) {
			code = jsonrpc.CodeParseError
		}
		httpError(w, http.StatusBadRequest, code, err.Error())
		return nil, jsonrpc.Envelope{}, false
	}
	return body, env, true
}

// readBody reads a request body in one allocation when its length is known
// (io.ReadAll would grow and copy its buffer several times for a large one).
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := h.admit(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodPost && isModernRequest(r) {
		// 2026-07-28 has no GET stream and no sessions to delete.
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "Method not allowed in protocol "+router.ModernVersion)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.post(w, r, c)
	case http.MethodGet:
		h.get(w, r, c)
	case http.MethodDelete:
		h.delete(w, r, c)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "Method not allowed")
	}
}

func (h *HTTP) post(w http.ResponseWriter, r *http.Request, c caller) {
	body, env, ok := h.readMessage(w, r)
	if !ok {
		return
	}
	if isModernPost(r, body, env) {
		h.postModern(w, r, c, body, env)
		return
	}
	var sess *httpSession
	if env.Kind == jsonrpc.KindRequest && env.Method == "initialize" {
		if sess = h.newSession(w, c); sess == nil {
			return
		}
		w.Header().Set("Mcp-Session-Id", sess.id)
	} else if sess = h.session(w, r, c); sess == nil {
		return
	}
	if !h.authorize(w, c, sess.s, env, body) {
		return
	}
	sess.touch()
	requests := 0
	switch env.Kind {
	case jsonrpc.KindRequest:
		requests = 1
	case jsonrpc.KindBatch:
		if router.BatchRequests(body) > 0 {
			requests = 1 // the batch is answered with one array
		}
	}
	if requests == 0 {
		sess.s.HandlePeeked(env, body, nil)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	sse := acceptsSSE(r)
	// Without SSE, related notifications go to the session's stream: the
	// reply takes only the response.
	reply := sess.s.NewReply(sse)
	kept := false
	defer func() {
		if !kept {
			reply.Close()
		}
	}()
	defer abortWritesOnShed(w, sess.s)()
	sess.s.HandlePeeked(env, body, reply)
	if sse {
		kept = h.streamReply(w, r, sess, reply, h.resumable(sess))
		return
	}
	for {
		select {
		case <-reply.Ready():
			if m, ok := takeFinal(reply); ok {
				h.writeFinalJSON(w, sess, m)
				return
			}
		case <-sess.done():
			// Closing the session (DELETE, idle expiry, shutdown) cancels its
			// open requests, which will never be answered: end this one too,
			// unless its answer made it in first.
			if m, ok := takeFinal(reply); ok {
				h.writeFinalJSON(w, sess, m)
				return
			}
			h.sessionEnded(w)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// takeFinal takes messages off a reply until its final one.
func takeFinal(reply *router.Outbox) (router.Message, bool) {
	for {
		m, ok := reply.TryNext()
		if !ok || m.Final {
			return m, ok
		}
	}
}

// writeFinalJSON answers a plain JSON POST with its response, or with 202
// (or the session's end) when the request was cancelled.
func (h *HTTP) writeFinalJSON(w http.ResponseWriter, sess *httpSession, m router.Message) {
	if m.Abandoned {
		select {
		case <-sess.done():
			h.sessionEnded(w)
		default:
			// Cancelled by the client: there is no response to give.
			w.WriteHeader(http.StatusAccepted)
		}
		return
	}
	writeJSON(w, m.Data)
}

// writeJSON answers with one JSON message. Its length goes in the header,
// so that net/http writes it as it is rather than in chunks.
func writeJSON(w http.ResponseWriter, msg []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	_, _ = w.Write(msg)
}

// sessionEnded answers a request whose session closed while it was open.
func (h *HTTP) sessionEnded(w http.ResponseWriter) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError, "shutting down")
		return
	}
	httpError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "Session not found: it ended before the request was answered")
}

// streamReply answers a POSTed request for a client that accepts SSE. A
// response that comes before anything else is sent as plain JSON (one
// write, no stream framing); once a notification or server→client request
// comes first, or the answer takes longer than sseAfter, the reply becomes
// an SSE stream. With resume, that stream is resumable: it says whether
// the client left it before its end, which keeps reply open for the client
// to resume (the stream closes it then, or when it expires).
func (h *HTTP) streamReply(w http.ResponseWriter, r *http.Request, sess *httpSession, reply *router.Outbox, resume bool) (kept bool) {
	rw := &replyWriter{h: h, w: w, r: r, sess: sess, reply: reply, resume: resume, jsonOK: acceptsJSON(r)}
	rw.flusher, _ = w.(http.Flusher)
	return rw.run()
}

// resumeReply continues a response stream a client resumed with
// Last-Event-ID: the events it missed, then the rest live. The caller has
// attached to es (kick).
func (h *HTTP) resumeReply(w http.ResponseWriter, r *http.Request, sess *httpSession, es *eventStream, kick <-chan struct{}, missed []sentEvent) {
	rw := &replyWriter{h: h, w: w, r: r, sess: sess, reply: es.reply, es: es, kick: kick}
	rw.flusher, _ = w.(http.Flusher)
	rw.started = true
	rw.lastWrite = time.Now()
	startEventStream(w)
	if es.writeStart(w, false) != nil || es.replay(w, missed) != nil {
		rw.failed = true
	}
	if rw.flusher != nil {
		rw.flusher.Flush()
	}
	if es.isDone() {
		// It had written its response already: replayed, it is over.
		es.detach()
		es.finish()
		return
	}
	rw.run()
}

// replyWriter writes one request's reply to one connection.
type replyWriter struct {
	h       *HTTP
	w       http.ResponseWriter
	r       *http.Request
	sess    *httpSession
	reply   *router.Outbox
	flusher http.Flusher
	jsonOK  bool
	resume  bool
	started bool
	// es is the resumable stream, once started (nil when not resumable);
	// kick is closed when another connection takes it over.
	es   *eventStream
	kick <-chan struct{}
	// complete: the reply has ended (its final message is written, or it
	// was abandoned); answered: its response is written on the stream;
	// failed: a write failed, the client is gone.
	complete, answered, failed bool
	// lastWrite is when the stream was last written to, for keep-alives.
	lastWrite time.Time
}

func (rw *replyWriter) start() {
	if rw.started {
		return
	}
	rw.started = true
	if rw.resume {
		// New, so nobody else is attached; a session that has just ended
		// gets no stream.
		es := rw.h.openStream(rw.sess, rw.reply)
		if kick, ok := es.attach(false); ok {
			rw.es, rw.kick = es, kick
		}
	}
	rw.lastWrite = time.Now()
	startEventStream(rw.w)
	if rw.es != nil && rw.es.writeStart(rw.w, true) != nil {
		rw.failed = true
	}
	if rw.flusher != nil {
		rw.flusher.Flush()
	}
}

// write handles one message and says whether the writer is done.
func (rw *replyWriter) write(m router.Message) bool {
	if m.Abandoned {
		if !rw.started {
			select {
			case <-rw.sess.done():
				rw.h.sessionEnded(rw.w)
			default:
				rw.w.WriteHeader(http.StatusAccepted) // cancelled: no response
			}
		}
		rw.complete = true
		return true
	}
	if m.Final && !rw.started && rw.jsonOK {
		writeJSON(rw.w, m.Data)
		rw.complete = true
		return true
	}
	rw.start()
	rw.lastWrite = time.Now()
	var err error
	if rw.es != nil {
		err = rw.es.writeEvent(rw.w, m.Data)
	} else {
		err = writeEvent(rw.w, m.Data)
	}
	// The response, once kept for replay, is the stream's last event even
	// when writing it fails.
	rw.answered = m.Final && rw.es != nil
	if err != nil {
		rw.failed = true
		return true
	}
	rw.complete = m.Final
	return m.Final
}

// drain writes what waits and says whether the writer is done.
func (rw *replyWriter) drain() bool {
	for {
		m, ok := rw.reply.TryNext()
		if !ok {
			if rw.flusher != nil && rw.started {
				rw.flusher.Flush()
			}
			return false
		}
		if rw.write(m) {
			return true
		}
	}
}

// run writes the reply until it is complete or the client leaves, and
// says whether the reply is kept for the client to resume.
func (rw *replyWriter) run() (kept bool) {
	defer func() {
		if rw.es == nil {
			return
		}
		select {
		case <-rw.sess.done():
			rw.es.detach()
			rw.es.finish()
			return
		default:
		}
		switch {
		case rw.answered:
			// Kept a while still, for a client that did not get it all.
			rw.es.markDone()
			rw.es.detach()
		case rw.complete:
			rw.es.detach()
			rw.es.finish()
		default:
			rw.es.detach()
			kept = true
		}
	}()
	if rw.failed {
		return
	}
	// A slow answer still gets its headers soon, so that nothing between
	// client and proxy mistakes the wait for a dead connection. The
	// listener's shared tick tells; a timer per request would be the
	// earliest in the runtime's heap and wake its poller on every call.
	since := time.Now()
	for {
		select {
		case <-rw.reply.Ready():
			if rw.drain() {
				return
			}
		case <-rw.h.slowTick():
			if !rw.started && time.Since(since) >= sseAfter {
				rw.start()
				if rw.failed {
					return
				}
			} else if rw.started && time.Since(rw.lastWrite) >= rw.h.opts.keepAlive {
				// An answer still working gets a comment, so that nothing
				// in between cuts the quiet stream.
				rw.lastWrite = time.Now()
				if writeKeepAlive(rw.w, rw.flusher) != nil {
					return
				}
			}
		case <-rw.sess.done():
			// The session's open requests were cancelled with it: write
			// what already came, then end.
			if !rw.drain() && !rw.started {
				rw.h.sessionEnded(rw.w)
			}
			return
		case <-rw.kick:
			return
		case <-rw.r.Context().Done():
			return
		}
	}
}

// slowTick is closed at the listener's next tick (every sseAfter/2): a
// waiting reply rereads it after each.
func (h *HTTP) slowTick() <-chan struct{} {
	h.tickMu.Lock()
	defer h.tickMu.Unlock()
	return h.tick
}

// ticks closes and renews the slow tick every sseAfter/2 until the listener
// stops.
func (h *HTTP) ticks() {
	t := time.NewTicker(sseAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.tickMu.Lock()
			close(h.tick)
			h.tick = make(chan struct{})
			h.tickMu.Unlock()
		}
	}
}

// sseAfter is how long a reply may wait for its first message before its
// SSE stream is opened anyway.
const sseAfter = time.Second

// resumable says whether sess gets resumable streams.
func (h *HTTP) resumable(sess *httpSession) bool {
	return h.opts.ResumeBufferBytes > 0 && resumable(sess.s.ProtocolVersion())
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request, c caller) {
	if !acceptsSSE(r) {
		httpError(w, http.StatusNotAcceptable, jsonrpc.CodeInvalidRequest, "Not Acceptable: GET needs Accept: text/event-stream")
		return
	}
	sess := h.session(w, r, c)
	if sess == nil {
		return
	}
	sess.touch()
	var es *eventStream
	var kick <-chan struct{}
	var missed []sentEvent
	resuming := false
	if h.resumable(sess) {
		if last := r.Header.Get("Last-Event-ID"); last != "" {
			// 400 rather than 404, which would tell the client its session
			// is gone.
			var seq uint64
			var ok bool
			if es, seq, ok = sess.lookup(last); !ok {
				httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "Bad Request: Last-Event-ID names no stream of this session")
				return
			}
			// Checked before a connection still writing the stream is asked
			// to let go, and again after, as the writer may have dropped
			// more meanwhile.
			if _, ok = es.since(seq); ok {
				if kick, ok = es.attach(true); !ok {
					httpError(w, http.StatusConflict, jsonrpc.CodeInvalidRequest, "Conflict: the stream is still being written to another connection")
					return
				}
				if missed, ok = es.since(seq); !ok {
					es.detach()
				}
			}
			if !ok {
				if es.reply != nil && es.lost(seq) {
					// Its client can no longer get all of its request's
					// messages: the stream ends (a connection still
					// writing it is dropped).
					es.finish()
				}
				httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest,
					"Bad Request: the events after Last-Event-ID are no longer kept (the stream's replay buffer is bounded) or were never sent")
				return
			}
			resuming = true
			if es.reply != nil {
				defer abortWritesOnShed(w, sess.s)()
				h.resumeReply(w, r, sess, es, kick, missed)
				return
			}
		} else {
			es = h.getStream(sess)
			var ok bool
			if kick, ok = es.attach(false); !ok {
				httpError(w, http.StatusConflict, jsonrpc.CodeInvalidRequest, "Conflict: this session already has a GET stream")
				return
			}
		}
		defer es.detach()
	}
	out := sess.s.Outbox()
	if !out.Attach() {
		httpError(w, http.StatusConflict, jsonrpc.CodeInvalidRequest, "Conflict: this session already has a GET stream")
		return
	}
	defer out.Detach()
	defer abortWritesOnShed(w, sess.s)()
	startEventStream(w)
	if es != nil {
		if es.writeStart(w, !resuming) != nil || es.replay(w, missed) != nil {
			return
		}
	}
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	keepalive := time.NewTicker(h.opts.keepAlive)
	defer keepalive.Stop()
	for {
		select {
		case <-out.Ready():
			if writeWaiting(w, out, es) != nil {
				return
			}
		case <-keepalive.C:
			if _, err := io.WriteString(w, keepAliveComment); err != nil {
				return
			}
		case <-sess.done():
			return
		case <-kick:
			return
		case <-h.stop:
			return
		case <-r.Context().Done():
			return
		}
		sess.touch()
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (h *HTTP) delete(w http.ResponseWriter, r *http.Request, c caller) {
	sess := h.session(w, r, c)
	if sess == nil {
		return
	}
	h.mu.Lock()
	delete(h.sessions, sess.id)
	h.mu.Unlock()
	sess.close()
	w.WriteHeader(http.StatusNoContent)
}

// full says whether the listener holds MaxSessions sessions already, and
// if so answers w with 503 and counts the refusal; h.mu is held.
func (h *HTTP) full(w http.ResponseWriter, transport string) bool {
	if h.opts.MaxSessions <= 0 || len(h.sessions)+len(h.legacy)+h.sockets < h.opts.MaxSessions {
		return false
	}
	if h.opts.SessionRefused != nil {
		h.opts.SessionRefused(transport)
	}
	h.log.Warn("session refused: the listener's session limit is reached", "transport", transport, "max_sessions", h.opts.MaxSessions)
	w.Header().Set("Retry-After", "5")
	httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError,
		fmt.Sprintf("too many sessions: this listener serves at most %d at once; try again later", h.opts.MaxSessions))
	return true
}

// newSession opens a streamable HTTP session for c; nil when the listener
// is closing or full (w has been answered then).
func (h *HTTP) newSession(w http.ResponseWriter, c caller) *httpSession {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError, "shutting down")
		return nil
	}
	if h.full(w, "http") {
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	rs := h.openSession(w, "http", c)
	if rs == nil {
		return nil
	}
	// The router's session id is the Mcp-Session-Id: one id names the
	// session everywhere (logs, tracing, the admin API), and it is
	// unguessable, as the header must be.
	sess := &httpSession{id: rs.ID(), s: rs, owner: c.owner()}
	sess.s.KeepWhileDetached(detachedStreamBytes)
	sess.touch()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		sess.close()
		return nil
	}
	h.sessions[sess.id] = sess
	// A session the router ends (a client not reading) leaves the table;
	// its streams' replay buffers go with it.
	context.AfterFunc(sess.s.Context(), func() {
		h.forget(sess)
		sess.freeStreams()
	})
	return sess
}

func (h *HTTP) forget(sess *httpSession) {
	h.mu.Lock()
	if h.sessions[sess.id] == sess {
		delete(h.sessions, sess.id)
	}
	h.mu.Unlock()
}

// session finds the request's session, answering 400 or 404 when it can't.
// A session belongs to the identity that opened it: to another caller it
// does not exist (404), so session ids cannot be probed with another token.
func (h *HTTP) session(w http.ResponseWriter, r *http.Request, c caller) *httpSession {
	id := r.Header.Get("Mcp-Session-Id")
	if id == "" {
		httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "Bad Request: Mcp-Session-Id header is required")
		return nil
	}
	h.mu.Lock()
	sess := h.sessions[id]
	h.mu.Unlock()
	if sess == nil || sess.owner != c.owner() {
		httpError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "Session not found")
		return nil
	}
	return sess
}

func (h *HTTP) expireIdle() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		var idle []*httpSession
		h.mu.Lock()
		for id, s := range h.sessions {
			if s.idleFor() > h.opts.IdleTimeout && !s.s.Outbox().Attached() {
				idle = append(idle, s)
				delete(h.sessions, id)
			}
		}
		h.mu.Unlock()
		for _, s := range idle {
			h.log.Debug("closing idle session", "session", s.id)
			s.close()
		}
	}
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// acceptsJSON says whether the client takes a plain JSON response.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") || strings.Contains(v, "*/*") {
			return true
		}
	}
	return false
}

func acceptsSSE(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/event-stream") {
			return true
		}
	}
	return false
}

// writeWaiting writes every message waiting in out as an SSE event, as
// es's events when it is not nil.
func writeWaiting(w io.Writer, out *router.Outbox, es *eventStream) error {
	for {
		m, ok := out.TryNext()
		if !ok {
			return nil
		}
		if m.Abandoned {
			continue
		}
		var err error
		if es != nil {
			err = es.writeEvent(w, m.Data)
		} else {
			err = writeEvent(w, m.Data)
		}
		if err != nil {
			return err
		}
	}
}

// startEventStream answers 200 with the headers of an SSE stream.
// X-Accel-Buffering: no asks nginx (and proxies that copy it) not to
// buffer the stream, which would hold back every event until it ends.
func startEventStream(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
}

// keepAliveComment is the SSE comment an idle stream gets every
// sseKeepalive: clients ignore it, and proxies in between see traffic.
const keepAliveComment = ": keepalive\n\n"

// writeKeepAlive writes keepAliveComment and flushes it.
func writeKeepAlive(w io.Writer, flusher http.Flusher) error {
	if _, err := io.WriteString(w, keepAliveComment); err != nil {
		return err
	}
	if flusher != nil {
		flusher.Flush()
	}
	return nil
}

func writeEvent(w io.Writer, msg []byte) error {
	msg, err := jsonrpc.Compact(msg)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(msg)+24)
	buf = append(buf, "event: message\ndata: "...)
	buf = append(buf, msg...)
	buf = append(buf, "\n\n"...)
	_, err = w.Write(buf)
	return err
}

func httpError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(jsonrpc.Error(nil, code, message, nil))
}
