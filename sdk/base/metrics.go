package base

import (
	"bytes"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// PrometheusText answers Metrics with a plugin's metrics set.
func PrometheusText(set *metrics.Set) MetricsResponse {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	return MetricsResponse{PrometheusText: buf.String()}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// LabelValue escapes s for use as a Prometheus label value.
func LabelValue(s string) string { return labelEscaper.Replace(s) }
