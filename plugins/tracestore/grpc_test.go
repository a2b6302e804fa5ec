package tracestore

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestOverGRPC serves the plugin as the host runs it (real gRPC, in
// process) and drives it through the client: configure, record, tools,
// resources and metrics.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	// The directory is made first so that it is removed after the
	// harness stops the plugin (cleanups run last-in, first-out).
	dir := t.TempDir()
	impl := New(hclog.NewNullLogger())
	c := plugintest.ServeTracing(t, impl)
	ctx := context.Background()

	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil || info.Kind != base.KindTracing || info.Name != "tracing" || info.APIMinor != tracing.APIMinor {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	s, err := c.Schema(ctx, base.SchemaRequest{})
	if err != nil || len(s.Plugin.Attributes) != 8 {
		t.Fatalf("Schema = %+v, %v", s, err)
	}
	raw, _ := json.Marshal(map[string]any{"dir": dir, "cache_entries": 100, "learning_rate": 0.5})
	if res, err := c.Configure(ctx, base.ConfigureRequest{Config: raw}); err != nil || base.HasErrors(res.Diagnostics) {
		t.Fatalf("Configure = %+v, %v", res, err)
	}

	changed := record(t, c, threeContexts.events(t0)...)
	if !contains(changed, uriStatsCache) || !contains(changed, evolutionURI("web/fetch")) {
		t.Errorf("Record changed %v", changed)
	}

	tools, err := c.ListTools(ctx, tracing.ListToolsRequest{Session: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, raw := range tools.Tools {
		var tool struct {
			Name         string         `json:"name"`
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
		}
		if err := json.Unmarshal(raw, &tool); err != nil || tool.InputSchema["type"] != "object" || tool.OutputSchema["type"] != "object" {
			t.Errorf("tool %s: %v", raw, err)
		}
		names = append(names, tool.Name)
	}
	want := []string{toolGetTrace, toolContextImpact, toolResponseContexts, toolEvolution, toolSubmitFeedback}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}

	tv, res := callOK[traceView](t, c, "s1", toolGetTrace, map[string]any{"response_id": "latest", "format": "compact"})
	if tv.ResponseID != "resp_1" || len(tv.Contexts) != 3 || !strings.HasPrefix(res.text(), "response resp_1") {
		t.Errorf("get_trace over gRPC: %+v %q", tv, res.text())
	}
	fb, res := callOK[feedbackResult](t, c, "s1", toolSubmitFeedback, map[string]any{"score": -1})
	// learning_rate 0.5: the heaviest context (w 0.5) moves by 0.25.
	if fb.Contexts[0].ContextID != "github/search_issues" || !near(fb.Contexts[0].Quality, -0.25) || !contains(res.changed, uriDeprecatedContexts) {
		t.Errorf("feedback over gRPC: %+v, changed %v", fb, res.changed)
	}
	if res := call(t, c, "s1", toolGetTrace, map[string]any{"response_id": "nope"}); !res.IsError {
		t.Errorf("unknown id over gRPC: %+v", res)
	}
	if _, err := c.ReadResource(ctx, tracing.ReadResourceRequest{URI: "trace://nope"}); err == nil {
		t.Error("unknown resource over gRPC succeeded")
	}

	list, err := c.ListResources(ctx, tracing.ListResourcesRequest{})
	if err != nil || len(list.Resources) != 6 || len(list.Templates) != 3 {
		t.Fatalf("ListResources = %+v, %v", list, err)
	}
	stats := readJSON[statsView](t, c, "s1", uriStatsCache)
	if stats.Cache.Capacity != 100 || stats.Store.Responses != 1 || stats.Store.Feedback != 1 {
		t.Errorf("stats over gRPC %+v", stats)
	}

	m, err := c.Metrics(ctx, base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`mcphost_tracing_events_recorded_total{kind="tool_result"} 3`,
		`mcphost_tracing_events_recorded_total{kind="response"} 1`,
		"mcphost_tracing_responses_finalized_total 1",
		"mcphost_tracing_feedback_total 1",
		"mcphost_tracing_cache_hits_total ",
		"mcphost_tracing_cache_misses_total ",
	} {
		if !strings.Contains(m.PrometheusText, want) {
			t.Errorf("metrics lack %q:\n%s", want, m.PrometheusText)
		}
	}
}
