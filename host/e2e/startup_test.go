//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// gatedServer is a server block whose backend starts only once the file
// gate exists: a server that takes as long to start as the test wants.
func gatedServer(t *testing.T, name, gate string) string {
	t.Helper()
	script := fmt.Sprintf("while [ ! -e '%s' ]; do sleep 0.02; done; exec '%s' example-server -name %s", gate, mcphost(t), name)
	return fmt.Sprintf(`
server %q {
  transport "stdio" {
    command = "/bin/sh"
    args    = ["-c", %q]
  }
}
`, name, script)
}

func toolNamesOf(res *mcp.ListToolsResult) []string {
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// TestStdioStartsAtOnce: a stdio client's initialize is answered while a
// server is still starting; the first tools/list waits for that server up
// to startup_wait and lists its tools, and with a shorter startup_wait it
// is answered without them and list_changed follows when the server is up.
func TestStdioStartsAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		startupWait string
		// waits: the first tools/list waits for the gated server.
		waits bool
	}{
		{"tools/list waits within startup_wait", "2m", true},
		{"startup_wait shorter than the server's start", "100ms", false},
		{"startup_wait off", "0s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			gate := filepath.Join(dir, "gate")
			cfg := writeConfig(t, fmt.Sprintf("proxy {\n  startup_wait = %q\n}\n", tt.startupWait)+
				exampleServer("quick")+gatedServer(t, "slow", gate))
			changed := make(chan struct{}, 16)
			// connect initializes: it returns with the gate still closed, so
			// the slow server cannot have started.
			c := stdioClient(t, cfg, clientOptions{notifications: func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/tools/list_changed" {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			openGate := func() {
				if err := os.WriteFile(gate, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			const slowTool = "mcp__proxy__slow__echo"
			if tt.waits {
				listed := make(chan *mcp.ListToolsResult, 1)
				go func() {
					res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
					if err != nil {
						t.Errorf("tools/list: %v", err)
					}
					listed <- res
				}()
				openGate()
				res := <-listed
				if res == nil || !slices.Contains(toolNamesOf(res), slowTool) {
					t.Fatalf("the first tools/list did not wait for the starting server: %v", res)
				}
				return
			}
			res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			// Answered with the gate still closed: without the slow server.
			if slices.Contains(toolNamesOf(res), slowTool) {
				t.Fatalf("tools/list listed a server that cannot have started: %v", toolNamesOf(res))
			}
			openGate()
			waitListed(ctx, t, c, changed, slowTool)
			if text := callText(ctx, t, c, slowTool, map[string]any{"text": "late but here"}); text == "" {
				t.Fatal("empty answer from the slow server")
			}
		})
	}
}

// waitListed waits for list_changed notifications until tools/list holds
// name.
func waitListed(ctx context.Context, t *testing.T, c *client.Client, changed <-chan struct{}, name string) {
	t.Helper()
	for {
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no list_changed brought %s", name)
		}
		res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		if slices.Contains(toolNamesOf(res), name) {
			return
		}
	}
}
