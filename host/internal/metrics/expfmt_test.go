package metrics

import (
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mcphost/mcphost/host/internal/router"
)

// scrapeFamilies parses a scrape with Prometheus's own text parser, so that
// what mcphost serves is what a Prometheus server accepts.
func scrapeFamilies(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("Prometheus's parser refused the scrape: %v\n%s", err, rec.Body.String())
	}
	return families
}

// sample finds the value of the family's series with exactly these labels.
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			match = match && labels[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestScrapeParsesWithPrometheus(t *testing.T) {
	r := New(nil)
	status := router.BackendStatus{Name: "srv", State: router.StateRunning, Restarts: 1, HealthChecks: 5, HealthFailures: 2}
	r.SetSources(Sources{
		Backends: func() []router.BackendStatus { return []router.BackendStatus{status} },
		Sessions: func() SessionCounts { return SessionCounts{HTTP: 1} },
		Plugins:  fakePlugins{"a": "# TYPE x counter\nx 1\n", "b": "x{k=\"v\"} 2\n"},
		Tracing:  func() TracingStats { return TracingStats{Dropped: 3, QueueBytes: 4096} },
	})
	f := scrapeFamilies(t, r)
	srv := map[string]string{"server": "srv"}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mcphost_backend_up", srv, 1},
		{"mcphost_backend_restarts_total", srv, 1},
		{"mcphost_backend_state", map[string]string{"server": "srv", "state": "running"}, 1},
		{"mcphost_backend_state", map[string]string{"server": "srv", "state": "failed"}, 0},
		{"mcphost_health_checks_total", map[string]string{"server": "srv", "result": "ok"}, 3},
		{"mcphost_health_checks_total", map[string]string{"server": "srv", "result": "failed"}, 2},
		{"mcphost_sessions", map[string]string{"listener": "http"}, 1},
		{"mcphost_plugin_up", map[string]string{"plugin": "a"}, 1},
		{"mcphost_plugin_up", map[string]string{"plugin": "dead"}, 0},
		{"mcphost_plugin_restarts_total", map[string]string{"plugin": "dead"}, 3},
		{"x", map[string]string{"plugin": "a"}, 1},
		{"mcphost_tracing_dropped_total", nil, 3},
		{"mcphost_tracing_queue_bytes", nil, 4096},
		{"mcphost_tracing_up", nil, 0},
	}
	for _, c := range checks {
		if got := sample(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Values move as calls are made.
	r.RequestStarted("srv", "tools/call", 10)
	r.RequestFinished("", "srv", "tools/call", router.OutcomeOK, 3*time.Millisecond, 20)
	r.RequestStarted("srv", "tools/call", 10)
	r.RequestFinished("", "srv", "tools/call", router.OutcomeError, time.Millisecond, 20)
	status.State, status.Restarts = router.StateRestarting, 2
	f = scrapeFamilies(t, r)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mcphost_requests_total", map[string]string{"server": "srv", "method": "tools/call", "outcome": "ok"}, 1},
		{"mcphost_requests_total", map[string]string{"server": "srv", "method": "tools/call", "outcome": "error"}, 1},
		{"mcphost_request_duration_seconds_count", map[string]string{"server": "srv", "method": "tools/call"}, 2},
		{"mcphost_request_bytes_total", srv, 20},
		{"mcphost_response_bytes_total", srv, 40},
		{"mcphost_backend_up", srv, 0},
		{"mcphost_backend_state", map[string]string{"server": "srv", "state": "restarting"}, 1},
		{"mcphost_backend_restarts_total", srv, 2},
	} {
		if got := sample(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestSummary(t *testing.T) {
	r := New(nil)
	r.SetSources(Sources{Backends: func() []router.BackendStatus { return []router.BackendStatus{{Name: "idle"}} }})
	for _, o := range []router.Outcome{router.OutcomeOK, router.OutcomeOK, router.OutcomeError, router.OutcomeTimeout} {
		r.RequestStarted("busy", "tools/call", 1)
		r.RequestFinished("", "busy", "tools/call", o, time.Millisecond, 1)
	}
	r.RequestStarted("busy", "tools/list", 1)
	r.RequestFinished("", "busy", "tools/list", router.OutcomeOK, 400*time.Second, 1)
	got := r.Summary()
	busy := make([]uint64, len(DurationBuckets)+1)
	busy[0], busy[len(DurationBuckets)] = 4, 1
	want := []ServerSummary{
		{Server: "busy", Requests: 5, Errors: 2, Timeouts: 1, Latency: busy},
		{Server: "idle", Latency: make([]uint64, len(DurationBuckets)+1)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Summary = %+v, want %+v", got, want)
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	counts := func(at map[int]uint64) []uint64 {
		c := make([]uint64, len(DurationBuckets)+1)
		for i, n := range at {
			c[i] = n
		}
		return c
	}
	tests := []struct {
		name   string
		q      float64
		counts []uint64
		want   float64
		ok     bool
	}{
		{"nothing counted", 0.5, counts(nil), 0, false},
		{"all in the first bucket: halfway up it", 0.5, counts(map[int]uint64{0: 10}), 0.0025, true},
		{"p99 in the second bucket", 0.99, counts(map[int]uint64{0: 90, 1: 10}), 0.005 + 0.005*0.9, true},
		{"empty buckets before are skipped", 0.5, counts(map[int]uint64{3: 4}), 0.025 + 0.025*0.5, true},
		{"above every bound: the last bound", 0.99, counts(map[int]uint64{len(DurationBuckets): 3}), 300, true},
	}
	for _, tt := range tests {
		got, ok := Quantile(tt.q, tt.counts)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: Quantile(%v) = %v, %v; want %v, %v", tt.name, tt.q, got, ok, tt.want, tt.ok)
		}
	}
}
