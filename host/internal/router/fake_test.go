package router

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// waitTimeout bounds every wait in these tests; generous for -race.
const waitTimeout = 5 * time.Second

// fakeConn is an in-memory transport.Conn. The proxy side uses Send, Recv
// and Close; the fake server reads fromProxy and writes with toProxy, and
// hangs up with hangUp.
type fakeConn struct {
	fromProxy chan []byte
	out       chan []byte
	closed    chan struct{} // closed by the proxy's Close
	eof       chan struct{} // closed when the server hangs up
	closeOnce sync.Once
	eofOnce   sync.Once
	closes    atomic.Int32
}

func newFakeConn() *fakeConn {
	return &fakeConn{
		fromProxy: make(chan []byte, 1024), out: make(chan []byte, 1024),
		closed: make(chan struct{}), eof: make(chan struct{}),
	}
}

func (c *fakeConn) gone() bool {
	select {
	case <-c.closed:
		return true
	case <-c.eof:
		return true
	default:
		return false
	}
}

func (c *fakeConn) Send(ctx context.Context, msg []byte) error {
	if c.gone() {
		return transport.ErrClosed
	}
	select {
	case c.fromProxy <- bytes.Clone(msg):
		return nil
	case <-c.closed:
		return transport.ErrClosed
	case <-c.eof:
		return transport.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeConn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.out:
		return m, nil
	case <-c.closed:
		return nil, transport.ErrClosed
	case <-c.eof:
		return nil, fmt.Errorf("read: %w", transport.ErrClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *fakeConn) Close(context.Context) error {
	c.closes.Add(1)
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) toProxy(msg string) {
	select {
	case c.out <- []byte(msg):
	case <-c.closed:
	case <-c.eof:
	}
}

func (c *fakeConn) hangUp() { c.eofOnce.Do(func() { close(c.eof) }) }

func tool(name string) string {
	return `{"name":` + string(jsonrpc.String(name)) + `,"description":"d","inputSchema":{"type":"object","properties":{"x":{"type":"string"}}}}`
}

// fakeServer is a scripted MCP server behind fakeConns. Lists are served
// from its fields; tools/call behaves by tool name:
//
//	hang      never answers
//	progress  sends two progress notifications (after arguments.delayMs), then echoes
//	sample    asks the client sampling/createMessage (id "s-N") and returns its answer
//	crash     hangs up the connection
//	barrier   holds answers until two barrier calls are open, then answers both, newest first
//	ask       sends the request arguments.method with arguments.params (id "s-N") and returns its answer
//	fail      answers with the JSON-RPC error in arguments.error
//	task      with params.task, creates task "bt-N" (CreateTaskResult), then reports progress 1 on
//	          _meta.progressToken if there is one
//	other     echoes: {"received":<params as received>}
//
// ping answers {} unless noPing (method-not-found) or hangPing is the
// connection (no answer). tasks/get and tasks/cancel answer the task with "received"; tasks/result
// answers a tool result tied to the task by _meta; tasks/list gives the
// created tasks, then on a second page a task "stranger" nobody created
// through the proxy. Every other request is echoed.
type fakeServer struct {
	mu         sync.Mutex
	toolPages  [][]string
	prompts    []string
	resources  []string
	templates  []string
	received   [][]byte
	conns      []*fakeConn
	waiters    map[string]chan []byte
	held       [][2]string // barrier calls: id, params
	nextReq    int
	hangLists  bool      // leave tools/list unanswered
	hangMethod string    // leave requests of this method unanswered
	caps       string    // initialize capabilities; the default when empty
	tasks      []string  // ids of the tasks created
	noPing     bool      // answer ping with method-not-found
	hangPing   *fakeConn // leave ping unanswered on this connection
	// modern: a 2026-07-28 server (server/discover, no initialize).
	modern bool
}

func newFakeServer(toolPages ...[]string) *fakeServer {
	return &fakeServer{toolPages: toolPages, waiters: map[string]chan []byte{}}
}

func (s *fakeServer) open(context.Context) (transport.Conn, error) {
	c := newFakeConn()
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	go s.serve(c)
	return c, nil
}

func (s *fakeServer) spec(name string, prefix bool, timeout time.Duration) BackendSpec {
	return BackendSpec{Name: name, Prefix: prefix, Timeout: timeout, Open: s.open}
}

func (s *fakeServer) opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *fakeServer) current() *fakeConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[len(s.conns)-1]
}

func (s *fakeServer) setTools(pages ...[]string) {
	s.mu.Lock()
	s.toolPages = pages
	s.mu.Unlock()
}

// notify sends a message from the server on its current connection.
func (s *fakeServer) notify(msg string) { s.current().toProxy(msg) }

// waitReceived returns the first message from the proxy matching pred.
func (s *fakeServer) waitReceived(t *testing.T, what string, pred func(msg []byte) bool) []byte {
	t.Helper()
	var found []byte
	poll.Until(t, "backend to receive "+what, func() bool {
		found = s.find(pred)
		return found != nil
	})
	return found
}

func (s *fakeServer) find(pred func(msg []byte) bool) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.received {
		if pred(m) {
			return m
		}
	}
	return nil
}

// all is every message received so far, in order.
func (s *fakeServer) all() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received...)
}

// count is how many received messages match pred.
func (s *fakeServer) count(pred func(msg []byte) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.received {
		if pred(m) {
			n++
		}
	}
	return n
}

func isMethod(method string) func([]byte) bool {
	return func(m []byte) bool {
		got, _ := jsonrpc.GetString(m, "method")
		return got == method
	}
}

func isToolCall(name string) func([]byte) bool {
	return func(m []byte) bool {
		got, _ := jsonrpc.GetString(m, "params.name")
		return isMethod("tools/call")(m) && got == name
	}
}

func (s *fakeServer) serve(c *fakeConn) {
	for {
		var msg []byte
		select {
		case msg = <-c.fromProxy:
		case <-c.closed:
			return
		case <-c.eof:
			return
		}
		s.mu.Lock()
		s.received = append(s.received, msg)
		s.mu.Unlock()
		env, err := jsonrpc.Peek(msg)
		if err != nil {
			continue
		}
		switch env.Kind {
		case jsonrpc.KindResponse:
			s.mu.Lock()
			ch := s.waiters[string(env.ID)]
			delete(s.waiters, string(env.ID))
			s.mu.Unlock()
			if ch != nil {
				ch <- msg
			}
		case jsonrpc.KindRequest:
			s.request(c, env, msg)
		}
	}
}

func result(id []byte, res string) string { return string(jsonrpc.Result(id, []byte(res))) }

func echo(params []byte) string { return `{"received":` + string(params) + `}` }

func (s *fakeServer) request(c *fakeConn, env jsonrpc.Envelope, msg []byte) {
	params := jsonrpc.Get(msg, "params")
	s.mu.Lock()
	pages, prompts, resources, templates := s.toolPages, s.prompts, s.resources, s.templates
	s.mu.Unlock()
	s.mu.Lock()
	modern, hang := s.modern, s.hangMethod == env.Method
	s.mu.Unlock()
	if hang {
		return
	}
	if modern && s.modernRequest(c, env, params) {
		return
	}
	switch env.Method {
	case "ping":
		s.mu.Lock()
		noPing, hang := s.noPing, s.hangPing == c
		s.mu.Unlock()
		switch {
		case hang:
		case noPing:
			c.toProxy(string(jsonrpc.Error(env.ID, jsonrpc.CodeMethodNotFound, "Method not found", nil)))
		default:
			c.toProxy(result(env.ID, `{}`))
		}
	case "initialize":
		s.mu.Lock()
		caps := s.caps
		s.mu.Unlock()
		if caps == "" {
			caps = `{"tools":{"listChanged":true},"prompts":{"listChanged":true},"resources":{"subscribe":true,"listChanged":true}}`
		}
		c.toProxy(result(env.ID, `{"protocolVersion":"2025-06-18","capabilities":`+caps+`,"serverInfo":{"name":"fake","version":"1"}}`))
	case "tasks/get", "tasks/cancel":
		status := map[string]string{"tasks/get": "working", "tasks/cancel": "cancelled"}[env.Method]
		c.toProxy(result(env.ID, `{"taskId":`+string(jsonrpc.Get(params, "taskId"))+`,"status":"`+status+`","received":`+string(params)+`}`))
	case "tasks/result":
		c.toProxy(result(env.ID, `{"content":[{"type":"text","text":"done"}],"_meta":{"`+relatedTaskKey+`":{"taskId":`+
			string(jsonrpc.Get(params, "taskId"))+`}},"received":`+string(params)+`}`))
	case "tasks/list":
		if cursor, _ := jsonrpc.GetString(params, "cursor"); cursor == "more" {
			c.toProxy(result(env.ID, `{"tasks":[{"taskId":"stranger","status":"working"}]}`))
			return
		}
		s.mu.Lock()
		var items []string
		for _, id := range s.tasks {
			items = append(items, `{"taskId":"`+id+`","status":"working"}`)
		}
		s.mu.Unlock()
		c.toProxy(result(env.ID, `{"tasks":[`+strings.Join(items, ",")+`],"nextCursor":"more"}`))
	case "tools/list":
		s.mu.Lock()
		hang := s.hangLists
		s.mu.Unlock()
		if hang {
			return
		}
		cursor, _ := jsonrpc.GetString(params, "cursor")
		page := 0
		if cursor != "" {
			page, _ = strconv.Atoi(strings.TrimPrefix(cursor, "page-"))
		}
		var items []string
		if page < len(pages) {
			items = pages[page]
		}
		res := `{"tools":[` + strings.Join(items, ",") + `]`
		if page+1 < len(pages) {
			res += `,"nextCursor":"page-` + strconv.Itoa(page+1) + `"`
		}
		c.toProxy(result(env.ID, res+"}"))
	case "prompts/list":
		c.toProxy(result(env.ID, `{"prompts":[`+strings.Join(prompts, ",")+`]}`))
	case "resources/list":
		c.toProxy(result(env.ID, `{"resources":[`+strings.Join(resources, ",")+`]}`))
	case "resources/templates/list":
		c.toProxy(result(env.ID, `{"resourceTemplates":[`+strings.Join(templates, ",")+`]}`))
	case "tools/call":
		name, _ := jsonrpc.GetString(params, "name")
		switch name {
		case "hang":
		case "crash":
			c.hangUp()
		case "progress":
			go func() {
				if d, ok := jsonrpc.GetString(params, "arguments.delay"); ok {
					dur, _ := time.ParseDuration(d)
					time.Sleep(dur) // a backend slow to report progress is the case under test
				}
				tok := jsonrpc.Get(params, "_meta.progressToken")
				for i := 1; i <= 2; i++ {
					c.toProxy(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":` +
						string(tok) + `,"progress":` + strconv.Itoa(i) + `,"total":2}}`)
				}
				c.toProxy(result(env.ID, echo(params)))
			}()
		case "sample":
			s.ask(c, env.ID, "sampling/createMessage", `{"messages":[],"maxTokens":5,"x-extra":[1,2]}`)
		case "ask":
			method, _ := jsonrpc.GetString(params, "arguments.method")
			s.ask(c, env.ID, method, string(jsonrpc.Get(params, "arguments.params")))
		case "fail":
			c.toProxy(`{"jsonrpc":"2.0","id":` + string(env.ID) + `,"error":` + string(jsonrpc.Get(params, "arguments.error")) + `}`)
		case "task":
			if jsonrpc.Get(params, "task") == nil {
				c.toProxy(result(env.ID, echo(params)))
				return
			}
			s.mu.Lock()
			id := "bt-" + strconv.Itoa(len(s.tasks)+1)
			s.tasks = append(s.tasks, id)
			s.mu.Unlock()
			c.toProxy(result(env.ID, `{"task":{"taskId":"`+id+`","status":"working","createdAt":"2025-11-25T00:00:00Z","ttl":60000}}`))
			if tok := jsonrpc.Get(params, "_meta.progressToken"); tok != nil {
				c.toProxy(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":` + string(tok) + `,"progress":1}}`)
			}
		case "barrier":
			s.mu.Lock()
			s.held = append(s.held, [2]string{string(env.ID), string(params)})
			var release [][2]string
			if len(s.held) == 2 {
				release, s.held = s.held, nil
			}
			s.mu.Unlock()
			for i := len(release) - 1; i >= 0; i-- {
				c.toProxy(result([]byte(release[i][0]), echo([]byte(release[i][1]))))
			}
		default:
			c.toProxy(result(env.ID, echo(params)))
		}
	default:
		c.toProxy(result(env.ID, echo(params)))
	}
}

// ask sends the client a request (id "s-N") and answers the call that
// caused it with {"content":[],"answer":<the client's whole response>}.
func (s *fakeServer) ask(c *fakeConn, callID []byte, method, params string) {
	s.mu.Lock()
	s.nextReq++
	sid := `"s-` + strconv.Itoa(s.nextReq) + `"`
	ch := make(chan []byte, 1)
	s.waiters[sid] = ch
	s.mu.Unlock()
	c.toProxy(`{"jsonrpc":"2.0","id":` + sid + `,"method":` + string(jsonrpc.String(method)) + `,"params":` + params + `}`)
	go func() {
		select {
		case answer := <-ch:
			c.toProxy(result(callID, `{"content":[],"answer":`+string(answer)+`}`))
		case <-c.closed:
		case <-c.eof:
		}
	}()
}

// recSink records what the router delivers to one client.
type recSink struct {
	mu   sync.Mutex
	msgs []recMsg
}

type recMsg struct {
	response bool
	msg      []byte
}

func (r *recSink) Send(msg []byte) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, recMsg{msg: bytes.Clone(msg)})
	r.mu.Unlock()
	return nil
}

func (r *recSink) Respond(msg []byte) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, recMsg{response: true, msg: bytes.Clone(msg)})
	r.mu.Unlock()
	return nil
}

func (r *recSink) all() []recMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recMsg(nil), r.msgs...)
}

// index is the position of the first message matching pred, or -1.
func (r *recSink) index(pred func(recMsg) bool) int {
	for i, m := range r.all() {
		if pred(m) {
			return i
		}
	}
	return -1
}

func (r *recSink) waitFor(t *testing.T, what string, pred func(recMsg) bool) []byte {
	t.Helper()
	var found []byte
	poll.Until(t, "client to get "+what, func() bool {
		if i := r.index(pred); i >= 0 {
			found = r.all()[i].msg
			return true
		}
		return false
	})
	return found
}

func isResponse(id string) func(recMsg) bool {
	return func(m recMsg) bool { return m.response && string(jsonrpc.Get(m.msg, "id")) == id }
}

func isNotification(method string) func(recMsg) bool {
	return func(m recMsg) bool {
		got, _ := jsonrpc.GetString(m.msg, "method")
		return !m.response && got == method
	}
}

// response waits for the response with the given raw id.
func (r *recSink) response(t *testing.T, id string) []byte {
	t.Helper()
	return r.waitFor(t, "response "+id, isResponse(id))
}

// never checks that nothing matching pred arrives within d.
func (r *recSink) never(t *testing.T, what string, d time.Duration, pred func(recMsg) bool) {
	t.Helper()
	time.Sleep(d)
	if i := r.index(pred); i >= 0 {
		t.Fatalf("client got %s: %s", what, r.all()[i].msg)
	}
}

func (r *recSink) countOf(pred func(recMsg) bool) int {
	n := 0
	for _, m := range r.all() {
		if pred(m) {
			n++
		}
	}
	return n
}

// startRouter builds and starts a router; it is closed at cleanup.
func startRouter(t *testing.T, opts Options, specs ...BackendSpec) *Router {
	t.Helper()
	if opts.RestartDelay == 0 {
		opts.RestartDelay = 10 * time.Millisecond
	}
	r := New(opts, specs)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	for _, st := range r.Backends() {
		if st.State != StateRunning {
			t.Fatalf("backend %s is %s (%s) after Start", st.Name, st.State, st.Reason)
		}
	}
	return r
}

const samplingCaps = `{"sampling":{},"roots":{"listChanged":true}}`

// newClient opens a session and performs the handshake with version.
func newClient(t *testing.T, r *Router, version, caps string) (*Session, *recSink) {
	t.Helper()
	sink := &recSink{}
	s := r.NewSession(sink)
	t.Cleanup(s.Close)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"`+version+
		`","capabilities":`+caps+`,"clientInfo":{"name":"test","version":"1"}}}`), nil)
	resp := sink.response(t, `"init"`)
	if got, _ := jsonrpc.GetString(resp, "result.protocolVersion"); got != version {
		t.Fatalf("initialize negotiated %q, want %q: %s", got, version, resp)
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), nil)
	// Notifications reach a session once it is initialized; wait for that
	// fact, so that what a test does next is seen by it.
	poll.Until(t, "the session initialized", s.isInitialized)
	return s, sink
}

func callMsg(id, name, args string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":` +
		string(jsonrpc.String(name)) + `,"arguments":` + args + `}}`)
}

// toolNames lists the names in a tools/list response.
func toolNames(t *testing.T, resp []byte) []string {
	t.Helper()
	var names []string
	for i := 0; ; i++ {
		n, ok := jsonrpc.GetString(resp, "result.tools."+strconv.Itoa(i)+".name")
		if !ok {
			return names
		}
		names = append(names, n)
	}
}

func errorCode(msg []byte) int {
	c, _ := strconv.Atoi(string(jsonrpc.Get(msg, "error.code")))
	return c
}
