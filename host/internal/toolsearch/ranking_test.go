package toolsearch

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fixtureIndex indexes the fixed catalog with the default name template.
func fixtureIndex(t testing.TB) *Index {
	t.Helper()
	var tools []Tool
	for _, s := range loadFixtureCatalog(t) {
		for _, raw := range s.Tools {
			var def struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &def); err != nil {
				t.Fatal(err)
			}
			tools = append(tools, Tool{
				Name: fixtureExposed(s.Server, def.Name), Server: s.Server, Original: def.Name,
				Description: def.Description, Definition: raw,
			})
		}
	}
	return NewIndex(tools)
}

// rankOf is the 1-based rank of the exposed name among all hits, 0 when
// not matched.
func rankOf(hits []Hit, name string) int {
	for i, h := range hits {
		if h.Tool.Name == name {
			return i + 1
		}
	}
	return 0
}

// TestFixtureQueriesFindTargets is the bar: of the 20 queries
// (committed before this code), at least 18 have their target in the top
// 3.
func TestFixtureQueriesFindTargets(t *testing.T) {
	t.Parallel()
	ix := fixtureIndex(t)
	inTop3 := 0
	for _, q := range loadFixtureQueries(t) {
		server, tool, _ := cutTarget(q.Target)
		hits := ix.Search(Query{Text: q.Query, Limit: MaxLimit})
		rank := rankOf(hits, fixtureExposed(server, tool))
		if rank >= 1 && rank <= 3 {
			inTop3++
		}
		top := ""
		for i, h := range hits[:min(3, len(hits))] {
			if i > 0 {
				top += ", "
			}
			top += h.Tool.Original
		}
		t.Logf("rank %2d  %-40s %q  (top 3: %s)", rank, q.Target, q.Query, top)
	}
	t.Logf("%d of 20 queries have their target in the top 3", inTop3)
	if inTop3 < 18 {
		t.Errorf("%d of 20 queries have their target in the top 3, want at least 18", inTop3)
	}
}

func cutTarget(target string) (server, tool string, ok bool) {
	for i := 0; i < len(target); i++ {
		if target[i] == '/' {
			return target[:i], target[i+1:], true
		}
	}
	return "", target, false
}

func TestTerms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"read_text_file", []string{"read", "text", "fil"}},
		{"getTinyImage", []string{"get", "tiny", "imag"}},
		{"trigger-long-running-operation", []string{"trigger", "long", "run", "operation"}},
		{"Create the directories", []string{"creat", "directory"}},
		{"creating files", []string{"creat", "fil"}},
	} {
		if got := Terms(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Terms(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestSearchLimitsAndReachable(t *testing.T) {
	t.Parallel()
	ix := fixtureIndex(t)
	for _, tc := range []struct {
		name      string
		limit     int
		reachable func(Tool) bool
		wantMax   int
	}{
		{"default limit", 0, nil, DefaultLimit},
		{"limit above max", 1000, nil, MaxLimit},
		{"only the memory server", 50, func(tl Tool) bool { return tl.Server == "memory" }, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hits := ix.Search(Query{Text: "entities file directory graph number text", Limit: tc.limit, Reachable: tc.reachable})
			if len(hits) == 0 || len(hits) > tc.wantMax {
				t.Fatalf("%d hits, want 1 to %d", len(hits), tc.wantMax)
			}
			for _, h := range hits {
				if tc.reachable != nil && !tc.reachable(h.Tool) {
					t.Errorf("hit %s is not reachable", h.Tool.Name)
				}
				if h.Why == "" || h.Score <= 0 {
					t.Errorf("hit %s: score %v, why %q", h.Tool.Name, h.Score, h.Why)
				}
			}
		})
	}
	if hits := ix.Search(Query{Text: "the of and"}); len(hits) != 0 {
		t.Errorf("stop words alone matched %d tools", len(hits))
	}
}
