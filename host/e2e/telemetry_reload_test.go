//go:build unix

package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/telemetry/otlptest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// TestOpenTelemetryReload: a reload that points the telemetry block at
// another collector sends the spans of later requests there, without a
// restart.
func TestOpenTelemetryReload(t *testing.T) {
	t.Parallel()
	first, second := otlptest.NewReceiver(), otlptest.NewReceiver()
	defer first.Close()
	defer second.Close()
	addr := freeAddr(t)
	config := func(endpoint string) string {
		return fmt.Sprintf("listen \"http\" {\n  address = %q\n}\ntelemetry {\n  otlp_endpoint = %q\n}\n%s", addr, endpoint, exampleServer("example"))
	}
	path := writeConfig(t, config(first.URL()))
	p := runProxy(t, path, "http://"+addr+"/mcp", nil)
	c := httpClient(t, p.URL, clientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	call := func(traceID string) {
		t.Helper()
		req := mcp.CallToolRequest{}
		req.Params.Name = "mcp__proxy__example__echo"
		req.Params.Arguments = map[string]any{"text": "x"}
		req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"traceparent": "00-" + traceID + "-b7ad6b7169203331-01"}}
		if res, err := c.CallTool(ctx, req); err != nil || res.IsError {
			t.Fatalf("call: %+v, %v", res, err)
		}
	}
	inTrace := func(traceID string) func([]otlptest.Span) bool {
		return func(spans []otlptest.Span) bool {
			n := 0
			for _, s := range spans {
				if s.TraceID == traceID {
					n++
				}
			}
			return n == 2 // SERVER and CLIENT
		}
	}
	wait := func(r *otlptest.Receiver, traceID string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if spans, err := r.Wait(wctx, inTrace(traceID)); err != nil {
			t.Fatalf("spans of trace %s: %v; got %+v\n%s", traceID, err, spans, p.Stderr.String())
		}
	}

	before, after := "11111111111111111111111111111111", "22222222222222222222222222222222"
	call(before)
	wait(first, before)

	if err := os.WriteFile(path, []byte(config(second.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, 20*time.Second, "the reload applied", func() error {
		if n := scrapeCounter(t, "http://"+addr+"/metrics", "mcphost_reloads_total", map[string]string{"result": "applied"}); n != 1 {
			return fmt.Errorf("%v applied reloads\n%s", n, p.Stderr.String())
		}
		return nil
	})
	call(after)
	wait(second, after)
	for _, s := range first.Spans() {
		if s.TraceID == after {
			t.Errorf("the first collector got a span after the reload: %+v", s)
		}
	}
	if strings.Contains(p.Stderr.String(), "restart mcphost") {
		t.Errorf("the reload asked for a restart:\n%s", p.Stderr.String())
	}
}
