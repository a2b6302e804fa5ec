package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Sink writes messages to one client. A session opened with NewSession
// writes its outbox to its Sink from a goroutine of its own, so a Sink may
// block on a slow client: the outbox, bounded in bytes, absorbs it, and a
// client that stops reading is ended alone. The Sink's owner unblocks a
// write by closing the client's connection.
type Sink interface {
	// Send writes a notification or a server→client request.
	Send(msg []byte) error
	// Respond writes a response to one of the client's requests.
	Respond(msg []byte) error
}

// LegacyVersions are the initialize-era protocol revisions the proxy speaks
// to clients, oldest first.
var LegacyVersions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}

// Session is one client connection's view of the proxy.
type Session struct {
	router *Router
	id     string
	// out is the session's own outbox; replies are the open per-request
	// ones. ctx ends when the session does.
	out    *Outbox
	ctx    context.Context
	cancel context.CancelFunc
	queued atomic.Int64
	// requests are the session's requests open at backends.
	requests openRequests
	// subscriptions are its resource subscriptions and listen streams.
	subscriptions subscriptions
	shed          atomic.Bool
	// pumped, for a session opened with a Sink, is closed when its writer
	// has finished.
	pumped     chan struct{}
	lastActive atomic.Int64
	nextOut    atomic.Int64
	// logLevel is the rank+1 of the level from logging/setLevel; 0 until then.
	logLevel atomic.Int32
	// visible, when set, says which servers' entries the lists show.
	visible atomic.Pointer[func(server string) bool]
	// profile, when set, is the profile the session was opened for: it
	// sees and reaches only what the profile grants.
	profile atomic.Pointer[profileView]
	// fromPeer: the session carries a request another instance forwarded.
	fromPeer atomic.Bool
	// authorization is the client's credential, for forwarded retries.
	authorization atomic.Pointer[string]

	mu          sync.Mutex
	closed      bool
	initialized bool
	listener    string // the listener kind, for the admin API
	started     time.Time
	version     protoVersion
	caps        []byte
	clientInfo  []byte
	replies     map[*Outbox]struct{}
	serverReqs  map[int64]serverRequest
	// elicits are the URL-mode elicitations sent to this session and not
	// yet complete, oldest first in elicitOrder.
	elicits     map[elicitKey]bool
	elicitOrder []elicitKey
}

type serverRequest struct {
	backend *backend
	id      []byte
	method  string
	// answer, for the proxy's own requests (backend nil), receives the
	// client's response.
	answer chan []byte
	// progressToken is the backend's _meta.progressToken, if it sent one.
	progressToken []byte
}

// OpenSession opens a client session whose listener takes the session's
// messages off its Outbox (and off the replies it gives Handle) itself.
func (r *Router) OpenSession(listener string) *Session {
	id := NewSessionID()
	if r.opts.InstanceID != "" {
		id = r.opts.InstanceID + InstanceSeparator + id
	}
	return r.openSession(listener, id)
}

func (r *Router) openSession(listener, id string) *Session {
	s := &Session{
		router: r, id: id, listener: listener,
		requests: newOpenRequests(), replies: map[*Outbox]struct{}{},
		serverReqs: map[int64]serverRequest{}, subscriptions: newSubscriptions(),
		elicits: map[elicitKey]bool{}, started: time.Now(),
	}
	s.ctx, s.cancel = context.WithCancel(r.ctx)
	s.out = newOutbox(s, false)
	s.lastActive.Store(time.Now().UnixNano())
	r.sessions.add(s)
	return s
}

// NewSession opens a client session whose messages the session writes to
// out, from a goroutine of its own, until the session ends.
func (r *Router) NewSession(out Sink) *Session {
	s := r.OpenSession("")
	s.pumped = make(chan struct{})
	go s.pump(out)
	return s
}

// ID is the session's identifier (see NewSessionID), after the router's
// instance id if it has one: unique across routers, copies and restarts,
// and unguessable.
func (s *Session) ID() string { return s.id }

// ProtocolVersion is the revision negotiated with the client, if any.
func (s *Session) ProtocolVersion() string { return s.version.load() }

// Close ends the session: its open backend requests are cancelled and its
// open server→client requests fail back to their backends.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	serverReqs := s.serverReqs
	s.serverReqs = map[int64]serverRequest{}
	s.mu.Unlock()
	open := s.requests.takeAll()
	for _, ls := range s.subscriptions.openListens() {
		s.endListen(ls)
	}
	s.endOutboxes()
	s.cancel()
	s.router.sessions.remove(s)
	s.router.tasks.forget(s)
	if t := s.router.opts.Tracer; t != nil {
		t.SessionClosed(s.id)
	}
	for _, f := range open {
		f.backend.cancel(f.id, jsonrpc.String("client session closed"))
	}
	for _, sr := range serverReqs {
		if sr.answer != nil {
			sr.answer <- jsonrpc.Error(jsonrpc.Int(0), jsonrpc.CodeInternalError, "the client session closed", nil)
			continue
		}
		_ = sr.backend.sendBounded(jsonrpc.Error(sr.id, jsonrpc.CodeInternalError, "mcphost: the client session closed", nil))
	}
}

// Drain waits until none of the session's requests is open at a backend,
// or ctx ends: a client that closes its input still gets its answers.
func (s *Session) Drain(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.requests.count() == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Session) isInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized && !s.closed
}

// clientSupports says whether the client declared the capability a
// server→client request needs; URL-mode elicitation needs elicitation.url.
func (s *Session) clientSupports(method string, msg []byte) bool {
	switch method {
	case "sampling/createMessage":
		return s.hasCapability("sampling")
	case "elicitation/create":
		if mode, _ := jsonrpc.GetString(msg, "params.mode"); mode == "url" {
			return s.hasCapability("elicitation.url")
		}
		return s.hasCapability("elicitation")
	case "roots/list":
		return s.hasCapability("roots")
	}
	return true
}

// hasCapability says whether the client declared the capability at path.
func (s *Session) hasCapability(path string) bool {
	s.mu.Lock()
	caps := s.caps
	s.mu.Unlock()
	return gjson.GetBytes(caps, path).Exists()
}

// deliver queues a notification or server→client request on the request's
// reply stream, or on the session's own outbox when the reply takes none.
func (s *Session) deliver(reply replyStream, msg []byte) {
	s.deliverItem(reply, outItem{msg: msg})
}

func (s *Session) deliverItem(reply replyStream, it outItem) {
	if reply != nil && reply.put(it) {
		return
	}
	s.out.put(it)
}

// respond queues the response to one of the client's requests.
func (s *Session) respond(reply replyStream, msg []byte) {
	s.respondItem(reply, outItem{msg: msg})
}

func (s *Session) respondItem(reply replyStream, it outItem) {
	it.final = true
	if reply != nil {
		reply.put(it)
		return
	}
	s.out.put(it)
}

// Handle processes one message from the client. Whatever belongs to it
// (progress, server→client requests, the response) goes to reply, or to the
// session's own outbox when reply is nil. Handle never waits for a backend's
// answer; sending a request waits at most until the request's deadline.
func (s *Session) Handle(msg []byte, reply *Outbox) {
	s.handle(msg, asReply(reply))
}

func (s *Session) handle(msg []byte, reply replyStream) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	env, err := jsonrpc.Peek(msg)
	if err != nil {
		code := jsonrpc.CodeInvalidRequest
		if errors.Is(err, jsonrpc.ErrParse) {
			code, env.ID = jsonrpc.CodeParseError, nil
		}
		s.respond(reply, jsonrpc.Error(env.ID, code, err.Error(), nil))
		return
	}
	s.handlePeeked(env, msg, reply)
}

// asReply keeps a nil *Outbox a nil replyStream.
func asReply(o *Outbox) replyStream {
	if o == nil {
		return nil
	}
	return o
}

// HandlePeeked is Handle for a listener that has already peeked at (and so
// validated) msg: a large message is not scanned twice.
func (s *Session) HandlePeeked(env jsonrpc.Envelope, msg []byte, reply *Outbox) {
	s.handlePeeked(env, msg, asReply(reply))
}

func (s *Session) handlePeeked(env jsonrpc.Envelope, msg []byte, reply replyStream) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	s.lastActive.Store(time.Now().UnixNano())
	if s.router.tooDeep(msg) {
		s.router.log.Warn("refusing a client message nested too deep", "session", s.ID(),
			"max_nesting_depth", s.router.opts.MaxNestingDepth, "bytes", len(msg))
		if env.Kind == jsonrpc.KindRequest || env.Kind == jsonrpc.KindBatch {
			s.respond(reply, jsonrpc.Error(env.ID, jsonrpc.CodeInvalidRequest,
				fmt.Sprintf("Invalid Request: the message nests arrays and objects more than %d levels deep", s.router.opts.MaxNestingDepth), nil))
		}
		return
	}
	switch env.Kind {
	case jsonrpc.KindBatch:
		s.handleBatch(msg, reply)
	case jsonrpc.KindRequest:
		s.handleRequest(env, msg, reply)
	case jsonrpc.KindNotification:
		s.handleNotification(env, msg)
	case jsonrpc.KindResponse:
		s.handleResponse(env, msg)
	}
}

func (s *Session) handleRequest(env jsonrpc.Envelope, msg []byte, reply replyStream) {
	id := env.ID
	if string(id) == "null" {
		s.respond(reply, jsonrpc.Error(nil, jsonrpc.CodeInvalidRequest, "a request id must not be null", nil))
		return
	}
	if s.requests.has(id) {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidRequest, "a request with this id is already in progress", nil))
		return
	}
	params := jsonrpc.Get(msg, "params")
	if params == nil {
		params = []byte(`{}`)
	}
	if env.Method == "tools/call" {
		if rewritten, ok, errMsg := s.router.catalog.load().rewriteCallTool(params); ok {
			if errMsg != "" {
				s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, errMsg, nil))
				return
			}
			params = rewritten
		}
	}
	if errResp := s.adoptRequestMeta(id, params); errResp != nil {
		s.respond(reply, errResp)
		return
	}
	if spans := s.router.opts.Spans; spans != nil {
		reply = s.beginSpan(spans, env.Method, id, params, reply)
	}
	if inputRequiredMethods[env.Method] && s.mayResume(env.Method, params) {
		if state, ok := jsonrpc.GetString(params, "requestState"); ok && isProxyState(state) {
			s.resumeState(reply, id, env.Method, params, state)
			return
		}
	}
	if !s.version.era().stateful() {
		switch env.Method {
		case "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "ping":
			// Gone in 2026-07-28: request metadata and listen streams
			// replace them.
			s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeMethodNotFound, "Method not found: "+env.Method, nil))
			return
		}
	}
	cat := s.router.catalog.load()
	if starting := s.router.starting(); starting != nil && waitsForStartup(env.Method, params, cat) {
		s.afterStartup(starting, func() { s.dispatch(reply, env.Method, id, params, s.router.catalog.load()) })
		return
	}
	s.dispatch(reply, env.Method, id, params, cat)
}

// dispatch answers or forwards a request the session has accepted.
func (s *Session) dispatch(reply replyStream, method string, id, params []byte, cat *catalog) {
	switch method {
	case "server/discover":
		s.respond(reply, jsonrpc.Result(id, s.router.discoverResult()))
	case "subscriptions/listen":
		s.listen(reply, id, params)
	case "initialize":
		s.respond(reply, jsonrpc.Result(id, s.initialize(params)))
	case "ping":
		s.respond(reply, jsonrpc.Result(id, []byte(`{}`)))
	case "tools/list":
		s.respondList(reply, cat, listTools, id, params)
	case "prompts/list":
		s.respondList(reply, cat, listPrompts, id, params)
	case "resources/list":
		s.respondList(reply, cat, listResources, id, params)
	case "resources/templates/list":
		s.respondList(reply, cat, listTemplates, id, params)
	case "tools/call":
		if s.answerSearchTool(reply, id, params, cat) {
			return
		}
		s.forwardByName(reply, id, method, params, "name", cat.tools, listTools, "tool")
	case "prompts/get":
		s.forwardByName(reply, id, method, params, "name", cat.prompts, listPrompts, "prompt")
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		s.forwardResource(reply, id, method, params, cat)
	case "completion/complete":
		s.forwardCompletion(reply, id, params, cat)
	case "logging/setLevel":
		s.setLevel(reply, id, params)
	case "tasks/get", "tasks/result", "tasks/cancel":
		s.forwardTask(reply, id, method, params)
	case "tasks/list":
		s.listTasks(reply, id, params)
	default:
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeMethodNotFound, "Method not found: "+method, nil))
	}
}

// initialize answers the client's handshake locally: the proxy is one
// server to the client, whatever the backends negotiated.
func (s *Session) initialize(params []byte) []byte {
	requested := gjson.GetBytes(params, "protocolVersion").Str
	version := LegacyVersions[len(LegacyVersions)-1]
	for _, v := range LegacyVersions {
		if v == requested {
			version = v
		}
	}
	if requested == "2024-10-07" {
		version = "2024-11-05"
	}
	s.mu.Lock()
	s.version.store(version)
	s.caps = jsonrpc.Get(params, "capabilities")
	s.clientInfo = jsonrpc.Get(params, "clientInfo")
	s.mu.Unlock()
	opts := s.router.opts
	res := `{"protocolVersion":"` + version + `","capabilities":` + s.router.capabilities(version) +
		`,"serverInfo":` + s.router.serverInfo()
	if opts.Instructions != "" {
		res += `,"instructions":` + string(jsonrpc.String(opts.Instructions))
	}
	return []byte(res + "}")
}

// respondList answers a list request with the whole merged list (of the
// servers the session sees); the proxy issues no cursors, so any cursor is
// one it did not give out.
func (s *Session) respondList(reply replyStream, cat *catalog, k listKind, id, params []byte) {
	s.markInitialized()
	if c := gjson.GetBytes(params, "cursor"); c.Exists() && c.Str != "" {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "unknown cursor", nil))
		return
	}
	result, hidden := cat.result(k), ""
	visible, profile := s.visible.Load(), s.profile.Load()
	if k == listTools && cat.search != nil {
		result = cat.search.result
		if visible != nil || profile != nil {
			result, hidden = cat.search.visibleResult(s.reachable, s.profileShowsTool)
		}
		if profile != nil {
			hidden += "|" + profile.key
			if visible != nil {
				_, byToken := cat.search.visibleResult(*visible, nil)
				hidden += "|" + byToken
			}
		}
		// The translation cache is keyed by what is hidden: the search
		// list must not share the full list's entry.
		s.respond(reply, s.localResult(cat, listMethods[k], "search:"+hidden, id, result))
		return
	}
	switch {
	case profile != nil:
		sees := func(server, name string) bool {
			return profile.sees(k, server, name) && (visible == nil || (*visible)(server))
		}
		result, _ = cat.visibleResult(k, sees, k == listTools)
		// The list is the profile's, less the servers the token may not
		// use: that names it in the translated-list cache.
		hidden = profile.key
		if visible != nil {
			_, byToken := cat.visibleResult(k, func(server, _ string) bool { return (*visible)(server) }, false)
			hidden += "|" + byToken
		}
	case visible != nil:
		result, hidden = cat.visibleResult(k, func(server, _ string) bool { return (*visible)(server) }, false)
	}
	s.respond(reply, s.localResult(cat, listMethods[k], hidden, id, result))
}

// SetVisibleServers limits the lists the session is answered with to the
// entries of the servers visible says yes to; nil shows every server. It
// hides; it does not authorize: a listener that limits which servers a
// client may reach refuses the others' requests itself (TargetServer).
func (s *Session) SetVisibleServers(visible func(server string) bool) {
	if visible == nil {
		s.visible.Store(nil)
		return
	}
	s.visible.Store(&visible)
}

// markInitialized covers clients that skip notifications/initialized.
func (s *Session) markInitialized() {
	s.mu.Lock()
	if v := s.version.load(); v != "" && eraOf(v).stateful() {
		s.initialized = true
	}
	s.mu.Unlock()
}

func (s *Session) forwardByName(reply replyStream, id []byte, method string, params []byte, field string, names map[string]route, k listKind, what string) {
	s.markInitialized()
	name, _ := jsonrpc.GetString(params, field)
	rt, ok := names[name]
	if !ok || !s.reaches(k, name, rt) {
		s.recordUnrouted(method, name, params, jsonrpc.CodeInvalidParams)
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, fmt.Sprintf("unknown %s: %q", what, name), nil))
		return
	}
	s.forward(reply, id, method, params, field, rt)
}

// forward sends a request on to the backend rt names, with its exposed
// name (the member at field) replaced by the backend's own.
func (s *Session) forward(reply replyStream, id []byte, method string, params []byte, field string, rt route) {
	rt.backend.forward(s, reply, id, method, params, memberEdit{path: field, raw: jsonrpc.String(rt.original), value: rt.original})
}

func (s *Session) forwardResource(reply replyStream, id []byte, method string, params []byte, cat *catalog) {
	s.markInitialized()
	uri, _ := jsonrpc.GetString(params, "uri")
	rt, ok := cat.resolveURI(uri)
	if !ok || !s.reaches(listResources, uri, rt) {
		s.recordUnrouted(method, uri, params, -32002)
		s.respond(reply, jsonrpc.Error(id, -32002, fmt.Sprintf("Resource not found: %q", uri), map[string]string{"uri": uri}))
		return
	}
	switch method {
	case "resources/subscribe", "resources/unsubscribe":
		s.subscriptions.set(uri, method == "resources/subscribe")
	}
	if method != "resources/read" && rt.backend.version.era().subscribe(rt.backend, rt.original, method == "resources/subscribe") {
		// A 2026-07-28 backend has no subscribe method: its listen stream
		// carries the union of what the sessions subscribed to.
		s.respond(reply, jsonrpc.Result(id, []byte(`{}`)))
		return
	}
	s.forward(reply, id, method, params, "uri", rt)
}

func (s *Session) forwardCompletion(reply replyStream, id, params []byte, cat *catalog) {
	s.markInitialized()
	ref := gjson.GetBytes(params, "ref")
	switch ref.Get("type").Str {
	case "ref/prompt":
		name := ref.Get("name").Str
		if rt, ok := cat.prompts[name]; ok && s.reaches(listPrompts, name, rt) {
			s.forward(reply, id, "completion/complete", params, "ref.name", rt)
			return
		}
	case "ref/resource":
		uri := ref.Get("uri").Str
		if rt, ok := cat.templates[uri]; ok && s.reaches(listTemplates, uri, rt) {
			s.forward(reply, id, "completion/complete", params, "ref.uri", rt)
			return
		}
		if rt, ok := cat.resolveURI(uri); ok && s.reaches(listResources, uri, rt) {
			s.forward(reply, id, "completion/complete", params, "ref.uri", rt)
			return
		}
	}
	s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, "completion reference not found: "+ref.Raw, nil))
}

func (s *Session) handleNotification(env jsonrpc.Envelope, msg []byte) {
	switch env.Method {
	case "notifications/initialized":
		s.mu.Lock()
		s.initialized = true
		s.mu.Unlock()
	case "notifications/cancelled":
		reqID := jsonrpc.Get(msg, "params.requestId")
		if ls := s.subscriptions.listen(reqID); ls != nil {
			s.endListen(ls)
			return
		}
		if f, ok := s.requests.end(reqID); ok {
			f.backend.cancel(f.id, jsonrpc.Get(msg, "params.reason"))
			return
		}
		s.cancelServerRequest(reqID, msg)
	case "notifications/progress":
		s.forwardClientProgress(msg)
	case "notifications/roots/list_changed":
		// 2026-07-28 backends ask for roots when they need them.
		for _, b := range s.router.backends.all() {
			if b.status().State == StateRunning && b.version.era().stateful() {
				_ = b.sendBounded(msg)
			}
		}
	}
}

// handleResponse carries the client's answer to a server→client request
// back to the backend that asked, under the backend's own id.
func (s *Session) handleResponse(env jsonrpc.Envelope, msg []byte) {
	proxyID, err := strconv.ParseInt(string(env.ID), 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	sr, ok := s.serverReqs[proxyID]
	delete(s.serverReqs, proxyID)
	s.mu.Unlock()
	if !ok {
		return
	}
	if sr.answer != nil {
		sr.answer <- msg
		return
	}
	out, err := jsonrpc.Set(msg, "id", sr.id)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.router.ctx, sr.backend.spec.Timeout)
	defer cancel()
	_ = sr.backend.sendIn(ctx, s, s.ProtocolVersion(), sr.method, translator.KindResponse, out)
}

func (s *Session) forwardServerRequest(b *backend, reply replyStream, env jsonrpc.Envelope, msg []byte) {
	proxyID := s.nextOut.Add(1)
	out, err := jsonrpc.Set(msg, "id", jsonrpc.Int(proxyID))
	if err != nil {
		b.sendAsync(jsonrpc.Error(env.ID, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil))
		return
	}
	sr := serverRequest{backend: b, id: env.ID, method: env.Method, progressToken: jsonrpc.Get(msg, "params._meta.progressToken")}
	s.mu.Lock()
	s.serverReqs[proxyID] = sr
	s.mu.Unlock()
	if env.Method == "elicitation/create" {
		if eid, ok := jsonrpc.GetString(msg, "params.elicitationId"); ok {
			s.rememberElicitation(b, eid)
		}
	}
	s.deliverIn(b.protocolVersion(), reply, env.Method, translator.KindRequest, out, func() {
		// No form of it in the client's version: answer as a client that
		// cannot render it would.
		s.forgetServerRequest(proxyID)
		_ = b.sendBounded(noFormAnswer(env.ID, env.Method, s.ProtocolVersion()))
	})
}

// cancelServerRequest passes the client's cancellation of a server→client
// request (by the proxy's id) to the backend that asked, under its own id.
func (s *Session) cancelServerRequest(reqID, msg []byte) {
	proxyID, err := strconv.ParseInt(string(reqID), 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	sr, ok := s.serverReqs[proxyID]
	delete(s.serverReqs, proxyID)
	s.mu.Unlock()
	if !ok {
		return
	}
	if sr.answer != nil {
		sr.answer <- jsonrpc.Error(jsonrpc.Int(0), jsonrpc.CodeInternalError, "the client cancelled the request", nil)
		return
	}
	if out, err := jsonrpc.Set(msg, "params.requestId", sr.id); err == nil {
		_ = sr.backend.sendBounded(out)
	}
}

// forwardClientProgress passes the client's progress on a server→client
// request to the backend that asked. The token is the backend's own,
// unique per backend; should two open requests share it, the newest wins.
func (s *Session) forwardClientProgress(msg []byte) {
	tok := jsonrpc.Get(msg, "params.progressToken")
	if tok == nil {
		return
	}
	var target *backend
	var newest int64
	s.mu.Lock()
	for pid, sr := range s.serverReqs {
		if sr.progressToken != nil && bytes.Equal(sr.progressToken, tok) && pid > newest {
			target, newest = sr.backend, pid
		}
	}
	s.mu.Unlock()
	if target != nil {
		_ = target.sendBounded(msg)
	}
}

// takeServerRequest finds and forgets an open server→client request.
func (s *Session) takeServerRequest(b *backend, backendID []byte) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pid, sr := range s.serverReqs {
		if sr.backend == b && string(sr.id) == string(backendID) {
			delete(s.serverReqs, pid)
			return pid, true
		}
	}
	return 0, false
}
