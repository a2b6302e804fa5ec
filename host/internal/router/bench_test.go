package router

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// echoConn is a backend that answers every tools/call on the spot, inside
// Send, so that a benchmark measures the router alone.
type echoConn struct {
	out  chan []byte
	done chan struct{}
}

func (c *echoConn) Send(_ context.Context, msg []byte) error {
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindRequest {
		return nil
	}
	var res string
	switch env.Method {
	case "initialize":
		res = `{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}}`
	case "tools/list":
		res = `{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`
	case "tools/call":
		res = `{"content":[{"type":"text","text":` + string(jsonrpc.Get(msg, "params.arguments.message")) + `}]}`
	default:
		res = `{}`
	}
	c.out <- jsonrpc.Result(env.ID, []byte(res))
	return nil
}

func (c *echoConn) Recv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.out:
		return m, nil
	case <-c.done:
		return nil, transport.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *echoConn) Close(context.Context) error {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	return nil
}

// queueRecorder hands activity records to a bounded queue that a
// goroutine drains, dropping when it is full: what the proxy's activity
// log costs on the message path.
type queueRecorder struct{ q chan *ActivityRecord }

func (queueRecorder) Capture() ActivityCapture { return ActivityCapture{} }

func (r queueRecorder) Record(a *ActivityRecord) {
	select {
	case r.q <- a:
	default:
	}
}

// BenchmarkToolCall is one tools/call through the router: Handle, the
// backend's answer on the read loop, the reply taken off its outbox. The
// "activity" cells keep an activity record of each call.
func BenchmarkToolCall(b *testing.B) {
	for _, cell := range []struct {
		size     int
		activity bool
	}{{100, false}, {100 << 10, false}, {100, true}, {100 << 10, true}} {
		name := strconv.Itoa(cell.size) + "B"
		if cell.activity {
			name += "/activity"
		}
		size := cell.size
		b.Run(name, func(b *testing.B) {
			spec := BackendSpec{Name: "fe", Prefix: true, ProtocolVersion: "2025-11-25", Open: func(context.Context) (transport.Conn, error) {
				return &echoConn{out: make(chan []byte, 16), done: make(chan struct{})}, nil
			}}
			var opts Options
			if cell.activity {
				rec := queueRecorder{q: make(chan *ActivityRecord, 1024)}
				done := make(chan struct{})
				go func() {
					for range rec.q {
					}
					close(done)
				}()
				defer func() { close(rec.q); <-done }()
				opts.Activity = rec
			}
			r := New(opts, []BackendSpec{spec})
			r.Start(context.Background())
			defer r.Close()
			s := r.OpenSession("bench")
			defer s.Close()
			init := s.NewReply(false)
			s.Handle([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}`), init)
			if _, err := init.Next(context.Background()); err != nil {
				b.Fatal(err)
			}
			init.Close()
			msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"mcp__proxy__fe__echo","arguments":{"message":"` + strings.Repeat("x", size) + `"}}}`)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			cpu0, measured := processCPU()
			for b.Loop() {
				reply := s.NewReply(false)
				s.Handle(msg, reply)
				m, err := reply.Next(context.Background())
				if err != nil || !m.Final {
					b.Fatal(err)
				}
				reply.Close()
			}
			if cpu1, ok := processCPU(); ok && measured {
				// Every goroutine's CPU per call (the router's, the read
				// loop's, the activity queue's): steadier than wall time
				// when other processes share the cores.
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
