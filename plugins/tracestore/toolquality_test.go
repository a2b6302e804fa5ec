package tracestore

import (
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestToolQualityAggregates checks trace://quality/tools: per (server,
// tool), feedback-weighted quality of the tool's rated contexts, deprecation
// once every rated context of it is deprecated, and the URI reported
// changed by feedback.
func TestToolQualityAggregates(t *testing.T) {
	t.Parallel()
	testToolQualityAggregates(t, badgerStore)
}

func testToolQualityAggregates(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	at := time.Now()
	empty := readJSON[toolQualityView](t, p, "s1", uriToolQuality)
	if len(empty.Tools) != 0 {
		t.Fatalf("tools before any feedback: %+v", empty.Tools)
	}
	for i, score := range []float64{-1, -1, -1, -1, -1, -1} {
		resp := "r-bad-" + string(rune('a'+i))
		record(t, p, turn{session: "s1", resp: resp, ctxs: []string{"files/read_file", "files/stat"},
			texts: []string{"old reader", "size"}, weights: []float64{0.8, 0.2}}.events(at.Add(time.Duration(i)*time.Minute))...)
		_, res := callOK[map[string]any](t, p, "s1", tracing.ToolSubmitFeedback, map[string]any{"response_id": resp, "score": score})
		if !contains(res.changed, uriToolQuality) {
			t.Errorf("feedback changed %q, want %s among them", res.changed, uriToolQuality)
		}
	}
	record(t, p, turn{session: "s1", resp: "r-good", ctxs: []string{"files/read_text_file"},
		texts: []string{"new reader"}, weights: []float64{1}}.events(at.Add(time.Hour))...)
	callOK[map[string]any](t, p, "s1", tracing.ToolSubmitFeedback, map[string]any{"response_id": "r-good", "score": 1})

	v := readJSON[toolQualityView](t, p, "s1", uriToolQuality)
	got := map[string]tracing.ToolQuality{}
	for _, tq := range v.Tools {
		got[tq.Server+"/"+tq.Name] = tq
	}
	if len(got) != 3 {
		t.Fatalf("tools = %+v, want read_file, stat and read_text_file", v.Tools)
	}
	if bad := got["files/read_file"]; bad.Quality > -0.3 || !bad.Deprecated || bad.FeedbackCount != 6 || bad.Contexts != 1 {
		t.Errorf("read_file = %+v, want deprecated with quality at most -0.3 after 6 feedbacks", bad)
	}
	if light := got["files/stat"]; light.Quality >= 0 || light.Quality <= got["files/read_file"].Quality {
		t.Errorf("stat (weight 0.2) = %+v, want below 0 and above read_file (weight 0.8)", light)
	}
	if good := got["files/read_text_file"]; good.Quality <= 0 || good.Deprecated {
		t.Errorf("read_text_file = %+v, want positive and not deprecated", good)
	}
}
