package main

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// defaults is the config with every attribute at its default. The default
// half-life is short, so that within one exchange with a model the newest
// context clearly leads.
var defaults, _ = base.DecodeConfig[config](nil)

// Weighting weighs units by recency only. Weigh may run while Configure
// changes the half-life, so the half-life is kept atomically.
type Weighting struct {
	// Described answers Info, Schema and Validate, which checks the
	// plugin's config block, the one Configure takes: a weighting plugin
	// has no instance block of its own.
	base.Described
	// halfLife is in nanoseconds; 0 means the default.
	halfLife atomic.Int64
}

var _ weighting.Weighting = (*Weighting)(nil)

// New returns the weighting with the default half-life.
func New() *Weighting {
	return &Weighting{Described: base.DescribePlugin(base.InfoResponse{
		Name: "recency", Kind: base.KindWeighting, Version: "0.1.0", APIMinor: weighting.APIMinor,
		Description: "Weighs context units by recency alone: a unit's weight halves every half_life of age.",
	}, configBlock)}
}

// configBlock is the plugin's config block; its tags say all there is to
// check.
var configBlock = base.NewBlock(base.NoCheck[config])

// Configure applies the config; a config with problems is reported and not
// applied.
func (w *Weighting) Configure(_ context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	c, diags := configBlock.Decode(req.Config)
	if len(diags) == 0 {
		w.halfLife.Store(int64(c.HalfLife))
	}
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

// config is the plugin's config block: its schema and its checks come from
// the tags.
type config struct {
	HalfLife base.Duration `json:"half_life" config:"positive" default:"5m" doc:"How long it takes a unit's weight to halve relative to a new one, as a positive duration such as \"5m\" (default 5m)."`
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
		halfLife = defaults.HalfLife.D()
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
