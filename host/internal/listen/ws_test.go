package listen

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// dialWS opens a WebSocket to h; the connection is closed when the test
// ends.
func dialWS(t *testing.T, h *HTTP, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, h.WebSocketURL(), opts)
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func mustDialWS(t *testing.T, h *HTTP) *websocket.Conn {
	t.Helper()
	c, _, err := dialWS(t, h, &websocket.DialOptions{Subprotocols: []string{"mcp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func writeWS(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readWS(t *testing.T, c *websocket.Conn, what string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	typ, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("reading %s: %v", what, err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("%s came in a %v frame", what, typ)
	}
	return msg
}

// readClose reads until the server closes the connection, and returns the
// close status it gave.
func readClose(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("the server did not close the connection")
			}
			return websocket.CloseStatus(err)
		}
		t.Logf("frame before close: %s", msg)
	}
}

func TestWebSocketSession(t *testing.T) {
	t.Parallel()
	h, f := startListener(t, allTransports(), "echo", "text")
	c := mustDialWS(t, h)
	if c.Subprotocol() != "mcp" {
		t.Fatalf("subprotocol %q, want mcp", c.Subprotocol())
	}

	// 2025-03-26, the one revision with batches.
	writeWS(t, c, strings.Replace(initializeMsg("1"), "2025-06-18", "2025-03-26", 1))
	init := readWS(t, c, "the initialize response")
	if v, _ := jsonrpc.GetString(init, "result.protocolVersion"); string(jsonrpc.Get(init, "id")) != "1" || v != "2025-03-26" {
		t.Fatalf("initialize answered %s", init)
	}
	writeWS(t, c, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	writeWS(t, c, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := readWS(t, c, "the tools/list response")
	if string(jsonrpc.Get(list, "id")) != "2" || !strings.Contains(string(list), `"mcp__proxy__srv__text"`) {
		t.Fatalf("tools/list answered %s", list)
	}
	writeWS(t, c, callMsg("3", "mcp__proxy__srv__text", `{"text":"hi"}`, ""))
	call := readWS(t, c, "the tools/call response")
	if got, _ := jsonrpc.GetString(call, "result.content.0.text"); string(jsonrpc.Get(call, "id")) != "3" || got != "hi" {
		t.Fatalf("tools/call answered %s", call)
	}
	// A batch in one frame is answered with one array.
	writeWS(t, c, `[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"ping"}]`)
	if batch := readWS(t, c, "the batch response"); !strings.HasPrefix(string(batch), "[") ||
		!strings.Contains(string(batch), `"id":4`) || !strings.Contains(string(batch), `"id":5`) {
		t.Fatalf("batch answered %s", batch)
	}

	f.setTools("echo", "text", "fresh")
	f.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	changed := readWS(t, c, "list_changed")
	if m, _ := jsonrpc.GetString(changed, "method"); m != "notifications/tools/list_changed" {
		t.Fatalf("notification: %s", changed)
	}

	if n := h.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitSessions(t, h, 0)
}

func TestWebSocketHandshake(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.AuthToken = "s3cret"
	opts.AllowedOrigins = []string{"https://app.example"}
	h, _ := startListener(t, opts, "echo")
	auth := http.Header{"Authorization": {"Bearer s3cret"}}
	withOrigin := func(origin string) http.Header {
		hd := auth.Clone()
		hd.Set("Origin", origin)
		return hd
	}
	tests := []struct {
		name        string
		header      http.Header
		offered     []string
		status      int    // 0: the upgrade succeeds
		subprotocol string // negotiated, when it succeeds
	}{
		{"offers mcp", auth, []string{"mcp"}, 0, "mcp"},
		{"offers nothing", auth, nil, 0, ""},
		{"offers mcp among others", auth, []string{"graphql-ws", "mcp"}, 0, "mcp"},
		{"offers only others", auth, []string{"graphql-ws"}, http.StatusBadRequest, ""},
		{"allowed origin", withOrigin("https://app.example"), []string{"mcp"}, 0, "mcp"},
		{"loopback origin", withOrigin("http://localhost:6274"), []string{"mcp"}, 0, "mcp"},
		{"foreign origin", withOrigin("https://evil.example"), []string{"mcp"}, http.StatusForbidden, ""},
		{"no token", nil, []string{"mcp"}, http.StatusUnauthorized, ""},
		{"wrong token", http.Header{"Authorization": {"Bearer nope"}}, []string{"mcp"}, http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, resp, err := dialWS(t, h, &websocket.DialOptions{HTTPHeader: tc.header, Subprotocols: tc.offered})
			if tc.status != 0 {
				if err == nil {
					t.Fatal("upgraded, want refused")
				}
				if resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("refused with %v (%v), want status %d", resp, err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if c.Subprotocol() != tc.subprotocol {
				t.Fatalf("subprotocol %q, want %q", c.Subprotocol(), tc.subprotocol)
			}
			writeWS(t, c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
			if pong := readWS(t, c, "the ping response"); string(jsonrpc.Get(pong, "id")) != "1" {
				t.Fatalf("ping answered %s", pong)
			}
		})
	}
}

func TestWebSocketCloses(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.MaxBytes = 1024
	h, _ := startListener(t, opts, "echo")
	tests := []struct {
		name   string
		typ    websocket.MessageType
		msg    string
		status websocket.StatusCode
	}{
		{"oversize frame", websocket.MessageText,
			`{"jsonrpc":"2.0","method":"x","params":"` + strings.Repeat("x", 2048) + `"}`, websocket.StatusMessageTooBig},
		{"binary frame", websocket.MessageBinary, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, websocket.StatusUnsupportedData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustDialWS(t, h)
			// A message at the limit is still read.
			const prefix, suffix = `{"jsonrpc":"2.0","id":0,"method":"ping","params":{"pad":"`, `"}}`
			writeWS(t, c, prefix+strings.Repeat("p", 1024-len(prefix)-len(suffix))+suffix)
			if pong := readWS(t, c, "the ping response"); string(jsonrpc.Get(pong, "id")) != "0" {
				t.Fatalf("ping answered %s", pong)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			// The server may close before the whole frame is written.
			_ = c.Write(ctx, tc.typ, []byte(tc.msg))
			if got := readClose(t, c); got != tc.status {
				t.Fatalf("closed with %v, want %v", got, tc.status)
			}
		})
	}
	t.Cleanup(func() {
		// After the subtests: their sessions ended with their connections.
		waitSessions(t, h, 0)
	})
}

// TestShutdownEndsEveryTransport: Shutdown ends legacy streams and closes
// WebSockets with StatusGoingAway, and leaves no session open.
func TestShutdownEndsEveryTransport(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t, "echo")
	opts := allTransports()
	opts.Address = "127.0.0.1:0"
	h := NewHTTP(r, opts)
	if err := h.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve() }()

	events, _, _ := openSSE(t, h)
	c := mustDialWS(t, h)
	initSession(t, h)
	waitSessions(t, h, 3)
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		_, _, err := c.Read(context.Background())
		closed <- websocket.CloseStatus(err)
	}()

	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := h.Sessions(); n != 0 {
		t.Fatalf("%d sessions after Shutdown", n)
	}
	if got := <-closed; got != websocket.StatusGoingAway {
		t.Fatalf("WebSocket closed with %v, want %v", got, websocket.StatusGoingAway)
	}
	for ev := range events {
		t.Fatalf("SSE event after Shutdown: %+v", ev)
	}
}
