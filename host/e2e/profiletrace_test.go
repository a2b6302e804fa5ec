//go:build unix

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestTracingRecordsTheProfile: a call through <path>/p/coding is traced as
// a response of profile "coding", which get_trace (called through the main
// path, where the tracing tools are) shows; a response of the main path
// shows no profile.
func TestTracingRecordsTheProfile(t *testing.T) {
	t.Parallel()
	addr, adminAddr, adminToken := freeAddr(t), freeAddr(t), "profile-trace-admin-token"
	path := writeConfig(t, profilesConfig(addr, adminAddr, adminToken)+fmt.Sprintf(`
tracing {
  store_dir = %q
  idle_gap  = "100ms"
}
`, filepath.Join(t.TempDir(), "trace")))
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	coding := httpClient(t, p.URL+"/p/coding", clientOptions{})
	main := httpClient(t, p.URL, clientOptions{})
	codingResponse, _ := traceIDs(t, traceCall(ctx, t, coding, "mcp__proxy__coding__echo", map[string]any{"text": "through a profile"}))
	mainResponse, _ := traceIDs(t, traceCall(ctx, t, main, "mcp__proxy__coding__echo", map[string]any{"text": "through the main path"}))

	// profileOf reads the response's profile once it is finalized (after
	// the idle gap); absent is "(none)".
	profileOf := func(id string) (string, error) {
		req := mcp.CallToolRequest{}
		req.Params.Name = "mcp__proxy__tracing__get_trace"
		req.Params.Arguments = map[string]any{"response_id": id}
		res, err := main.CallTool(ctx, req)
		if err != nil {
			return "", err
		}
		if res.IsError {
			return "", fmt.Errorf("get_trace %s: %+v", id, res.Content)
		}
		var tr struct {
			ResponseID string  `json:"response_id"`
			Profile    *string `json:"profile"`
		}
		structured(t, res, &tr)
		if tr.ResponseID != id {
			return "", fmt.Errorf("get_trace %s returned response %q", id, tr.ResponseID)
		}
		if tr.Profile == nil {
			return "(none)", nil
		}
		return *tr.Profile, nil
	}
	for _, want := range []struct{ id, profile string }{{codingResponse, "coding"}, {mainResponse, "(none)"}} {
		poll.Until(t, "get_trace shows response "+want.id+" with profile "+want.profile, func() error {
			got, err := profileOf(want.id)
			if err != nil {
				return err
			}
			if got != want.profile {
				return fmt.Errorf("get_trace shows response %s with profile %q, want %q", want.id, got, want.profile)
			}
			return nil
		})
	}
}
