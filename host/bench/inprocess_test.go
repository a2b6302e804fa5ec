package bench

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/proxy"
	"github.com/mcphost/mcphost/host/internal/router"
)

// startHostInTest runs the proxy of spec inside the test process, serving
// stdio over in-memory pipes, so that -cpuprofile and friends see the host
// (and an in-process plugin). The backend, and a subprocess plugin, are
// still processes of their own.
func startHostInTest(tb testing.TB, spec systemSpec) *stdioPipe {
	tb.Helper()
	exe := mcphost(tb)
	dir := tb.TempDir()
	cfg, diags := config.NewLoader().Parse([]byte(proxyConfig(tb, spec, dir)), filepath.Join(dir, "proxy.hcl"), config.LoadOptions{Executable: exe})
	if diags.HasErrors() {
		tb.Fatalf("config: %v", diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, diags := proxy.Build(ctx, cfg, proxy.Options{Executable: exe})
	if diags.HasErrors() {
		cancel()
		tb.Fatalf("build: %v", diags)
	}
	if err := p.Start(ctx, proxy.StartOptions{Lenient: true}); err != nil {
		cancel()
		tb.Fatalf("start: %v", err)
	}
	if err := p.WaitStarted(ctx); err != nil {
		cancel()
		tb.Fatalf("start: %v", err)
	}
	// WaitStarted returns once the backend's first start has been tried.
	for _, b := range p.Router().Backends() {
		if b.State != router.StateRunning {
			tb.Errorf("server %s is %s: %s", b.Name, b.State, b.Reason)
		}
	}
	hostIn, clientOut := io.Pipe()
	clientIn, hostOut := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- p.ServeStdio(ctx, hostIn, hostOut) }()
	tb.Cleanup(func() {
		clientOut.Close()
		select {
		case <-served:
		case <-time.After(stopGrace):
			tb.Errorf("ServeStdio did not return after stdin closed")
		}
		cancel()
		shutdownCtx, stop := context.WithTimeout(context.Background(), 2*stopGrace)
		defer stop()
		if err := p.Shutdown(shutdownCtx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		hostOut.Close()
	})
	return newStdioPipe(clientOut, clientIn)
}

// BenchmarkHostInTestProcess is the stdio front's 100 B call with the host
// running inside the test binary: run it with -cpuprofile to see where
// the host spends its time. Its figures lack one process hop (client and
// host talk over in-memory pipes), so compare them with each other, not
// with BenchmarkFronts:
//
//	go test -run '^$' -bench HostInTestProcess -benchtime 10000x -cpuprofile cpu.out ./host/bench/
func BenchmarkHostInTestProcess(b *testing.B) {
	for _, spec := range []systemSpec{
		{name: "subprocess", kind: proxyStdioSystem, backend: echo1125},
		{name: "inprocess", kind: proxyStdioSystem, backend: echo1125, inprocess: true},
	} {
		b.Run(spec.name, func(b *testing.B) {
			pipe := startHostInTest(b, spec)
			if err := pipe.initialize(v20251125); err != nil {
				b.Fatal(err)
			}
			w := &worker{s: &stdioSession{p: pipe}}
			call := newCallSpec("mcp__proxy__bench__echo", "message", payloadOf(small), false)
			var lat []time.Duration
			for b.Loop() {
				d, err := w.call(call)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, d)
			}
			slices.Sort(lat)
			b.ReportMetric(micros(quantile(lat, 0.50)), "p50-µs")
			b.ReportMetric(micros(quantile(lat, 0.99)), "p99-µs")
		})
	}
}
