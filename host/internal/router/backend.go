package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
)

// BackendSpec describes one backend MCP server to the router.
type BackendSpec struct {
	Name   string
	Prefix bool
	// Timeout bounds each request; 0 means the router's default.
	Timeout time.Duration
	// Open connects to the backend through its transport plugin.
	Open func(ctx context.Context) (transport.Conn, error)
	// Restart is the policy for reconnecting after the connection ends.
	Restart RestartPolicy
	// Health configures the periodic health check while running.
	Health HealthCheck
	// Internal marks a backend served by the host itself (context
	// tracing's tools): its results are not traced, and each request
	// carries the client session's id in _meta["mcphost/session"].
	Internal bool
	// Disabled backends start stopped (enabled = false); StartBackend or
	// RestartBackend starts them.
	Disabled bool
	// ProtocolVersion pins the revision spoken to the backend: a legacy
	// one skips the server/discover probe and asks for it in initialize;
	// ModernVersion requires server/discover. "" probes.
	ProtocolVersion string
	// Filters limit which of its tools, prompts and resources are exposed
	// (and reachable); SetFilters changes them while it runs.
	Filters Filters

	// backoffHook, in tests, is told every computed reconnect delay.
	backoffHook func(time.Duration)
}

// State of a backend connection.
type State string

const (
	// StateStarting: connecting and initializing.
	StateStarting State = "starting"
	// StateRunning: initialized and serving; its lists are in the catalog.
	StateRunning State = "running"
	// StateUnhealthy: health checks failed; the connection is being closed
	// so that the restart policy takes over.
	StateUnhealthy State = "unhealthy"
	// StateRestarting: the connection ended; waiting to reconnect.
	StateRestarting State = "restarting"
	// StateFailed: too many restarts within the window; no more attempts
	// until RestartBackend or StartBackend.
	StateFailed State = "failed"
	// StateStopped: stopped by request or by the proxy shutting down.
	StateStopped State = "stopped"
	// StateNeedsLogin: the backend requires a person to sign in (OAuth)
	// first; the reason names the command. It is tried again every
	// Options.LoginRetryDelay, at once on RestartBackend, and these tries
	// do not count towards the restart limit.
	StateNeedsLogin State = "needs_login"

	// StateDown is the former name of StateRestarting.
	//
	// Deprecated: use StateRestarting.
	StateDown = StateRestarting
)

// pending is a request the proxy sent to a backend and awaits an answer for.
type pending struct {
	// Forwarded client requests.
	session  *Session
	reply    replyStream
	clientID []byte
	// clientToken is the client's progress token, restored on progress
	// notifications; the backend sees the backend request id instead.
	clientToken []byte
	method      string
	timer       *time.Timer
	// Internal requests (initialize, lists) wait on done instead.
	done chan []byte
	// started orders concurrent requests, for routing server→client requests.
	started int64
	// start is when a forwarded request was sent, for the Observer.
	start time.Time
	// request is the message sent, kept for methods a modern backend may
	// answer with an input-required result (retried with the input).
	request []byte
	// rounds counts the input-required rounds so far.
	rounds int
	// clientParams are a 2026-07-28 client's params, kept for the methods
	// whose call may be parked: its requestState is bound to them.
	clientParams []byte
	// parked is the id under which the call waits for a 2026-07-28
	// client's retry (nil when not parked). Written under the connection's lock;
	// atomic so that finishing a call need not take the lock to see it.
	parked atomic.Pointer[string]
	// trace is what the tracer needs of a traced request, nil otherwise.
	trace *traceInfo
	// activity is the call's activity record, nil when none is kept.
	activity *ActivityRecord
}

// backend is one backend MCP server: its connection (the requests open
// on it), its supervisor (state, restarts, health), and the protocol
// version it speaks. It owns the goroutines that connect it (run, in
// lifecycle.go) and read it (readLoop).
type backend struct {
	spec   BackendSpec
	router *Router
	log    hclog.Logger

	conn *connection
	sup  *supervisor
	// version is the revision the backend speaks ("" until known).
	version protoVersion
	// filters are spec.Filters, or those SetFilters gave since.
	filters atomic.Pointer[Filters]

	// remove ends the supervising goroutine for good (RemoveBackend, or
	// the router closing); done is closed when it has ended. Both are set
	// before it starts.
	remove context.CancelFunc
	done   chan struct{}
}

func newBackend(r *Router, spec BackendSpec) *backend {
	if spec.Timeout <= 0 {
		spec.Timeout = r.opts.RequestTimeout
	}
	spec.Restart.defaults(r.opts)
	spec.Health.defaults()
	log := r.log.Named(spec.Name)
	b := &backend{spec: spec, router: r, log: log, conn: newConnection(spec.Name, log), sup: newSupervisor()}
	b.filters.Store(&spec.Filters)
	return b
}

func (b *backend) snapshot() ([numLists][][]byte, bool) { return b.sup.snapshot() }

// BackendStatus is what the router tells about one backend.
type BackendStatus struct {
	Name            string
	State           State
	Reason          string
	ProtocolVersion string
	Tools           int
	Prompts         int
	Resources       int
	Templates       int
	InFlight        int
	// Restarts counts every reconnect, automatic or requested.
	Restarts int
	// LastError is why the backend last stopped running or failed to start.
	LastError string
	// NextAttempt is when the next reconnect is due, in StateRestarting.
	NextAttempt time.Time
	// HealthChecks and HealthFailures count the health checks made and
	// those that failed, over the proxy's life.
	HealthChecks, HealthFailures int
	// Warnings are problems with its config found against what it lists,
	// such as a filter's allow list that matches none of its tools.
	Warnings []string
}

func (b *backend) status() BackendStatus {
	st := BackendStatus{Name: b.spec.Name, ProtocolVersion: b.version.load(), InFlight: b.conn.clientRequests()}
	b.sup.status(&st)
	return st
}

// protocolVersion is the revision the backend speaks ("" until known).
func (b *backend) protocolVersion() string { return b.version.load() }

func (b *backend) setState(s State, reason string) {
	changed, wasRunning := b.sup.setState(s, reason)
	if changed && (wasRunning || s == StateRunning) {
		b.router.catalog.rebuild(true)
	}
	if f := b.router.opts.StateChanged; changed && f != nil {
		f(b.spec.Name, s, reason)
	}
}

// session runs one connection to the backend, returning when it ends.
// firstReady, when not nil, is closed once the first attempt has finished.
func (b *backend) session(ctx context.Context, firstReady chan<- struct{}) error {
	signal := func() {
		if firstReady != nil {
			close(firstReady)
			firstReady = nil
		}
	}
	defer signal()
	b.setState(StateStarting, "connecting")
	openCtx, cancel := context.WithTimeout(ctx, b.router.opts.StartTimeout)
	conn, err := b.spec.Open(openCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	b.conn.attach(conn)
	readErr := make(chan error, 1)
	go func() { readErr <- b.conn.readLoop(conn, b.dispatch) }()
	if err := b.initialize(ctx); err != nil {
		// A connection that ended before the answer: what ended it (an
		// exit status, a refused connection) is the cause, not the write
		// that found it gone. The reader has it, or will in a moment.
		wait := time.Duration(0)
		if errors.Is(err, transport.ErrClosed) {
			wait = closedCauseWait
		}
		timer := time.NewTimer(wait)
		select {
		case rerr := <-readErr:
			if errors.Is(rerr, transport.ErrClosed) {
				err = &initClosedError{cause: rerr}
			}
			readErr <- rerr
		case <-timer.C:
		}
		timer.Stop()
		b.closeConn(conn)
		<-readErr
		b.failAll(err)
		return fmt.Errorf("initialize: %w", err)
	}
	b.setState(StateRunning, "")
	b.startListen()
	signal()
	st := b.status()
	b.log.Info("backend ready", "protocol", st.ProtocolVersion, "tools", st.Tools, "prompts", st.Prompts, "resources", st.Resources)
	healthCtx, stopHealth := context.WithCancel(ctx)
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		b.healthLoop(healthCtx, conn)
	}()
	defer func() {
		stopHealth()
		<-healthDone
	}()
	select {
	case err = <-readErr:
		// The backend hung up: still close our end, so that the transport
		// can release (or kill) what it holds.
		b.closeConn(conn)
	case <-ctx.Done():
		b.closeConn(conn)
		err = <-readErr
	}
	b.failAll(err)
	return err
}

// closedCauseWait bounds the wait for why a connection ended once a send
// found it gone.
const closedCauseWait = 2 * time.Second

// initClosedError is a connection that ended before the backend answered
// initialize; cause is the reader's error, which says why.
type initClosedError struct{ cause error }

func (e *initClosedError) Error() string {
	var exit *transport.ExitError
	if errors.As(e.cause, &exit) {
		s := exit.Status + " before answering initialize"
		if exit.Stderr != "" {
			s += "; last stderr: " + exit.Stderr
		}
		return s
	}
	return transport.Reason(e.cause)
}

func (e *initClosedError) Unwrap() error { return e.cause }

// Reason is the error as an operator reads it (see transport.Reason).
func (e *initClosedError) Reason() string { return e.Error() }

// reasonOf is err as the server's state reason, last error and log show
// it: the cause in plain words, without the chain of wrappers.
func reasonOf(err error) string { return transport.Reason(err) }

func (b *backend) closeConn(conn transport.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), b.router.opts.StopTimeout)
	defer cancel()
	if err := conn.Close(ctx); err != nil {
		b.log.Debug("close", "error", err)
	}
}

// failAll answers every pending request with an error once the connection
// is gone: a dead backend fails its own requests, quickly and clearly.
func (b *backend) failAll(cause error) {
	ps := b.conn.detach()
	msg := fmt.Sprintf("server %q is unavailable: %v", b.spec.Name, cause)
	for _, p := range ps {
		b.observeFinished(p, OutcomeUnavailable, nil, jsonrpc.CodeBackendUnavailable)
		b.finish(p, nil, jsonrpc.CodeBackendUnavailable, msg)
	}
}

// finish completes a pending request with msg, or with an error when msg is
// nil. It only routes: the session's writer renders the answer (see render).
func (b *backend) finish(p *pending, msg []byte, code int, text string) {
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.done != nil {
		if msg == nil {
			msg = jsonrpc.Error(jsonrpc.Int(0), code, text, nil)
		}
		p.done <- msg
		return
	}
	if p.parked.Load() != nil {
		stash := msg
		if stash == nil {
			stash = jsonrpc.Error(p.clientID, code, text, nil)
		}
		if b.stashParked(p, stash) {
			return
		}
	}
	p.session.requests.end(p.clientID)
	answer := msg != nil
	if answer {
		// Tasks are registered here, in order, so that progress the backend
		// sends right after a CreateTaskResult finds its session.
		msg = b.router.tasks.exposeIDs(b, p, msg)
	} else {
		msg = jsonrpc.Error(p.clientID, code, text, nil)
	}
	p.session.respondItem(p.reply, outItem{msg: msg, render: func(msg []byte) [][]byte {
		return [][]byte{b.render(p, msg, answer)}
	}})
}

// render turns the backend's answer to a forwarded request (or the proxy's
// error in its place, when answer is false) into the client's response:
// exposed URIs and task ids, the proxy's identity, the trace tag, the
// client's id, and the client's protocol version.
func (b *backend) render(p *pending, msg []byte, answer bool) []byte {
	if answer {
		msg = exposeResultURIs(b.router.opts, b, p.method, msg)
		msg = b.version.era().clientResult(b.router, msg)
		if p.trace != nil {
			msg = b.traceResult(p, msg)
		}
		var err error
		if msg, err = withID(msg, p.clientID); err != nil {
			msg = jsonrpc.Error(p.clientID, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil)
		}
	}
	if bv, sv := b.protocolVersion(), p.session.ProtocolVersion(); b.router.mayTranslate(bv, sv) {
		out, extra, err := b.router.translate(p.session, bv, sv, translator.ToClient, p.method, translator.KindResponse, msg)
		if err != nil {
			return jsonrpc.Error(p.clientID, jsonrpc.CodeInternalError,
				fmt.Sprintf("mcphost: the answer of server %q to %s could not be put into protocol %s: %v", b.spec.Name, p.method, sv, err), nil)
		}
		if out == nil {
			out = jsonrpc.Error(p.clientID, jsonrpc.CodeInternalError,
				fmt.Sprintf("mcphost: the answer of server %q to %s has no form in protocol %s", b.spec.Name, p.method, sv), nil)
		}
		for _, m := range extra {
			p.session.out.put(outItem{msg: m})
		}
		return out
	}
	return msg
}

// dispatch handles one message read off the backend's connection.
func (b *backend) dispatch(env jsonrpc.Envelope, msg []byte) {
	if b.router.tooDeep(msg) {
		b.log.Warn("refusing a message from the backend nested too deep", "kind", env.Kind.String(),
			"max_nesting_depth", b.router.opts.MaxNestingDepth, "bytes", len(msg))
		if env.Kind == jsonrpc.KindResponse {
			// The client gets an error in place of the answer.
			msg = jsonrpc.Error(env.ID, jsonrpc.CodeInternalError,
				fmt.Sprintf("the server's answer nests arrays and objects more than %d levels deep", b.router.opts.MaxNestingDepth), nil)
			env.IsError = true
		} else {
			if env.Kind == jsonrpc.KindRequest {
				b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeInvalidRequest, fmt.Sprintf(
					"Invalid Request: the message nests arrays and objects more than %d levels deep", b.router.opts.MaxNestingDepth), nil))
			}
			return
		}
	}
	switch env.Kind {
	case jsonrpc.KindResponse:
		b.onResponse(env, msg)
	case jsonrpc.KindNotification:
		b.onNotification(env, msg)
	case jsonrpc.KindRequest:
		b.router.onBackendRequest(b, env, msg)
	default:
		b.log.Warn("dropping unexpected message from backend", "kind", env.Kind.String())
	}
}

func (b *backend) onResponse(env jsonrpc.Envelope, msg []byte) {
	id, err := strconv.ParseInt(string(env.ID), 10, 64)
	if err != nil {
		b.log.Warn("response with an id the proxy never sent", "id", string(env.ID))
		return
	}
	p := b.conn.drop(id)
	if p == nil {
		b.log.Debug("late or unknown response", "id", id)
		if o := b.router.opts.Observer; o != nil {
			o.LateResponse(b.spec.Name)
		}
		return
	}
	if p.request != nil && !env.IsError && isInputRequired(msg) && p.session.version.era().stateful() {
		if p.timer != nil {
			p.timer.Stop()
		}
		b.router.spawn(func(context.Context) { b.fulfilInput(p, msg) }) // bounded by the router's context
		return
	}
	if env.IsError && p.session != nil && bytes.Contains(msg, urlElicitationRequired) {
		p.session.rememberRequiredElicitations(b, msg)
	}
	outcome := OutcomeOK
	if env.IsError {
		outcome = OutcomeError
	}
	b.observeFinished(p, outcome, msg, 0)
	b.finish(p, msg, 0, "")
}

// send writes msg to the backend, giving up when ctx ends.
func (b *backend) send(ctx context.Context, msg []byte) error { return b.conn.send(ctx, msg) }

// call sends an internal request and waits for its result. A 2026-07-28
// backend gets the proxy's own request metadata with it.
func (b *backend) call(ctx context.Context, method string, params []byte) ([]byte, error) {
	params = b.version.era().ownParams(b, params)
	id := b.conn.nextID.Add(1)
	p := &pending{done: make(chan []byte, 1), method: method}
	b.conn.addInternal(id, p)
	if err := b.send(ctx, jsonrpc.Request(jsonrpc.Int(id), method, params)); err != nil {
		b.conn.drop(id)
		return nil, err
	}
	select {
	case msg := <-p.done:
		if e := gjson.GetBytes(msg, "error"); e.Exists() {
			return nil, &rpcError{method: method, code: int(e.Get("code").Int()), message: e.Get("message").Str}
		}
		return jsonrpc.Get(msg, "result"), nil
	case <-ctx.Done():
		b.conn.drop(id)
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// rpcError is an error response to an internal request.
type rpcError struct {
	method  string
	code    int
	message string
}

func (e *rpcError) Error() string { return e.method + ": " + e.message }

// forward sends a client's request on to the backend with a backend id,
// remembering how to route the answer back.
func (b *backend) forward(s *Session, reply replyStream, clientID []byte, method string, params []byte, rename memberEdit) {
	id := b.conn.nextID.Add(1)
	idRaw := jsonrpc.Int(id)
	p := &pending{session: s, reply: reply, clientID: clientID, method: method, started: id, start: time.Now()}
	if b.router.opts.Activity != nil && activityKind(method) != "" {
		exposed, _ := jsonrpc.GetString(params, rename.path)
		p.activity = s.newActivity(method, b.spec.Name, rename.value, exposed, params)
	}
	if inputRequiredMethods[method] && !s.version.era().stateful() {
		p.clientParams = params
	}
	edits := make([]memberEdit, 0, 3)
	if rename.path != "" {
		edits = append(edits, rename)
	}
	if b.spec.Internal {
		edits = append(edits, memberEdit{path: `_meta.mcphost/session`, raw: jsonrpc.String(s.id)})
	} else if b.router.opts.Tracer != nil && tracedMethods[method] {
		p.trace = newTraceInfo(method, params, rename.value)
	}
	if tok := jsonrpc.Get(params, "_meta.progressToken"); tok != nil {
		p.clientToken = tok
		edits = append(edits, memberEdit{path: "_meta.progressToken", raw: idRaw})
	}
	if b.router.opts.Spans != nil {
		if edit, ok := b.forwardedSpan(reply, rename.value); ok {
			edits = append(edits, edit)
		}
	}
	req, err := buildRequest(idRaw, method, params, edits)
	if err != nil {
		if p.activity != nil {
			b.router.finishActivity(p.activity, OutcomeError, nil, jsonrpc.CodeInvalidParams)
		}
		s.respond(reply, jsonrpc.Error(clientID, jsonrpc.CodeInvalidParams, err.Error(), nil))
		return
	}
	if p.activity != nil {
		p.activity.RequestBytes = len(req)
	}
	if !s.requests.start(clientID, b, id, b.router.opts.SessionMaxInFlight) {
		if o := b.router.opts.Observer; o != nil {
			o.RequestStarted(b.spec.Name, method, 0)
			b.requestFinished(s, method, OutcomeRejected, 0, 0)
		}
		if p.activity != nil {
			p.activity.RequestBytes = 0
			b.router.finishActivity(p.activity, OutcomeRejected, nil, CodeTooManyRequests)
		}
		s.respond(reply, jsonrpc.Error(clientID, CodeTooManyRequests,
			fmt.Sprintf("too many requests in flight to server %q from this session (at most %d)", b.spec.Name, b.router.opts.SessionMaxInFlight), nil))
		return
	}
	// The state is read and the request registered under both locks (in
	// their order): a request never joins a connection that is no longer
	// running.
	b.sup.mu.Lock()
	b.conn.mu.Lock()
	if b.sup.state != StateRunning || b.conn.conn == nil {
		reason := b.sup.reason
		b.conn.mu.Unlock()
		b.sup.mu.Unlock()
		if o := b.router.opts.Observer; o != nil {
			o.RequestStarted(b.spec.Name, method, 0)
			b.requestFinished(s, method, OutcomeUnavailable, 0, 0)
		}
		if p.activity != nil {
			p.activity.RequestBytes = 0
			b.router.finishActivity(p.activity, OutcomeUnavailable, nil, jsonrpc.CodeBackendUnavailable)
		}
		s.requests.end(clientID)
		s.respond(reply, jsonrpc.Error(clientID, jsonrpc.CodeBackendUnavailable,
			fmt.Sprintf("server %q is not available (%s)", b.spec.Name, reason), nil))
		return
	}
	if o := b.router.opts.Observer; o != nil {
		// Before the request can finish: every end is reported after this.
		o.RequestStarted(b.spec.Name, method, len(req))
	}
	b.conn.pending[id] = p
	p.timer = time.AfterFunc(b.spec.Timeout, func() { b.timeout(id) })
	b.conn.mu.Unlock()
	b.sup.mu.Unlock()
	version := b.version.load()
	var extra [][]byte
	if sv := s.ProtocolVersion(); sv != version {
		var terr error
		if req, extra, terr = b.router.translate(s, sv, version, translator.ToBackend, method, translator.KindRequest, req); req == nil {
			if p := b.conn.drop(id); p != nil {
				if terr != nil {
					b.observeFinished(p, OutcomeError, nil, jsonrpc.CodeInternalError)
					b.finish(p, nil, jsonrpc.CodeInternalError,
						fmt.Sprintf("mcphost: %s could not be put into protocol %s for server %q: %v", method, version, b.spec.Name, terr))
				} else {
					b.observeFinished(p, OutcomeError, nil, jsonrpc.CodeInvalidRequest)
					b.finish(p, nil, jsonrpc.CodeInvalidRequest,
						fmt.Sprintf("%s cannot be sent to server %q, which speaks protocol %s", method, b.spec.Name, version))
				}
			}
			return
		}
	}
	if inputRequiredMethods[method] && !b.version.era().stateful() {
		p.request = req // kept to retry it with the client's input
	}
	// Sending waits at most until the request's deadline: a backend that
	// stops reading fails the request as a timeout would.
	ctx, cancel := b.requestContext(p.start)
	err = b.send(ctx, req)
	for _, m := range extra {
		if err == nil {
			err = b.send(ctx, m)
		}
	}
	cancel()
	if err == nil && p.trace != nil {
		// While the backend works on the call.
		p.trace.id(b.router.opts.Tracer, b.spec.Name, method)
	}
	if err != nil {
		if p := b.conn.drop(id); p != nil {
			outcome, code := OutcomeUnavailable, jsonrpc.CodeBackendUnavailable
			if errors.Is(err, context.DeadlineExceeded) {
				outcome, code = OutcomeTimeout, jsonrpc.CodeRequestTimeout
			}
			b.observeFinished(p, outcome, nil, code)
			b.finish(p, nil, code, fmt.Sprintf("server %q: %v", b.spec.Name, err))
		}
	}
}

func (b *backend) timeout(id int64) {
	p := b.conn.drop(id)
	if p == nil {
		return
	}
	b.cancelRequest(id, "request timed out in mcphost")
	b.observeFinished(p, OutcomeTimeout, nil, jsonrpc.CodeRequestTimeout)
	b.finish(p, nil, jsonrpc.CodeRequestTimeout,
		fmt.Sprintf("server %q did not answer %s within %s", b.spec.Name, p.method, b.spec.Timeout))
}

// cancel abandons a forwarded request on the client's behalf.
func (b *backend) cancel(id int64, reason []byte) {
	p := b.conn.drop(id)
	if p == nil {
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	b.observeFinished(p, OutcomeCancelled, nil, 0)
	if p.reply != nil {
		p.reply.abandon()
	}
	params := []byte(`{"requestId":` + strconv.FormatInt(id, 10) + `}`)
	if reason != nil {
		params, _ = jsonrpc.Set(params, "reason", reason)
	}
	_ = b.sendBounded(jsonrpc.Notification("notifications/cancelled", params))
}

func (b *backend) cancelRequest(id int64, reason string) {
	params := []byte(`{"requestId":` + strconv.FormatInt(id, 10) + `,"reason":` + string(jsonrpc.String(reason)) + `}`)
	_ = b.sendBounded(jsonrpc.Notification("notifications/cancelled", params))
}

func (b *backend) onNotification(env jsonrpc.Envelope, msg []byte) {
	switch env.Method {
	case "notifications/progress":
		b.onProgress(msg)
	case "notifications/tools/list_changed":
		b.goRelist(listTools)
	case "notifications/prompts/list_changed":
		b.goRelist(listPrompts)
	case "notifications/resources/list_changed":
		b.goRelist(listResources, listTemplates)
	case "notifications/resources/updated":
		b.router.onResourceUpdated(b, msg)
	case "notifications/cancelled":
		b.router.onBackendCancelled(b, msg)
	case "notifications/message":
		b.router.onLogMessage(b, msg)
	case "notifications/elicitation/complete":
		b.router.onElicitationComplete(b, msg)
	case "notifications/tasks/status":
		b.router.tasks.onStatus(b, msg)
	case "notifications/subscriptions/acknowledged":
		// The proxy's own listen stream is open; nothing for clients.
	default:
		b.router.onBackendBroadcast(b, msg)
	}
}

// goRelist re-lists in the background, on a goroutine the router owns.
func (b *backend) goRelist(kinds ...listKind) {
	b.router.spawn(func(context.Context) { b.relist(kinds...) })
}

func (b *backend) onProgress(msg []byte) {
	id, err := strconv.ParseInt(string(jsonrpc.Get(msg, "params.progressToken")), 10, 64)
	if err != nil {
		return
	}
	p := b.conn.pendingFor(id)
	if p == nil {
		b.router.tasks.onProgress(b, id, msg)
		return
	}
	if p.clientToken == nil {
		return
	}
	if p.timer != nil {
		// A request that reports progress is alive: give it a fresh timeout.
		p.timer.Reset(b.spec.Timeout)
	}
	out, err := jsonrpc.Set(msg, "params.progressToken", p.clientToken)
	if err != nil {
		return
	}
	p.session.deliverFrom(b, p.reply, "notifications/progress", translator.KindNotification, out)
}

// memberEdit replaces the member at path of a request's params with raw
// (the JSON of value, when value is set).
type memberEdit struct {
	path  string
	raw   []byte
	value string
}

// buildRequest writes a request to a backend with the members of params
// replaced as edits say, copying params once: a large request is not
// copied for every member the proxy rewrites.
func buildRequest(id []byte, method string, params []byte, edits []memberEdit) ([]byte, error) {
	patches := make([]jsonrpc.Patch, 0, len(edits))
	for _, e := range edits {
		s, end, ok := jsonrpc.Locate(params, e.path)
		if !ok {
			return buildRequestSlowly(id, method, params, edits)
		}
		patches = append(patches, jsonrpc.Patch{Start: s, End: end, With: e.raw})
	}
	slices.SortFunc(patches, func(a, b jsonrpc.Patch) int { return a.Start - b.Start })
	for i := 1; i < len(patches); i++ {
		if patches[i].Start < patches[i-1].End {
			return buildRequestSlowly(id, method, params, edits)
		}
	}
	head := jsonrpc.Request(id, method, nil)
	head = append(head[:len(head)-1], `,"params":`...)
	return jsonrpc.Splice(head, params, patches, []byte{'}'}), nil
}

// buildRequestSlowly edits one member at a time: one that is absent is
// added.
func buildRequestSlowly(id []byte, method string, params []byte, edits []memberEdit) ([]byte, error) {
	for _, e := range edits {
		edited, err := jsonrpc.Set(params, e.path, e.raw)
		if err != nil {
			return nil, err
		}
		params = edited
	}
	return jsonrpc.Request(id, method, params), nil
}

// firstID is the first id the proxy gives a request to a backend. Ten
// digits from the start leave room for most clients' ids in place of the
// backend's in its answer (see withID).
const firstID = 1_000_000_000

// withID puts the client's id in place of the backend's in an answer that
// is the proxy's own to change (read off the backend's connection). An id
// no longer than the one it replaces is written where that one ended and
// the few bytes before it are moved up to meet it: a large answer is not
// copied for the sake of its id.
func withID(msg, id []byte) ([]byte, error) {
	s, e, ok := jsonrpc.Locate(msg, "id")
	if !ok || len(id) > e-s {
		return jsonrpc.Set(msg, "id", id)
	}
	copy(msg[e-len(id):e], id)
	start := e - len(id) - s
	copy(msg[start:], msg[:s])
	return msg[start:], nil
}
