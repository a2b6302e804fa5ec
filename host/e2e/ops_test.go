//go:build unix

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// scrapeCounter reads one series from the proxy's /metrics with
// Prometheus's own parser.
func scrapeCounter(t *testing.T, metricsURL, family string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("Prometheus's parser refused /metrics: %v", err)
	}
	f := families[family]
	if f == nil {
		t.Fatalf("no %s in /metrics", family)
	}
	for _, m := range f.GetMetric() {
		if labelsMatch(m, labels) {
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			default:
				return m.GetUntyped().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v in /metrics", family, labels)
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

// TestOperations: a backend killed with SIGKILL is restarted within its
// backoff and counted in mcphost_backend_restarts_total, clients are told
// its tools left and came back; a backend that stops answering (SIGSTOP)
// is found by the health check and restarted; the other server never
// fails a call meanwhile.
func TestOperations(t *testing.T) {
	t.Parallel()
	marker := uniqueMarker("ops")
	victim := serverBlock("victim", marker, `health {
    interval          = "300ms"
    timeout           = "300ms"
    failure_threshold = 2
  }
  restart {
    initial_delay = "200ms"
    max_delay     = "1s"
    max_restarts  = 10
  }`)
	p := startHTTPProxy(t, victim+serverBlock("other", "other", ""))
	metricsURL := strings.TrimSuffix(p.URL, "/mcp") + "/metrics"
	var listChanged atomic.Int64
	c := httpClient(t, p.URL, clientOptions{notifications: func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/tools/list_changed" {
			listChanged.Add(1)
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stopOther := make(chan struct{})
	otherErr := make(chan error, 1)
	var otherOK atomic.Int64
	go func() {
		defer close(otherErr)
		for {
			select {
			case <-stopOther:
				return
			default:
			}
			if got, err := tryCall(ctx, c, "mcp__proxy__other__whoami", nil); err != nil || got != "other" {
				otherErr <- fmt.Errorf("call to other: %q, %v", got, err)
				return
			}
			otherOK.Add(1)
			time.Sleep(20 * time.Millisecond) // paces the steady load on "other"
		}
	}()

	labels := map[string]string{"server": "victim"}
	for _, step := range []struct {
		name   string
		signal syscall.Signal
	}{
		{"SIGKILL", syscall.SIGKILL},
		{"SIGSTOP (hung)", syscall.SIGSTOP},
	} {
		restarts := scrapeCounter(t, metricsURL, "mcphost_backend_restarts_total", labels)
		failedChecks := scrapeCounter(t, metricsURL, "mcphost_health_checks_total", map[string]string{"server": "victim", "result": "failed"})
		changes := listChanged.Load()
		pids := testenv.FindProcesses(t, marker)
		if len(pids) != 1 {
			t.Fatalf("%s: %d processes match the victim's marker, want 1", step.name, len(pids))
		}
		if err := syscall.Kill(pids[0], step.signal); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		poll.Within(t, 30*time.Second, step.name+": victim answers again", func() error {
			got, err := tryCall(ctx, c, "mcp__proxy__victim__whoami", nil)
			if err == nil && got != marker {
				return fmt.Errorf("whoami = %q", got)
			}
			if err == nil {
				if now := testenv.FindProcesses(t, marker); len(now) != 1 || now[0] == pids[0] {
					return fmt.Errorf("still the old process")
				}
			}
			return err
		})
		t.Logf("%s: the victim answered again after %s", step.name, time.Since(start).Round(time.Millisecond))
		if got := scrapeCounter(t, metricsURL, "mcphost_backend_restarts_total", labels); got <= restarts {
			t.Errorf("%s: mcphost_backend_restarts_total stayed at %v", step.name, got)
		}
		if step.signal == syscall.SIGSTOP {
			if got := scrapeCounter(t, metricsURL, "mcphost_health_checks_total", map[string]string{"server": "victim", "result": "failed"}); got < failedChecks+2 {
				t.Errorf("hung backend: failed health checks went from %v to %v, want at least 2 more", failedChecks, got)
			}
		}
		poll.Within(t, 10*time.Second, step.name+": list_changed down and up", func() error {
			if n := listChanged.Load() - changes; n < 2 {
				return fmt.Errorf("%d notifications/tools/list_changed", n)
			}
			return nil
		})
	}
	close(stopOther)
	if err := <-otherErr; err != nil {
		t.Fatal(err)
	}
	if otherOK.Load() == 0 {
		t.Fatal("no call to the other server was made")
	}
}
