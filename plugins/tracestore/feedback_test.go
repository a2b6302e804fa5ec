package tracestore

import (
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"
)

// TestFeedbackMathProperties checks q' = q + r·w·(s − q) over random inputs
// (a seeded loop, so failures reproduce) and with testing/quick.
func TestFeedbackMathProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	tests := []struct {
		name  string
		check func(q, w, s, r float64) bool
	}{
		{"q stays in [-1, 1]", func(q, w, s, r float64) bool {
			q2 := applyFeedback(q, w, s, r)
			return q2 >= -1 && q2 <= 1
		}},
		{"w = 0 leaves q unchanged", func(q, _, s, r float64) bool {
			return applyFeedback(q, 0, s, r) == q
		}},
		{"the move is toward s and never past it", func(q, w, s, r float64) bool {
			q2 := applyFeedback(q, w, s, r)
			return math.Abs(q2-s) <= math.Abs(q-s)+1e-12 && (q2-q)*(s-q) >= -1e-12
		}},
		{"the move is monotone in w", func(q, w, s, r float64) bool {
			w2 := w + rng.Float64()*(1-w)
			return math.Abs(applyFeedback(q, w2, s, r)-s) <= math.Abs(applyFeedback(q, w, s, r)-s)+1e-12
		}},
		{"the move is monotone in s", func(q, w, s, r float64) bool {
			s2 := s + rng.Float64()*(1-s)
			return applyFeedback(q, w, s2, r) >= applyFeedback(q, w, s, r)-1e-12
		}},
		{"the step is exactly r·w·(s − q)", func(q, w, s, r float64) bool {
			return math.Abs(applyFeedback(q, w, s, r)-(q+r*w*(s-q))) < 1e-12
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 20000 {
				q, w, s, r := uniform(-1, 1), rng.Float64(), uniform(-1, 1), uniform(0, 1)
				if i%10 == 0 {
					// The edges: extreme scores and qualities, full weight.
					q, s, w = []float64{-1, 1}[i%20/10], []float64{-1, 1}[rng.IntN(2)], 1
				}
				if !tc.check(q, w, s, r) {
					t.Fatalf("fails for q=%v w=%v s=%v r=%v: q'=%v", q, w, s, r, applyFeedback(q, w, s, r))
				}
			}
		})
	}

	t.Run("quick: q stays in [-1, 1] for any inputs", func(t *testing.T) {
		f := func(q, w, s, r float64) bool {
			q = math.Max(-1, math.Min(1, q))
			q2 := applyFeedback(q, w, s, math.Abs(r))
			return q2 >= -1 && q2 <= 1 && !math.IsNaN(q2)
		}
		if err := quick.Check(f, &quick.Config{MaxCount: 20000}); err != nil {
			t.Error(err)
		}
	})

	t.Run("repeated s = -1 converges to -1", func(t *testing.T) {
		for _, w := range []float64{0.05, 0.2, 0.5, 1} {
			q := uniform(-1, 1)
			prev := q
			for range 2000 {
				q = applyFeedback(q, w, -1, DefaultLearningRate)
				if q > prev {
					t.Fatalf("w=%v: q rose from %v to %v", w, prev, q)
				}
				prev = q
			}
			if q > -1+1e-9 {
				t.Errorf("w=%v: q = %v after 2000 feedbacks of -1", w, q)
			}
		}
	})

	t.Run("deprecation needs min_feedback and recovers", func(t *testing.T) {
		o := options{deprecateBelow: DefaultDeprecateBelow, minFeedback: DefaultMinFeedback}
		for _, tc := range []struct {
			q    float64
			n    uint32
			want bool
		}{{-0.5, 2, false}, {-0.5, 3, true}, {-0.3, 3, true}, {-0.29, 9, false}, {0.5, 9, false}} {
			if got := o.deprecated(tc.q, tc.n); got != tc.want {
				t.Errorf("deprecated(%v, %d) = %v", tc.q, tc.n, got)
			}
		}
	})
}

func TestSortableFloat(t *testing.T) {
	t.Parallel()
	vals := []float64{-1, -0.5, -1e-300, 0, 1e-300, 0.3, 1}
	for i := range vals {
		if got := unsortableFloat(sortableFloat(vals[i])); got != vals[i] {
			t.Errorf("round trip of %v = %v", vals[i], got)
		}
		if i > 0 && sortableFloat(vals[i-1]) >= sortableFloat(vals[i]) {
			t.Errorf("%v does not sort before %v", vals[i-1], vals[i])
		}
	}
}
