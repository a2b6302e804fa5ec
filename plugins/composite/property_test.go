package composite

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// propertyCases is how many random cases each property is checked on.
const propertyCases = 2000

// types are the unit types random units draw from: the four known ones,
// one that only random configs give a value, and one nobody knows.
var types = []string{weighting.TypeSystem, weighting.TypeUser, weighting.TypeExternal, weighting.TypeModelState, "memory", "unheard-of"}

// randomParams draws a config that Validate accepts, through the same JSON
// path the host uses. recency is at least minRecency, for the properties
// that need recency to count.
func randomParams(t *testing.T, rng *rand.Rand, minRecency float64) *params {
	t.Helper()
	raw := make([]float64, 4)
	var sum float64
	for i := range raw {
		// Some factors switched off entirely, to reach the edges.
		if rng.IntN(5) > 0 {
			raw[i] = rng.Float64()
		}
		sum += raw[i]
	}
	if sum == 0 {
		raw[1], sum = 1, 1
	}
	scale := (1 - minRecency) / sum
	w := func(i int) float64 { return raw[i] * scale }
	c := Config{RetrievalWeight: w(0), RecencyWeight: w(1), TypeWeight: w(2), LengthWeight: w(3)}
	c.RecencyWeight += minRecency
	c.RecencyHalfLife = base.Duration(time.Second + time.Duration(rng.Int64N(int64(2*time.Hour))))
	if rng.IntN(2) == 0 {
		c.TypeValues = map[string]float64{}
		for _, typ := range types[:5] {
			if rng.IntN(2) == 0 {
				c.TypeValues[typ] = rng.Float64()
			}
		}
	}
	config, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := configBlock.Decode(config)
	if len(diags) > 0 {
		t.Fatalf("random config %s: %+v", config, diags)
	}
	return p
}

// randomUnit draws a unit, with some of the odd values a host or a
// misbehaving source might send.
func randomUnit(rng *rand.Rand, now int64, id int) weighting.Unit {
	u := weighting.Unit{ID: fmt.Sprint("u", id), Type: types[rng.IntN(len(types))], SizeBytes: rng.Int64N(1 << 20), Source: "random"}
	switch rng.IntN(20) {
	case 0:
		u.RetrievalScore = math.NaN()
	case 1:
		u.RetrievalScore = -rng.Float64()
	case 2:
		u.RetrievalScore = 1 + rng.Float64()
	default:
		u.RetrievalScore = rng.Float64()
	}
	switch rng.IntN(20) {
	case 0:
		u.CreatedUnixNano = 0
	case 1:
		u.CreatedUnixNano = math.MinInt64
	case 2:
		u.CreatedUnixNano = now + rng.Int64N(int64(time.Hour)) // a source with a fast clock
	default:
		u.CreatedUnixNano = now - rng.Int64N(int64(3*time.Hour))
	}
	switch rng.IntN(10) {
	case 0:
		u.TokenEstimate = 0
	case 1:
		u.TokenEstimate = -rng.Int64N(100)
	default:
		u.TokenEstimate = rng.Int64N(5000)
	}
	return u
}

func randomRequest(rng *rand.Rand, maxUnits int) weighting.WeighRequest {
	req := weighting.WeighRequest{NowUnixNano: now + rng.Int64N(int64(24*time.Hour))}
	for i := range rng.IntN(maxUnits + 1) {
		req.Units = append(req.Units, randomUnit(rng, req.NowUnixNano, i))
	}
	return req
}

// dominates reports whether a is at least as good as b on every feature,
// judged from the raw fields rather than from the plugin's own feature
// functions.
func dominates(p *params, now int64, a, b weighting.Unit) bool {
	clamp := func(s float64) float64 {
		if !(s > 0) { // also true for NaN
			return 0
		}
		return min(s, 1)
	}
	return clamp(a.RetrievalScore) >= clamp(b.RetrievalScore) &&
		min(a.CreatedUnixNano, now) >= min(b.CreatedUnixNano, now) &&
		p.typeValue(a.Type) >= p.typeValue(b.Type) &&
		max(a.TokenEstimate, 0) >= max(b.TokenEstimate, 0)
}

// improve returns a copy of u that is at least as good on every feature
// and usually better on some.
func improve(rng *rand.Rand, p *params, now int64, u weighting.Unit, id int) weighting.Unit {
	v := u
	v.ID = fmt.Sprint("better", id)
	if r := retrievalFeature(u.RetrievalScore); rng.IntN(2) == 0 {
		v.RetrievalScore = r + rng.Float64()*(1-r)
	}
	if rng.IntN(2) == 0 {
		v.CreatedUnixNano = max(u.CreatedUnixNano, now-rng.Int64N(int64(3*time.Hour)))
	}
	if rng.IntN(2) == 0 {
		var better []string
		for _, typ := range types {
			if p.typeValue(typ) >= p.typeValue(u.Type) {
				better = append(better, typ)
			}
		}
		v.Type = better[rng.IntN(len(better))]
	}
	if rng.IntN(2) == 0 {
		v.TokenEstimate = max(u.TokenEstimate, 0) + rng.Int64N(1000)
	}
	return v
}

func TestProperties(t *testing.T) {
	t.Parallel()
	properties := []struct {
		name  string
		check func(t *testing.T, rng *rand.Rand) error
	}{
		{"weights are a distribution, one per unit", func(t *testing.T, rng *rand.Rand) error {
			p := randomParams(t, rng, 0)
			req := randomRequest(rng, 12)
			w := p.weigh(req)
			if len(w) != len(req.Units) {
				return fmt.Errorf("%d weights for %d units", len(w), len(req.Units))
			}
			var sum float64
			for i, x := range w {
				if !(x >= 0) {
					return fmt.Errorf("weight %d is %v", i, x)
				}
				sum += x
			}
			if len(w) > 0 && math.Abs(sum-1) > 1e-9 {
				return fmt.Errorf("weights %v sum to %v", w, sum)
			}
			return nil
		}},
		{"a dominating unit never weighs less", func(t *testing.T, rng *rand.Rand) error {
			p := randomParams(t, rng, 0)
			req := randomRequest(rng, 8)
			if len(req.Units) == 0 {
				req.Units = append(req.Units, randomUnit(rng, req.NowUnixNano, 0))
			}
			// Random units rarely dominate one another, so add some that
			// are built to.
			for i := range 1 + rng.IntN(4) {
				base := req.Units[rng.IntN(len(req.Units))]
				req.Units = append(req.Units, improve(rng, p, req.NowUnixNano, base, i))
			}
			rng.Shuffle(len(req.Units), func(i, j int) { req.Units[i], req.Units[j] = req.Units[j], req.Units[i] })
			w := p.weigh(req)
			found := false
			for i, a := range req.Units {
				for j, b := range req.Units {
					if i == j || !dominates(p, req.NowUnixNano, a, b) {
						continue
					}
					found = true
					if w[i] < w[j] {
						return fmt.Errorf("unit %+v dominates %+v but weighs %v < %v", a, b, w[i], w[j])
					}
				}
			}
			if !found {
				return fmt.Errorf("no unit dominates another in %+v", req.Units)
			}
			return nil
		}},
		{"permuting units permutes weights", func(t *testing.T, rng *rand.Rand) error {
			p := randomParams(t, rng, 0)
			req := randomRequest(rng, 12)
			w := p.weigh(req)
			perm := rng.Perm(len(req.Units))
			shuffled := weighting.WeighRequest{NowUnixNano: req.NowUnixNano, Units: make([]weighting.Unit, len(perm))}
			for k, i := range perm {
				shuffled.Units[k] = req.Units[i]
			}
			sw := p.weigh(shuffled)
			for k, i := range perm {
				// Only the order of the sums changes, so only rounding may.
				if math.Abs(sw[k]-w[i]) > 1e-12 {
					return fmt.Errorf("unit %d weighs %v in order and %v shuffled to %d", i, w[i], sw[k], k)
				}
			}
			return nil
		}},
		{"with only recency differing the newer unit weighs more", func(t *testing.T, rng *rand.Rand) error {
			p := randomParams(t, rng, 0.05)
			req := randomRequest(rng, 6)
			hl := int64(p.halfLife)
			// Ages within four half-lives and at least a fiftieth of one
			// apart keep the recency gap far above rounding, so the
			// newer unit must weigh strictly more.
			newAge := rng.Int64N(3 * hl)
			oldAge := newAge + hl/50 + rng.Int64N(hl)
			older := randomUnit(rng, req.NowUnixNano, 100)
			older.CreatedUnixNano = req.NowUnixNano - oldAge
			newer := older
			newer.ID = "newer"
			newer.CreatedUnixNano = req.NowUnixNano - newAge
			// Anywhere in time, including the future and the distant
			// past, the newer unit must at least not weigh less.
			anyOlder := older
			anyOlder.ID = "any-older"
			anyOlder.CreatedUnixNano = randomUnit(rng, req.NowUnixNano, 0).CreatedUnixNano
			anyNewer := anyOlder
			anyNewer.ID = "any-newer"
			anyNewer.CreatedUnixNano = randomUnit(rng, req.NowUnixNano, 0).CreatedUnixNano
			if anyNewer.CreatedUnixNano < anyOlder.CreatedUnixNano {
				anyNewer.CreatedUnixNano, anyOlder.CreatedUnixNano = anyOlder.CreatedUnixNano, anyNewer.CreatedUnixNano
			}
			for _, u := range []weighting.Unit{older, newer, anyOlder, anyNewer} {
				at := rng.IntN(len(req.Units) + 1)
				req.Units = slices.Insert(req.Units, at, u)
			}
			w := p.weigh(req)
			index := func(id string) int {
				return slices.IndexFunc(req.Units, func(u weighting.Unit) bool { return u.ID == id })
			}
			if o, n := w[index(older.ID)], w[index(newer.ID)]; !(n > o) {
				return fmt.Errorf("newer unit (age %v) weighs %v, older (age %v) %v", time.Duration(newAge), n, time.Duration(oldAge), o)
			}
			if o, n := w[index(anyOlder.ID)], w[index(anyNewer.ID)]; n < o {
				return fmt.Errorf("unit created at %d weighs %v, older one at %d %v", anyNewer.CreatedUnixNano, n, anyOlder.CreatedUnixNano, o)
			}
			return nil
		}},
	}
	for i, prop := range properties {
		t.Run(prop.name, func(t *testing.T) {
			t.Parallel()
			// A fixed seed per property, so a failure reproduces.
			seed := uint64(i) + 1
			rng := rand.New(rand.NewPCG(seed, 0x6d6370686f7374))
			for n := range propertyCases {
				if err := prop.check(t, rng); err != nil {
					t.Fatalf("seed %d, case %d: %v", seed, n, err)
				}
			}
		})
	}
}
