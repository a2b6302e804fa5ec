package weighting_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// recency is a real weighting for tests: a unit's weight halves every
// halfLife of age, and the weights are normalized. It remembers each request
// by its NowUnixNano so that tests can check what arrived.
type recency struct {
	base.Unimplemented
	halfLife time.Duration

	mu   sync.Mutex
	seen map[int64]weighting.WeighRequest
}

func newRecency(halfLife time.Duration) *recency {
	return &recency{halfLife: halfLife, seen: make(map[int64]weighting.WeighRequest)}
}

func (*recency) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "recency", Kind: base.KindWeighting, Version: "2.0.0", APIMinor: weighting.APIMinor, Capabilities: []string{"recency"}}, nil
}

func (r *recency) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	r.mu.Lock()
	r.seen[req.NowUnixNano] = req
	r.mu.Unlock()
	ids := make(map[string]bool, len(req.Units))
	weights := make([]float64, len(req.Units))
	for i, u := range req.Units {
		if ids[u.ID] {
			return weighting.WeighResponse{}, fmt.Errorf("unit %q appears twice", u.ID)
		}
		ids[u.ID] = true
		// In floating point, so that far-apart times cannot overflow.
		age := max(float64(req.NowUnixNano)-float64(u.CreatedUnixNano), 0)
		weights[i] = math.Exp2(-age / float64(r.halfLife))
	}
	return weighting.WeighResponse{Weights: weighting.Normalize(weights)}, nil
}

func (r *recency) request(now int64) (weighting.WeighRequest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	req, ok := r.seen[now]
	return req, ok
}

// retrieval is a real weighting for tests: it passes the retrieval scores
// through as they are and leaves normalizing to the host.
type retrieval struct {
	base.Unimplemented
}

func (retrieval) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "retrieval", Kind: base.KindWeighting, Version: "0.1.0"}, nil
}

func (retrieval) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	var out weighting.WeighResponse
	for _, u := range req.Units {
		out.Weights = append(out.Weights, u.RetrievalScore)
	}
	return out, nil
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	tests := []struct {
		name string
		in   []float64
		want []float64
	}{
		{"nil", nil, []float64{}},
		{"empty", []float64{}, []float64{}},
		{"one", []float64{5}, []float64{1}},
		{"already normal", []float64{0.25, 0.75}, []float64{0.25, 0.75}},
		{"scaled", []float64{1, 3}, []float64{0.25, 0.75}},
		{"all zero is uniform", []float64{0, 0, 0, 0}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"negative is zero", []float64{-1, 1, 3}, []float64{0, 0.25, 0.75}},
		{"all negative is uniform", []float64{-1, -2}, []float64{0.5, 0.5}},
		{"NaN is zero", []float64{math.NaN(), 2, 2}, []float64{0, 0.5, 0.5}},
		{"negative zero", []float64{math.Copysign(0, -1), 1}, []float64{0, 1}},
		{"minus infinity is zero", []float64{math.Inf(-1), 1}, []float64{0, 1}},
		{"infinities share", []float64{inf, 1e300, inf, 0}, []float64{0.5, 0, 0.5, 0}},
		{"no overflow", []float64{math.MaxFloat64, math.MaxFloat64}, []float64{0.5, 0.5}},
		{"tiny", []float64{math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64}, []float64{0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := append([]float64(nil), tt.in...)
			got := weighting.Normalize(tt.in)
			if got == nil {
				t.Fatal("Normalize returned nil")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
			}
			var sum float64
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-15 || got[i] < 0 {
					t.Errorf("Normalize(%v) = %v, want %v", tt.in, got, tt.want)
					break
				}
				sum += got[i]
			}
			if len(got) > 0 && math.Abs(sum-1) > 1e-12 {
				t.Errorf("Normalize(%v) sums to %v", tt.in, sum)
			}
			for i := range in {
				if math.Float64bits(in[i]) != math.Float64bits(tt.in[i]) {
					t.Fatalf("Normalize modified its input: %v, was %v", tt.in, in)
				}
			}
		})
	}
}

func TestRecency(t *testing.T) {
	t.Parallel()
	impl := newRecency(time.Hour)
	c := plugintest.ServeWeighting(t, impl)
	info, err := c.Info(context.Background(), base.InfoRequest{})
	if err != nil || info.Kind != base.KindWeighting || info.Name != "recency" || !reflect.DeepEqual(info.Capabilities, []string{"recency"}) {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 123, time.UTC).UnixNano()
	hour := int64(time.Hour)
	unit := func(id string, age int64) weighting.Unit {
		return weighting.Unit{
			ID: id, Type: weighting.TypeExternal, RetrievalScore: 0.7, CreatedUnixNano: now - age,
			SizeBytes: 1 << 40, TokenEstimate: math.MaxInt64, Source: "server/ä",
		}
	}
	tests := []struct {
		name  string
		units []weighting.Unit
		want  []float64
	}{
		{"none", nil, nil},
		{"one", []weighting.Unit{unit("a", 5*hour)}, []float64{1}},
		{"same age is uniform", []weighting.Unit{unit("a", hour), unit("b", hour), unit("c", hour), unit("d", hour)}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"one half-life apart", []weighting.Unit{unit("new", 0), unit("old", hour)}, []float64{2.0 / 3, 1.0 / 3}},
		{"two half-lives apart", []weighting.Unit{unit("old", 2*hour), unit("new", 0)}, []float64{0.2, 0.8}},
		{"future counts as now", []weighting.Unit{unit("future", -hour), unit("now", 0)}, []float64{0.5, 0.5}},
		{"every feature", []weighting.Unit{
			{ID: "s", Type: weighting.TypeSystem, RetrievalScore: 1, CreatedUnixNano: now, SizeBytes: 0, TokenEstimate: 0},
			{ID: "u", Type: weighting.TypeUser, RetrievalScore: 0, CreatedUnixNano: math.MinInt64, SizeBytes: -1, TokenEstimate: -1, Source: "user"},
			{ID: "", Type: weighting.TypeModelState, RetrievalScore: 0.5, CreatedUnixNano: 1, SizeBytes: math.MaxInt64, TokenEstimate: 3, Source: "model"},
		}, []float64{1, 0, 0}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A distinct now per case, so the recorded request is this one's.
			req := weighting.WeighRequest{NowUnixNano: now + int64(i), Units: tt.units}
			for j := range req.Units {
				req.Units[j].CreatedUnixNano += int64(i)
			}
			direct, err := impl.Weigh(context.Background(), req)
			if err != nil {
				t.Fatalf("direct Weigh: %v", err)
			}
			got, err := c.Weigh(context.Background(), req)
			if err != nil {
				t.Fatalf("Weigh: %v", err)
			}
			if len(got.Weights) != len(req.Units) || len(direct.Weights) != len(req.Units) {
				t.Fatalf("got %d weights over gRPC and %d directly for %d units", len(got.Weights), len(direct.Weights), len(req.Units))
			}
			for j := range got.Weights {
				if math.Float64bits(got.Weights[j]) != math.Float64bits(direct.Weights[j]) {
					t.Errorf("weight %d = %v over gRPC, %v directly", j, got.Weights[j], direct.Weights[j])
				}
				if math.Abs(got.Weights[j]-tt.want[j]) > 1e-12 {
					t.Errorf("weights = %v, want %v", got.Weights, tt.want)
				}
			}
			arrived, ok := impl.request(req.NowUnixNano)
			if !ok {
				t.Fatal("the plugin saw no request")
			}
			if len(req.Units) == 0 {
				req.Units = nil // an empty list arrives as none
			}
			if !reflect.DeepEqual(arrived, req) {
				t.Errorf("request arrived as\n%+v\nwant\n%+v", arrived, req)
			}
		})
	}
}

func TestFloatsExact(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeWeighting(t, retrieval{})
	tests := []struct {
		name   string
		scores []float64
	}{
		{"ordinary", []float64{0.1, 0.2, 1.0 / 3, 2.0 / 3, 0.7}},
		{"extremes", []float64{math.SmallestNonzeroFloat64, math.MaxFloat64, math.Nextafter(1, 2), math.Nextafter(0, 1) * 3}},
		{"signed zeros", []float64{0, math.Copysign(0, -1)}},
		{"non-finite", []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0x7ff8_0000_dead_beef)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := weighting.WeighRequest{}
			for i, s := range tt.scores {
				req.Units = append(req.Units, weighting.Unit{ID: fmt.Sprint(i), RetrievalScore: s})
			}
			got, err := c.Weigh(context.Background(), req)
			if err != nil {
				t.Fatalf("Weigh: %v", err)
			}
			if len(got.Weights) != len(tt.scores) {
				t.Fatalf("got %d weights, want %d", len(got.Weights), len(tt.scores))
			}
			for i := range got.Weights {
				if g, w := math.Float64bits(got.Weights[i]), math.Float64bits(tt.scores[i]); g != w {
					t.Errorf("weight %d = %#016x, want %#016x", i, g, w)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeWeighting(t, newRecency(time.Minute))
	_, err := c.Weigh(context.Background(), weighting.WeighRequest{Units: []weighting.Unit{{ID: "x"}, {ID: "x"}}})
	if err == nil {
		t.Fatal("Weigh with a repeated unit succeeded")
	}
	if !strings.Contains(err.Error(), "weigh 2 units") || !strings.Contains(err.Error(), `unit "x" appears twice`) {
		t.Errorf("error = %q, want the call and the plugin's message", err)
	}
	if code := status.Code(errors.Unwrap(err)); code != codes.Unknown {
		t.Errorf("wrapped status code = %v, want %v", code, codes.Unknown)
	}
}
