package base

import (
	"strings"
	"sync"
	"testing"
)

func TestMetricSetWritesPrometheusText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fill func(s *MetricSet)
		want string
	}{
		{"empty", func(*MetricSet) {}, ""},
		{"counters and gauges by metric name, then series", func(s *MetricSet) {
			s.Counter(`b_total{server="z"}`).Add(52)
			s.Counter(`b_total{server="a"}`).Inc()
			// "a_total_x" sorts before `a_total{` by the whole name, but
			// after it by metric name: one metric's series stay together.
			s.Counter("a_total_x")
			s.Counter(`a_total{server="` + LabelValue(`two "quoted"`) + `"}`).Inc()
			g := s.Gauge(`open{server="a"}`)
			g.Inc()
			g.Inc()
			g.Dec()
		}, `a_total{server="two \"quoted\""} 1
a_total_x 0
b_total{server="a"} 1
b_total{server="z"} 52
open{server="a"} 1
`},
		{"a gauge below zero", func(s *MetricSet) { s.Gauge("g").Add(-3) }, "g -3\n"},
		{"the same series is one counter", func(s *MetricSet) {
			s.Counter("c_total").Inc()
			s.Counter("c_total").Inc()
		}, "c_total 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s MetricSet
			tt.fill(&s)
			if got := PrometheusText(&s).PrometheusText; got != tt.want {
				t.Errorf("text:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestMetricSetConcurrentCounts(t *testing.T) {
	t.Parallel()
	s := NewMetricSet()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				s.Counter("n_total").Inc()
				s.Gauge("g").Inc()
			}
		}()
	}
	wg.Wait()
	if got := PrometheusText(s).PrometheusText; got != "g 8000\nn_total 8000\n" {
		t.Errorf("text %q", got)
	}
}

func TestMetricSetTypeClash(t *testing.T) {
	t.Parallel()
	s := NewMetricSet()
	s.Counter("x")
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `x`) {
			t.Errorf("recovered %v, want a panic naming the series", r)
		}
	}()
	s.Gauge("x")
}

// BenchmarkCounterInc is the per-message cost: one atomic add.
func BenchmarkCounterInc(b *testing.B) {
	c := NewMetricSet().Counter(`mcphost_x_messages_sent_total{server="s"}`)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}
