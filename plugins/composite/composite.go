// Package composite is the built-in "composite" weighting plugin. It weighs
// the context units behind one response by a fixed blend of four features,
// each in [0, 1]:
//
//	score_i  = w_r·retrieval_i + w_t·recency_i + w_y·type_i + w_l·length_i
//	weight_i = weighting.Normalize(score)_i   (non-negative, summing to 1)
//
// with factor weights w_r, w_t, w_y, w_l (default 0.4, 0.3, 0.2, 0.1) that
// must sum to 1. The features are:
//
//   - retrieval: the unit's RetrievalScore clamped to [0, 1] (NaN counts as
//     0). It is the best direct evidence of relevance the host has, so it
//     gets the largest default share.
//   - recency: exp(−ln2·age/half_life), age = Now − Created and never
//     negative, so a unit's recency halves every recency_half_life (default
//     10m). Conversation context goes stale: what was said or fetched just
//     before a response is the likeliest thing it answers.
//   - type: a value per unit type (default user 1.0, system 0.9, external
//     0.7, model_state 0.5; any other type 0.5). The user's own words are
//     what a response answers; standing system instructions shape every
//     response; external material (tool results, resources) supports it;
//     the model's own earlier state mostly echoes what it already said.
//   - length: the unit's share of the response's tokens, TokenEstimate_i /
//     Σ TokenEstimate, or 1/n when every estimate is 0 (negative estimates
//     count as 0). A longer unit carried more of the content the model saw,
//     so it had more room to shape the response. Unlike the other features
//     it is relative: the lengths of one response sum to 1, so this factor
//     only moves weight between units, and its pull on any one unit shrinks
//     as the number of units grows. That is why it gets the smallest share.
//
// Because every factor weight is non-negative, a unit that is at least as
// good as another on all four features never gets a smaller weight.
package composite

import (
	"context"
	"math"
	"os"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// Composite is the composite weighting. It is safe for concurrent use:
// Configure swaps the parameters atomically, so a Weigh in flight uses
// either the old set or the new one, never a mix.
type Composite struct {
	base.Described
	logger hclog.Logger
	params atomic.Pointer[params]

	set       *base.MetricSet
	responses *base.Counter
	units     *base.Counter
}

var _ weighting.Weighting = (*Composite)(nil)

// New returns the composite weighting with the default parameters. A nil
// logger logs JSON to stderr, which is what the host collects from a
// plugin process.
func New(logger hclog.Logger) *Composite {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "composite", Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	set := base.NewMetricSet()
	c := &Composite{
		Described: base.DescribePlugin(base.InfoResponse{
			Name:        "composite",
			Kind:        base.KindWeighting,
			Version:     Version,
			APIMinor:    weighting.APIMinor,
			Description: "Weighs context units by a configurable blend of retrieval score, recency, unit type and share of tokens.",
		}, configBlock),
		logger:    logger,
		set:       set,
		responses: set.Counter("mcphost_composite_responses_weighed_total"),
		units:     set.Counter("mcphost_composite_units_weighed_total"),
	}
	c.params.Store(defaultParams())
	return c
}

// Configure applies the plugin config; attributes left out take their
// defaults. A config with errors is reported and not applied, so the
// parameters in use stay consistent.
func (c *Composite) Configure(_ context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	p, diags := configBlock.Decode(req.Config)
	if base.HasErrors(diags) {
		return base.ConfigureResponse{Diagnostics: diags}, nil
	}
	c.params.Store(p)
	c.logger.Debug("configured",
		attrRetrievalWeight, p.retrieval, attrRecencyWeight, p.recency,
		attrTypeWeight, p.typ, attrLengthWeight, p.length, attrHalfLife, p.halfLife.String())
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

func (c *Composite) Metrics(context.Context, base.MetricsRequest) (base.MetricsResponse, error) {
	return base.PrometheusText(c.set), nil
}

// Weigh returns one weight per unit, in order, summing to 1 (an empty
// request gets no weights).
func (c *Composite) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	w := c.params.Load().weigh(req)
	c.responses.Inc()
	c.units.Add(len(req.Units))
	return weighting.WeighResponse{Weights: w}, nil
}

// weigh scores every unit and normalizes the scores.
func (p *params) weigh(req weighting.WeighRequest) []float64 {
	// The total is in floating point so that absurd estimates cannot
	// overflow it.
	var total float64
	for _, u := range req.Units {
		total += float64(max(u.TokenEstimate, 0))
	}
	uniform := 1 / float64(len(req.Units))
	scores := make([]float64, len(req.Units))
	for i, u := range req.Units {
		length := uniform
		if total > 0 {
			length = float64(max(u.TokenEstimate, 0)) / total
		}
		scores[i] = p.retrieval*retrievalFeature(u.RetrievalScore) +
			p.recency*p.recencyFeature(req.NowUnixNano, u.CreatedUnixNano) +
			p.typ*p.typeValue(u.Type) +
			p.length*length
	}
	return weighting.Normalize(scores)
}

// retrievalFeature clamps a retrieval score into [0, 1]; the host promises
// that range, but a plugin should not let one bad score swamp the rest.
func retrievalFeature(s float64) float64 {
	if math.IsNaN(s) {
		return 0
	}
	return min(max(s, 0), 1)
}

// recencyFeature is exp(−ln2·age/half_life). A unit created at or after
// now (clock skew between sources) counts as brand new rather than as more
// than 1.
func (p *params) recencyFeature(now, created int64) float64 {
	if created >= now {
		return 1
	}
	// The unsigned difference is exact for any two int64s with now >
	// created, where the signed one could overflow.
	age := float64(uint64(now) - uint64(created))
	return math.Exp2(-age / float64(p.halfLife))
}

// typeValue is the configured value of a unit type.
func (p *params) typeValue(typ string) float64 {
	if v, ok := p.typeValues[typ]; ok {
		return v
	}
	return UnknownTypeValue
}
