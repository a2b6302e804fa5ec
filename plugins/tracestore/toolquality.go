package tracestore

import (
	"sort"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// maxToolQualityContexts bounds the rated contexts one read of
// trace://quality/tools goes through, so that a huge store costs a
// bounded read (the host reads it off the message path, now and then).
const maxToolQualityContexts = 200_000

// toolQualityView is trace://quality/tools.
type toolQualityView struct {
	tracing.ToolQualityView
	Description string `json:"description"`
	// Truncated: more rated contexts than maxToolQualityContexts; the
	// aggregates cover the highest and lowest rated.
	Truncated bool `json:"truncated,omitempty"`
}

// toolQuality aggregates the rated contexts of tool calls per (server,
// tool): quality weighted by feedback count, and how many are deprecated.
func (r views) toolQuality() (*toolQualityView, error) {
	type key struct{ server, name string }
	type sum struct {
		weighted, feedback float64
		t                  tracing.ToolQuality
	}
	sums := map[key]*sum{}
	seen := map[string]bool{}
	read := 0
	truncated := false
	visit := func(head *contextHead) (bool, error) {
		if seen[head.ID] {
			return true, nil
		}
		if read == maxToolQualityContexts/2 {
			truncated = true
			return false, nil
		}
		seen[head.ID] = true
		read++
		if head.Method != "tools/call" || head.FeedbackCount == 0 {
			return true, nil
		}
		k := key{head.Server, head.Name}
		s := sums[k]
		if s == nil {
			s = &sum{t: tracing.ToolQuality{Server: head.Server, Name: head.Name}}
			sums[k] = s
		}
		s.weighted += head.Quality * float64(head.FeedbackCount)
		s.feedback += float64(head.FeedbackCount)
		s.t.FeedbackCount += uint64(head.FeedbackCount)
		s.t.Contexts++
		if r.o.deprecated(head.Quality, head.FeedbackCount) {
			s.t.DeprecatedContexts++
		}
		return true, nil
	}
	// Best first, then worst first: past the bound, the two ends (what
	// ranks a tool up and what sinks it) are what is read.
	if err := r.rated(true, visit); err != nil {
		return nil, err
	}
	read = 0
	if err := r.rated(false, visit); err != nil {
		return nil, err
	}
	v := &toolQualityView{
		Description: "Per tool: the mean quality of its rated contexts (those with feedback) weighted by their feedback counts, and how many are deprecated.",
		Truncated:   truncated,
	}
	v.Tools = []tracing.ToolQuality{}
	for _, s := range sums {
		s.t.Quality = s.weighted / s.feedback
		s.t.Deprecated = s.t.DeprecatedContexts == s.t.Contexts
		v.Tools = append(v.Tools, s.t)
	}
	sort.Slice(v.Tools, func(i, j int) bool {
		if v.Tools[i].Server != v.Tools[j].Server {
			return v.Tools[i].Server < v.Tools[j].Server
		}
		return v.Tools[i].Name < v.Tools[j].Name
	})
	return v, nil
}
