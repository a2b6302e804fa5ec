package metrics

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
)

type fakePlugins map[string]string

func (f fakePlugins) Running(context.Context) []string { return []string{"a", "b", "broken"} }

func (f fakePlugins) States() []PluginState {
	return []PluginState{{Name: "a", Running: true, Restarts: 1}, {Name: "b", Running: true}, {Name: "dead", Restarts: 3}}
}

func (f fakePlugins) Metrics(_ context.Context, name string) (string, error) {
	text, ok := f[name]
	if !ok {
		return "", errors.New("no such plugin")
	}
	return text, nil
}

func scrape(t *testing.T, r *Registry) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	return parseText(t, rec.Body.String())
}

func TestRegistry(t *testing.T) {
	r := New(nil)
	r.SetSources(Sources{
		Backends: func() []router.BackendStatus {
			return []router.BackendStatus{
				{Name: "up", State: router.StateRunning, Restarts: 2},
				{Name: "down", State: router.StateRestarting},
			}
		},
		Sessions: func() SessionCounts { return SessionCounts{Stdio: 1, HTTP: 2, WebSocket: 3} },
		Plugins:  fakePlugins{"a": "# TYPE x counter\nx 1\n", "b": "x{k=\"v\"} 2\n"},
		Tracing: func() TracingStats {
			return TracingStats{Events: 7, Dropped: 3, Responses: 2, RecordErrors: 1, QueueDepth: 4, QueueBytes: 4096, Up: true}
		},
	})
	m := scrape(t, r)
	for key, want := range map[string]float64{
		`mcphost_backend_up{server="up"}`:               1,
		`mcphost_backend_up{server="down"}`:             0,
		`mcphost_backend_restarts_total{server="up"}`:   2,
		`mcphost_in_flight_requests{server="up"}`:       0,
		`mcphost_in_flight_requests{server="down"}`:     0,
		`mcphost_sessions{listener="stdio"}`:            1,
		`mcphost_sessions{listener="http"}`:             2,
		`mcphost_sessions{listener="sse"}`:              0,
		`mcphost_sessions{listener="websocket"}`:        3,
		`x{plugin="a"}`:                                 1,
		`x{k="v",plugin="b"}`:                           2,
		`mcphost_request_bytes_total{server="up"}`:      0,
		`mcphost_response_bytes_total{server="up"}`:     0,
		`mcphost_late_responses_total{server="up"}`:     0,
		`mcphost_backend_restarts_total{server="down"}`: 0,
		`mcphost_tracing_events_total{}`:                7,
		`mcphost_tracing_dropped_total{}`:               3,
		`mcphost_tracing_responses_total{}`:             2,
		`mcphost_tracing_record_errors_total{}`:         1,
		`mcphost_tracing_queue_depth{}`:                 4,
		`mcphost_tracing_queue_bytes{}`:                 4096,
		`mcphost_tracing_up{}`:                          1,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}

	r.RequestStarted("up", "tools/call", 100)
	r.RequestStarted("up", "tools/call", 50)
	m = scrape(t, r)
	if got := m[`mcphost_in_flight_requests{server="up"}`]; got != 2 {
		t.Errorf("in flight %v, want 2", got)
	}
	r.RequestFinished("", "up", "tools/call", router.OutcomeOK, 30*time.Millisecond, 10)
	r.RequestFinished("", "up", "tools/call", router.OutcomeTimeout, 2*time.Second, 0)
	r.RequestStarted("up", "resources/read", 0)
	r.RequestFinished("", "up", "resources/read", router.OutcomeUnavailable, 0, 0)
	r.LateResponse("up")
	m = scrape(t, r)
	for key, want := range map[string]float64{
		`mcphost_in_flight_requests{server="up"}`:                                            0,
		`mcphost_request_bytes_total{server="up"}`:                                           150,
		`mcphost_response_bytes_total{server="up"}`:                                          10,
		`mcphost_late_responses_total{server="up"}`:                                          1,
		`mcphost_requests_total{method="tools/call",outcome="ok",server="up"}`:               1,
		`mcphost_requests_total{method="tools/call",outcome="timeout",server="up"}`:          1,
		`mcphost_requests_total{method="resources/read",outcome="unavailable",server="up"}`:  1,
		`mcphost_request_duration_seconds_count{method="tools/call",server="up"}`:            2,
		`mcphost_request_duration_seconds_bucket{le="0.05",method="tools/call",server="up"}`: 1,
		`mcphost_request_duration_seconds_bucket{le="+Inf",method="tools/call",server="up"}`: 2,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
}

// Observing a request whose series exist must not allocate: it runs on
// the router's message path.
func TestObserveDoesNotAllocate(t *testing.T) {
	r := New(nil)
	server, method := "srv", "tools/call"
	r.RequestStarted(server, method, 10)
	r.RequestFinished("", server, method, router.OutcomeOK, time.Millisecond, 10)
	allocs := testing.AllocsPerRun(1000, func() {
		r.RequestStarted(server, method, 10)
		r.RequestFinished("", server, method, router.OutcomeOK, time.Millisecond, 10)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per observed request, want 0", allocs)
	}
}

func TestNoSources(t *testing.T) {
	var buf bytes.Buffer
	New(nil).WritePrometheus(context.Background(), &buf)
	if buf.Len() != 0 {
		t.Errorf("empty registry wrote %q", buf.String())
	}
}

// TestGoroutines: a host's scrape carries go_goroutines, so that a
// goroutine leak shows on any dashboard (the soak test samples it).
func TestGoroutines(t *testing.T) {
	r := New(nil)
	r.SetSources(Sources{Sessions: func() SessionCounts { return SessionCounts{} }})
	var buf bytes.Buffer
	r.WritePrometheus(context.Background(), &buf)
	if !bytes.Contains(buf.Bytes(), []byte("\ngo_goroutines ")) && !bytes.HasPrefix(buf.Bytes(), []byte("go_goroutines ")) {
		t.Fatalf("no go_goroutines in %q", buf.String())
	}
}

// TestStarted: mcphost_started follows the proxy's start-up wait, 0 while
// it lasts and 1 once it is over, and is absent from a registry with no
// proxy behind it.
func TestStarted(t *testing.T) {
	t.Parallel()
	over := func(b bool) func() bool { return func() bool { return b } }
	cases := []struct {
		name    string
		started func() bool
		want    float64
		present bool
	}{
		{"while the start-up wait lasts", over(false), 0, true},
		{"once it is over", over(true), 1, true},
		{"no proxy to ask", nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := New(nil)
			r.SetSources(Sources{Started: tc.started})
			got, ok := scrape(t, r)["mcphost_started{}"]
			if ok != tc.present || got != tc.want {
				t.Errorf("mcphost_started = %v (present %v), want %v (present %v)", got, ok, tc.want, tc.present)
			}
		})
	}
}

// TestReloads: mcphost_reloads_total counts reloads by result, both
// series present at zero from the start (a proxy's registry has sources).
func TestReloads(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                     string
		applied                  []bool // one reload each
		wantApplied, wantRefused float64
	}{
		{"no reload yet", nil, 0, 0},
		{"one applied", []bool{true}, 1, 0},
		{"applied, then refused twice", []bool{true, false, false}, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := New(nil)
			r.SetSources(Sources{})
			for _, applied := range tc.applied {
				r.ReloadFinished(applied)
			}
			m := scrape(t, r)
			for key, want := range map[string]float64{
				`mcphost_reloads_total{result="applied"}`: tc.wantApplied,
				`mcphost_reloads_total{result="refused"}`: tc.wantRefused,
			} {
				if got, ok := m[key]; !ok || got != want {
					t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
				}
			}
		})
	}
}

func TestAuthRefused(t *testing.T) {
	t.Parallel()
	r := New(nil)
	r.SetSources(Sources{})
	for _, reason := range []string{"missing", "expired", "missing"} {
		r.AuthRefused(reason)
	}
	m := scrape(t, r)
	for key, want := range map[string]float64{
		`mcphost_http_auth_refused_total{reason="missing"}`: 2,
		`mcphost_http_auth_refused_total{reason="expired"}`: 1,
	} {
		if got := m[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

// TestProfileLabel: a profile session's requests are their own series,
// labelled profile="NAME"; the main endpoint's keep their label set (no
// profile label, which Prometheus reads as profile=""). Neither allocates
// once its series exist (so the test is not parallel: AllocsPerRun).
func TestProfileLabel(t *testing.T) {
	r := New(nil)
	r.RequestStarted("srv", "tools/call", 10)
	r.RequestFinished("coding", "srv", "tools/call", router.OutcomeOK, time.Millisecond, 10)
	r.RequestStarted("srv", "tools/call", 10)
	r.RequestFinished("", "srv", "tools/call", router.OutcomeError, time.Millisecond, 10)
	m := scrape(t, r)
	for key, want := range map[string]float64{
		`mcphost_requests_total{method="tools/call",outcome="ok",profile="coding",server="srv"}`:    1,
		`mcphost_requests_total{method="tools/call",outcome="error",server="srv"}`:                  1,
		`mcphost_request_duration_seconds_count{method="tools/call",profile="coding",server="srv"}`: 1,
		`mcphost_request_duration_seconds_count{method="tools/call",server="srv"}`:                  1,
		`mcphost_in_flight_requests{server="srv"}`:                                                  0,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if _, ok := m[`mcphost_requests_total{method="tools/call",outcome="ok",server="srv"}`]; ok {
		t.Error("a profile request was counted on the main endpoint's series")
	}
	allocs := testing.AllocsPerRun(1000, func() {
		r.RequestStarted("srv", "tools/call", 10)
		r.RequestFinished("coding", "srv", "tools/call", router.OutcomeOK, time.Millisecond, 10)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per observed profile request, want 0", allocs)
	}
}
