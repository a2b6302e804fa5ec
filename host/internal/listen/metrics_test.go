package listen

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/metrics"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// scrapeMetrics GETs url and parses the Prometheus text it answers into
// series → value (series as written: our own label order is fixed).
func scrapeMetrics(t *testing.T, url, token string) map[string]float64 {
	t.Helper()
	resp := authDo(t, http.MethodGet, url, "", token, "")
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i <= 0 || err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series %s repeated", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}

func authDo(t *testing.T, method, url, session, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", acceptJSON)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHTTPMetrics(t *testing.T) {
	t.Parallel()
	const token = "s3cret"
	reg := metrics.New(nil)
	f := &fakeBackend{tools: []string{"echo"}}
	r := router.New(router.Options{RestartDelay: 10 * time.Millisecond, Observer: reg},
		[]router.BackendSpec{{Name: "srv", Prefix: true, Open: f.open}})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	h := NewHTTP(r, HTTPOptions{Address: "127.0.0.1:0", AuthToken: token, MetricsPath: "/metrics", Metrics: reg})
	if err := h.Listen(); err != nil {
		t.Fatal(err)
	}
	reg.SetSources(metrics.Sources{
		Backends: r.Backends,
		Sessions: func() metrics.SessionCounts {
			s, sse, ws := h.SessionCounts()
			return metrics.SessionCounts{HTTP: s, SSE: sse, WebSocket: ws}
		},
	})
	served := make(chan error, 1)
	go func() { served <- h.Serve() }()
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := h.MetricsURL()
	if !strings.HasSuffix(url, "/metrics") {
		t.Fatalf("MetricsURL %q", url)
	}

	// Auth and method.
	if resp := authDo(t, http.MethodGet, url, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without token: %d, want 401", resp.StatusCode)
	}
	if resp := authDo(t, http.MethodGet, url, "", "wrong", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET with a wrong token: %d, want 401", resp.StatusCode)
	}
	if resp := authDo(t, http.MethodPost, url, "", token, `{}`); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST metrics: %d, want 405", resp.StatusCode)
	}
	if resp := authDo(t, http.MethodGet, url+"/x", "", token, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET under metrics path: %d, want 404", resp.StatusCode)
	}

	before := scrapeMetrics(t, url, token)
	if v := before[`mcphost_backend_up{server="srv"}`]; v != 1 {
		t.Fatalf("backend_up %v, want 1", v)
	}
	if v := before[`mcphost_sessions{listener="http"}`]; v != 0 {
		t.Fatalf("http sessions %v before any, want 0", v)
	}

	// A session and some calls.
	init := authDo(t, http.MethodPost, h.URL(), "", token, initializeMsg(`"init"`))
	session := init.Header.Get("Mcp-Session-Id")
	if init.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize: %d %s", init.StatusCode, readAll(t, init))
	}
	const calls = 5
	for i := range calls {
		resp := authDo(t, http.MethodPost, h.URL(), session, token, callMsg(strconv.Itoa(i), "mcp__proxy__srv__echo", `{}`, ""))
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusOK || jsonrpc.Get(body, "result") == nil {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// An unknown tool never reaches a backend and is not counted.
	authDo(t, http.MethodPost, h.URL(), session, token, callMsg(`"x"`, "nope", `{}`, ""))

	after := scrapeMetrics(t, url, token)
	okSeries := `mcphost_requests_total{server="srv",method="tools/call",outcome="ok"}`
	countSeries := `mcphost_request_duration_seconds_count{server="srv",method="tools/call"}`
	if got := after[okSeries] - before[okSeries]; got != calls {
		t.Errorf("%s grew by %v, want %d", okSeries, got, calls)
	}
	if got := after[countSeries] - before[countSeries]; got != calls {
		t.Errorf("%s grew by %v, want %d", countSeries, got, calls)
	}
	if got := after[`mcphost_request_duration_seconds_bucket{server="srv",method="tools/call",le="+Inf"}`]; got != calls {
		t.Errorf("+Inf bucket %v, want %d", got, calls)
	}
	if got := after[`mcphost_in_flight_requests{server="srv"}`]; got != 0 {
		t.Errorf("in flight %v after every answer, want 0", got)
	}
	for _, s := range []string{`mcphost_request_bytes_total{server="srv"}`, `mcphost_response_bytes_total{server="srv"}`} {
		if after[s] <= 0 {
			t.Errorf("%s = %v, want > 0", s, after[s])
		}
	}
	if got := after[`mcphost_sessions{listener="http"}`]; got != 1 {
		t.Errorf("http sessions %v, want 1", got)
	}
	if got := after[`mcphost_backend_up{server="srv"}`]; got != 1 {
		t.Errorf("backend_up %v, want 1", got)
	}
	for key := range after {
		if strings.Contains(key, "outcome=") && !strings.Contains(key, `outcome="ok"`) {
			t.Errorf("unexpected series %s", key)
		}
	}
}

func TestHTTPMetricsDisabled(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t, "echo")
	h := NewHTTP(r, HTTPOptions{Address: "127.0.0.1:0", MetricsPath: "/mcp", Metrics: metrics.New(nil)})
	if h.opts.MetricsPath != "" {
		t.Errorf("a metrics path that clashes with path was kept")
	}
	h = NewHTTP(r, HTTPOptions{Address: "127.0.0.1:0", Metrics: metrics.New(nil)})
	if h.opts.MetricsPath != "" {
		t.Errorf("empty metrics path served")
	}
}
