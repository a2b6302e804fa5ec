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
