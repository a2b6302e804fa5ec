//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestToolSearchMode runs mcphost with proxy.tool_mode = "search" and
// tracing on: tools/list shows exactly the three search tools and the
// pinned one; search_tools finds the example server's tool from a
// description of the task; describe_tool gives its schema; call_tool runs
// it, and the result is traced and counted under the real tool and server,
// not call_tool.
func TestToolSearchMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	config := func(mode string) string {
		return fmt.Sprintf(`
listen "http" {
  address = %q
}
admin {
  address    = %q
  auth_token = "search-token"
}
proxy {
  tool_mode    = %q
  pinned_tools = ["mcp__proxy__ex__whoami"]
}
tracing {
  store_dir = %q
  idle_gap  = "1h"
}
%s`, addr, adminAddr, mode, filepath.Join(dir, "trace"), exampleServer("ex"))
	}
	path := writeConfig(t, config("search"))
	p := runProxy(t, path, "http://"+addr+"/mcp", nil)
	listChanged := make(chan struct{}, 16)
	c := httpClient(t, p.URL, clientOptions{notifications: func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			select {
			case listChanged <- struct{}{}:
			default:
			}
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	if want := []string{"search_tools", "describe_tool", "call_tool", "mcp__proxy__ex__whoami"}; !slices.Equal(names, want) {
		t.Fatalf("tools/list = %q, want %q", names, want)
	}
	if ro := list.Tools[0].Annotations.ReadOnlyHint; ro == nil || !*ro {
		t.Errorf("search_tools readOnlyHint = %v, want true", ro)
	}
	// The admin API (and so the dashboard's catalogue) marks the pinned tool.
	waitAdmin(t, "http://"+adminAddr, "search-token", p.Stderr)
	var catalogue struct {
		Tools []struct {
			Name   string `json:"name"`
			Pinned bool   `json:"pinned"`
		} `json:"tools"`
	}
	adminGet(t, "http://"+adminAddr, "search-token", "/api/v1/tools", &catalogue)
	var pinned []string
	for _, tool := range catalogue.Tools {
		if tool.Pinned {
			pinned = append(pinned, tool.Name)
		}
	}
	if len(catalogue.Tools) < 10 || !slices.Equal(pinned, []string{"mcp__proxy__ex__whoami"}) {
		t.Errorf("admin catalogue: %d tools, pinned %q; want every tool, whoami pinned", len(catalogue.Tools), pinned)
	}

	var found struct {
		Tools []struct {
			Name  string  `json:"name"`
			Score float64 `json:"score"`
			Why   string  `json:"why"`
		} `json:"tools"`
	}
	structured(t, traceCall(ctx, t, c, "search_tools", map[string]any{"query": "echo some text back to me", "limit": 3}), &found)
	if len(found.Tools) == 0 || found.Tools[0].Name != "mcp__proxy__ex__echo" {
		t.Fatalf("search_tools = %+v, want mcp__proxy__ex__echo first", found.Tools)
	}
	t.Logf("search_tools: %+v", found.Tools)

	var described struct {
		Tool struct {
			InputSchema struct {
				Properties map[string]any `json:"properties"`
			} `json:"inputSchema"`
		} `json:"tool"`
	}
	structured(t, traceCall(ctx, t, c, "describe_tool", map[string]any{"name": "mcp__proxy__ex__echo"}), &described)
	if _, ok := described.Tool.InputSchema.Properties["text"]; !ok {
		t.Errorf("describe_tool: input schema %+v lacks text", described.Tool.InputSchema)
	}

	res := traceCall(ctx, t, c, "call_tool", map[string]any{
		"name": "mcp__proxy__ex__echo", "arguments": map[string]any{"text": "found by search"},
	})
	if len(res.Content) == 0 {
		t.Fatalf("call_tool: no content")
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "found by search" {
		t.Fatalf("call_tool result %+v, want the echo", res.Content)
	}
	responseID, _ := traceIDs(t, res)
	// The tracing tools stay callable by name, unlisted.
	trace := getTrace(ctx, t, c, "latest")
	if trace.ResponseID != responseID || len(trace.Contexts) != 1 || trace.Contexts[0].Name != "echo" {
		t.Fatalf("get_trace latest = %+v, want response %s with the one context of tool echo", trace, responseID)
	}
	labels := map[string]string{"server": "ex", "method": "tools/call", "outcome": "ok"}
	if n := scrapeCounter(t, p.Metrics.url, "mcphost_requests_total", labels); n != 1 {
		t.Errorf("mcphost_requests_total%v = %v, want 1 (the call made through call_tool)", labels, n)
	}

	// An unknown tool through call_tool gets the direct call's error.
	req := mcp.CallToolRequest{}
	req.Params.Name = "call_tool"
	req.Params.Arguments = map[string]any{"name": "mcp__proxy__ex__nope"}
	_, viaCallTool := c.CallTool(ctx, req)
	req.Params.Name, req.Params.Arguments = "mcp__proxy__ex__nope", nil
	_, direct := c.CallTool(ctx, req)
	if viaCallTool == nil || direct == nil || viaCallTool.Error() != direct.Error() {
		t.Errorf("call_tool of an unknown tool: %v; direct: %v", viaCallTool, direct)
	}

	// A reload back to tool_mode = "all" lists every tool again, and tells
	// the client (any earlier list_changed is drained first).
	for drained := false; !drained; {
		select {
		case <-listChanged:
		default:
			drained = true
		}
	}
	if err := os.WriteFile(path, []byte(config("all")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-listChanged:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed after the reload")
	}
	waitTools(ctx, t, c, "every tool listed after the reload", func(names []string) bool {
		return slices.Contains(names, "mcp__proxy__ex__echo") && !slices.Contains(names, "search_tools")
	})
}
