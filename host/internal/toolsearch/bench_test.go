package toolsearch

import "testing"

// BenchmarkSearch is one search_tools query over the fixed catalog (55
// tools), with the 20 fixture queries in turn.
func BenchmarkSearch(b *testing.B) {
	ix := fixtureIndex(b)
	queries := loadFixtureQueries(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ix.Search(Query{Text: queries[i%len(queries)].Query})
		i++
	}
}

// BenchmarkIndex builds the index of the fixed catalog, as each catalog
// rebuild does in search mode.
func BenchmarkIndex(b *testing.B) {
	ix := fixtureIndex(b)
	tools := make([]Tool, 0, ix.Len())
	for _, d := range ix.docs {
		tools = append(tools, d.tool)
	}
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(tools)
	}
}
