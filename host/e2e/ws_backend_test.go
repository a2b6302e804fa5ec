//go:build unix

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestWebSocketBackend fronts the example server's WebSocket mode with the
// websocket transport and drives it from stdio and HTTP clients: listing,
// calls, progress, a large result, and recovery once the backend comes back
// on the same address after a crash, with no restart of mcphost.
func TestWebSocketBackend(t *testing.T) {
	t.Parallel()
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			backend := startWSExample(t, "127.0.0.1:0", "wsx")
			servers := fmt.Sprintf(`
server "wsx" {
  transport "websocket" {
    url = "ws://%s/ws"
  }
}
`, backend.addr)
			rec := &notifRecorder{}
			c, stderr := mode.connect(t, servers, clientOptions{notifications: rec.handle})
			defer func() {
				if t.Failed() {
					t.Logf("mcphost stderr:\n%s", stderr.String())
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()

			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			listed := map[string]bool{}
			for _, tool := range tools.Tools {
				listed[tool.Name] = true
			}
			for _, name := range []string{"whoami", "echo", "sleep", "bytes"} {
				if !listed["mcp__proxy__wsx__"+name] {
					t.Errorf("tools/list lacks mcp__proxy__wsx__%s; got %v", name, sortedToolNames(listed))
				}
			}

			if got := callText(ctx, t, c, "mcp__proxy__wsx__whoami", nil); got != "wsx" {
				t.Fatalf("whoami = %q, want wsx", got)
			}

			// Progress notifications cross the WebSocket ahead of the result.
			isProgress := func(n mcp.JSONRPCNotification) bool {
				return n.Method == "notifications/progress" && notifParam(n, "progressToken") == "ws-tok"
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "mcp__proxy__wsx__sleep"
			req.Params.Arguments = map[string]any{"ms": 300, "steps": 3}
			req.Params.Meta = &mcp.Meta{ProgressToken: "ws-tok"}
			res, err := c.CallTool(ctx, req)
			before := rec.matching(isProgress)
			if err != nil {
				t.Fatalf("sleep: %v", err)
			}
			if text, ok := firstText(res); res.IsError || !ok || text != "slept 300ms" {
				t.Fatalf("sleep result = %+v", res)
			}
			if len(before) < 3 {
				t.Fatalf("%d progress notifications before the result, want 3", len(before))
			}
			for i, n := range before[:3] {
				if got := notifParam(n, "progress"); got != float64(i+1) {
					t.Errorf("progress #%d = %v, want %d", i+1, got, i+1)
				}
			}

			// A 10 MiB result is one 10 MiB text frame.
			const n = 10 << 20
			const alphabet = "abcdefghijklmnopqrstuvwxyz"
			got, err := tryCall(ctx, c, "mcp__proxy__wsx__bytes", map[string]any{"n": n})
			if err != nil {
				t.Fatalf("bytes %d: %v", n, err)
			}
			if want := strings.Repeat(alphabet, n/len(alphabet)+1)[:n]; got != want {
				t.Fatalf("bytes: got %d bytes (differing from the expected payload), want %d", len(got), n)
			}

			// Crash the backend and bring it back on the same address: the
			// host notices the dropped socket, reconnects and re-initializes.
			addr := backend.addr
			backend.kill()
			callCtx, callCancel := context.WithTimeout(ctx, 10*time.Second)
			if _, err := tryCall(callCtx, c, "mcp__proxy__wsx__whoami", nil); err == nil {
				t.Log("whoami answered while the backend was down (the proxy had not noticed yet)")
			}
			callCancel()
			restarted := startWSExample(t, addr, "wsx")
			if restarted.addr != addr {
				t.Fatalf("restarted on %s, want %s", restarted.addr, addr)
			}
			poll.Within(t, 30*time.Second, "whoami through the restarted backend", func() error {
				callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				got, err := tryCall(callCtx, c, "mcp__proxy__wsx__whoami", nil)
				if err != nil {
					return err
				}
				if got != "wsx" {
					return fmt.Errorf("whoami = %q", got)
				}
				return nil
			})
			// The same client session carries on: nothing was restarted but
			// the backend.
			if got, err := tryCall(ctx, c, "mcp__proxy__wsx__echo", map[string]any{"text": "again"}); err != nil || got != "again" {
				t.Fatalf("echo after recovery = %q, %v", got, err)
			}
		})
	}
}
