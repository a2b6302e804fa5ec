//go:build unix

// Package e2e runs the real mcphost binary, with real plugin processes and
// real backends, against real MCP clients. It drives them with sh, process
// groups and signals, so every file is built on Unix only (go:build unix).
package e2e

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/host/internal/testenv/oauthbackend"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

func TestMain(m *testing.M) {
	oauthbackend.ActAsBrowser()
	if conformanceDriverMode() {
		// Started by the conformance suite as its client command.
		os.Exit(conformanceDriver())
	}
	skipAllUnderShort()
	testenv.Main(m)
}

// skipAllUnderShort ends the run before any test starts when -short is set:
// every test here builds the mcphost binary and runs real plugin processes
// and clients, which is what `task test:unit` (-short) leaves out.
func skipAllUnderShort() {
	flag.Parse() // testing.Short reads the flags, which m.Run has not parsed yet
	if testing.Short() {
		fmt.Println("e2e: skipped under -short: these tests build mcphost and run real processes; run them without -short")
		os.Exit(0)
	}
}

const mcphostPkg = "github.com/mcphost/mcphost/host/cmd/mcphost"

// mcphost builds the host binary once per test run.
func mcphost(t testing.TB) string {
	t.Helper()
	return testenv.BuildBinary(t, mcphostPkg)
}

// exampleServer is an HCL server block running the example backend as name.
func exampleServer(name string) string {
	return fmt.Sprintf(`
server %q {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", %q]
  }
}
`, name, name)
}

// writeConfig writes an HCL config into a fresh directory.
func writeConfig(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proxy.hcl")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer collects a process's stderr for failure messages: the
// repository's one lock-guarded test buffer, under the name the e2e files
// use.
type syncBuffer = syncbuf.Buffer

// proxyProcess is a running `mcphost run` serving HTTP.
type proxyProcess struct {
	cmd    *exec.Cmd
	URL    string
	Stderr *syncBuffer
	// Metrics is where the listener at URL serves the proxy's metrics.
	Metrics listenerMetrics
	done    chan error
	// exited is set once the process has been waited for (cmd.ProcessState
	// is written by that wait, so it cannot be read to tell).
	exited atomic.Bool
}

// wait waits for the process and hands its end to done.
func (p *proxyProcess) wait() {
	err := p.cmd.Wait()
	p.exited.Store(true)
	p.done <- err
}

// startHTTPProxy runs mcphost with servers (HCL) plus an HTTP listener on a
// free port, and waits until it has started.
func startHTTPProxy(t testing.TB, servers string) *proxyProcess {
	t.Helper()
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("listen \"http\" {\n  address = %q\n}\n%s", addr, servers))
	return runProxy(t, cfg, "http://"+addr+"/mcp", nil)
}

// runProxy runs `mcphost run path`, with env added to the test's
// environment, for a config whose listener serves url, and waits until the
// proxy has started.
func runProxy(t testing.TB, path, url string, env []string) *proxyProcess {
	t.Helper()
	metrics := listenerMetricsOf(t, path, url, env)
	p := spawnProxy(t, path, url, env)
	p.Metrics = metrics
	p.waitStarted(t, metrics)
	return p
}

// spawnProxy starts `mcphost run path`, with env added to the test's
// environment, without waiting for it to start; it is stopped when the
// test ends.
func spawnProxy(t testing.TB, path, url string, env []string) *proxyProcess {
	t.Helper()
	p := &proxyProcess{URL: url, Stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(mcphost(t), "run", path)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr = p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.wait()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// listenerMetrics is where a listener serves its metrics, and the token
// they are behind ("" for none).
type listenerMetrics struct{ url, token string }

// listenerMetricsOf finds, in the config at path, the metrics of the
// listener that serves mcpURL. The config is read as the proxy will read
// it, with env added to the environment its env() calls see.
func listenerMetricsOf(t testing.TB, path, mcpURL string, env []string) listenerMetrics {
	t.Helper()
	cfg, diags := config.Load(path, config.LoadOptions{
		Executable: mcphost(t),
		LookupEnv: func(name string) (string, bool) {
			for _, kv := range slices.Backward(env) {
				if k, v, _ := strings.Cut(kv, "="); k == name {
					return v, true
				}
			}
			return os.LookupEnv(name)
		},
	})
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	for _, l := range cfg.Listeners {
		if base := "http://" + l.Address; base+l.Path == mcpURL && l.MetricsPath != "" {
			return listenerMetrics{url: base + l.MetricsPath, token: l.AuthToken}
		}
	}
	t.Fatalf("no listener in %s serves metrics beside %s", path, mcpURL)
	return listenerMetrics{}
}

// waitStarted waits until the proxy's metrics say mcphost_started 1: its
// start-up wait is over (every server has made its first attempt, or
// startup_wait passed; a server not ready by then counts as started). Its
// listener answers before that. A proxy that exits meanwhile fails the test
// at once.
func (p *proxyProcess) waitStarted(t testing.TB, m listenerMetrics) {
	t.Helper()
	poll.Within(t, 60*time.Second, "mcphost started (mcphost_started at "+m.url+")", func() error {
		if p.exited.Load() {
			t.Fatalf("mcphost exited early: %v\n%s", <-p.done, p.Stderr.String())
		}
		started, err := scrapeValueAuth(m.url, m.token, "mcphost_started")
		if err == nil && started != 1 {
			err = fmt.Errorf("mcphost_started is %v", started)
		}
		if err != nil {
			return fmt.Errorf("%w\n%s", err, p.Stderr.String())
		}
		return nil
	})
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proxyProcess) stop(t testing.TB) {
	if p.exited.Load() {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("mcphost exited with %v\n%s", err, p.Stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("mcphost did not stop within 20s of SIGTERM\n%s", p.Stderr.String())
	}
}

// clientOptions are the handlers a test client offers.
type clientOptions struct {
	sampling      client.SamplingHandler
	notifications func(mcp.JSONRPCNotification)
}

func (o clientOptions) clientOpts() []client.ClientOption {
	var opts []client.ClientOption
	if o.sampling != nil {
		opts = append(opts, client.WithSamplingHandler(o.sampling))
	}
	return opts
}

// connect starts and initializes c, closing it at cleanup.
func connect(t testing.TB, c *client.Client, o clientOptions) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if o.notifications != nil {
		c.OnNotification(o.notifications)
	}
	// The client serves server→client requests under this context, so it
	// must outlive the test's calls.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-06-18"
	req.Params.ClientInfo = mcp.Implementation{Name: "mcphost-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// stdioClient runs `mcphost run --stdio cfg` as mcp-go's stdio client does.
func stdioClient(t testing.TB, cfg string, o clientOptions) *client.Client {
	t.Helper()
	tr := transport.NewStdio(mcphost(t), nil, "run", "--stdio", cfg)
	return connect(t, client.NewClient(tr, o.clientOpts()...), o)
}

// httpClient connects mcp-go's streamable HTTP client to url.
func httpClient(t testing.TB, url string, o clientOptions) *client.Client {
	t.Helper()
	//lint:ignore SA1019 the proxy speaks the initialize era, with its GET stream
	tr, err := transport.NewStreamableHTTP(url, transport.WithContinuousListening())
	if err != nil {
		t.Fatal(err)
	}
	return connect(t, client.NewClient(tr, o.clientOpts()...), o)
}

// callText calls a tool and returns its first text content.
func callText(ctx context.Context, t testing.TB, c *client.Client, name string, args map[string]any) string {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("call %s: tool error %+v", name, res.Content)
	}
	if len(res.Content) == 0 {
		t.Fatalf("call %s: no content", name)
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("call %s: first content is %T", name, res.Content[0])
	}
	return tc.Text
}
