package composite

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Default factor weights; they sum to 1.
const (
	DefaultRetrievalWeight = 0.4
	DefaultRecencyWeight   = 0.3
	DefaultTypeWeight      = 0.2
	DefaultLengthWeight    = 0.1
)

// DefaultHalfLife is how long a unit's recency takes to halve by default:
// long enough to span the turns of one exchange with a model, short enough
// that an hour-old unit counts for little.
const DefaultHalfLife = 10 * time.Minute

// UnknownTypeValue is the value of a unit type with no configured value:
// the middle of the range, so that a type the plugin does not know neither
// dominates nor vanishes.
const UnknownTypeValue = 0.5

// DefaultTypeValues returns the default value of each unit type, in a new
// map.
func DefaultTypeValues() map[string]float64 {
	return map[string]float64{
		weighting.TypeSystem:     0.9,
		weighting.TypeUser:       1.0,
		weighting.TypeExternal:   0.7,
		weighting.TypeModelState: 0.5,
	}
}

// sumTolerance is how far from 1 the factor weights may sum: HCL numbers
// such as 0.1 are not exact in binary, and the final Normalize removes any
// such drift anyway.
const sumTolerance = 1e-6

// Attribute names of the plugin config block.
const (
	attrRetrievalWeight = "retrieval_weight"
	attrRecencyWeight   = "recency_weight"
	attrTypeWeight      = "type_weight"
	attrLengthWeight    = "length_weight"
	attrHalfLife        = "recency_half_life"
	attrTypeValues      = "type_values"
)

// Config is the plugin's `config` block, as the host decodes it to JSON.
// Its defaults are the Default* constants above (the "empty resets" case
// of TestConfigureKeepsLast keeps them equal).
type Config struct {
	RetrievalWeight float64       `json:"retrieval_weight" default:"0.4" doc:"Share of the retrieval score in a unit's weight, in [0, 1] (default 0.4). The four *_weight attributes must sum to 1."`
	RecencyWeight   float64       `json:"recency_weight" default:"0.3" doc:"Share of recency in a unit's weight, in [0, 1] (default 0.3)."`
	TypeWeight      float64       `json:"type_weight" default:"0.2" doc:"Share of the unit type's value in a unit's weight, in [0, 1] (default 0.2)."`
	LengthWeight    float64       `json:"length_weight" default:"0.1" doc:"Share of the unit's part of the response's tokens in its weight, in [0, 1] (default 0.1)."`
	RecencyHalfLife base.Duration `json:"recency_half_life" config:"positive" default:"10m" doc:"How long it takes a unit's recency to halve, as a positive duration such as \"10m\" (default 10m0s)."`
	// TypeValues override the defaults of the types they name; the other
	// types keep theirs.
	TypeValues map[string]float64 `json:"type_values" doc:"Value in [0, 1] of each unit type, such as { user = 1, external = 0.5 }; listed types replace their defaults (user 1, system 0.9, external 0.7, model_state 0.5), other types are 0.5."`
}

// configBlock is the plugin's config block (Validate checks it, as a
// weighting plugin has no instance block), built once: a bad tag panics at
// start, not per call.
var configBlock = base.NewBlock(checkParams)

// params is a decoded, checked Config. It is never modified once built,
// so Weigh may read it without locks.
type params struct {
	retrieval, recency, typ, length float64
	halfLife                        time.Duration
	typeValues                      map[string]float64
}

func defaultParams() *params {
	return &params{
		retrieval:  DefaultRetrievalWeight,
		recency:    DefaultRecencyWeight,
		typ:        DefaultTypeWeight,
		length:     DefaultLengthWeight,
		halfLife:   DefaultHalfLife,
		typeValues: DefaultTypeValues(),
	}
}

// checkParams checks what c's types cannot say. The params are
// meaningful only when no diagnostic is an error.
func checkParams(c Config) (*params, []base.Diagnostic) {
	var diags []base.Diagnostic
	p := defaultParams()
	p.halfLife = c.RecencyHalfLife.D()

	factors := []struct {
		name     string
		set, def float64
		dst      *float64
	}{
		{attrRetrievalWeight, c.RetrievalWeight, DefaultRetrievalWeight, &p.retrieval},
		{attrRecencyWeight, c.RecencyWeight, DefaultRecencyWeight, &p.recency},
		{attrTypeWeight, c.TypeWeight, DefaultTypeWeight, &p.typ},
		{attrLengthWeight, c.LengthWeight, DefaultLengthWeight, &p.length},
	}
	// The host fills in every default, so the sum's diagnostic points at
	// the first weight that differs from its default: one the user set.
	firstChanged := ""
	rangeOK := true
	for _, f := range factors {
		if firstChanged == "" && f.set != f.def {
			firstChanged = f.name
		}
		if !inUnit(f.set) {
			rangeOK = false
			diags = append(diags, base.Error(f.name, "Invalid factor weight", fmt.Sprintf("%s must be between 0 and 1, not %g.", f.name, f.set)))
			continue
		}
		*f.dst = f.set
	}
	// Only a sum of in-range weights is worth reporting; otherwise the
	// range error already says what to fix.
	if sum := p.retrieval + p.recency + p.typ + p.length; rangeOK && math.Abs(sum-1) > sumTolerance {
		diags = append(diags, base.Error(firstChanged, "Factor weights do not sum to 1",
			fmt.Sprintf("With unset weights at their defaults the factor weights are %s = %g, %s = %g, %s = %g and %s = %g, which sum to %g; they must sum to 1.",
				attrRetrievalWeight, p.retrieval, attrRecencyWeight, p.recency, attrTypeWeight, p.typ, attrLengthWeight, p.length, sum)))
	}

	// Sorted, so that the diagnostics come in the same order every time.
	for _, typ := range slices.Sorted(maps.Keys(c.TypeValues)) {
		v := c.TypeValues[typ]
		if !inUnit(v) {
			diags = append(diags, base.Error(attrTypeValues+"."+typ, "Invalid type value", fmt.Sprintf("The value of type %q must be between 0 and 1, not %g.", typ, v)))
			continue
		}
		p.typeValues[typ] = v
	}
	return p, diags
}

// inUnit reports whether v is in [0, 1].
func inUnit(v float64) bool { return v >= 0 && v <= 1 }
