package tracestore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Trace formats of get_trace.
const (
	formatJSON    = "json"
	formatTree    = "tree"
	formatCompact = "compact"
)

// cutRunes shortens s to n characters, marking the cut, and flattens line
// breaks so that one entry stays on one line.
func cutRunes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// source names where a context came from, for the text views.
func (c *traceContext) source() string {
	what := c.Name
	if what == "" {
		what = c.URI
	}
	switch {
	case c.Server != "" && what != "":
		return c.Server + "/" + what
	case what != "":
		return what
	case c.Server != "":
		return c.Server
	}
	return "(unknown source)"
}

func (q qualityView) text() string {
	s := fmt.Sprintf("quality %+.3f after %d feedback", q.Quality, q.FeedbackCount)
	if q.Deprecated {
		s += " [DEPRECATED]"
	}
	return s
}

// tree renders the trace as an indented tree, heaviest context first.
func (tv *traceView) tree() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Response %s", tv.ResponseID)
	profile := ""
	if tv.Profile != "" {
		profile = ", profile " + tv.Profile
	}
	switch {
	case tv.Origin == originAdmin:
		fmt.Fprintf(&b, " (session %s%s, a call from the admin API)", tv.Session, profile)
	case tv.Session != "":
		fmt.Fprintf(&b, " (session %s%s)", tv.Session, profile)
	case tv.Profile != "":
		fmt.Fprintf(&b, " (profile %s)", tv.Profile)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "├── created %s, finalized %s\n", tv.CreatedAt, tv.FinalizedAt)
	fmt.Fprintf(&b, "├── units delivered: %d, token estimate: %d\n", tv.UnitsDelivered, tv.TokenEstimate)
	fmt.Fprintf(&b, "├── contexts (%d)\n", len(tv.Contexts))
	for i, c := range tv.Contexts {
		branch, stem := "├── ", "│   "
		if i == len(tv.Contexts)-1 {
			branch, stem = "└── ", "    "
		}
		fmt.Fprintf(&b, "│   %s[%5.1f%%] %s v%d of %d (%s) %s\n", branch, c.Weight*100, c.source(), c.Version, c.HeadVersion, orUnknown(c.Type), c.Status)
		lines := []string{
			"id: " + c.ContextID,
			c.qualityView.text(),
			fmt.Sprintf("retrieval %.2f (%s), %d bytes, ~%d tokens", c.RetrievalScore, orUnknown(c.RetrievalSource), c.SizeBytes, c.TokenEstimate),
		}
		if c.Summary != "" {
			lines = append(lines, "summary: "+cutRunes(c.Summary, 100))
		}
		for j, l := range lines {
			leaf := "├── "
			if j == len(lines)-1 {
				leaf = "└── "
			}
			fmt.Fprintf(&b, "│   %s%s%s\n", stem, leaf, l)
		}
	}
	fmt.Fprintf(&b, "└── feedback (%d)\n", tv.FeedbackCount)
	for i, f := range tv.Feedback {
		leaf := "├── "
		if i == len(tv.Feedback)-1 {
			leaf = "└── "
		}
		line := fmt.Sprintf("%+.2f at %s", f.Score, f.Time)
		if f.User != "" {
			line += " by " + f.User
		}
		if f.Text != "" {
			line += ": " + cutRunes(f.Text, 80)
		}
		fmt.Fprintf(&b, "    %s%s\n", leaf, line)
	}
	return b.String()
}

// compact renders a header and then one line per context.
func (tv *traceView) compact() string {
	var b strings.Builder
	fmt.Fprintf(&b, "response %s", tv.ResponseID)
	if tv.Session != "" {
		fmt.Fprintf(&b, " session %s", tv.Session)
	}
	if tv.Profile != "" {
		fmt.Fprintf(&b, " profile %s", tv.Profile)
	}
	if tv.Origin == originAdmin {
		b.WriteString(" origin admin")
	}
	fmt.Fprintf(&b, " finalized %s: %d contexts, %d feedback\n", tv.FinalizedAt, len(tv.Contexts), tv.FeedbackCount)
	for _, c := range tv.Contexts {
		flag := ""
		if c.Deprecated {
			flag = " DEPRECATED"
		}
		fmt.Fprintf(&b, "%.3f v%d/%d %s q=%+.3f n=%d%s %s %s id=%s", c.Weight, c.Version, c.HeadVersion, c.Status,
			c.Quality, c.FeedbackCount, flag, orUnknown(c.Type), c.source(), c.ContextID)
		if c.Summary != "" {
			fmt.Fprintf(&b, " | %s", cutRunes(c.Summary, 60))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
