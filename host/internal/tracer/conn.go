package tracer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/transport"
)

// SessionMetaKey is the _meta key under which the router tells the tracing
// backend which client session a request comes from ("latest" is per
// session).
const SessionMetaKey = "mcphost/session"

// ServerName is the name the tracing plugin's tools and resources are
// served under, as a backend of the router.
const ServerName = "tracing"

// protocolVersion is what the tracing backend speaks to the router.
const protocolVersion = "2025-11-25"

// Conn serves the tracing plugin's tools and resources to the router as an
// MCP server would: it is the transport.Conn of a backend that lives in
// the host. Each request runs on its own goroutine, so a slow store does
// not hold up others.
type Conn struct {
	t *Tracer

	out    chan []byte
	closed chan struct{}
	once   sync.Once
	// ctx ends at Close; the requests' goroutines are counted in
	// handling, which Close waits for.
	ctx      context.Context
	cancel   context.CancelFunc
	handling sync.WaitGroup

	mu   sync.Mutex
	subs map[string]bool
	done bool // Close has begun: no request is started
}

var _ transport.Conn = (*Conn)(nil)

// Open returns a connection to the tracing backend; the router calls it
// as it would a transport's Open.
func (t *Tracer) Open(context.Context) (transport.Conn, error) {
	c := &Conn{t: t, out: make(chan []byte, 256), closed: make(chan struct{}), subs: map[string]bool{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	t.mu.Lock()
	t.conns = append(t.conns, c)
	t.mu.Unlock()
	return c, nil
}

// Send takes one message from the router.
func (c *Conn) Send(_ context.Context, msg []byte) error {
	select {
	case <-c.closed:
		return transport.ErrClosed
	default:
	}
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindRequest {
		return nil // notifications (initialized, cancelled) need nothing
	}
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return transport.ErrClosed
	}
	c.handling.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.handling.Done()
		c.handle(env, msg)
	}()
	return nil
}

// Recv returns the next message for the router.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.out:
		return m, nil
	case <-c.closed:
		return nil, transport.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the connection.
// Close ends the connection: requests still being answered are cancelled,
// and it returns once their goroutines have.
func (c *Conn) Close(context.Context) error {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	c.once.Do(func() { close(c.closed) })
	c.cancel()
	c.handling.Wait()
	c.t.mu.Lock()
	for i, x := range c.t.conns {
		if x == c {
			c.t.conns = append(c.t.conns[:i], c.t.conns[i+1:]...)
			break
		}
	}
	c.t.mu.Unlock()
	return nil
}

func (c *Conn) emit(msg []byte) {
	select {
	case c.out <- msg:
	case <-c.closed:
	}
}

// changed sends resources/updated for the subscribed ones among uris.
func (c *Conn) changed(uris []string) {
	for _, u := range uris {
		c.mu.Lock()
		sub := c.subs[u]
		c.mu.Unlock()
		if sub {
			c.emit(jsonrpc.Notification("notifications/resources/updated", []byte(`{"uri":`+string(jsonrpc.String(u))+`}`)))
		}
	}
}

func (c *Conn) handle(env jsonrpc.Envelope, msg []byte) {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	params := gjson.GetBytes(msg, "params")
	result, err := c.answer(ctx, env.Method, params)
	if err != nil {
		code := jsonrpc.CodeInternalError
		if rerr, ok := err.(*requestError); ok {
			code = rerr.code
		}
		c.emit(jsonrpc.Error(env.ID, code, err.Error(), nil))
		return
	}
	c.emit(jsonrpc.Result(env.ID, result))
}

// requestTimeout bounds one call into the tracing plugin.
const requestTimeout = 60 * time.Second

type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func (c *Conn) answer(ctx context.Context, method string, params gjson.Result) ([]byte, error) {
	session := params.Get(`_meta.mcphost/session`).Str
	switch method {
	case "initialize":
		return []byte(`{"protocolVersion":"` + protocolVersion + `","capabilities":{"tools":{},"resources":{"subscribe":true}},` +
			`"serverInfo":{"name":"mcphost-tracing","version":"1"}}`), nil
	case "ping":
		return []byte(`{}`), nil
	case "tools/list":
		p, err := c.t.opts.Tracing(ctx)
		if err != nil {
			return c.t.lastList(method, err)
		}
		r, err := p.ListTools(ctx, tracing.ListToolsRequest{Session: session})
		if err != nil {
			return nil, err
		}
		return c.t.keepList(method, listJSON("tools", r.Tools)), nil
	case "tools/call":
		// A call on the tracing tools ends the session's turn first, so
		// that "latest" and feedback see the response just delivered.
		c.t.Flush(ctx, session)
		p, err := c.t.opts.Tracing(ctx)
		if err != nil {
			return nil, err
		}
		r, err := p.CallTool(ctx, tracing.CallToolRequest{
			Session: session, Name: params.Get("name").Str, Arguments: []byte(params.Get("arguments").Raw),
		})
		if err != nil {
			return nil, err
		}
		c.t.NotifyChanged(r.ChangedURIs)
		return r.Result, nil
	case "resources/list", "resources/templates/list":
		p, err := c.t.opts.Tracing(ctx)
		if err != nil {
			return c.t.lastList(method, err)
		}
		r, err := p.ListResources(ctx, tracing.ListResourcesRequest{Session: session})
		if err != nil {
			return nil, err
		}
		if method == "resources/list" {
			return c.t.keepList(method, listJSON("resources", r.Resources)), nil
		}
		return c.t.keepList(method, listJSON("resourceTemplates", r.Templates)), nil
	case "resources/read":
		p, err := c.t.opts.Tracing(ctx)
		if err != nil {
			return nil, err
		}
		r, err := p.ReadResource(ctx, tracing.ReadResourceRequest{Session: session, URI: params.Get("uri").Str})
		if err != nil {
			return nil, &requestError{code: -32002, msg: err.Error()}
		}
		return r.Result, nil
	case "resources/subscribe", "resources/unsubscribe":
		c.mu.Lock()
		c.subs[params.Get("uri").Str] = method == "resources/subscribe"
		c.mu.Unlock()
		return []byte(`{}`), nil
	}
	return nil, &requestError{code: jsonrpc.CodeMethodNotFound, msg: fmt.Sprintf("Method not found: %s", method)}
}

// emptyLists are the lists served while tracing is down, before the
// plugin ever listed anything.
var emptyLists = map[string][]byte{
	"tools/list": []byte(`{"tools":[]}`), "resources/list": []byte(`{"resources":[]}`),
	"resources/templates/list": []byte(`{"resourceTemplates":[]}`),
}

// keepList remembers a list result, to serve while tracing is down.
func (t *Tracer) keepList(method string, result []byte) []byte {
	t.mu.Lock()
	t.lists[method] = result
	t.mu.Unlock()
	return result
}

// lastList answers a list request the plugin could not: while tracing is
// down (ErrDown), with what the plugin last listed (nothing, before it
// ever did), so that the proxy keeps the tracing backend and its tools,
// whose calls then say tracing is down. Any other failure is the answer.
func (t *Tracer) lastList(method string, err error) ([]byte, error) {
	if !errors.Is(err, ErrDown) {
		return nil, err
	}
	t.mu.Lock()
	last, ok := t.lists[method]
	t.mu.Unlock()
	if !ok {
		last = emptyLists[method]
	}
	return last, nil
}

// ListsChanged tells every open connection that the tracing tools and
// resources may have changed (tracing came up): the router lists them
// again, and tells its clients. A plugin that watches changes is watched
// again at once.
func (t *Tracer) ListsChanged() {
	t.watchAgain()
	t.mu.Lock()
	conns := append([]*Conn(nil), t.conns...)
	t.mu.Unlock()
	for _, c := range conns {
		c.emit(jsonrpc.Notification("notifications/tools/list_changed", nil))
		c.emit(jsonrpc.Notification("notifications/resources/list_changed", nil))
	}
}

func listJSON(field string, items []json.RawMessage) []byte {
	out := []byte(`{"` + field + `":[`)
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	return append(out, "]}"...)
}

// NotifyChanged tells every open connection (and the Changed hook) which
// of the plugin's resources changed.
func (t *Tracer) NotifyChanged(uris []string) {
	if len(uris) == 0 {
		return
	}
	t.mu.Lock()
	conns := append([]*Conn(nil), t.conns...)
	t.mu.Unlock()
	for _, c := range conns {
		c.changed(uris)
	}
	if t.opts.Changed != nil {
		t.opts.Changed(uris)
	}
}
