//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// everythingHTTP is @modelcontextprotocol/server-everything serving one of
// its HTTP modes on a fixed port.
type everythingHTTP struct {
	argv   []string
	mode   string
	addr   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

// startEverythingHTTP runs server-everything in mode ("streamableHttp" or
// "sse") on addr and waits until the port answers.
func startEverythingHTTP(t *testing.T, mode, addr string) *everythingHTTP {
	t.Helper()
	e := &everythingHTTP{argv: testenv.NPMBin(t, "mcp-server-everything"), mode: mode, addr: addr}
	e.start(t)
	t.Cleanup(e.kill)
	return e
}

func (e *everythingHTTP) start(t *testing.T) {
	t.Helper()
	_, port, err := net.SplitHostPort(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	e.stderr = &syncBuffer{}
	e.done = make(chan struct{})
	e.cmd = exec.Command(e.argv[0], append(e.argv[1:], e.mode)...)
	e.cmd.Env = append(os.Environ(), "PORT="+port)
	e.cmd.Stdout = e.stderr
	e.cmd.Stderr = e.stderr
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.done)
	}()
	poll.Within(t, 30*time.Second, fmt.Sprintf("server-everything %s listening on %s", e.mode, e.addr), func() error {
		select {
		case <-e.done:
			t.Fatalf("server-everything %s exited before listening:\n%s", e.mode, e.stderr.String())
		default:
		}
		conn, err := net.DialTimeout("tcp", e.addr, time.Second)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, e.stderr.String())
		}
		return conn.Close()
	})
}

// kill ends the server (its whole process group) abruptly, as a crash
// would; later calls do nothing.
func (e *everythingHTTP) kill() {
	select {
	case <-e.done:
		return
	default:
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	<-e.done
}

// TestHTTPBackend fronts server-everything's Streamable HTTP and legacy
// HTTP+SSE modes with the http transport, and drives each through mcphost
// from an HTTP client: listing, a call, a resource read, and recovery once
// the backend comes back on the same port after a crash, with no restart of
// mcphost.
func TestHTTPBackend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, serverMode, path, transportMode string
	}{
		{"streamable", "streamableHttp", "/mcp", ""},
		{"sse", "sse", "/sse", "sse"},
		{"sse-auto", "sse", "/sse", "auto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			backend := startEverythingHTTP(t, tc.serverMode, addr)
			mode := ""
			if tc.transportMode != "" {
				mode = fmt.Sprintf("    mode = %q\n", tc.transportMode)
			}
			p := startHTTPProxy(t, fmt.Sprintf(`
server "ev" {
  transport "http" {
    url = "http://%s%s"
%s  }
}
`, addr, tc.path, mode))
			c := httpClient(t, p.URL, clientOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			checkEverything(ctx, t, c)

			backend.kill()
			backend.start(t)
			poll.Within(t, 30*time.Second, "echo through the restarted backend", func() error {
				got, err := tryCall(ctx, c, "mcp__proxy__ev__echo", map[string]any{"message": "again"})
				if err == nil && got != "Echo: again" {
					return fmt.Errorf("echo = %q", got)
				}
				return err
			})
			select {
			case err := <-p.done:
				t.Fatalf("mcphost exited: %v\n%s", err, p.Stderr.String())
			default:
			}
			checkEverything(ctx, t, c)
		})
	}
}

// checkEverything lists tools, calls echo and reads a resource of
// server-everything through the proxy.
func checkEverything(ctx context.Context, t *testing.T, c *client.Client) {
	t.Helper()
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("list tools: %v", err)
	}
	found := false
	for _, tool := range tools.Tools {
		found = found || tool.Name == "mcp__proxy__ev__echo"
	}
	if !found {
		t.Fatalf("no mcp__proxy__ev__echo among %d tools", len(tools.Tools))
	}
	if got := callText(ctx, t, c, "mcp__proxy__ev__echo", map[string]any{"message": "hello"}); got != "Echo: hello" {
		t.Errorf("echo = %q", got)
	}
	resources, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatalf("list resources: %v", err)
	}
	if len(resources.Resources) == 0 {
		t.Fatal("no resources")
	}
	uri := resources.Resources[0].URI
	if !strings.HasPrefix(uri, "mcp+proxy://ev/") {
		t.Errorf("resource uri %q is not exposed as mcp+proxy://ev/...", uri)
	}
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) == 0 {
		t.Fatalf("read %s: no contents", uri)
	}
}
