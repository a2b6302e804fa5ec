package listen

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

const waitTimeout = 5 * time.Second

// fakeConn is an in-memory transport.Conn to a fakeBackend.
type fakeConn struct {
	in, out chan []byte
	closed  chan struct{}
	once    sync.Once
}

func (c *fakeConn) Send(ctx context.Context, msg []byte) error {
	select {
	case c.in <- bytes.Clone(msg):
		return nil
	case <-c.closed:
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
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *fakeConn) Close(context.Context) error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *fakeConn) toProxy(msg string) {
	select {
	case c.out <- []byte(msg):
	case <-c.closed:
	}
}

// fakeBackend is a scripted MCP server. tools/call by name: "progress"
// sends two progress notifications (after arguments.delay) and echoes,
// "hang" never answers, "gated" sends two progress notifications at once
// and answers after release, "text" answers a text content block holding
// arguments.text, "confirm" and "lookup" (listed with readOnlyHint) ask the
// client elicitation/create and answer a text block holding the answer's
// action, anything else echoes {"received":<params>}.
type fakeBackend struct {
	mu       sync.Mutex
	tools    []string
	conn     *fakeConn
	received [][]byte
	gate     chan struct{}
	// asking are the calls waiting for the client's elicitation answer,
	// by the id of the elicitation request.
	asking map[string][]byte
}

// calls counts the tools/call requests for the named tool.
func (f *fakeBackend) calls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.received {
		if got, _ := jsonrpc.GetString(m, "params.name"); got == name && string(jsonrpc.Get(m, "method")) == `"tools/call"` {
			n++
		}
	}
	return n
}

// gated is the channel "gated" calls wait on, one token each.
func (f *fakeBackend) gated() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate == nil {
		f.gate = make(chan struct{}, 64)
	}
	return f.gate
}

// release lets one "gated" call answer.
func (f *fakeBackend) release() { f.gated() <- struct{}{} }

func (f *fakeBackend) open(context.Context) (transport.Conn, error) {
	c := &fakeConn{in: make(chan []byte, 256), out: make(chan []byte, 256), closed: make(chan struct{})}
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	go f.serve(c)
	return c, nil
}

func (f *fakeBackend) setTools(names ...string) {
	f.mu.Lock()
	f.tools = names
	f.mu.Unlock()
}

func (f *fakeBackend) notify(msg string) {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	c.toProxy(msg)
}

func (f *fakeBackend) serve(c *fakeConn) {
	for {
		var msg []byte
		select {
		case msg = <-c.in:
		case <-c.closed:
			return
		}
		f.mu.Lock()
		f.received = append(f.received, msg)
		tools := f.tools
		f.mu.Unlock()
		env, err := jsonrpc.Peek(msg)
		if err == nil && env.Kind == jsonrpc.KindResponse {
			f.mu.Lock()
			callID := f.asking[string(env.ID)]
			delete(f.asking, string(env.ID))
			f.mu.Unlock()
			if callID != nil {
				action := jsonrpc.Get(msg, "result.action")
				c.toProxy(string(jsonrpc.Result(callID, []byte(`{"content":[{"type":"text","text":`+string(action)+`}]}`))))
			}
			continue
		}
		if err != nil || env.Kind != jsonrpc.KindRequest {
			continue
		}
		params := jsonrpc.Get(msg, "params")
		reply := func(res string) { c.toProxy(string(jsonrpc.Result(env.ID, []byte(res)))) }
		switch env.Method {
		case "initialize":
			reply(`{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"fake","version":"1"}}`)
		case "tools/list":
			var items []string
			for _, n := range tools {
				annotations := ""
				if n == "lookup" {
					annotations = `,"annotations":{"readOnlyHint":true}`
				}
				items = append(items, `{"name":"`+n+`","inputSchema":{"type":"object"}`+annotations+`}`)
			}
			reply(`{"tools":[` + strings.Join(items, ",") + `]}`)
		case "tools/call":
			name, _ := jsonrpc.GetString(params, "name")
			switch name {
			case "hang":
			case "gated":
				tok := string(jsonrpc.Get(params, "_meta.progressToken"))
				for i := 1; i <= 2; i++ {
					c.toProxy(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":` + tok +
						`,"progress":` + strconv.Itoa(i) + `}}`)
				}
				gate := f.gated()
				go func() {
					select {
					case <-gate:
						reply(`{"received":` + string(params) + `}`)
					case <-c.closed:
					}
				}()
			case "confirm", "lookup":
				askID := `"ask-` + strings.Trim(string(env.ID), `"`) + `"`
				f.mu.Lock()
				if f.asking == nil {
					f.asking = map[string][]byte{}
				}
				f.asking[askID] = env.ID
				f.mu.Unlock()
				c.toProxy(`{"jsonrpc":"2.0","id":` + askID + `,"method":"elicitation/create","params":{"message":"sure?","requestedSchema":{"type":"object","properties":{}}}}`)
			case "text":
				reply(`{"content":[{"type":"text","text":` + string(jsonrpc.Get(params, "arguments.text")) + `}]}`)
			case "progress":
				go func() {
					if d, ok := jsonrpc.GetString(params, "arguments.delay"); ok {
						dur, _ := time.ParseDuration(d)
						time.Sleep(dur) // a backend slow to report progress is the case under test
					}
					tok := string(jsonrpc.Get(params, "_meta.progressToken"))
					for i := 1; i <= 2; i++ {
						c.toProxy(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":` + tok +
							`,"progress":` + strconv.Itoa(i) + `}}`)
					}
					reply(`{"received":` + string(params) + `}`)
				}()
			default:
				reply(`{"received":` + string(params) + `}`)
			}
		default:
			reply(`{}`)
		}
	}
}

// newRouter starts a router with one fakeBackend named "srv".
func newRouter(t *testing.T, tools ...string) (*router.Router, *fakeBackend) {
	t.Helper()
	return newRouterWith(t, router.Options{}, tools...)
}

func newRouterWith(t *testing.T, opts router.Options, tools ...string) (*router.Router, *fakeBackend) {
	t.Helper()
	f := &fakeBackend{tools: tools}
	opts.RestartDelay = 10 * time.Millisecond
	r := router.New(opts, []router.BackendSpec{{Name: "srv", Prefix: true, Open: f.open}})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	if st := r.Backends()[0]; st.State != router.StateRunning {
		t.Fatalf("backend %s: %s", st.State, st.Reason)
	}
	return r, f
}

func initializeMsg(id string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
}

func callMsg(id, name, args, meta string) string {
	m := `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":` + args
	if meta != "" {
		m += `,"_meta":` + meta
	}
	return m + `}}`
}
