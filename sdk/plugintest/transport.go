package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Echo is the behaviour TestTransport expects from the backend: for a
// request it returns the response
//
//	{"jsonrpc":"2.0","id":<same id>,"result":{"echo":<params>}}
//
// with params copied byte for byte (null when absent); for anything else it
// returns nil, meaning no answer. Backends written for the suite can call it.
func Echo(msg []byte) []byte {
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindRequest {
		return nil
	}
	params := jsonrpc.Get(msg, "params")
	if params == nil {
		params = []byte("null")
	}
	result := make([]byte, 0, len(params)+10)
	result = append(result, `{"echo":`...)
	result = append(result, params...)
	result = append(result, '}')
	return jsonrpc.Result(env.ID, result)
}

// Timeout bounds every wait in TestTransport.
const Timeout = 60 * time.Second

// TestTransport is a conformance suite for a transport. newTransport returns
// a fresh implementation (in-process, or through ServeTransport to cover the
// gRPC layer too); backend returns the instance config JSON of a backend that
// answers newline-delimited JSON-RPC as Echo does. Each subtest opens its own
// connection(s) and runs in parallel with the others.
//
// Besides round trips it checks the Conn contract on ctx: Send returns
// once its ctx ends (deadline or cancellation) while the backend has
// stopped reading (a backend answering in order stops once its answers go
// unread), and Recv returns once its ctx ends, without losing what it had
// read of a message.
func TestTransport(t *testing.T, newTransport func(t *testing.T) transport.Transport, backend func(t *testing.T) json.RawMessage) {
	t.Run("Info", func(t *testing.T) {
		t.Parallel()
		info, err := newTransport(t).Info(context.Background(), base.InfoRequest{})
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		if info.Kind != base.KindTransport {
			t.Errorf("Kind = %q, want %q", info.Kind, base.KindTransport)
		}
		if info.Name == "" || info.Version == "" {
			t.Errorf("Name = %q, Version = %q; both must be set", info.Name, info.Version)
		}
		if info.APIMinor > transport.APIMinor {
			t.Errorf("APIMinor = %d, newer than the SDK's %d", info.APIMinor, transport.APIMinor)
		}
	})

	t.Run("Schema", func(t *testing.T) {
		t.Parallel()
		s, err := newTransport(t).Schema(context.Background(), base.SchemaRequest{})
		if err != nil {
			t.Fatalf("Schema: %v", err)
		}
		if len(s.Instance.Attributes) == 0 {
			t.Fatal("instance schema has no attributes")
		}
		seen := map[string]bool{}
		for _, a := range s.Instance.Attributes {
			if a.Name == "" || seen[a.Name] {
				t.Errorf("attribute name %q is empty or repeated", a.Name)
			}
			seen[a.Name] = true
			if !json.Valid(a.Type) {
				t.Errorf("attribute %q: type %q is not JSON", a.Name, a.Type)
			}
		}
	})

	t.Run("ValidateBackendConfig", func(t *testing.T) {
		t.Parallel()
		r, err := newTransport(t).Validate(context.Background(), base.ValidateRequest{Config: backend(t)})
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		for _, d := range r.Diagnostics {
			if d.Severity == base.SeverityError {
				t.Errorf("valid backend config rejected: %+v", d)
			}
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 0)
		params := []byte(`{"greeting":"héllo","n":[1,2,3],"_meta":{"x":null}}`)
		send(t, c, request("1", params))
		checkEcho(t, recv(t, c), "1", params)
	})

	t.Run("MultilineMessageIsCompacted", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 0)
		msg := []byte("{\r\n  \"jsonrpc\": \"2.0\",\n  \"id\": \"multi\",\n  \"method\": \"echo\",\n  \"params\": {\n    \"a\": \"line\\nbreak\"\n  }\n}")
		send(t, c, msg)
		checkEcho(t, recv(t, c), `"multi"`, []byte(`{"a":"line\nbreak"}`))
	})

	t.Run("ConcurrentRequests", func(t *testing.T) {
		t.Parallel()
		const total, senders = 200, 8
		c := Open(t, newTransport(t), backend(t), 0)
		got := make(chan []byte, total)
		recvErr := make(chan error, 1)
		go func() {
			for range total {
				msg, err := recvCtx(c)
				if err != nil {
					recvErr <- err
					return
				}
				got <- msg
			}
		}()
		// Conn allows one Send at a time, so the senders take turns; the
		// requests are still all in flight together.
		var sendMu sync.Mutex
		var wg sync.WaitGroup
		sendErr := make(chan error, total)
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := s; i < total; i += senders {
					sendMu.Lock()
					err := c.Send(context.Background(), request(strconv.Itoa(i), []byte(fmt.Sprintf(`{"i":%d}`, i))))
					sendMu.Unlock()
					if err != nil {
						sendErr <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(sendErr)
		for err := range sendErr {
			t.Fatalf("Send: %v", err)
		}
		answered := make(map[int]bool, total)
		for range total {
			var msg []byte
			select {
			case msg = <-got:
			case err := <-recvErr:
				t.Fatalf("Recv after %d answers: %v", len(answered), err)
			}
			env, err := jsonrpc.Peek(msg)
			if err != nil || env.Kind != jsonrpc.KindResponse {
				t.Fatalf("not a response (%v): %.200s", err, msg)
			}
			unquoted, _ := strconv.Unquote(string(env.ID))
			id, err := strconv.Atoi(unquoted)
			if err != nil || id < 0 || id >= total || answered[id] {
				t.Fatalf("unexpected or repeated id %s", env.ID)
			}
			answered[id] = true
			checkEcho(t, msg, string(env.ID), []byte(fmt.Sprintf(`{"i":%d}`, id)))
		}
	})

	t.Run("LargeMessage", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 16<<20)
		blob := bytes.Repeat([]byte("0123456789abcdef"), (10<<20)/16)
		params := append(append([]byte(`{"blob":"`), blob...), `"}`...)
		send(t, c, request("big", params))
		checkEcho(t, recv(t, c), `"big"`, params)
	})

	t.Run("SendReturnsWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		for _, end := range contextEnds {
			t.Run(end.name, func(t *testing.T) {
				t.Parallel()
				testSendGivesUp(t, Open(t, newTransport(t), backend(t), 2<<20), end.start)
			})
		}
	})

	t.Run("RecvReturnsWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		for _, end := range contextEnds {
			t.Run(end.name, func(t *testing.T) {
				t.Parallel()
				c := Open(t, newTransport(t), backend(t), 0)
				// Nothing is coming: Recv must give up, and the
				// connection must go on as before.
				for i := range 3 {
					ctx, cancel := end.start()
					msg, err := recvWithin(t, c, ctx)
					cancel()
					if err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
						t.Fatalf("Recv %d with nothing to read = %.100q, %v; want ctx's error", i, msg, err)
					}
				}
				send(t, c, request("after", []byte(`{"n":1}`)))
				checkEcho(t, recv(t, c), "after", []byte(`{"n":1}`))
			})
		}
	})

	t.Run("RecvGivingUpMidMessageLosesNothing", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 16<<20)
		blob := bytes.Repeat([]byte("0123456789abcdef"), (8<<20)/16)
		params := append(append([]byte(`{"blob":"`), blob...), `"}`...)
		send(t, c, request("big", params))
		send(t, c, request("next", []byte(`{"n":2}`)))
		// Recv after Recv gives up after a moment, many of them in the
		// middle of the large answer; together they must deliver both
		// answers whole (in either order: some transports run requests
		// side by side).
		want := map[string][]byte{"big": params, "next": []byte(`{"n":2}`)}
		deadline := time.Now().Add(Timeout)
		for len(want) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			msg, err := recvWithin(t, c, ctx)
			cancel()
			if err == nil {
				id, _ := jsonrpc.GetString(msg, "id")
				p, ok := want[id]
				if !ok {
					t.Fatalf("unexpected or repeated answer: %.200s", msg)
				}
				checkEcho(t, msg, id, p)
				delete(want, id)
				continue
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv: %v, want an answer or a deadline error", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("answers missing after %v: %d", Timeout, len(want))
			}
		}
	})

	t.Run("CloseEndsRecv", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 0)
		send(t, c, request("1", []byte(`{}`)))
		checkEcho(t, recv(t, c), "1", []byte(`{}`))
		closeConn(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		msg, err := c.Recv(ctx)
		if err == nil {
			t.Fatalf("Recv after Close returned a message: %.200s", msg)
		}
		if !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Recv after Close: %v, want an error wrapping transport.ErrClosed", err)
		}
	})

	t.Run("CloseTwice", func(t *testing.T) {
		t.Parallel()
		c := Open(t, newTransport(t), backend(t), 0)
		closeConn(t, c)
		closeConn(t, c)
	})
}

// Open opens a connection to the backend described by config, closed on
// t.Cleanup. maxMessageBytes 0 leaves the transport's default.
func Open(t testing.TB, tr transport.Transport, config json.RawMessage, maxMessageBytes int) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	r, err := tr.Open(ctx, transport.OpenRequest{Name: name, Config: config, MaxMessageBytes: maxMessageBytes})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if r.Conn == nil {
		t.Fatal("Open returned no connection")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		_ = r.Conn.Close(ctx)
	})
	return r.Conn
}

func request(id string, params []byte) []byte {
	return jsonrpc.Request([]byte(strconv.Quote(id)), "echo", params)
}

func send(t testing.TB, c transport.Conn, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func recvCtx(c transport.Conn) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return c.Recv(ctx)
}

func recv(t testing.TB, c transport.Conn) []byte {
	t.Helper()
	msg, err := recvCtx(c)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return msg
}

func closeConn(t testing.TB, c transport.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// checkEcho checks that msg answers request id (raw JSON, or a plain string
// that request quoted) with params echoed byte for byte.
func checkEcho(t testing.TB, msg []byte, id string, params []byte) {
	t.Helper()
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindResponse || env.IsError {
		t.Fatalf("want a success response, got (%v) %.200s", err, msg)
	}
	if string(env.ID) != id && string(env.ID) != strconv.Quote(id) {
		t.Fatalf("response id = %s, want %s", env.ID, id)
	}
	if got := jsonrpc.Get(msg, "result.echo"); !bytes.Equal(got, params) {
		t.Fatalf("echoed params differ: got %d bytes %.100q, want %d bytes %.100q", len(got), got, len(params), params)
	}
}

// contextEnds are the two ways a ctx ends: its deadline passes, or it is
// cancelled. start returns a ctx that ends in a moment.
var contextEnds = []struct {
	name  string
	start func() (context.Context, context.CancelFunc)
}{
	{"Deadline", func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 50*time.Millisecond)
	}},
	{"Cancel", func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(50*time.Millisecond, cancel)
		return ctx, func() { stop.Stop(); cancel() }
	}},
}

// testSendGivesUp sends large requests without reading the answers, so
// that a backend which answers in order soon stops reading, until a Send
// blocks: it must return once its ctx has ended. A transport that never
// blocks (each message its own HTTP request, say) passes.
func testSendGivesUp(t *testing.T, c transport.Conn, start func() (context.Context, context.CancelFunc)) {
	t.Helper()
	blob := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	params := append(append([]byte(`{"blob":"`), blob...), `"}`...)
	for i := range 64 {
		ctx, cancel := start()
		returned := make(chan error, 1)
		go func() { returned <- c.Send(ctx, request(strconv.Itoa(i), params)) }()
		var err error
		select {
		case err = <-returned:
		case <-time.After(Timeout):
			t.Fatalf("Send %d did not return within %v, though its ctx ended after 50ms", i, Timeout)
		}
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() == nil {
			t.Fatalf("Send %d failed before its ctx ended: %v", i, err)
		}
		if !errors.Is(err, ctx.Err()) && !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Send %d: %v, want ctx's error, or ErrClosed for a message cut short", i, err)
		}
		return
	}
	t.Log("no Send blocked: the transport took 64 MiB without the backend reading")
}

// recvWithin calls Recv with ctx, failing the test if it does not return
// within Timeout.
func recvWithin(t testing.TB, c transport.Conn, ctx context.Context) ([]byte, error) {
	t.Helper()
	type result struct {
		msg []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		msg, err := c.Recv(ctx)
		done <- result{msg, err}
	}()
	select {
	case r := <-done:
		return r.msg, r.err
	case <-time.After(Timeout):
		t.Fatalf("Recv did not return within %v", Timeout)
		return nil, nil
	}
}
