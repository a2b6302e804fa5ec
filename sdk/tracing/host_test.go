package tracing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// weighingTracer asks the host for weights when it records a response.
type weighingTracer struct {
	base.Unimplemented
	mu      sync.Mutex
	host    tracing.Host
	weights []float64
}

func (w *weighingTracer) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "weighing", Kind: base.KindTracing}, nil
}

func (w *weighingTracer) UseHost(h tracing.Host) {
	w.mu.Lock()
	w.host = h
	w.mu.Unlock()
}

func (w *weighingTracer) Record(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	w.mu.Lock()
	h := w.host
	w.mu.Unlock()
	units := make([]weighting.Unit, len(req.Events))
	for i, e := range req.Events {
		units[i] = weighting.Unit{ID: e.ContextID, TokenEstimate: e.TokenEstimate}
	}
	r, err := h.Weigh(ctx, weighting.WeighRequest{Units: units})
	if err != nil {
		return tracing.RecordResponse{}, err
	}
	w.mu.Lock()
	w.weights = r.Weights
	w.mu.Unlock()
	return tracing.RecordResponse{}, nil
}

func (w *weighingTracer) ListTools(context.Context, tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return tracing.ListToolsResponse{}, nil
}

func (w *weighingTracer) CallTool(context.Context, tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	return tracing.CallToolResponse{}, nil
}

func (w *weighingTracer) ListResources(context.Context, tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	return tracing.ListResourcesResponse{}, nil
}

func (w *weighingTracer) ReadResource(context.Context, tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	return tracing.ReadResourceResponse{}, nil
}

// tokenHost weighs units by their token estimates.
type tokenHost struct{ calls int }

func (h *tokenHost) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	h.calls++
	w := make([]float64, len(req.Units))
	for i, u := range req.Units {
		w[i] = float64(u.TokenEstimate)
	}
	return weighting.WeighResponse{Weights: weighting.Normalize(w)}, nil
}

// The plugin reaches the host's weighing over the go-plugin broker, which
// the host offers at Configure.
func TestPluginCallsTheHostOverTheBroker(t *testing.T) {
	t.Parallel()
	impl := &weighingTracer{}
	client := plugintest.ServeTracing(t, impl).(*tracing.GRPCClient)
	host := &tokenHost{}
	id, err := client.ServeHost(host)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.Configure(ctx, base.ConfigureRequest{BrokerID: id}); err != nil {
		t.Fatal(err)
	}
	_, err = client.Record(ctx, tracing.RecordRequest{Events: []tracing.Event{
		{ContextID: "a", TokenEstimate: 1}, {ContextID: "b", TokenEstimate: 3},
	}})
	if err != nil {
		t.Fatal(err)
	}
	impl.mu.Lock()
	defer impl.mu.Unlock()
	if host.calls != 1 || len(impl.weights) != 2 || impl.weights[0] != 0.25 || impl.weights[1] != 0.75 {
		t.Fatalf("host calls %d, weights %v", host.calls, impl.weights)
	}
}
