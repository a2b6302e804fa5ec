//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// reloadConfig is a proxy config with an HTTP listener and the given servers.
func reloadConfig(addr, extra string, servers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen \"http\" {\n  address = %q\n}\n%s\n", addr, extra)
	for _, s := range servers {
		b.WriteString(s)
	}
	return b.String()
}

// startProxyAt runs `mcphost run path` and waits until it has started and
// its admin listener, if the config names one, accepts.
func startProxyAt(t *testing.T, path, url string) *proxyProcess {
	t.Helper()
	return startProxyEnv(t, path, url, nil)
}

// startProxyEnv is startProxyAt with env added to the test's environment.
func startProxyEnv(t *testing.T, path, url string, env []string) *proxyProcess {
	t.Helper()
	p := runProxy(t, path, url, env)
	// The admin listener opens just after the start-up wait: a test that
	// calls it at once must find it accepting.
	if addr := adminAddress(t, path); addr != "" {
		poll.Until(t, "mcphost's admin listener "+addr+" open", func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return fmt.Errorf("%w\n%s", err, p.Stderr.String())
			}
			return c.Close()
		})
	}
	return p
}

// adminBlock finds the admin block's address in a config file.
var adminBlock = regexp.MustCompile(`(?m)^admin\s*\{[^}]*?\baddress\s*=\s*"([^"]+)"`)

// adminAddress is the admin listener's address the config at path names,
// or "" when it names none.
func adminAddress(t *testing.T, path string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := adminBlock.FindSubmatch(src); m != nil {
		return string(m[1])
	}
	return ""
}

func toolNameSet(ctx context.Context, t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func waitTools(ctx context.Context, t *testing.T, c *client.Client, what string, ok func([]string) bool) {
	t.Helper()
	poll.Within(t, 30*time.Second, what, func() error {
		if names := toolNameSet(ctx, t, c); !ok(names) {
			return fmt.Errorf("tools are %v", names)
		}
		return nil
	})
}

// TestReload: SIGHUP adds, removes and changes servers while a client
// keeps calling an unchanged one, which sees no failed call; a broken
// config is refused and the running one stays; with watch_config a saved
// file is applied without a signal.
func TestReload(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	path := writeConfig(t, reloadConfig(addr, "", exampleServer("keep"), exampleServer("gone"), exampleServer("changed")))
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var calls, failures atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "mcp__proxy__keep__whoami"
			res, err := c.CallTool(ctx, req)
			calls.Add(1)
			if err != nil || res.IsError {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, fmt.Sprint(err, res))
			}
		}
	}()

	changed := strings.Replace(exampleServer("changed"), `"-name", "changed"`, `"-name", "changed-v2"`, 1)
	if err := os.WriteFile(path, []byte(reloadConfig(addr, "", exampleServer("keep"), changed, exampleServer("added"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitTools(ctx, t, c, "after SIGHUP", func(names []string) bool {
		return slices.Contains(names, "mcp__proxy__added__echo") && !slices.Contains(names, "mcp__proxy__gone__echo") &&
			slices.Contains(names, "mcp__proxy__changed__echo")
	})
	poll.Within(t, 30*time.Second, "the changed server restarted with its new settings", func() error {
		req := mcp.CallToolRequest{}
		req.Params.Name = "mcp__proxy__changed__whoami"
		res, err := c.CallTool(ctx, req)
		if err == nil && !res.IsError && len(res.Content) > 0 {
			if text, ok := res.Content[0].(mcp.TextContent); ok && strings.Contains(text.Text, "changed-v2") {
				return nil
			}
		}
		return fmt.Errorf("%v %+v", err, res)
	})
	if !strings.Contains(p.Stderr.String(), "config reloaded") {
		t.Fatalf("no reload logged:\n%s", p.Stderr.String())
	}

	// A broken config is refused; everything keeps running.
	if err := os.WriteFile(path, []byte("server \"x\" {\n  transport \"stdio\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// A SIGHUP reload has no caller to answer: the metrics count its
	// refusal.
	poll.Within(t, 20*time.Second, "a broken config refused", func() error {
		refused := scrapeCounter(t, "http://"+addr+"/metrics", "mcphost_reloads_total", map[string]string{"result": "refused"})
		if refused != 1 {
			return fmt.Errorf("%v refused reloads counted\n%s", refused, p.Stderr.String())
		}
		return nil
	})
	// Where the config is broken is said in the log only, in the line
	// written as the refused reload returns (just after it is counted).
	poll.Within(t, 5*time.Second, "the refusal logged with its file:line:col", func() error {
		if out := p.Stderr.String(); !strings.Contains(out, "proxy.hcl:2:21") {
			return errors.New(out)
		}
		return nil
	})
	if names := toolNameSet(ctx, t, c); !slices.Contains(names, "mcp__proxy__added__echo") {
		t.Fatalf("a refused reload changed the tools: %v", names)
	}

	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d calls to the unchanged server failed during reloads; first: %v", n, calls.Load(), firstFailure.Load())
	}
	if calls.Load() < 10 {
		t.Fatalf("only %d calls made during the reloads", calls.Load())
	}
	t.Logf("%d calls to the unchanged server during the reloads, none failed", calls.Load())
}

func TestReloadOnFileChange(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	path := writeConfig(t, reloadConfig(addr, "proxy {\n  watch_config = true\n}\n", exampleServer("one")))
	p := startProxyAt(t, path, "http://"+addr+"/mcp")
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The config grows, so its stamp (size and modification time) changes
	// however coarse the clock.
	if err := os.WriteFile(path, []byte(reloadConfig(addr, "proxy {\n  watch_config = true\n}\n", exampleServer("one"), exampleServer("two"))), 0o644); err != nil {
		t.Fatal(err)
	}
	waitTools(ctx, t, c, "after saving the config", func(names []string) bool {
		return slices.Contains(names, "mcp__proxy__two__echo")
	})
}
