package base

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// PrometheusWriter is anything that writes its series in the Prometheus
// text exposition format: a MetricSet, or a plugin's own registry.
type PrometheusWriter interface {
	WritePrometheus(w io.Writer)
}

// PrometheusText answers Metrics with a plugin's series.
func PrometheusText(set PrometheusWriter) MetricsResponse {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	return MetricsResponse{PrometheusText: buf.String()}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// LabelValue escapes s for use as a Prometheus label value.
func LabelValue(s string) string { return labelEscaper.Replace(s) }

// Counter is a monotonic count. Bumping it is one atomic add, so it can be
// kept per message.
type Counter struct{ n atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n, which must not be negative.
func (c *Counter) Add(n int) { c.n.Add(uint64(n)) }

// Get returns the count.
func (c *Counter) Get() uint64 { return c.n.Load() }

// Gauge is a whole-number value that goes up and down, such as the open
// connections.
type Gauge struct{ n atomic.Int64 }

// Inc adds one.
func (g *Gauge) Inc() { g.n.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.n.Add(-1) }

// Add adds n.
func (g *Gauge) Add(n int64) { g.n.Add(n) }

// Set sets the value.
func (g *Gauge) Set(n int64) { g.n.Store(n) }

// Get returns the value.
func (g *Gauge) Get() int64 { return g.n.Load() }

// MetricSet holds a plugin's counters and gauges by series name, a metric
// name with its labels (`name{label="value"}`; escape values with
// LabelValue). The zero value is ready to use.
type MetricSet struct {
	mu     sync.Mutex
	series map[string]metric
}

// metric is a Counter or a Gauge.
type metric interface{ value() string }

func (c *Counter) value() string { return strconv.FormatUint(c.Get(), 10) }
func (g *Gauge) value() string   { return strconv.FormatInt(g.Get(), 10) }

// NewMetricSet returns an empty set.
func NewMetricSet() *MetricSet { return &MetricSet{} }

// Counter returns the counter named series, creating it at zero. It panics
// if series names a gauge: that is a bug in the plugin.
func (s *MetricSet) Counter(series string) *Counter {
	return getOrCreate(s, series, func() *Counter { return new(Counter) })
}

// Gauge returns the gauge named series, creating it at zero. It panics if
// series names a counter.
func (s *MetricSet) Gauge(series string) *Gauge {
	return getOrCreate(s, series, func() *Gauge { return new(Gauge) })
}

func getOrCreate[M metric](s *MetricSet, series string, create func() M) M {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.series[series]
	if !ok {
		if s.series == nil {
			s.series = map[string]metric{}
		}
		m = create()
		s.series[series] = m
	}
	typed, ok := m.(M)
	if !ok {
		panic("base.MetricSet: series " + series + " is already a metric of another type")
	}
	return typed
}

// WritePrometheus writes every series as `series value`, one a line, in
// the order the host has always received: by metric name, then by series.
func (s *MetricSet) WritePrometheus(w io.Writer) {
	s.mu.Lock()
	names := make([]string, 0, len(s.series))
	metrics := make([]metric, 0, len(s.series))
	for name := range s.series {
		names = append(names, name)
	}
	slices.SortFunc(names, compareSeries)
	for _, name := range names {
		metrics = append(metrics, s.series[name])
	}
	s.mu.Unlock()
	var buf bytes.Buffer
	for i, name := range names {
		buf.WriteString(name)
		buf.WriteByte(' ')
		buf.WriteString(metrics[i].value())
		buf.WriteByte('\n')
	}
	_, _ = w.Write(buf.Bytes())
}

// compareSeries orders series by metric name first, so that one metric's
// series stay together, then by the whole series name.
func compareSeries(a, b string) int {
	if c := strings.Compare(metricName(a), metricName(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func metricName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}
