// Package toolsearch ranks the tools a proxy can reach for a free-text
// query: BM25 over each tool's name (split into words), description and
// input schema, blended with the quality context tracing has learned about
// each tool's results. An Index is built once per catalog and read by any
// number of queries at once.
package toolsearch

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Tool is one tool as the proxy exposes it.
type Tool struct {
	// Name is the exposed name; Server and Original say whose tool it is.
	Name, Server, Original string
	Description            string
	// Definition is the whole tool object as exposed, raw JSON.
	Definition json.RawMessage
}

// Field weights: a word in the name says more about what a tool does than
// one in its description; a schema property name is in between, a
// property's description least.
const (
	weightName         = 3.0
	weightProperty     = 1.5
	weightDescription  = 1.0
	weightPropertyText = 0.5
)

// BM25 parameters, the usual ones.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// Limits of a query's result.
const (
	DefaultLimit = 5
	MaxLimit     = 50
)

type document struct {
	tool Tool
	// terms are the weighted term frequencies, and fields which fields
	// each term came from (for the why of a hit).
	terms  map[string]float64
	fields map[string]string
	length float64
}

// Index is the BM25 index of one catalog. It is immutable once built.
type Index struct {
	docs      []document
	docFreq   map[string]int
	avgLength float64
}

// NewIndex indexes tools.
func NewIndex(tools []Tool) *Index {
	ix := &Index{docFreq: map[string]int{}}
	var total float64
	for _, t := range tools {
		d := document{tool: t, terms: map[string]float64{}, fields: map[string]string{}}
		add := func(text string, weight float64, field string) {
			for _, term := range Terms(text) {
				d.terms[term] += weight
				d.length += weight
				if _, ok := d.fields[term]; !ok {
					d.fields[term] = field
				}
			}
		}
		add(nameText(t), weightName, "name")
		props, propText := schemaText(t.Definition)
		add(props, weightProperty, "parameter")
		add(t.Description, weightDescription, "description")
		add(propText, weightPropertyText, "parameter description")
		for term := range d.terms {
			ix.docFreq[term]++
		}
		total += d.length
		ix.docs = append(ix.docs, d)
	}
	if len(ix.docs) > 0 {
		ix.avgLength = total / float64(len(ix.docs))
	}
	return ix
}

// Len is the number of tools indexed.
func (ix *Index) Len() int { return len(ix.docs) }

// Tool finds an indexed tool by its exposed name.
func (ix *Index) Tool(name string) (Tool, bool) {
	for _, d := range ix.docs {
		if d.tool.Name == name {
			return d.tool, true
		}
	}
	return Tool{}, false
}

// nameText is the words of a tool's name: its own name and its server's,
// not the exposed name's template words (mcp, proxy), which every tool
// shares.
func nameText(t Tool) string {
	if t.Original == "" {
		return t.Name
	}
	return t.Server + " " + t.Original
}

// schemaText returns the property names of a tool's input schema (top
// level and nested, up to 4 levels) and their descriptions. The schema is
// decoded once and walked.
func schemaText(def json.RawMessage) (names, descriptions string) {
	var tool struct {
		InputSchema map[string]any `json:"inputSchema"`
	}
	if json.Unmarshal(def, &tool) != nil || tool.InputSchema == nil {
		return "", ""
	}
	var n, d strings.Builder
	var walk func(schema map[string]any, depth int)
	walk = func(schema map[string]any, depth int) {
		if depth > 4 {
			return
		}
		props, _ := schema["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.WriteString(k + " ")
			p, _ := props[k].(map[string]any)
			if desc, ok := p["description"].(string); ok && desc != "" {
				d.WriteString(desc + " ")
			}
			if p != nil {
				walk(p, depth+1)
			}
		}
		if items, ok := schema["items"].(map[string]any); ok {
			walk(items, depth+1)
		}
	}
	walk(tool.InputSchema, 0)
	return n.String(), d.String()
}

// Quality is what context tracing learned about one tool's results.
type Quality struct {
	// Score is the tool's quality in [-1, 1] (0: nothing learned), the
	// mean of its rated contexts' qualities weighted by their feedback.
	Score float64
	// Deprecated is set when every rated context of the tool is
	// deprecated.
	Deprecated bool
}

// QualityKey names a tool as tracing does: the server and the tool's own
// name.
type QualityKey struct{ Server, Tool string }

// Blend parameters. The final score is
//
//	bm25 × (1 + QualityWeight × (q01 − 0.5)) × (DeprecatedFactor if deprecated)
//
// where q01 = (Score+1)/2 maps tracing's [-1, 1] onto [0, 1]: a tool with no
// feedback (q01 = 0.5) keeps its lexical score, the best quality multiplies
// it by 1.5, the worst by 0.5, and a deprecated tool is sunk by a further
// factor of 4. Quality only reorders tools the query matched: a tool
// without a matching word scores 0 whatever its quality.
const (
	QualityWeight    = 1.0
	DeprecatedFactor = 0.25
)

// Query is one search.
type Query struct {
	Text  string
	Limit int // DefaultLimit when 0; at most MaxLimit
	// Reachable, when set, leaves out the tools it says no to (servers the
	// session does not see).
	Reachable func(Tool) bool
	// Quality, when set, is what tracing learned per tool.
	Quality map[QualityKey]Quality
}

// Hit is one ranked tool.
type Hit struct {
	Tool    Tool
	Score   float64 // blended
	Lexical float64 // BM25 alone
	Why     string
}

// Search ranks the indexed tools for q, best first; tools no query word
// matches are left out.
func (ix *Index) Search(q Query) []Hit {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	queryTerms := uniqueTerms(q.Text)
	var hits []Hit
	n := float64(len(ix.docs))
	for _, d := range ix.docs {
		if q.Reachable != nil && !q.Reachable(d.tool) {
			continue
		}
		var score float64
		var matched []string
		for _, term := range queryTerms {
			tf := d.terms[term]
			if tf == 0 {
				continue
			}
			df := float64(ix.docFreq[term])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			score += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*d.length/ix.avgLength))
			matched = append(matched, term+" ("+d.fields[term]+")")
		}
		if score == 0 {
			continue
		}
		h := Hit{Tool: d.tool, Lexical: score, Score: score}
		why := "matched " + strings.Join(matched, ", ")
		if qual, ok := q.Quality[QualityKey{d.tool.Server, d.tool.Original}]; ok {
			h.Score *= 1 + QualityWeight*((qual.Score+1)/2-0.5)
			why += fmt.Sprintf("; tracing quality %.2f", qual.Score)
			if qual.Deprecated {
				h.Score *= DeprecatedFactor
				why += ", deprecated"
			}
		}
		h.Why = why
		hits = append(hits, h)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Tool.Name < hits[j].Tool.Name
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

func uniqueTerms(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range Terms(text) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
