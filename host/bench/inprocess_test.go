package bench

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/proxy"
)

// startHostInTest runs the proxy for s inside the test process, serving
// stdio over pipes to an mcp-go client, so that -cpuprofile and friends see
// the host (and an in-process plugin). Backends, and a subprocess plugin,
// are still separate processes of the built mcphost binary.
func startHostInTest(tb testing.TB, s setup) *target {
	tb.Helper()
	exe := mcphost(tb)
	loader := config.NewLoader()
	cfg, diags := loader.Parse([]byte(hclConfig(s)), filepath.Join(tb.TempDir(), "proxy.hcl"), config.LoadOptions{Executable: exe})
	if diags.HasErrors() {
		tb.Fatalf("config: %v", diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, diags := proxy.Build(ctx, cfg, proxy.Options{Executable: exe})
	if diags.HasErrors() {
		cancel()
		tb.Fatalf("build: %v", diags)
	}
	if err := p.Start(ctx, true); err != nil {
		cancel()
		tb.Fatalf("start: %v", err)
	}
	hostIn, clientOut := io.Pipe()
	clientIn, hostOut := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- p.ServeStdio(ctx, hostIn, hostOut) }()
	tb.Cleanup(func() {
		clientOut.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			tb.Errorf("ServeStdio did not return after stdin closed")
		}
		cancel()
		shutdownCtx, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		if err := p.Shutdown(shutdownCtx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		hostOut.Close()
	})

	t := &target{setup: s, stderr: &tailBuffer{}}
	for i := range s.backends {
		req := mcp.CallToolRequest{}
		req.Params.Name = "mcp__proxy__" + backendName(s, i) + "__echo"
		req.Params.Arguments = map[string]any{"text": "x"}
		t.calls = append(t.calls, req)
	}
	t.c = client.NewClient(transport.NewIO(clientIn, clientOut, nil))
	if err := t.c.Start(context.Background()); err != nil {
		tb.Fatalf("start client: %v", err)
	}
	initCtx, initCancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer initCancel()
	ireq := mcp.InitializeRequest{}
	ireq.Params.ProtocolVersion = "2025-06-18"
	ireq.Params.ClientInfo = mcp.Implementation{Name: "mcphost-bench", Version: "1"}
	if _, err := t.c.Initialize(initCtx, ireq); err != nil {
		tb.Fatalf("initialize: %v", err)
	}
	return t
}

// BenchmarkHostInTestProcess is BenchmarkToolCall's proxy setups with the
// host running inside the test binary: run it with -cpuprofile to see where
// the host spends its time. Its figures exclude one stdio hop (client to
// host goes over in-memory pipes), so compare them with each other, not
// with BenchmarkToolCall.
func BenchmarkHostInTestProcess(b *testing.B) {
	for _, s := range []setup{proxySubprocess, proxyInprocess} {
		b.Run(s.name, func(b *testing.B) {
			t := startHostInTest(b, s)
			ctx := context.Background()
			t.warm(b, ctx, warmupCalls)
			lat := make([]time.Duration, 0, 4096)
			for b.Loop() {
				lat = t.measure(b, ctx, 1, lat)
			}
			st := summarize(lat)
			b.ReportMetric(micros(st.p50), "p50-µs")
			b.ReportMetric(micros(st.p99), "p99-µs")
		})
	}
}
