package metrics

import (
	"bytes"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mcphost/mcphost/sdk/base"
)

// The SDK's MetricSet replaced a VictoriaMetrics set in the plugins; the
// host parses what plugins write, so the text must not change.
func TestSDKMetricSetWritesWhatVictoriaMetricsWrote(t *testing.T) {
	t.Parallel()
	counters := map[string]int{
		`mcphost_stdio_messages_sent_total{server="one"}`:                  1,
		`mcphost_stdio_messages_sent_total{server="two \"quoted\""}`:       0,
		`mcphost_stdio_bytes_sent_total{server="one"}`:                     52,
		`mcphost_stdio_messages_sent_total_extra{server="one"}`:            3,
		"mcphost_composite_responses_weighed_total":                        7,
		`mcphost_http_sse_fallbacks_total{server="a\\b"}`:                  1 << 40,
		`mcphost_stdio_messages_received_total{server="one",kind="other"}`: 2,
	}
	gauges := map[string]int{
		`mcphost_stdio_open_connections{server="one"}`: 2,
		`mcphost_stdio_open_connections{server="two"}`: -1,
		`mcphost_stdio_open_connections{server="z"}`:   0,
	}
	vm := metrics.NewSet()
	sdk := base.NewMetricSet()
	for name, n := range counters {
		vm.GetOrCreateCounter(name).Add(n)
		sdk.Counter(name).Add(n)
	}
	for name, n := range gauges {
		vm.GetOrCreateGauge(name, nil).Add(float64(n))
		sdk.Gauge(name).Add(int64(n))
	}
	var want bytes.Buffer
	vm.WritePrometheus(&want)
	if got := base.PrometheusText(sdk).PrometheusText; got != want.String() {
		t.Errorf("SDK text:\n%s\nVictoriaMetrics text:\n%s", got, want.String())
	}
}
