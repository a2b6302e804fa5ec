package tracestore

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// threeContexts is a response built from three tool results.
var threeContexts = turn{
	session: "s1", resp: "resp_1",
	ctxs:    []string{"github/search_issues", "fs/read_file", "web/fetch"},
	texts:   []string{"issue 42: crash on start", "README contents", "page about badger"},
	weights: []float64{0.5, 0.3, 0.2},
}

func TestGetTraceLatest(t *testing.T) {
	t.Parallel()
	testGetTraceLatest(t, badgerStore)
}

func testGetTraceLatest(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	changed := record(t, p, threeContexts.events(t0)...)
	for _, want := range []string{uriStatsCache, evolutionURI("github/search_issues"), contextURI("fs/read_file"), responseURI("resp_1")} {
		if !contains(changed, want) {
			t.Errorf("Record changed %v, missing %s", changed, want)
		}
	}

	tests := []struct {
		format string
		check  func(t *testing.T, text string)
	}{
		{"json", func(t *testing.T, text string) {
			var tv traceView
			if err := json.Unmarshal([]byte(text), &tv); err != nil || tv.ResponseID != "resp_1" {
				t.Errorf("json text is not the trace: %v %q", err, text)
			}
		}},
		{"tree", func(t *testing.T, text string) {
			for _, want := range []string{"Response resp_1 (session s1)", "├── contexts (3)", "[ 50.0%] github/search_issues v1 of 1 (external) current",
				"quality +0.000 after 0 feedback", "└── feedback (0)", "summary: issue 42: crash on start"} {
				if !strings.Contains(text, want) {
					t.Errorf("tree lacks %q:\n%s", want, text)
				}
			}
		}},
		{"compact", func(t *testing.T, text string) {
			lines := strings.Split(strings.TrimSpace(text), "\n")
			if len(lines) != 4 {
				t.Fatalf("compact has %d lines, want a header and 3 contexts:\n%s", len(lines), text)
			}
			if !strings.HasPrefix(lines[1], "0.500 v1/1 current q=+0.000 n=0 external github/search_issues id=github/search_issues") {
				t.Errorf("first context line %q", lines[1])
			}
			if !strings.HasPrefix(lines[3], "0.200 ") {
				t.Errorf("lightest context should be last: %q", lines[3])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			tv, res := callOK[traceView](t, p, "s1", toolGetTrace, map[string]any{"response_id": "latest", "format": tc.format})
			if tv.ResponseID != "resp_1" || tv.Session != "s1" || tv.UnitsDelivered != 3 || len(tv.Contexts) != 3 {
				t.Fatalf("trace %+v", tv)
			}
			for i, want := range []struct {
				id string
				w  float64
			}{{"github/search_issues", 0.5}, {"fs/read_file", 0.3}, {"web/fetch", 0.2}} {
				c := tv.Contexts[i]
				if c.ContextID != want.id || c.Weight != want.w || c.Version != 1 || c.Status != statusCurrent ||
					c.Type != tracing.TypeExternal || c.Quality != 0 || c.Deprecated || c.RetrievalSource != "lexical" {
					t.Errorf("context %d = %+v, want %s weight %v", i, c, want.id, want.w)
				}
			}
			if tv.CreatedAt != timeString(t0.UnixNano()) || tv.FinalizedAt != timeString(t0.Add(time.Second).UnixNano()) {
				t.Errorf("times %s %s", tv.CreatedAt, tv.FinalizedAt)
			}
			tc.check(t, res.text())
		})
	}
}

func TestLatestIsPerSession(t *testing.T) {
	t.Parallel()
	testLatestIsPerSession(t, badgerStore)
}

func testLatestIsPerSession(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	a := turn{session: "a", resp: "ra", ctxs: []string{"x/one"}, texts: []string{"1"}, weights: []float64{1}}
	b := turn{session: "b", resp: "rb", ctxs: []string{"x/two"}, texts: []string{"2"}, weights: []float64{1}}
	record(t, p, append(a.events(t0), b.events(t0.Add(time.Minute))...)...)
	for _, tc := range []struct{ session, want string }{{"a", "ra"}, {"b", "rb"}} {
		tv, _ := callOK[traceView](t, p, tc.session, toolGetTrace, map[string]any{})
		if tv.ResponseID != tc.want {
			t.Errorf("latest of %s = %s, want %s", tc.session, tv.ResponseID, tc.want)
		}
	}
	if res := call(t, p, "c", toolGetTrace, map[string]any{"response_id": "latest"}); !res.IsError || !strings.Contains(res.text(), "no finalized response") {
		t.Errorf("latest of a session without responses: %+v", res)
	}
}

func TestEvolution(t *testing.T) {
	t.Parallel()
	testEvolution(t, badgerStore)
}

func testEvolution(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	const ctx = "docs/get_page"
	mk := func(resp, text string) turn {
		return turn{session: "s", resp: resp, ctxs: []string{ctx}, texts: []string{text}, weights: []float64{1}}
	}
	record(t, p, mk("r1", "first text").events(t0)...)
	// Same content again: no new version.
	if changed := record(t, p, mk("r2", "first text").events(t0.Add(time.Minute))...); contains(changed, evolutionURI(ctx)) {
		t.Errorf("unchanged content reported a new version: %v", changed)
	}
	changed := record(t, p, mk("r3", "second text").events(t0.Add(2*time.Minute))...)
	if !contains(changed, evolutionURI(ctx)) {
		t.Errorf("changed content did not report trace://evolution: %v", changed)
	}
	ev, _ := callOK[evolutionView](t, p, "s", toolEvolution, map[string]any{"context_id": ctx})
	if ev.HeadVersion != 2 || len(ev.Versions) != 2 {
		t.Fatalf("evolution %+v", ev)
	}
	v1, v2 := ev.Versions[0], ev.Versions[1]
	if v1.Version != 1 || v1.NextVersion != 2 || v1.Current || v1.SeenCount != 2 || v1.ContentHash != hashOf(toolContent("first text")) {
		t.Errorf("v1 = %+v", v1)
	}
	if v2.Version != 2 || v2.PreviousVersion != 1 || !v2.Current || v2.ContentHash != hashOf(toolContent("second text")) || v2.FirstResponseID != "r3" {
		t.Errorf("v2 = %+v", v2)
	}

	tv, _ := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": "r1"})
	if c := tv.Contexts[0]; c.Version != 1 || c.HeadVersion != 2 || c.Status != statusSuperseded || c.Summary != "first text" {
		t.Errorf("r1 context = %+v, want version 1 superseded by 2", c)
	}
	// Going back to the first content is a third version, not version 1:
	// the chain is what was delivered, in order.
	record(t, p, mk("r4", "first text").events(t0.Add(3*time.Minute))...)
	ev, _ = callOK[evolutionView](t, p, "s", toolEvolution, map[string]any{"context_unit_id": ctx})
	if ev.HeadVersion != 3 || len(ev.Versions) != 3 || ev.Versions[2].PreviousVersion != 2 {
		t.Errorf("after reverting: %+v", ev)
	}
	tv, _ = callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": "r4"})
	if c := tv.Contexts[0]; c.Version != 3 || c.Status != statusCurrent {
		t.Errorf("r4 context = %+v, want version 3", c)
	}
	if fromRes := readJSON[evolutionView](t, p, "s", evolutionURI(ctx)); len(fromRes.Versions) != 3 {
		t.Errorf("trace://evolution has %d versions", len(fromRes.Versions))
	}
	imp, _ := callOK[impactView](t, p, "s", toolContextImpact, map[string]any{"context_id": ctx})
	if imp.TotalResponses != 4 || imp.AvgWeight != 1 || imp.Responses[0].ResponseID != "r4" || imp.Responses[3].ResponseID != "r1" || imp.Responses[3].Version != 1 {
		t.Errorf("impact %+v", imp)
	}
}

// feedbackOn submits score on resp and returns the result.
func feedbackOn(t *testing.T, p tracing.Tracing, session, resp string, score float64) (feedbackResult, callResult) {
	t.Helper()
	return callOK[feedbackResult](t, p, session, toolSubmitFeedback, map[string]any{"response_id": resp, "score": score, "user": "tester"})
}

func TestFeedbackDeprecatesAndPromotes(t *testing.T) {
	t.Parallel()
	testFeedbackDeprecatesAndPromotes(t, badgerStore)
}

func testFeedbackDeprecatesAndPromotes(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	bad := turn{session: "s", resp: "r_bad", ctxs: []string{"wiki/stale", "db/query"}, texts: []string{"outdated", "rows"}, weights: []float64{0.2, 0.8}}
	good := turn{session: "s", resp: "r_good", ctxs: []string{"wiki/stale", "api/status"}, texts: []string{"outdated", "ok"}, weights: []float64{0.9, 0.1}}
	record(t, p, bad.events(t0)...)
	record(t, p, good.events(t0.Add(time.Minute))...)

	q := 0.0
	for i := 1; i <= 5; i++ {
		res, raw := feedbackOn(t, p, "s", "r_bad", -1)
		q += 0.2 * (-1 - q)
		var stale feedbackContext
		for _, c := range res.Contexts {
			if c.ContextID == "wiki/stale" {
				stale = c
			}
		}
		if !near(stale.Quality, q) || stale.FeedbackCount != uint32(i) {
			t.Fatalf("feedback %d: stale = %+v, want quality %v", i, stale, q)
		}
		// Deprecated only once q <= -0.3 after at least 3 feedbacks:
		// q is -0.36 after the second, but that is too few.
		if want := i >= 3; stale.Deprecated != want {
			t.Errorf("feedback %d: deprecated = %v, want %v (q %v)", i, stale.Deprecated, want, stale.Quality)
		}
		for _, want := range append([]string{contextURI("wiki/stale"), contextURI("db/query"), responseURI("r_bad")}, qualityURIs...) {
			if !contains(raw.changed, want) {
				t.Errorf("feedback changed %v, missing %s", raw.changed, want)
			}
		}
	}
	dep := readJSON[deprecatedView](t, p, "s", uriDeprecatedContexts)
	if len(dep.Contexts) != 2 || dep.Contexts[0].ContextID != "db/query" || dep.Contexts[1].ContextID != "wiki/stale" || !dep.Contexts[1].Deprecated {
		t.Fatalf("deprecated = %+v, want db/query (lowest) then wiki/stale", dep.Contexts)
	}
	if !near(dep.Contexts[1].Quality, q) || dep.Contexts[1].Summary != "outdated" {
		t.Errorf("deprecated wiki/stale = %+v", dep.Contexts[1])
	}

	// Positive feedback on a response where it weighed 0.9 promotes it.
	for range 3 {
		feedbackOn(t, p, "s", "r_good", 1)
	}
	dep = readJSON[deprecatedView](t, p, "s", uriDeprecatedContexts)
	if len(dep.Contexts) != 1 || dep.Contexts[0].ContextID != "db/query" {
		t.Errorf("after promotion deprecated = %+v, want only db/query", dep.Contexts)
	}
	top := readJSON[topView](t, p, "s", uriTopContexts)
	if len(top.Contexts) != 2 || top.Contexts[0].ContextID != "wiki/stale" || top.Contexts[1].ContextID != "api/status" ||
		top.Contexts[0].Quality <= top.Contexts[1].Quality {
		t.Errorf("top = %+v, want wiki/stale then api/status", top.Contexts)
	}
	imp, _ := callOK[impactView](t, p, "s", toolContextImpact, map[string]any{"context_id": "wiki/stale"})
	if imp.FeedbackCount != 8 || imp.Deprecated || imp.TotalResponses != 2 || !near(imp.AvgWeight, 0.55) {
		t.Errorf("impact = %+v", imp)
	}
	recent := readJSON[recentFeedbackView](t, p, "s", uriRecentFeedback)
	if len(recent.Feedback) != 8 || recent.Feedback[0].ResponseID != "r_good" || recent.Feedback[7].ResponseID != "r_bad" ||
		recent.Feedback[0].User != "tester" || len(recent.Feedback[0].Updates) != 2 {
		t.Errorf("recent feedback = %+v", recent.Feedback)
	}
	tv, _ := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": "r_bad", "format": "tree"})
	if tv.FeedbackCount != 5 || len(tv.Feedback) != 5 || tv.Feedback[0].Score != -1 {
		t.Errorf("r_bad feedback %d %+v", tv.FeedbackCount, tv.Feedback)
	}
}

func TestFeedbackLatestAndErrors(t *testing.T) {
	t.Parallel()
	testFeedbackLatestAndErrors(t, badgerStore)
}

func testFeedbackLatestAndErrors(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	record(t, p, threeContexts.events(t0)...)
	res, _ := callOK[feedbackResult](t, p, "s1", toolSubmitFeedback, map[string]any{"score": 0.5, "feedback_text": "good", "user_id": "u"})
	if res.ResponseID != "resp_1" || res.ContextsUpdated != 3 || !near(res.AvgQualityChange, 0.5*(0.5+0.3+0.2)/3) {
		t.Errorf("feedback on latest = %+v", res)
	}
	tests := []struct {
		name string
		tool string
		args any
		want string
	}{
		{"unknown response", toolGetTrace, map[string]any{"response_id": "resp_nope"}, `response "resp_nope" not found`},
		{"unknown format", toolGetTrace, map[string]any{"format": "xml"}, "format must be"},
		{"unknown context impact", toolContextImpact, map[string]any{"context_id": "nope"}, `context "nope" not found`},
		{"missing context id", toolEvolution, map[string]any{}, "context_id is required"},
		{"unknown context evolution", toolEvolution, map[string]any{"context_id": "nope"}, `context "nope" not found`},
		{"bad limit", toolContextImpact, map[string]any{"context_id": "fs/read_file", "limit": 0}, "limit must be"},
		{"unknown response contexts", toolResponseContexts, map[string]any{"response_id": "x"}, `response "x" not found`},
		{"bad type", toolResponseContexts, map[string]any{"type": "robot"}, "type must be"},
		{"score too high", toolSubmitFeedback, map[string]any{"score": 2}, "score must be from -1 to 1"},
		{"score missing", toolSubmitFeedback, map[string]any{"response_id": "resp_1"}, "score is required"},
		{"score not a number", toolSubmitFeedback, map[string]any{"score": "good"}, "invalid arguments"},
		{"feedback unknown response", toolSubmitFeedback, map[string]any{"response_id": "zzz", "score": 1}, `response "zzz" not found`},
		{"feedback no latest", toolSubmitFeedback, map[string]any{"score": 1}, "no finalized response"},
		{"text too long", toolSubmitFeedback, map[string]any{"score": 1, "text": strings.Repeat("x", maxTextBytes+1)}, "text is"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			session := "s1"
			if tc.name == "feedback no latest" {
				session = "other"
			}
			res := call(t, p, session, tc.tool, tc.args)
			if !res.IsError || !strings.Contains(res.text(), tc.want) {
				t.Errorf("got isError=%v %q, want an error containing %q", res.IsError, res.text(), tc.want)
			}
		})
	}
	if _, err := p.CallTool(context.Background(), tracing.CallToolRequest{Name: "mcp__proxy__tracing__nope"}); err == nil {
		t.Error("an unknown tool must be a JSON-RPC error")
	}
	for _, uri := range []string{"trace://nope", responseURI("missing"), contextURI("missing"), evolutionURI("missing"), "trace://context/", "trace://context/%zz"} {
		if _, err := p.ReadResource(context.Background(), tracing.ReadResourceRequest{Session: "s1", URI: uri}); err == nil {
			t.Errorf("ReadResource(%s) succeeded", uri)
		}
	}
}

func TestResponseContextsFilter(t *testing.T) {
	t.Parallel()
	testResponseContextsFilter(t, badgerStore)
}

func testResponseContextsFilter(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	evs := threeContexts.events(t0)
	evs[1].Kind, evs[1].ContextType, evs[1].URI, evs[1].Name = tracing.EventResource, tracing.TypeSystem, "file:///README.md", ""
	record(t, p, evs...)
	all, _ := callOK[responseContextsView](t, p, "s1", toolResponseContexts, map[string]any{})
	if len(all.Contexts) != 3 {
		t.Fatalf("contexts %+v", all.Contexts)
	}
	sys, _ := callOK[responseContextsView](t, p, "s1", toolResponseContexts, map[string]any{"response_id": "resp_1", "type": "System"})
	if len(sys.Contexts) != 1 || sys.Contexts[0].ContextID != "fs/read_file" || sys.Contexts[0].URI != "file:///README.md" || sys.Type != tracing.TypeSystem {
		t.Errorf("system contexts %+v", sys)
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	testResources(t, badgerStore)
}

func testResources(t *testing.T, s storeUnderTest) {
	p := s.open(t, map[string]any{"store_content": true})
	ids := []string{"srv/a b", "srv/ünï/cödé?x=1&y=2", "srv/c"}
	tr := turn{session: "s", resp: "r/1 weird", ctxs: ids, texts: []string{"A", "B", "C"}, weights: []float64{0.6, 0.3, 0.1}}
	record(t, p, tr.events(t0)...)
	feedbackOn(t, p, "s", "latest", 1)

	list, err := p.ListResources(context.Background(), tracing.ListResourcesRequest{Session: "s"})
	if err != nil || len(list.Resources) != 6 || len(list.Templates) != 3 {
		t.Fatalf("ListResources = %d resources, %d templates, %v", len(list.Resources), len(list.Templates), err)
	}
	for _, r := range list.Resources {
		var def struct {
			URI      string `json:"uri"`
			MimeType string `json:"mimeType"`
		}
		if err := json.Unmarshal(r, &def); err != nil || def.MimeType != mimeJSON {
			t.Errorf("resource %s: %v", r, err)
		}
		// Every listed resource reads.
		readJSON[map[string]any](t, p, "s", def.URI)
	}

	tv := readJSON[traceView](t, p, "s", responseURI("r/1 weird"))
	if tv.ResponseID != "r/1 weird" || len(tv.Contexts) != 3 || tv.FeedbackCount != 1 {
		t.Fatalf("trace://response = %+v", tv)
	}
	for _, c := range tv.Contexts {
		cv := readJSON[contextView](t, p, "s", c.ContextURI)
		if cv.ContextID != c.ContextID || cv.Head == nil || cv.Head.Version != 1 || cv.Quality != c.Quality || cv.FeedbackCount != 1 {
			t.Errorf("%s = %+v", c.ContextURI, cv)
		}
		var content struct {
			Content []struct{ Text string } `json:"content"`
		}
		if err := json.Unmarshal(cv.Content, &content); err != nil || len(content.Content) != 1 {
			t.Errorf("%s content %s: %v", c.ContextURI, cv.Content, err)
		}
	}
	// A client expanding the template itself escapes the same way.
	if got := contextURI("srv/a b"); got != "trace://context/srv%2Fa%20b" {
		t.Errorf("contextURI = %s", got)
	}

	stats := readJSON[statsView](t, p, "s", uriStatsCache)
	if stats.Store.Contexts != 3 || stats.Store.Versions != 3 || stats.Store.Responses != 1 || stats.Store.Feedback != 1 || stats.Store.Open != 0 {
		t.Errorf("store counts %+v", stats.Store.storeCounts)
	}
	if stats.Ingest.EventsRecorded[tracing.EventToolResult] != 3 || stats.Ingest.Feedback != 1 {
		t.Errorf("stats %+v", stats)
	}
	switch s.name {
	case "badger":
		if stats.Cache.Capacity != DefaultCacheEntries || stats.Cache.Entries == 0 || stats.Cache.Hits == 0 || stats.Cache.Misses == 0 {
			t.Errorf("cache stats %+v", stats.Cache)
		}
		if stats.Store.MemtableBytes == 0 || stats.Store.Engine != "badger/v4" {
			t.Errorf("stats %+v", stats)
		}
	case "postgres":
		// No cache: PostgreSQL caches, and instances share the rows.
		if stats.Cache.Capacity != 0 || stats.Store.Engine != "postgresql" || !strings.Contains(stats.Store.Dir, "dbname=") {
			t.Errorf("stats %+v", stats)
		}
	}
	top := readJSON[topView](t, p, "s", uriTopContexts)
	if len(top.Contexts) != 3 || top.Contexts[0].ContextID != "srv/a b" || !near(top.Contexts[0].Quality, 0.6) {
		t.Errorf("top %+v", top.Contexts)
	}
}

func TestContentNotStoredByDefault(t *testing.T) {
	t.Parallel()
	testContentNotStoredByDefault(t, badgerStore)
}

func testContentNotStoredByDefault(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	record(t, p, threeContexts.events(t0)...)
	cv := readJSON[contextView](t, p, "s1", contextURI("web/fetch"))
	if cv.Content != nil || cv.Head == nil || cv.Head.ContentStored || cv.Head.Summary != "page about badger" {
		t.Errorf("context view %+v", cv)
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := New(hclog.NewNullLogger())
	configureOn(t, p, dir, nil)
	record(t, p, threeContexts.events(t0)...)
	before, _ := feedbackOn(t, p, "s1", "latest", -0.5)
	stop(t, p)
	if res := call(t, p, "s1", toolGetTrace, map[string]any{}); !res.IsError || !strings.Contains(res.text(), "not open") {
		t.Errorf("after Stop: %+v", res)
	}

	p2 := configure(t, dir, nil)
	tv, _ := callOK[traceView](t, p2, "s1", toolGetTrace, map[string]any{"response_id": "latest"})
	if tv.ResponseID != "resp_1" || len(tv.Contexts) != 3 || tv.FeedbackCount != 1 {
		t.Fatalf("after restart: %+v", tv)
	}
	for _, c := range tv.Contexts {
		for _, u := range before.Contexts {
			if u.ContextID == c.ContextID && (!near(c.Quality, u.Quality) || c.FeedbackCount != 1) {
				t.Errorf("%s quality %v after restart, want %v", c.ContextID, c.Quality, u.Quality)
			}
		}
	}
	stats := readJSON[statsView](t, p2, "s1", uriStatsCache)
	if stats.Store.Contexts != 3 || stats.Store.Responses != 1 || stats.Store.Feedback != 1 {
		t.Errorf("counts after restart %+v", stats.Store.storeCounts)
	}
}

// TestSecondOpenFails holds a store without serving it (as a process
// that is not a sharing tracing plugin would): Configure gives up at its
// deadline with a clear diagnostic, and the plugin serves nothing.
func TestSecondOpenFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := openStore(options{dir: dir, cacheEntries: 1}, hclog.NewNullLogger(), newTestLRU(0).stats())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.close() })
	p2 := New(hclog.NewNullLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	diags := configureDiagsCtx(ctx, t, p2, dir, nil)
	if len(diags) != 1 || diags[0].Attribute != "dir" || diags[0].Severity != base.SeverityError ||
		diags[0].Summary != "Tracing store directory already in use" || !strings.Contains(diags[0].Detail, "one owner per directory") ||
		!strings.Contains(diags[0].Detail, "does not answer on the store's socket") {
		t.Fatalf("second Configure diagnostics = %+v", diags)
	}
	if res := call(t, p2, "s", toolGetTrace, map[string]any{}); !res.IsError {
		t.Errorf("the plugin that failed to open serves anyway: %+v", res)
	}
}

func TestReconfigureSameDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := configure(t, dir, nil)
	record(t, p, threeContexts.events(t0)...)
	// A reload with new settings reopens the same directory.
	configureOn(t, p, dir, map[string]any{"deprecate_below": 0.9, "min_feedback": 1})
	res, _ := feedbackOn(t, p, "s1", "latest", 0.5)
	for _, c := range res.Contexts {
		if !c.Deprecated {
			t.Errorf("%s not deprecated under the new thresholds: %+v", c.ContextID, c)
		}
	}
}

func TestRetentionExpires(t *testing.T) {
	t.Parallel()
	testRetentionExpires(t, badgerStore)
}

func testRetentionExpires(t *testing.T, s storeUnderTest) {
	p := s.open(t, map[string]any{"retention": "1s"})
	record(t, p, threeContexts.events(t0)...)
	feedbackOn(t, p, "s1", "latest", -1)
	// Reads now fill the cache, which must not outlive the entries.
	callOK[traceView](t, p, "s1", toolGetTrace, map[string]any{"response_id": "resp_1"})
	callOK[evolutionView](t, p, "s1", toolEvolution, map[string]any{"context_id": "web/fetch"})
	if top := readJSON[topView](t, p, "s1", uriDeprecatedContexts); top.Contexts == nil {
		t.Fatal("no deprecated list")
	}
	time.Sleep(2100 * time.Millisecond) // past the 1 s retention: its passing is the case
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{toolGetTrace, map[string]any{"response_id": "resp_1"}},
		{toolGetTrace, map[string]any{"response_id": "latest"}},
		{toolEvolution, map[string]any{"context_id": "web/fetch"}},
		{toolContextImpact, map[string]any{"context_id": "web/fetch"}},
	} {
		if res := call(t, p, "s1", tc.tool, tc.args); !res.IsError || !strings.Contains(res.text(), "not found") && !strings.Contains(res.text(), "no finalized") {
			t.Errorf("%s %v after retention: %+v", tc.tool, tc.args, res)
		}
	}
	if top := readJSON[topView](t, p, "s1", uriTopContexts); len(top.Contexts) != 0 {
		t.Errorf("top after retention %+v", top.Contexts)
	}
	if rf := readJSON[recentFeedbackView](t, p, "s1", uriRecentFeedback); len(rf.Feedback) != 0 {
		t.Errorf("recent feedback after retention %+v", rf.Feedback)
	}
	stats := readJSON[statsView](t, p, "s1", uriStatsCache)
	if stats.Store.storeCounts != (storeCounts{}) || s.name == "badger" && stats.Cache.Expired == 0 {
		t.Errorf("after retention counts %+v, cache %+v", stats.Store.storeCounts, stats.Cache)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger())
	file := t.TempDir() + "/file"
	if err := writeFile(file); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config string
		attrs  []string
	}{
		{"ok", `{"dir":"/tmp/x"}`, nil},
		{"full", `{"dir":"/tmp/x","store_content":true,"retention":"0","sync_writes":true,"cache_entries":0,"learning_rate":0.5,"deprecate_below":-1,"min_feedback":1}`, nil},
		{"nulls are defaults", `{"dir":"/tmp/x","retention":null,"cache_entries":null,"learning_rate":null}`, nil},
		{"missing dir", `{}`, []string{"dir"}},
		{"null config", `null`, []string{"dir"}},
		{"dir is a file", `{"dir":"` + file + `"}`, []string{"dir"}},
		{"bad retention", `{"dir":"d","retention":"soon"}`, []string{"retention"}},
		{"negative retention", `{"dir":"d","retention":"-1h"}`, []string{"retention"}},
		{"sub-second retention", `{"dir":"d","retention":"10ms"}`, []string{"retention"}},
		{"fractional cache", `{"dir":"d","cache_entries":1.5}`, []string{"cache_entries"}},
		{"negative cache", `{"dir":"d","cache_entries":-1}`, []string{"cache_entries"}},
		{"zero learning rate", `{"dir":"d","learning_rate":0}`, []string{"learning_rate"}},
		{"learning rate above 1", `{"dir":"d","learning_rate":1.5}`, []string{"learning_rate"}},
		{"threshold out of range", `{"dir":"d","deprecate_below":-2}`, []string{"deprecate_below"}},
		{"zero min feedback", `{"dir":"d","min_feedback":0}`, []string{"min_feedback"}},
		{"several", `{"retention":"x","min_feedback":2.5}`, []string{"dir", "retention", "min_feedback"}},
		{"unknown attribute", `{"dir":"d","colour":"blue"}`, []string{"colour"}},
		{"wrong type", `{"dir":"d","sync_writes":"yes"}`, []string{"sync_writes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range res.Diagnostics {
				if d.Severity == base.SeverityError {
					got = append(got, d.Attribute)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.attrs, ",") {
				t.Errorf("error attributes = %q, want %q (%+v)", got, tc.attrs, res.Diagnostics)
			}
		})
	}
	plugintest.CheckSchema(t, p, plugintest.SchemaWant{Plugin: plugintest.BlockWant{
		Attributes: []string{"dir", "store_content", "retention", "sync_writes", "cache_entries", "learning_rate", "deprecate_below", "min_feedback"},
		Required:   []string{"dir"},
	}})
	// Configure refuses what Validate refuses, without opening anything.
	if diags := configureDiags(t, p, "", map[string]any{"learning_rate": 3}); !base.HasErrors(diags) {
		t.Errorf("Configure accepted a bad config: %+v", diags)
	}
}

func TestSkippedEvents(t *testing.T) {
	t.Parallel()
	testSkippedEvents(t, badgerStore)
}

func testSkippedEvents(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	record(t, p,
		tracing.Event{Kind: tracing.EventToolResult, Content: toolContent("x")},
		tracing.Event{Kind: tracing.EventResponse},
		tracing.Event{Kind: tracing.EventFeedback, Session: "s"},
		tracing.Event{Kind: "mystery"},
	)
	m, err := p.Metrics(context.Background(), base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`mcphost_tracing_events_skipped_total{reason="no_context_id"} 1`,
		`mcphost_tracing_events_skipped_total{reason="no_response_id"} 1`,
		`mcphost_tracing_events_skipped_total{reason="feedback_event"} 1`,
		`mcphost_tracing_events_skipped_total{reason="unknown_kind"} 1`,
	} {
		if !strings.Contains(m.PrometheusText, want) {
			t.Errorf("metrics lack %s:\n%s", want, m.PrometheusText)
		}
	}
}

// TestResponseUnitsNotRecorded covers a response whose unit events the host
// dropped: the response is still stored, its units marked unrecorded, and
// feedback still rates them.
func TestResponseUnitsNotRecorded(t *testing.T) {
	t.Parallel()
	testResponseUnitsNotRecorded(t, badgerStore)
}

func testResponseUnitsNotRecorded(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	record(t, p, tracing.Event{
		Kind: tracing.EventResponse, ResponseID: "r", Session: "s", TimeUnixNano: t0.UnixNano(),
		Units: []tracing.ResponseUnit{{ContextID: "lost/unit", ContentHash: "abc", Weight: 0.7}, {ContextID: "lost/unit", ContentHash: "abc", Weight: 0.3}},
	})
	tv, _ := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{})
	if len(tv.Contexts) != 1 || tv.Contexts[0].Status != statusUnrecorded || tv.Contexts[0].Weight != 1 {
		t.Fatalf("trace %+v", tv)
	}
	res, _ := feedbackOn(t, p, "s", "r", -1)
	if len(res.Contexts) != 1 || res.Contexts[0].Quality != -1 {
		t.Errorf("feedback %+v", res)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	testConcurrentUse(t, badgerStore)
}

func testConcurrentUse(t *testing.T, s storeUnderTest) {
	p := s.open(t, map[string]any{"cache_entries": 16})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session := string(rune('a' + g))
			for i := range 25 {
				tr := turn{session: session, resp: session + "_" + string(rune('A'+i)), ctxs: []string{"shared/ctx", session + "/own"},
					texts: []string{"shared " + string(rune('0'+i%3)), "own"}, weights: []float64{0.5, 0.5}}
				record(t, p, tr.events(t0.Add(time.Duration(i)*time.Second))...)
				callOK[traceView](t, p, session, toolGetTrace, map[string]any{"format": "compact"})
				feedbackOn(t, p, session, "latest", float64(i%3-1))
				readJSON[topView](t, p, session, uriTopContexts)
				readJSON[statsView](t, p, session, uriStatsCache)
			}
		}()
	}
	wg.Wait()
	imp, _ := callOK[impactView](t, p, "a", toolContextImpact, map[string]any{"context_id": "shared/ctx", "limit": 5})
	if imp.TotalResponses != 100 || len(imp.Responses) != 5 || !imp.Truncated || imp.FeedbackCount != 100 {
		t.Errorf("impact %+v", imp)
	}
	stats := readJSON[statsView](t, p, "a", uriStatsCache)
	if stats.Store.Responses != 100 || stats.Store.Feedback != 100 || stats.Store.Contexts != 5 {
		t.Errorf("stats %+v", stats)
	}
	if s.name == "badger" && (stats.Cache.Evictions == 0 || stats.Cache.Entries > 16) {
		t.Errorf("cache stats %+v", stats.Cache)
	}
}
