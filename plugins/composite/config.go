package composite

import (
	"bytes"
	"encoding/json"
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

// typeMapNumber is cty's JSON form of map(number); sdk/base has no constant
// for it.
var typeMapNumber = json.RawMessage(`["map","number"]`)

// Config is the plugin's `config` block, as the host decodes it to JSON.
// The weights are pointers so that an absent attribute means its default
// rather than 0.
type Config struct {
	RetrievalWeight *float64 `json:"retrieval_weight"`
	RecencyWeight   *float64 `json:"recency_weight"`
	TypeWeight      *float64 `json:"type_weight"`
	LengthWeight    *float64 `json:"length_weight"`
	RecencyHalfLife string   `json:"recency_half_life"`
	// TypeValues override the defaults of the types they name; the other
	// types keep theirs.
	TypeValues map[string]float64 `json:"type_values"`
}

// params is a parsed, validated Config. It is never modified once built,
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

// parseConfig parses and checks raw (empty or null means all defaults).
// The params are meaningful only when no diagnostic is an error.
func parseConfig(raw json.RawMessage) (*params, []base.Diagnostic) {
	p := defaultParams()
	if len(bytes.TrimSpace(raw)) == 0 {
		return p, nil
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	// The plugin owns the schema, so an attribute it does not know is a
	// mistake (a typo would otherwise silently leave a default in place).
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return p, []base.Diagnostic{base.Error("", "Invalid composite weighting config", err.Error())}
	}
	var diags []base.Diagnostic

	factors := []struct {
		name string
		set  *float64
		dst  *float64
	}{
		{attrRetrievalWeight, c.RetrievalWeight, &p.retrieval},
		{attrRecencyWeight, c.RecencyWeight, &p.recency},
		{attrTypeWeight, c.TypeWeight, &p.typ},
		{attrLengthWeight, c.LengthWeight, &p.length},
	}
	firstSet := ""
	rangeOK := true
	for _, f := range factors {
		if f.set == nil {
			continue
		}
		if firstSet == "" {
			firstSet = f.name
		}
		if !inUnit(*f.set) {
			rangeOK = false
			diags = append(diags, base.Error(f.name, "Invalid factor weight", fmt.Sprintf("%s must be between 0 and 1, not %g.", f.name, *f.set)))
			continue
		}
		*f.dst = *f.set
	}
	// Only a sum of in-range weights is worth reporting; otherwise the
	// range error already says what to fix.
	if sum := p.retrieval + p.recency + p.typ + p.length; rangeOK && math.Abs(sum-1) > sumTolerance {
		diags = append(diags, base.Error(firstSet, "Factor weights do not sum to 1",
			fmt.Sprintf("With unset weights at their defaults the factor weights are %s = %g, %s = %g, %s = %g and %s = %g, which sum to %g; they must sum to 1.",
				attrRetrievalWeight, p.retrieval, attrRecencyWeight, p.recency, attrTypeWeight, p.typ, attrLengthWeight, p.length, sum)))
	}

	if c.RecencyHalfLife != "" {
		d, err := time.ParseDuration(c.RecencyHalfLife)
		switch {
		case err != nil:
			diags = append(diags, base.Error(attrHalfLife, "Invalid duration", err.Error()))
		case d <= 0:
			diags = append(diags, base.Error(attrHalfLife, "Invalid duration", `recency_half_life must be a positive duration such as "10m".`))
		default:
			p.halfLife = d
		}
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

func hasError(diags []base.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == base.SeverityError {
			return true
		}
	}
	return false
}
