package demoserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

// startWS serves ServeWS on a loopback port; the returned stop cancels it
// and checks that it returned nil.
func startWS(t *testing.T, name string) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeWS(ctx, ln, name) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeWS: %v", err)
			}
		case <-time.After(testTimeout):
			t.Errorf("ServeWS did not return after cancellation")
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// dialWS opens a WebSocket to the example server offering the mcp
// subprotocol.
func dialWS(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{WSSubprotocol}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if c.Subprotocol() != WSSubprotocol {
		t.Fatalf("subprotocol = %q, want %q", c.Subprotocol(), WSSubprotocol)
	}
	c.SetReadLimit(-1)
	return c
}

// wsClient runs mcp-go's line client over a WebSocket, using the same frame
// adapters as the server, and initializes it.
func wsClient(t *testing.T, addr, name string) *client.Client {
	t.Helper()
	c := dialWS(t, addr)
	inR, inW := io.Pipe()
	go func() { _ = inW.CloseWithError(pumpFrames(c, inW)) }()
	outR, outW := io.Pipe()
	go func() {
		_, err := io.Copy(&frameWriter{ctx: context.Background(), c: c}, outR)
		_ = outR.CloseWithError(err)
	}()
	t.Cleanup(func() {
		_ = outW.Close()
		_ = inR.Close()
	})
	mc := client.NewClient(transport.NewIO(inR, outW, nil), client.WithSamplingHandler(handlers{}))
	if err := mc.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = mc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "ws-test", Version: "0"}
	res, err := mc.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ServerInfo.Name != name {
		t.Fatalf("serverInfo name = %q, want %q", res.ServerInfo.Name, name)
	}
	return mc
}

func TestServeWS(t *testing.T) {
	t.Parallel()
	addr, _ := startWS(t, "ws-srv")
	// Two sessions at once, each with its own server→client requests.
	a, b := wsClient(t, addr, "ws-srv"), wsClient(t, addr, "ws-srv")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, c := range []*client.Client{a, b} {
		wantText(ctx, t, c, "whoami", nil, "ws-srv")
		wantText(ctx, t, c, "sample", map[string]any{"prompt": "hi"}, "sampled: reply to hi")
	}
	const n = 5 << 20
	if got := textOf(t, callTool(ctx, t, a, "bytes", map[string]any{"n": n}, nil)); len(got) != n {
		t.Errorf("bytes returned %d bytes, want %d", len(got), n)
	}
}

// TestServeWSFrames speaks frames by hand: a message spread over lines is
// still one message, binary frames are ignored, and each reply is one frame.
func TestServeWSFrames(t *testing.T) {
	t.Parallel()
	addr, stop := startWS(t, "frames")
	c := dialWS(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"jsonrpc":"2.0","id":9,"method":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	pretty := "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 1,\n  \"method\": \"initialize\",\n  \"params\": {\"protocolVersion\": \"2025-06-18\", \"capabilities\": {},\n    \"clientInfo\": {\"name\": \"t\", \"version\": \"0\"}}\n}"
	if err := c.Write(ctx, websocket.MessageText, []byte(pretty)); err != nil {
		t.Fatal(err)
	}
	typ, frame, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		ID     int `json:"id"`
		Result struct {
			ServerInfo mcp.Implementation `json:"serverInfo"`
		} `json:"result"`
	}
	if typ != websocket.MessageText || json.Unmarshal(frame, &msg) != nil || msg.ID != 1 || msg.Result.ServerInfo.Name != "frames" {
		t.Fatalf("first frame (%v) %.300s, want the initialize result (the binary ping ignored)", typ, frame)
	}
	if strings.Contains(string(frame), "\n") {
		t.Errorf("frame carries a newline: %q", frame)
	}

	// Shutting down says "going away" to open sessions.
	go stop()
	for {
		if _, _, err = c.Read(ctx); err != nil {
			break
		}
	}
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("close status at shutdown = %v (%v), want going away", got, err)
	}
}

func TestServeWSClientCloses(t *testing.T) {
	t.Parallel()
	addr, _ := startWS(t, "bye")
	c := dialWS(t, addr)
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close handshake: %v", err)
	}
	// The server still takes new sessions.
	wsClient(t, addr, "bye")
}

func TestRunWS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-ws", "127.0.0.1:0", "-name", "run-ws"}, strings.NewReader(""), io.Discard, &errOut)
	}()
	// The port picked for ":0" is told only on stderr, which Run writes.
	var addr string
	poll.Within(t, testTimeout, "the address logged", func() error {
		_, rest, ok := strings.Cut(errOut.String(), "listening on ws ")
		if !ok {
			return fmt.Errorf("stderr: %q", errOut.String())
		}
		addr, _, _ = strings.Cut(rest, "\n")
		return nil
	})
	ctx2, cancel2 := context.WithTimeout(context.Background(), testTimeout)
	defer cancel2()
	wantText(ctx2, t, wsClient(t, addr, "run-ws"), "whoami", nil, "run-ws")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after cancellation")
	}

	err := Run(context.Background(), []string{"-ws", "127.0.0.1:0", "-tcp", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("Run with -ws and -tcp = %v, want a usage error", err)
	}
}
