// Package metrics exposes mcphost's own metrics, and its plugins', in the
// Prometheus text format.
//
// Request series are kept in a VictoriaMetrics metrics.Set, created once
// per (server, method, outcome) and cached, so that observing a request on
// the router's message path allocates nothing. Backend, session and plugin
// series are computed at scrape time.
//
// Request durations are a PrometheusHistogram (classic "le" buckets, which
// Prometheus' histogram_quantile understands), with DurationBuckets.
package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/base"
)

// DurationBuckets are the upper bounds, in seconds, of
// mcphost_request_duration_seconds: from fast reads to long tool calls.
var DurationBuckets = durationBucketsArray[:]

var durationBucketsArray = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// ContentType is the Prometheus text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// SessionCounts are the open client sessions per listener kind.
type SessionCounts struct {
	Stdio, HTTP, SSE, WebSocket int
}

// Plugins is what the registry needs from the plugin manager.
type Plugins interface {
	// Running names the plugins whose process is running.
	Running(ctx context.Context) []string
	// States reports every plugin that has been started: whether it is
	// running now and how often it was restarted.
	States() []PluginState
	// Metrics asks a running plugin for its metrics, in Prometheus text.
	Metrics(ctx context.Context, name string) (string, error)
}

// PluginState is one plugin's state for mcphost_plugin_up and
// mcphost_plugin_restarts_total.
type PluginState struct {
	Name     string
	Running  bool
	Restarts int
}

// backendStates are the states mcphost_backend_state reports, one series each.
var backendStates = []router.State{router.StateStarting, router.StateRunning, router.StateUnhealthy,
	router.StateRestarting, router.StateFailed, router.StateStopped, router.StateNeedsLogin}

// Sources are where scrape-time series come from; any may be nil.
type Sources struct {
	Backends func() []router.BackendStatus
	Sessions func() SessionCounts
	// Outboxes reports the bytes waiting for clients to read them.
	Outboxes func() int64
	Plugins  Plugins
	// Tracing reports context tracing's counters (nil when tracing is off).
	Tracing func() TracingStats
	// Started reports whether the start-up wait is over (every server has
	// made its first attempt, or startup_wait passed): mcphost_started,
	// what a load balancer or a script waits for.
	Started func() bool
}

// TracingStats are context tracing's counters.
type TracingStats struct {
	Events, Dropped, Responses, RecordErrors uint64
	QueueDepth                               int
	// QueueBytes are the bytes of delivered messages the tracer holds.
	QueueBytes int64
	// Up: the tracing plugin can be used (false while it is retried).
	Up bool
}

// Registry holds mcphost's metrics. It is a router.Observer.
type Registry struct {
	set *metrics.Set
	log hclog.Logger
	// PluginTimeout bounds asking each plugin for its metrics.
	pluginTimeout time.Duration

	requests  sync.Map // requestKey → *metrics.Counter
	durations sync.Map // methodKey → *metrics.PrometheusHistogram
	servers   sync.Map // string → *serverSeries

	// shed counts the sessions ended for not reading, by listener;
	// refused the sessions refused for a full listener.
	shed, refused sync.Map // string → *metrics.Counter
	// authRefused counts the requests an OAuth listener refused, by reason.
	authRefused sync.Map // string → *metrics.Counter

	mu      sync.Mutex
	sources Sources
}

// listenerKinds are the listener label values of the session series.
var listenerKinds = []string{"stdio", "http", "sse", "websocket"}

// The result label values of mcphost_reloads_total.
const (
	reloadApplied = "applied"
	reloadRefused = "refused"
)

var reloadResults = []string{reloadApplied, reloadRefused}

// ReloadFinished counts a reload of the config by its result: applied (in
// whole or in part), or refused (the new config has errors and the running
// one stays). A reload has no caller to answer when a signal or a saved
// file started it: the counter is how its outcome shows.
func (r *Registry) ReloadFinished(applied bool) {
	result := reloadRefused
	if applied {
		result = reloadApplied
	}
	r.reloadCounter(result).Inc()
}

func (r *Registry) reloadCounter(result string) *metrics.Counter {
	return r.set.GetOrCreateCounter(`mcphost_reloads_total{result="` + result + `"}`)
}

// SessionShed counts a client session ended for not reading its messages
// (router.Options.SessionShed).
func (r *Registry) SessionShed(listener string) {
	r.shedCounter(listener).Inc()
}

// SessionRefused counts a client session refused because its listener
// holds as many as its max_sessions (listen.HTTPOptions.SessionRefused).
func (r *Registry) SessionRefused(listener string) {
	r.refusedCounter(listener).Inc()
}

// AuthRefused counts a request an OAuth-protected listener refused, by
// reason: "missing" (no token), "insufficient_scope", or why the token
// was invalid (see oauthrs.Reason). listen.HTTPOptions.AuthRefused.
func (r *Registry) AuthRefused(reason string) {
	if c, ok := r.authRefused.Load(reason); ok {
		c.(*metrics.Counter).Inc()
		return
	}
	c := r.set.GetOrCreateCounter(`mcphost_http_auth_refused_total{reason="` + base.LabelValue(reason) + `"}`)
	r.authRefused.Store(reason, c)
	c.Inc()
}

func (r *Registry) shedCounter(listener string) *metrics.Counter {
	return r.listenerCounter(&r.shed, "mcphost_sessions_shed_total", listener)
}

func (r *Registry) refusedCounter(listener string) *metrics.Counter {
	return r.listenerCounter(&r.refused, "mcphost_sessions_refused_total", listener)
}

func (r *Registry) listenerCounter(cache *sync.Map, name, listener string) *metrics.Counter {
	if c, ok := cache.Load(listener); ok {
		return c.(*metrics.Counter)
	}
	c := r.set.GetOrCreateCounter(name + `{listener="` + base.LabelValue(listener) + `"}`)
	cache.Store(listener, c)
	return c
}

// requestKey and methodKey name a request series; profile is "" for the
// main endpoint, whose series carry no profile label (which Prometheus
// reads as profile="").
type requestKey struct {
	server, method, profile string
	outcome                 router.Outcome
}

type methodKey struct{ server, method, profile string }

// profileLabel is the profile label to add after the others, "" for none.
func profileLabel(profile string) string {
	if profile == "" {
		return ""
	}
	return `,profile="` + base.LabelValue(profile) + `"`
}

type serverSeries struct {
	inFlight      *metrics.Gauge
	requestBytes  *metrics.Counter
	responseBytes *metrics.Counter
	lateResponses *metrics.Counter
	// latency counts the server's requests by DurationBuckets (the last
	// one above them all), every method together: what the admin API's
	// quantiles are computed from (a PrometheusHistogram cannot be read).
	latency [len(durationBucketsArray) + 1]atomic.Uint64
}

var _ router.Observer = (*Registry)(nil)

// New returns an empty registry. logger may be nil.
func New(logger hclog.Logger) *Registry {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Registry{set: metrics.NewSet(), log: logger, pluginTimeout: 2 * time.Second}
}

// SetSources tells the registry where scrape-time series come from. Every
// backend it reports gets its per-server series at once, at zero.
func (r *Registry) SetSources(src Sources) {
	r.mu.Lock()
	r.sources = src
	r.mu.Unlock()
	for _, result := range reloadResults {
		r.reloadCounter(result) // a proxy's registry: its reloads are counted from zero
	}
	if src.Backends != nil {
		for _, b := range src.Backends() {
			r.server(b.Name)
		}
	}
	if src.Sessions != nil {
		for _, l := range listenerKinds {
			// every listener's series exists, at zero
			r.shedCounter(l)
			if l != "stdio" {
				r.refusedCounter(l)
			}
		}
	}
}

func (r *Registry) server(name string) *serverSeries {
	if v, ok := r.servers.Load(name); ok {
		return v.(*serverSeries)
	}
	l := `{server="` + base.LabelValue(name) + `"}`
	s := &serverSeries{
		inFlight:      r.set.GetOrCreateGauge("mcphost_in_flight_requests"+l, nil),
		requestBytes:  r.set.GetOrCreateCounter("mcphost_request_bytes_total" + l),
		responseBytes: r.set.GetOrCreateCounter("mcphost_response_bytes_total" + l),
		lateResponses: r.set.GetOrCreateCounter("mcphost_late_responses_total" + l),
	}
	v, _ := r.servers.LoadOrStore(name, s)
	return v.(*serverSeries)
}

func (r *Registry) requestCounter(k requestKey) *metrics.Counter {
	if v, ok := r.requests.Load(k); ok {
		return v.(*metrics.Counter)
	}
	c := r.set.GetOrCreateCounter(fmt.Sprintf(`mcphost_requests_total{server="%s",method="%s",outcome="%s"%s}`,
		base.LabelValue(k.server), base.LabelValue(k.method), base.LabelValue(string(k.outcome)), profileLabel(k.profile)))
	v, _ := r.requests.LoadOrStore(k, c)
	return v.(*metrics.Counter)
}

func (r *Registry) duration(k methodKey) *metrics.PrometheusHistogram {
	if v, ok := r.durations.Load(k); ok {
		return v.(*metrics.PrometheusHistogram)
	}
	h := r.set.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`mcphost_request_duration_seconds{server="%s",method="%s"%s}`,
		base.LabelValue(k.server), base.LabelValue(k.method), profileLabel(k.profile)), DurationBuckets)
	v, _ := r.durations.LoadOrStore(k, h)
	return v.(*metrics.PrometheusHistogram)
}

// RequestStarted implements router.Observer.
func (r *Registry) RequestStarted(server, _ string, requestBytes int) {
	s := r.server(server)
	s.inFlight.Inc()
	if requestBytes > 0 {
		s.requestBytes.Add(requestBytes)
	}
}

// RequestFinished implements router.Observer: the request series of a
// profile's sessions carry profile="NAME".
func (r *Registry) RequestFinished(profile, server, method string, outcome router.Outcome, elapsed time.Duration, responseBytes int) {
	s := r.server(server)
	s.inFlight.Dec()
	if responseBytes > 0 {
		s.responseBytes.Add(responseBytes)
	}
	r.requestCounter(requestKey{server: server, method: method, profile: profile, outcome: outcome}).Inc()
	secs := elapsed.Seconds()
	r.duration(methodKey{server: server, method: method, profile: profile}).Update(secs)
	s.latency[sort.SearchFloat64s(durationBucketsArray[:], secs)].Add(1)
}

// LateResponse implements router.Observer.
func (r *Registry) LateResponse(server string) {
	r.server(server).lateResponses.Inc()
}

// WritePrometheus writes every series: the request series, then backends,
// sessions and the running plugins' own series (labelled plugin="NAME"),
// and go_goroutines, the host's goroutines, with any source (a leak shows
// in any scrape; RSS and open files are in /proc for whoever needs them).
func (r *Registry) WritePrometheus(ctx context.Context, w io.Writer) {
	r.set.WritePrometheus(w)
	r.mu.Lock()
	src := r.sources
	r.mu.Unlock()
	if src.Backends != nil || src.Sessions != nil {
		metrics.WriteGaugeUint64(w, "go_goroutines", uint64(runtime.NumGoroutine()))
	}
	if src.Started != nil {
		started := uint64(0)
		if src.Started() {
			started = 1
		}
		metrics.WriteGaugeUint64(w, "mcphost_started", started)
	}
	if src.Backends != nil {
		bs := src.Backends()
		for _, b := range bs {
			up := uint64(0)
			if b.State == router.StateRunning {
				up = 1
			}
			metrics.WriteGaugeUint64(w, `mcphost_backend_up{server="`+base.LabelValue(b.Name)+`"}`, up)
		}
		for _, b := range bs {
			metrics.WriteCounterUint64(w, `mcphost_backend_restarts_total{server="`+base.LabelValue(b.Name)+`"}`, uint64(b.Restarts))
		}
		for _, b := range bs {
			for _, st := range backendStates {
				v := uint64(0)
				if b.State == st {
					v = 1
				}
				metrics.WriteGaugeUint64(w, `mcphost_backend_state{server="`+base.LabelValue(b.Name)+`",state="`+string(st)+`"}`, v)
			}
		}
		for _, b := range bs {
			l := base.LabelValue(b.Name)
			metrics.WriteCounterUint64(w, `mcphost_health_checks_total{server="`+l+`",result="ok"}`, uint64(b.HealthChecks-b.HealthFailures))
			metrics.WriteCounterUint64(w, `mcphost_health_checks_total{server="`+l+`",result="failed"}`, uint64(b.HealthFailures))
		}
	}
	if src.Sessions != nil {
		c := src.Sessions()
		for _, l := range []struct {
			name string
			n    int
		}{{"stdio", c.Stdio}, {"http", c.HTTP}, {"sse", c.SSE}, {"websocket", c.WebSocket}} {
			metrics.WriteGaugeUint64(w, `mcphost_sessions{listener="`+l.name+`"}`, uint64(max(l.n, 0)))
		}
	}
	if src.Outboxes != nil {
		metrics.WriteGaugeUint64(w, "mcphost_outbox_bytes", uint64(max(src.Outboxes(), 0)))
	}
	if src.Tracing != nil {
		s := src.Tracing()
		metrics.WriteCounterUint64(w, "mcphost_tracing_events_total", s.Events)
		metrics.WriteCounterUint64(w, "mcphost_tracing_dropped_total", s.Dropped)
		metrics.WriteCounterUint64(w, "mcphost_tracing_responses_total", s.Responses)
		metrics.WriteCounterUint64(w, "mcphost_tracing_record_errors_total", s.RecordErrors)
		metrics.WriteGaugeUint64(w, "mcphost_tracing_queue_depth", uint64(max(s.QueueDepth, 0)))
		metrics.WriteGaugeUint64(w, "mcphost_tracing_queue_bytes", uint64(max(s.QueueBytes, 0)))
		up := uint64(0)
		if s.Up {
			up = 1
		}
		metrics.WriteGaugeUint64(w, "mcphost_tracing_up", up)
	}
	if src.Plugins != nil {
		states := src.Plugins.States()
		for _, p := range states {
			up := uint64(0)
			if p.Running {
				up = 1
			}
			metrics.WriteGaugeUint64(w, `mcphost_plugin_up{plugin="`+base.LabelValue(p.Name)+`"}`, up)
		}
		for _, p := range states {
			metrics.WriteCounterUint64(w, `mcphost_plugin_restarts_total{plugin="`+base.LabelValue(p.Name)+`"}`, uint64(p.Restarts))
		}
		r.writePlugins(ctx, w, src.Plugins)
	}
}

func (r *Registry) writePlugins(ctx context.Context, w io.Writer, p Plugins) {
	var texts []string
	for _, name := range p.Running(ctx) {
		pctx, cancel := context.WithTimeout(ctx, r.pluginTimeout)
		text, err := p.Metrics(pctx, name)
		cancel()
		if err != nil {
			r.log.Debug("plugin metrics unavailable", "plugin", name, "error", err)
			continue
		}
		texts = append(texts, InjectLabel(text, "plugin", name))
	}
	if len(texts) > 0 {
		_, _ = io.WriteString(w, MergeFamilies(texts...))
	}
}

// ServeHTTP writes the metrics. Method and auth checks are the listener's.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var buf bytes.Buffer
	r.WritePrometheus(req.Context(), &buf)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// ServerSummary counts one server's forwarded requests by how they ended.
type ServerSummary struct {
	Server                     string
	Requests, Errors, Timeouts uint64
	// Latency counts requests by duration: Latency[i] took at most
	// DurationBuckets[i] (and more than the bound before); the last
	// counts the ones above every bound.
	Latency []uint64
}

// Summary counts each server's requests so far, by server name. An error
// is any outcome but ok (a timeout is counted in both).
func (r *Registry) Summary() []ServerSummary {
	by := map[string]*ServerSummary{}
	r.servers.Range(func(k, v any) bool {
		series := v.(*serverSeries)
		latency := make([]uint64, len(series.latency))
		for i := range series.latency {
			latency[i] = series.latency[i].Load()
		}
		by[k.(string)] = &ServerSummary{Server: k.(string), Latency: latency}
		return true
	})
	r.requests.Range(func(k, v any) bool {
		key := k.(requestKey)
		s := by[key.server]
		if s == nil {
			s = &ServerSummary{Server: key.server, Latency: make([]uint64, len(DurationBuckets)+1)}
			by[key.server] = s
		}
		n := v.(*metrics.Counter).Get()
		s.Requests += n
		if key.outcome != router.OutcomeOK {
			s.Errors += n
		}
		if key.outcome == router.OutcomeTimeout {
			s.Timeouts += n
		}
		return true
	})
	out := make([]ServerSummary, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out
}

// Quantile estimates the q-quantile (0 < q < 1) of durations counted by
// bucket as Summary's Latency does, in seconds, interpolating linearly
// within the bucket it falls in, as Prometheus' histogram_quantile does;
// above the last bound it answers the last bound. ok is false when
// nothing was counted.
func Quantile(q float64, latency []uint64) (seconds float64, ok bool) {
	var total uint64
	for _, n := range latency {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var below uint64
	for i, n := range latency {
		if float64(below+n) < rank || n == 0 {
			below += n
			continue
		}
		if i >= len(DurationBuckets) {
			return DurationBuckets[len(DurationBuckets)-1], true
		}
		lower := 0.0
		if i > 0 {
			lower = DurationBuckets[i-1]
		}
		return lower + (DurationBuckets[i]-lower)*(rank-float64(below))/float64(n), true
	}
	return DurationBuckets[len(DurationBuckets)-1], true
}
