package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// defaultHalfLife is the half-life when the config sets none: short, so
// that within one exchange with a model the newest context clearly leads.
const defaultHalfLife = 5 * time.Minute

// Weighting weighs units by recency only. Weigh may run while Configure
// changes the half-life, so the half-life is kept atomically.
type Weighting struct {
	base.Unimplemented
	// halfLife is in nanoseconds; 0 means defaultHalfLife, so the zero
	// Weighting is ready to use.
	halfLife atomic.Int64
}

var _ weighting.Weighting = (*Weighting)(nil)

func (*Weighting) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name: "recency", Kind: base.KindWeighting, Version: "0.1.0", APIMinor: weighting.APIMinor,
		Description: "Weighs context units by recency alone: a unit's weight halves every half_life of age.",
	}, nil
}

func (*Weighting) Schema(context.Context, base.SchemaRequest) (base.SchemaResponse, error) {
	return base.SchemaResponse{Plugin: base.Schema{Attributes: []base.Attribute{
		{Name: "half_life", Type: base.TypeString, Description: `How long it takes a unit's weight to halve relative to a new one, as a positive duration such as "5m" (default 5m).`},
	}}}, nil
}

// Validate checks the plugin's config block, the one Configure takes: a
// weighting plugin has no instance block of its own.
func (*Weighting) Validate(_ context.Context, req base.ValidateRequest) (base.ValidateResponse, error) {
	_, diags := parseConfig(req.Config)
	return base.ValidateResponse{Diagnostics: diags}, nil
}

// Configure applies the config; a config with problems is reported and not
// applied.
func (w *Weighting) Configure(_ context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	halfLife, diags := parseConfig(req.Config)
	if len(diags) == 0 {
		w.halfLife.Store(int64(halfLife))
	}
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

type config struct {
	HalfLife string `json:"half_life"`
}

// parseConfig returns the half-life raw sets, defaultHalfLife when it sets
// none.
func parseConfig(raw json.RawMessage) (time.Duration, []base.Diagnostic) {
	var c config
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, []base.Diagnostic{base.Error("", "Invalid recency weighting config", err.Error())}
	}
	if c.HalfLife == "" {
		return defaultHalfLife, nil
	}
	d, err := time.ParseDuration(c.HalfLife)
	if err != nil || d <= 0 {
		return 0, []base.Diagnostic{base.Error("half_life", "Invalid duration", `half_life must be a positive duration such as "5m".`)}
	}
	return d, nil
}

// Weigh gives unit i the weight 2^(−age_i/half_life), normalized. Ages are
// measured from the newest unit rather than from the response: normalizing
// divides out the common factor anyway, and this way units that are all
// more than about 1075 half-lives old (under four days at the default) do
// not underflow to 0 and fall back to uniform weights, losing their order.
// A unit created after the response counts as new.
func (w *Weighting) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	halfLife := time.Duration(w.halfLife.Load())
	if halfLife == 0 {
		halfLife = defaultHalfLife
	}
	var newest int64 = math.MinInt64
	for _, u := range req.Units {
		newest = max(newest, min(u.CreatedUnixNano, req.NowUnixNano))
	}
	weights := make([]float64, len(req.Units))
	for i, u := range req.Units {
		// The unsigned difference is exact even where the signed one
		// would overflow (a unit created at the minimum time).
		age := float64(uint64(newest) - uint64(min(u.CreatedUnixNano, req.NowUnixNano)))
		weights[i] = math.Exp2(-age / float64(halfLife))
	}
	return weighting.WeighResponse{Weights: weighting.Normalize(weights)}, nil
}
