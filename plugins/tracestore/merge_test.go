package tracestore

import (
	"math"
	"testing"
)

func TestMergeResponse(t *testing.T) {
	t.Parallel()
	u := func(ctx string, v uint32, w float64) responseUnit {
		return responseUnit{ContextID: ctx, Version: v, ContentHash: ctx + string(rune('0'+v)), Weight: w}
	}
	old := func() *responseRec {
		return &responseRec{ID: "r", Created: 10, Delivered: 2, Units: []responseUnit{u("a", 1, 0.75), u("b", 1, 0.25)}}
	}
	tests := []struct {
		name          string
		event         []responseUnit
		counted       bool
		opened        uint32 // Delivered counted by an open record
		want          map[string]float64
		wantVersion   map[string]uint32
		wantDelivered uint32
	}{
		{"a new unit: 1/N, the old keep their proportion", []responseUnit{u("c", 1, 1)}, false, 0,
			map[string]float64{"a": 0.75 * 0.75, "b": 0.75 * 0.25, "c": 0.25}, nil, 3},
		{"the same units again: nothing moves", []responseUnit{u("a", 1, 0.75), u("b", 1, 0.25)}, false, 0,
			map[string]float64{"a": 0.75, "b": 0.25}, nil, 2},
		{"one old unit again: it keeps its weight", []responseUnit{u("b", 1, 1)}, false, 0,
			map[string]float64{"a": 0.75, "b": 0.25}, nil, 2},
		{"weighed whole (all units in the event): the event's weights", []responseUnit{u("c", 1, 0.5), u("a", 1, 0.3), u("b", 1, 0.2)}, false, 0,
			map[string]float64{"a": 0.3, "b": 0.2, "c": 0.5}, nil, 3},
		{"a later version wins, whichever side has it", []responseUnit{u("a", 2, 0.5), u("b", 0, 0.5)}, false, 0,
			map[string]float64{"a": 0.5, "b": 0.5}, map[string]uint32{"a": 2, "b": 1}, 2},
		{"units counted as they came", []responseUnit{u("c", 1, 1)}, true, 4,
			map[string]float64{"a": 0.75 * 0.75, "b": 0.75 * 0.25, "c": 0.25}, nil, 6},
		{"no weights at all: the event's units share their mass equally", []responseUnit{u("c", 1, 0), u("d", 1, 0)}, false, 0,
			map[string]float64{"a": 0.75 / 1.5, "b": 0.25 / 1.5, "c": 0.25 / 1.5, "d": 0.25 / 1.5}, nil, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &responseRec{ID: "r", Created: 20, Delivered: tc.opened, Units: append([]responseUnit(nil), tc.event...)}
			mergeResponse(rec, old(), tc.counted)
			if rec.Created != 10 || rec.Delivered != tc.wantDelivered {
				t.Errorf("created %d delivered %d, want 10 and %d", rec.Created, rec.Delivered, tc.wantDelivered)
			}
			if len(rec.Units) != len(tc.want) {
				t.Fatalf("units %+v, want %v", rec.Units, tc.want)
			}
			sum := 0.0
			for _, got := range rec.Units {
				sum += got.Weight
				if math.Abs(got.Weight-tc.want[got.ContextID]) > 1e-9 {
					t.Errorf("%s weighs %v, want %v", got.ContextID, got.Weight, tc.want[got.ContextID])
				}
				if v, ok := tc.wantVersion[got.ContextID]; ok && got.Version != v {
					t.Errorf("%s at version %d, want %d", got.ContextID, got.Version, v)
				}
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("weights sum to %v", sum)
			}
		})
	}
}
