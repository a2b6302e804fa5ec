//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketClient drives the proxy's /ws endpoint the way a WebSocket MCP
// client does: subprotocol "mcp", one JSON-RPC message per text frame.
func TestWebSocketClient(t *testing.T) {
	t.Parallel()
	p := startHTTPProxy(t, exampleServer("example"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(strings.TrimSuffix(p.URL, "/mcp"), "http") + "/ws"
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mcp"}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "mcp" {
		t.Errorf("subprotocol = %q, want mcp", got)
	}
	c.SetReadLimit(64 << 20)
	send := func(msg string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	// response reads frames until the response to id, collecting the rest.
	response := func(id int) (map[string]json.RawMessage, []string) {
		t.Helper()
		var others []string
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if typ != websocket.MessageText {
				t.Fatalf("got a %v frame", typ)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("frame is not JSON: %s", data)
			}
			if string(m["id"]) == fmt.Sprint(id) && m["method"] == nil {
				return m, others
			}
			others = append(others, string(data))
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"ws-e2e","version":"1"}}}`)
	if r, _ := response(1); !strings.Contains(string(r["result"]), `"protocolVersion":"2025-06-18"`) {
		t.Fatalf("initialize: %v", r)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if r, _ := response(2); !strings.Contains(string(r["result"]), `"mcp__proxy__example__echo"`) {
		t.Fatalf("tools/list: %s", r["result"])
	}
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"mcp__proxy__example__sleep","arguments":{"ms":100,"steps":2},"_meta":{"progressToken":"p1"}}}`)
	r, others := response(3)
	if !strings.Contains(string(r["result"]), "slept 100ms") {
		t.Fatalf("tools/call sleep: %s", r["result"])
	}
	progress := 0
	for _, o := range others {
		if strings.Contains(o, `"notifications/progress"`) && strings.Contains(o, `"progressToken":"p1"`) {
			progress++
		}
	}
	if progress < 2 {
		t.Errorf("got %d progress notifications before the result, want 2: %v", progress, others)
	}
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"mcp__proxy__example__bytes","arguments":{"n":10485760}}}`)
	if r, _ := response(4); len(r["result"]) < 10485760 {
		t.Errorf("bytes result is %d bytes, want at least 10 MiB", len(r["result"]))
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close: %v", err)
	}
}
