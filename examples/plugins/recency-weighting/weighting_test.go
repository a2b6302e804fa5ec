package main

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// TestWeigh runs the plugin behind real gRPC, as the host would.
func TestWeigh(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	minute := int64(time.Minute)
	// unit differs from its neighbours only in age, so any difference in
	// weight is recency's doing.
	unit := func(id string, age int64) weighting.Unit {
		return weighting.Unit{ID: id, Type: weighting.TypeExternal, RetrievalScore: 0.5, CreatedUnixNano: now - age, TokenEstimate: 100, SizeBytes: 400}
	}
	tests := []struct {
		name   string
		config string
		units  []weighting.Unit
		want   []float64
	}{
		{"no units", ``, nil, nil},
		{"one unit", ``, []weighting.Unit{unit("a", 90*minute)}, []float64{1}},
		{"newest dominates", ``, []weighting.Unit{unit("new", 0), unit("mid", 5*minute), unit("old", 10*minute)}, []float64{4.0 / 7, 2.0 / 7, 1.0 / 7}},
		{"order does not matter", ``, []weighting.Unit{unit("old", 10*minute), unit("new", 0), unit("mid", 5*minute)}, []float64{1.0 / 7, 4.0 / 7, 2.0 / 7}},
		{"same age is uniform", ``, []weighting.Unit{unit("a", minute), unit("b", minute)}, []float64{0.5, 0.5}},
		{"future counts as now", ``, []weighting.Unit{unit("future", -60*minute), unit("now", 0)}, []float64{0.5, 0.5}},
		// A week is over 2000 half-lives: measured from the response these
		// would underflow to 0 and come out uniform.
		{"a week old keeps its order", ``, []weighting.Unit{unit("a", 7*24*60*minute), unit("b", 7*24*60*minute+5*minute), {ID: "c", CreatedUnixNano: math.MinInt64}}, []float64{2.0 / 3, 1.0 / 3, 0}},
		{"configured half-life", `{"half_life": "10m"}`, []weighting.Unit{unit("new", 0), unit("old", 10*minute)}, []float64{2.0 / 3, 1.0 / 3}},
		{"null config is the default", `null`, []weighting.Unit{unit("new", 0), unit("old", 5*minute)}, []float64{2.0 / 3, 1.0 / 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := plugintest.ServeWeighting(t, New())
			ctx := context.Background()
			resp, err := c.Configure(ctx, base.ConfigureRequest{Config: json.RawMessage(tt.config)})
			if err != nil || len(resp.Diagnostics) > 0 {
				t.Fatalf("Configure = %+v, %v", resp, err)
			}
			got, err := c.Weigh(ctx, weighting.WeighRequest{NowUnixNano: now, Units: tt.units})
			if err != nil {
				t.Fatalf("Weigh: %v", err)
			}
			if len(got.Weights) != len(tt.want) {
				t.Fatalf("weights = %v, want %v", got.Weights, tt.want)
			}
			for i := range tt.want {
				if math.Abs(got.Weights[i]-tt.want[i]) > 1e-12 {
					t.Fatalf("weights = %v, want %v", got.Weights, tt.want)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		attribute string // of the one expected diagnostic; "-" for none
	}{
		{"empty", ``, "-"},
		{"default", `{}`, "-"},
		{"set", `{"half_life": "90s"}`, "-"},
		{"not a duration", `{"half_life": "soon"}`, "half_life"},
		{"zero", `{"half_life": "0s"}`, "half_life"},
		{"negative", `{"half_life": "-5m"}`, "half_life"},
		{"not an object", `"5m"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := plugintest.ServeWeighting(t, New())
			resp, err := c.Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.attribute == "-" {
				if len(resp.Diagnostics) > 0 {
					t.Fatalf("diagnostics = %+v, want none", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Attribute != tt.attribute || resp.Diagnostics[0].Severity != base.SeverityError {
				t.Fatalf("diagnostics = %+v, want one error on %q", resp.Diagnostics, tt.attribute)
			}
		})
	}
}

// TestRejectedConfigKeepsLast checks that a bad config does not replace
// the half-life in use.
func TestRejectedConfigKeepsLast(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeWeighting(t, New())
	ctx := context.Background()
	for _, config := range []string{`{"half_life": "10m"}`, `{"half_life": "-1m"}`} {
		if _, err := c.Configure(ctx, base.ConfigureRequest{Config: json.RawMessage(config)}); err != nil {
			t.Fatalf("Configure(%s): %v", config, err)
		}
	}
	now := time.Now().UnixNano()
	got, err := c.Weigh(ctx, weighting.WeighRequest{NowUnixNano: now, Units: []weighting.Unit{
		{ID: "new", CreatedUnixNano: now}, {ID: "old", CreatedUnixNano: now - int64(10*time.Minute)},
	}})
	if err != nil || len(got.Weights) != 2 || math.Abs(got.Weights[0]-2.0/3) > 1e-12 {
		t.Fatalf("Weigh = %+v, %v; want the 10m half-life still in use", got, err)
	}
	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil || info.Name != "recency" || info.Kind != base.KindWeighting {
		t.Fatalf("Info = %+v, %v", info, err)
	}
}
