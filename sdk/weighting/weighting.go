// Package weighting is the plugin kind that decides how much each context
// unit contributed to one response. When a response is finalized the host
// sends the features of its context units and gets back one weight per unit;
// feedback on the response then moves each unit's quality score by its
// weight. It is not on the message hot path.
package weighting

import (
	"context"
	"math"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities.
const APIMinor = 0

// Weighting weighs the context units behind a response.
type Weighting interface {
	base.Plugin
	// Weigh returns one weight per unit. It is called concurrently.
	Weigh(ctx context.Context, req WeighRequest) (WeighResponse, error)
}

// Types of context unit, as in Unit.Type.
const (
	TypeSystem     = "system"
	TypeUser       = "user"
	TypeExternal   = "external"
	TypeModelState = "model_state"
)

// WeighRequest carries the units behind one response.
type WeighRequest struct {
	// NowUnixNano is the time of the response, for recency.
	NowUnixNano int64
	Units       []Unit
}

// Unit is the features of one context unit.
type Unit struct {
	// ID is the unit's stable identity.
	ID string
	// Type is TypeSystem, TypeUser, TypeExternal or TypeModelState.
	Type string
	// RetrievalScore in [0, 1] is how relevant the unit was to its request.
	RetrievalScore  float64
	CreatedUnixNano int64
	SizeBytes       int64
	TokenEstimate   int64
	// Source names where the unit came from, such as the backend server.
	Source string
}

// WeighResponse carries the weights.
type WeighResponse struct {
	// Weights are in the order of the request's Units, one per unit. They
	// should be non-negative and sum to 1; the host applies Normalize.
	Weights []float64
}

// Normalize returns weights scaled to be non-negative and sum to 1, in a new
// slice. Negative and NaN weights count as 0; if any weight is +Inf, the
// +Inf weights share 1 equally; if every weight is 0 (or there is none
// left), the weights are uniform. An empty input gives an empty result.
func Normalize(weights []float64) []float64 {
	out := make([]float64, len(weights))
	if len(weights) == 0 {
		return out
	}
	var inf int
	var peak float64
	for i, w := range weights {
		switch {
		case math.IsInf(w, 1):
			inf++
		case w > 0: // also false for NaN
			out[i] = w
			peak = max(peak, w)
		}
	}
	if inf > 0 {
		for i, w := range weights {
			out[i] = 0
			if math.IsInf(w, 1) {
				out[i] = 1 / float64(inf)
			}
		}
		return out
	}
	if peak == 0 {
		for i := range out {
			out[i] = 1 / float64(len(out))
		}
		return out
	}
	// Scale by the peak first so that the sum cannot overflow.
	var sum float64
	for i := range out {
		out[i] /= peak
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
