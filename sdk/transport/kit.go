package transport

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
)

// Kit is the state every transport keeps beside its own: its info and
// config block, a logger, a metric set, the open connections, and the
// Info, Schema, Validate, Stop and Metrics answers that follow from them.
// Embed it in a transport; it brings base.Unimplemented's defaults for the
// rest of the base service.
type Kit[C interface {
	Conn
	comparable
}] struct {
	base.Described
	Logger hclog.Logger
	Set    *base.MetricSet
	Conns  ConnSet[C]
	kind   string
}

// NewKit returns the Kit of the transport info describes, whose
// `transport "NAME" {}` block is instance (a *base.Block): Info answers
// info, with Kind set and APIMinor this package's unless info names one;
// Schema answers instance's schema and Validate its diagnostics. The
// metric series are named for info.Name. A nil logger logs JSON to
// stderr, which is what the host collects from a plugin process.
func NewKit[C interface {
	Conn
	comparable
}](info base.InfoResponse, instance base.Checker, logger hclog.Logger) Kit[C] {
	info.Kind = base.KindTransport
	if info.APIMinor == 0 {
		info.APIMinor = APIMinor
	}
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: info.Name, Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	return Kit[C]{Described: base.DescribeInstance(info, instance), Logger: logger, Set: base.NewMetricSet(), kind: info.Name}
}

// ConfigError is the error Open returns for a config with errors (the
// first, as "KIND SERVER: summary: detail"), or nil when diags hold none.
func (k *Kit[C]) ConfigError(server string, diags []base.Diagnostic) error {
	for _, d := range diags {
		if d.Severity == base.SeverityError {
			return fmt.Errorf("%s %s: %s: %s", k.kind, server, d.Summary, d.Detail)
		}
	}
	return nil
}

// Stop closes every open connection in parallel.
func (k *Kit[C]) Stop(ctx context.Context, req base.StopRequest) (base.StopResponse, error) {
	k.Conns.CloseAll(ctx, req)
	return base.StopResponse{}, nil
}

// Metrics answers with the kit's metric set.
func (k *Kit[C]) Metrics(context.Context, base.MetricsRequest) (base.MetricsResponse, error) {
	return base.PrometheusText(k.Set), nil
}

// Counter is the counter mcphost_<kind>_<name>{server="..."}.
func (k *Kit[C]) Counter(server, name string) *base.Counter {
	return k.Set.Counter(k.series(server, name))
}

func (k *Kit[C]) series(server, name string) string {
	return "mcphost_" + k.kind + "_" + name + `{server="` + base.LabelValue(server) + `"}`
}

// ConnCounters are the series every transport keeps per server; the
// connections to one server name share them.
type ConnCounters struct {
	MsgsIn, MsgsOut, BytesIn, BytesOut *base.Counter
	Open                               *base.Gauge
}

// Counters returns server's ConnCounters.
func (k *Kit[C]) Counters(server string) ConnCounters {
	return ConnCounters{
		MsgsIn:   k.Counter(server, "messages_received_total"),
		MsgsOut:  k.Counter(server, "messages_sent_total"),
		BytesIn:  k.Counter(server, "bytes_received_total"),
		BytesOut: k.Counter(server, "bytes_sent_total"),
		Open:     k.Set.Gauge(k.series(server, "open_connections")),
	}
}
