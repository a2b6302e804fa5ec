package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// TracingOption adjusts TracingSuite.
type TracingOption func(*tracingSuite)

// WithPeer gives TracingSuite a second host's plugin over the same store
// as first (newPeer returns it configured, like newStore), for a store
// several hosts share: the suite then checks that first's ChangeWatcher
// reports what the peer writes and not what first writes itself.
func WithPeer(newPeer func(t *testing.T, first tracing.Tracing) tracing.Tracing) TracingOption {
	return func(s *tracingSuite) { s.newPeer = newPeer }
}

type tracingSuite struct {
	newStore func(t *testing.T) tracing.Tracing
	newPeer  func(t *testing.T, first tracing.Tracing) tracing.Tracing
}

// TracingSuite is a conformance suite for a tracing store: what the
// host, its clients and the admin API rely on, through the tools and
// resources named in sdk/tracing (ToolGetTrace, …, ResourceResponsePrefix,
// …, ResourceRecentResponses). newStore returns a configured plugin over
// a fresh, empty store (direct, or through ServeTracing to cover gRPC
// too); it is called once per subtest, and the subtests run in parallel.
// The plugin is given no tracing.Host, so it keeps the weights each
// response comes with. CheckTracing runs as one subtest. With WithPeer, a
// response recorded in parts is recorded through both hosts' plugins.
func TracingSuite(t *testing.T, newStore func(t *testing.T) tracing.Tracing, opts ...TracingOption) {
	s := &tracingSuite{newStore: newStore}
	for _, o := range opts {
		o(s)
	}
	for _, c := range []struct {
		name string
		run  func(t *testing.T, st *suiteStore)
	}{
		{"Listings", checkListings},
		{"RecordAndReadBack", checkRecordAndReadBack},
		{"UnitsSentAheadOfTheirResponse", checkUnitsSentAhead},
		{"ResponseRecordedAgainMerges", s.checkMerge},
		{"NewContentIsALinkedVersion", checkVersions},
		{"FeedbackMovesQuality", checkFeedback},
		{"LatestIsTheSessionsNewest", checkLatest},
		{"ResponseKeepsItsProfile", s.checkProfile},
		{"ToolErrors", checkToolErrors},
		{"UnknownResources", checkUnknownResources},
		{"WatcherSkipsOwnChanges", s.checkWatcher},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newSuiteStore(t, newStore(t)))
		})
	}
	t.Run("CheckTracing", func(t *testing.T) {
		t.Parallel()
		CheckTracing(t, newStore(t))
	})
}

// suiteStore is the store under test with helpers that fail the test on
// what the contract does not allow.
type suiteStore struct {
	t    *testing.T
	impl tracing.Tracing
	ctx  context.Context
	// at is the time of the next event: every event is a second after
	// the one before, so that "newest" is never a tie.
	at time.Time
}

func newSuiteStore(t *testing.T, impl tracing.Tracing) *suiteStore {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return &suiteStore{t: t, impl: impl, ctx: ctx, at: time.Now().Add(-time.Hour).Truncate(time.Second)}
}

func (s *suiteStore) next() time.Time {
	s.at = s.at.Add(time.Second)
	return s.at
}

// unit is a delivered unit: a tool result (external) of contextID, or a
// resource (system) when typ says so, whose content is text.
func (s *suiteStore) unit(session, response, contextID, typ, text string) tracing.Event {
	content := json.RawMessage(fmt.Sprintf(`{"content":[{"type":"text","text":%q}]}`, text))
	e := tracing.Event{
		Kind: tracing.EventToolResult, TimeUnixNano: s.next().UnixNano(), Session: session, Server: "suite",
		Method: "tools/call", Name: "search", Arguments: json.RawMessage(`{"q":"x"}`), ArgumentsBytes: 9,
		Content: content, ContentHash: tracing.ContentHash(content), SizeBytes: int64(len(content)),
		ResponseID: response, ContextID: contextID, ContextType: typ, RetrievalScore: 0.5, RetrievalSource: "default",
		TokenEstimate: int64(len(text) / 4), Summary: text,
	}
	if typ == tracing.TypeSystem {
		e.Kind, e.Method, e.Name, e.Arguments, e.ArgumentsBytes, e.URI = tracing.EventResource, "resources/read", "", nil, 0, "file:///"+contextID
	}
	return e
}

// finalize ends response with units, weighed as given.
func (s *suiteStore) finalize(session, response string, units []tracing.Event, weights ...float64) tracing.Event {
	e := tracing.Event{Kind: tracing.EventResponse, TimeUnixNano: s.next().UnixNano(), Session: session, ResponseID: response}
	for i, u := range units {
		e.Units = append(e.Units, tracing.ResponseUnit{ContextID: u.ContextID, ContentHash: u.ContentHash, Weight: weights[i]})
	}
	return e
}

func (s *suiteStore) record(events ...tracing.Event) []string {
	s.t.Helper()
	r, err := s.impl.Record(s.ctx, tracing.RecordRequest{Events: events})
	if err != nil {
		s.t.Fatalf("Record: %v", err)
	}
	return r.ChangedURIs
}

// respond records a response of one batch: its units, then its end.
func (s *suiteStore) respond(session, response string, units []tracing.Event, weights ...float64) []string {
	s.t.Helper()
	return s.record(append(slices.Clone(units), s.finalize(session, response, units, weights...))...)
}

// toolResult is what the suite reads of a CallToolResult.
type toolResult struct {
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Content           []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// call calls tool for session with args and decodes its structuredContent
// into out; the call must succeed, as a tool too.
func (s *suiteStore) call(session, tool, args string, out any) []string {
	s.t.Helper()
	res, changed := s.callRaw(session, tool, args)
	if res.IsError {
		s.t.Fatalf("%s %s: tool error %+v", tool, args, res.Content)
	}
	if err := json.Unmarshal(res.StructuredContent, out); err != nil {
		s.t.Fatalf("%s %s: structuredContent %s: %v", tool, args, res.StructuredContent, err)
	}
	return changed
}

func (s *suiteStore) callRaw(session, tool, args string) (toolResult, []string) {
	s.t.Helper()
	r, err := s.impl.CallTool(s.ctx, tracing.CallToolRequest{Session: session, Name: tool, Arguments: json.RawMessage(args)})
	if err != nil {
		s.t.Fatalf("CallTool %s %s: %v (a failing tool is a result with isError, not an error)", tool, args, err)
	}
	var res toolResult
	if err := json.Unmarshal(r.Result, &res); err != nil {
		s.t.Fatalf("CallTool %s: result %s: %v", tool, r.Result, err)
	}
	if len(res.Content) == 0 {
		s.t.Errorf("CallTool %s %s: result without content: %s", tool, args, r.Result)
	}
	return res, r.ChangedURIs
}

// read reads uri for session and decodes its one JSON text into out.
func (s *suiteStore) read(session, uri string, out any) {
	s.t.Helper()
	r, err := s.impl.ReadResource(s.ctx, tracing.ReadResourceRequest{Session: session, URI: uri})
	if err != nil {
		s.t.Fatalf("ReadResource %s: %v", uri, err)
	}
	var res struct {
		Contents []struct {
			URI      string `json:"uri"`
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || len(res.Contents) != 1 {
		s.t.Fatalf("ReadResource %s: want one content, got %s (%v)", uri, r.Result, err)
	}
	if c := res.Contents[0]; c.URI != uri || c.MimeType != "application/json" {
		s.t.Errorf("ReadResource %s: content has uri %q and mimeType %q, want the URI read and application/json", uri, c.URI, c.MimeType)
	}
	if err := json.Unmarshal([]byte(res.Contents[0].Text), out); err != nil {
		s.t.Fatalf("ReadResource %s: text %s: %v", uri, res.Contents[0].Text, err)
	}
}

// The views the suite reads (the members sdk/tracing documents).
type (
	suiteContext struct {
		ContextID     string  `json:"context_id"`
		Weight        float64 `json:"weight"`
		Version       int     `json:"version"`
		HeadVersion   int     `json:"head_version"`
		Status        string  `json:"status"`
		Quality       float64 `json:"quality"`
		FeedbackCount int     `json:"feedback_count"`
		ContextURI    string  `json:"context_uri"`
	}
	suiteTrace struct {
		ResponseID    string         `json:"response_id"`
		Session       string         `json:"session"`
		Profile       *string        `json:"profile"`
		ResourceURI   string         `json:"resource_uri"`
		Contexts      []suiteContext `json:"contexts"`
		FeedbackCount int            `json:"feedback_count"`
	}
	suiteImpact struct {
		ContextID      string `json:"context_id"`
		TotalResponses int    `json:"total_responses"`
		Responses      []struct {
			ResponseID string  `json:"response_id"`
			Weight     float64 `json:"weight"`
			Version    int     `json:"version"`
		} `json:"responses"`
	}
	suiteEvolution struct {
		ContextID   string `json:"context_id"`
		HeadVersion int    `json:"head_version"`
		Versions    []struct {
			Version         int    `json:"version"`
			PreviousVersion int    `json:"previous_version"`
			NextVersion     int    `json:"next_version"`
			Current         bool   `json:"current"`
			ContentHash     string `json:"content_hash"`
		} `json:"versions"`
	}
	suiteFeedback struct {
		ResponseID   string  `json:"response_id"`
		LearningRate float64 `json:"learning_rate"`
		Contexts     []struct {
			ContextID     string  `json:"context_id"`
			Weight        float64 `json:"weight"`
			QualityBefore float64 `json:"quality_before"`
			Quality       float64 `json:"quality"`
		} `json:"contexts"`
	}
	suiteContextResource struct {
		ContextID   string  `json:"context_id"`
		HeadVersion int     `json:"head_version"`
		Quality     float64 `json:"quality"`
	}
)

func (tr suiteTrace) context(t *testing.T, id string) suiteContext {
	t.Helper()
	for _, c := range tr.Contexts {
		if c.ContextID == id {
			return c
		}
	}
	t.Fatalf("response %s has no context %q: %+v", tr.ResponseID, id, tr.Contexts)
	return suiteContext{}
}

// Ids the suite records: context ids with characters a URI must escape.
const (
	suiteSession = "suitesession0123456789abcdefghijkl"
	suiteCtxA    = `suite/search {"q":"a b"}`
	suiteCtxB    = "file:///suite/notes.md"
	suiteCtxC    = "suite/prompt/plan"
)

func responseURI(id string) string  { return tracing.ResourceURI(tracing.ResourceResponsePrefix, id) }
func contextURI(id string) string   { return tracing.ResourceURI(tracing.ResourceContextPrefix, id) }
func evolutionURI(id string) string { return tracing.ResourceURI(tracing.ResourceEvolutionPrefix, id) }

// args is a JSON object of name/value pairs.
func args(kv ...any) string {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func wantChanged(t *testing.T, what string, changed []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(changed, w) {
			t.Errorf("%s reported changed %q; want %s among them", what, changed, w)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func checkListings(t *testing.T, st *suiteStore) {
	tools, err := st.impl.ListTools(st.ctx, tracing.ListToolsRequest{Session: suiteSession})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, raw := range tools.Tools {
		var tool struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		}
		if err := json.Unmarshal(raw, &tool); err != nil || len(tool.InputSchema) == 0 {
			t.Errorf("tool %s: want a name and an inputSchema (%v)", raw, err)
		}
		names = append(names, tool.Name)
	}
	for _, want := range []string{tracing.ToolGetTrace, tracing.ToolGetResponseContexts, tracing.ToolQueryContextImpact,
		tracing.ToolGetEvolutionHistory, tracing.ToolSubmitFeedback} {
		if !slices.Contains(names, want) {
			t.Errorf("ListTools lists %q, not %s", names, want)
		}
	}
	res, err := st.impl.ListResources(st.ctx, tracing.ListResourcesRequest{Session: suiteSession})
	if err != nil {
		t.Fatalf("ListResources: %v", err)
	}
	var templates []string
	for _, raw := range res.Templates {
		var tpl struct {
			URITemplate string `json:"uriTemplate"`
		}
		if err := json.Unmarshal(raw, &tpl); err != nil {
			t.Errorf("template %s: %v", raw, err)
		}
		templates = append(templates, tpl.URITemplate)
	}
	for _, prefix := range []string{tracing.ResourceResponsePrefix, tracing.ResourceContextPrefix, tracing.ResourceEvolutionPrefix} {
		if !slices.Contains(templates, prefix+"{id}") {
			t.Errorf("ListResources lists templates %q, not %s{id}", templates, prefix)
		}
	}
}

func checkRecordAndReadBack(t *testing.T, st *suiteStore) {
	units := []tracing.Event{
		st.unit(suiteSession, "resp_read", suiteCtxA, tracing.TypeExternal, "search results"),
		st.unit(suiteSession, "resp_read", suiteCtxB, tracing.TypeSystem, "notes"),
	}
	changed := st.respond(suiteSession, "resp_read", units, 0.75, 0.25)
	wantChanged(t, "Record", changed, responseURI("resp_read"), tracing.ResourceRecentResponses,
		contextURI(suiteCtxA), evolutionURI(suiteCtxA), contextURI(suiteCtxB), evolutionURI(suiteCtxB))

	var tr suiteTrace
	st.call(suiteSession, tracing.ToolGetTrace, args("response_id", "resp_read"), &tr)
	if tr.ResponseID != "resp_read" || tr.ResourceURI != responseURI("resp_read") || len(tr.Contexts) != 2 ||
		tr.Session == "" || !strings.HasPrefix(suiteSession, tr.Session) {
		t.Fatalf("get_trace = %+v; want resp_read of %s, at %s, with 2 contexts", tr, suiteSession, responseURI("resp_read"))
	}
	for _, want := range []struct {
		id string
		w  float64
	}{{suiteCtxA, 0.75}, {suiteCtxB, 0.25}} {
		c := tr.context(t, want.id)
		if !near(c.Weight, want.w) || c.Version != 1 || c.HeadVersion != 1 || c.Status != "current" ||
			c.Quality != 0 || c.FeedbackCount != 0 || c.ContextURI != contextURI(want.id) {
			t.Errorf("get_trace context %+v; want weight %v, version 1 of 1, current, quality 0, at %s", c, want.w, contextURI(want.id))
		}
	}

	var rc suiteTrace
	st.call(suiteSession, tracing.ToolGetResponseContexts, args("response_id", "resp_read"), &rc)
	if len(rc.Contexts) != 2 || rc.Contexts[0].ContextID != suiteCtxA || rc.Contexts[1].ContextID != suiteCtxB {
		t.Errorf("get_response_contexts = %+v; want %s then %s, heaviest first", rc.Contexts, suiteCtxA, suiteCtxB)
	}
	st.call(suiteSession, tracing.ToolGetResponseContexts, args("response_id", "resp_read", "type", tracing.TypeSystem), &rc)
	if len(rc.Contexts) != 1 || rc.Contexts[0].ContextID != suiteCtxB {
		t.Errorf("get_response_contexts of type system = %+v; want only %s", rc.Contexts, suiteCtxB)
	}

	var impact suiteImpact
	st.call(suiteSession, tracing.ToolQueryContextImpact, args("context_id", suiteCtxA), &impact)
	if impact.ContextID != suiteCtxA || impact.TotalResponses != 1 || len(impact.Responses) != 1 ||
		impact.Responses[0].ResponseID != "resp_read" || !near(impact.Responses[0].Weight, 0.75) || impact.Responses[0].Version != 1 {
		t.Errorf("query_context_impact = %+v; want resp_read at weight 0.75, version 1", impact)
	}

	var evo suiteEvolution
	st.call(suiteSession, tracing.ToolGetEvolutionHistory, args("context_id", suiteCtxA), &evo)
	if evo.ContextID != suiteCtxA || evo.HeadVersion != 1 || len(evo.Versions) != 1 ||
		evo.Versions[0].Version != 1 || !evo.Versions[0].Current || evo.Versions[0].ContentHash != units[0].ContentHash {
		t.Errorf("get_evolution_history = %+v; want one current version with hash %s", evo, units[0].ContentHash)
	}

	var rtr suiteTrace
	st.read(suiteSession, responseURI("resp_read"), &rtr)
	if rtr.ResponseID != "resp_read" || len(rtr.Contexts) != 2 {
		t.Errorf("%s = %+v; want get_trace's view", responseURI("resp_read"), rtr)
	}
	var cr suiteContextResource
	st.read(suiteSession, contextURI(suiteCtxA), &cr)
	if cr.ContextID != suiteCtxA || cr.HeadVersion != 1 {
		t.Errorf("%s = %+v; want %s at head version 1", contextURI(suiteCtxA), cr, suiteCtxA)
	}
	var revo suiteEvolution
	st.read(suiteSession, evolutionURI(suiteCtxA), &revo)
	if revo.ContextID != suiteCtxA || len(revo.Versions) != 1 {
		t.Errorf("%s = %+v; want get_evolution_history's view", evolutionURI(suiteCtxA), revo)
	}
	var recent struct {
		Responses []struct {
			ResponseID string `json:"response_id"`
		} `json:"responses"`
	}
	st.read(suiteSession, tracing.ResourceRecentResponses, &recent)
	if len(recent.Responses) != 1 || recent.Responses[0].ResponseID != "resp_read" {
		t.Errorf("%s = %+v; want resp_read", tracing.ResourceRecentResponses, recent)
	}
}

// checkProfile (API minor 8): a response keeps its session's profile
// (Event.Profile), shown by get_trace and its trace:// resource; a response
// on the main path shows none; and a response finalized again keeps the
// profile when its next part comes on the main path. With WithPeer, that
// part goes through the second host's plugin.
func (s *tracingSuite) checkProfile(t *testing.T, st *suiteStore) {
	info, err := st.impl.Info(st.ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.APIMinor < 8 {
		t.Skipf("the plugin reports tracing API minor %d; profiles came in 8", info.APIMinor)
	}
	const coding, plain = "resp_profile_coding", "resp_profile_plain"
	const mainSession = "suitemain0123456789abcdefghijklmno"
	unit := st.unit(suiteSession, coding, suiteCtxA, tracing.TypeExternal, "profile results")
	unit.Profile = "coding"
	end := st.finalize(suiteSession, coding, []tracing.Event{unit}, 1)
	end.Profile = "coding"
	st.record(unit, end)
	st.respond(mainSession, plain, []tracing.Event{st.unit(mainSession, plain, suiteCtxB, tracing.TypeSystem, "main path")}, 1)

	profile := func(what, session, id string) string {
		t.Helper()
		var tr, rtr suiteTrace
		st.call(session, tracing.ToolGetTrace, args("response_id", id), &tr)
		st.read(session, responseURI(id), &rtr)
		if tr.ResponseID != id || rtr.ResponseID != id {
			t.Fatalf("%s: get_trace %+v and %s %+v; want response %s", what, tr, responseURI(id), rtr, id)
		}
		got, gotRes := "(absent)", "(absent)"
		if tr.Profile != nil {
			got = *tr.Profile
		}
		if rtr.Profile != nil {
			gotRes = *rtr.Profile
		}
		if got != gotRes {
			t.Errorf("%s: get_trace shows profile %q, %s shows %q; want the same", what, got, responseURI(id), gotRes)
		}
		return got
	}
	if got := profile("recorded with profile coding", suiteSession, coding); got != "coding" {
		t.Errorf("response recorded with Event.Profile \"coding\" reads back with profile %s, want \"coding\"", got)
	}
	if got := profile("recorded on the main path", mainSession, plain); got != "(absent)" {
		t.Errorf("response recorded without a profile reads back with profile %s, want none (the member omitted)", got)
	}

	second := st
	if s.newPeer != nil {
		second = newSuiteStore(t, s.newPeer(t, st.impl))
	}
	second.at = st.at
	second.respond(mainSession, coding, []tracing.Event{second.unit(mainSession, coding, suiteCtxC, tracing.TypeExternal, "main path part")}, 1)
	if got := profile("merged with a part from the main path", mainSession, coding); got != "coding" {
		t.Errorf("response with a later part on the main path reads back with profile %s, want \"coding\" kept", got)
	}
}

// checkUnitsSentAhead: a response's units may come in earlier batches
// than its end (tracing.Event); the response still has them, weighed as
// sent, the weights summing to 1.
func checkUnitsSentAhead(t *testing.T, st *suiteStore) {
	units := []tracing.Event{
		st.unit(suiteSession, "resp_ahead", suiteCtxA, tracing.TypeExternal, "first"),
		st.unit(suiteSession, "resp_ahead", suiteCtxB, tracing.TypeSystem, "second"),
		st.unit(suiteSession, "resp_ahead", suiteCtxC, tracing.TypeUser, "third"),
	}
	st.record(units[0])
	st.record(units[1])
	st.record(units[2], st.finalize(suiteSession, "resp_ahead", units, 0.5, 0.3, 0.2))
	var tr suiteTrace
	st.call(suiteSession, tracing.ToolGetTrace, args("response_id", "resp_ahead"), &tr)
	sum := 0.0
	for _, c := range tr.Contexts {
		sum += c.Weight
		if c.Version != 1 || c.Weight < 0 || c.Weight > 1 {
			t.Errorf("context %+v; want version 1 (recorded) and a weight in [0, 1]", c)
		}
	}
	if len(tr.Contexts) != 3 || !near(sum, 1) {
		t.Errorf("get_trace has %d contexts weighing %v in all; want 3 weighing 1", len(tr.Contexts), sum)
	}
}

// checkMerge records one response (a trace's, whose units come from any
// session or host) in two Record calls with different units, through the
// peer where the store has one: the store keeps one response with all
// the units, the weights each call came with scaled to sum to 1, and
// recording a part again changes nothing.
func (s *tracingSuite) checkMerge(t *testing.T, st *suiteStore) {
	const resp = "resp_4bf92f3577b34da6a3ce929d0e0e4736"
	const otherSession = "suiteother0123456789abcdefghijklmn"
	second := st
	if s.newPeer != nil {
		second = newSuiteStore(t, s.newPeer(t, st.impl))
	}
	first := []tracing.Event{
		st.unit(suiteSession, resp, suiteCtxA, tracing.TypeExternal, "first part a"),
		st.unit(suiteSession, resp, suiteCtxB, tracing.TypeSystem, "first part b"),
	}
	st.respond(suiteSession, resp, first, 0.75, 0.25)
	second.at = st.at
	part2 := []tracing.Event{second.unit(otherSession, resp, suiteCtxC, tracing.TypeExternal, "second part c")}
	changed := second.respond(otherSession, resp, part2, 1)
	wantChanged(t, "Record merging into a response", changed, responseURI(resp))

	check := func(when string) suiteTrace {
		t.Helper()
		var tr suiteTrace
		st.call(suiteSession, tracing.ToolGetTrace, args("response_id", resp), &tr)
		if tr.ResponseID != resp || len(tr.Contexts) != 3 {
			t.Fatalf("%s: get_trace %s = %+v; want one response with the 3 units of both Record calls", when, resp, tr)
		}
		sum := 0.0
		for _, c := range tr.Contexts {
			sum += c.Weight
			if c.Version != 1 {
				t.Errorf("%s: context %+v; want version 1", when, c)
			}
		}
		if !near(sum, 1) {
			t.Errorf("%s: weights sum to %v, want 1: %+v", when, sum, tr.Contexts)
		}
		// The units of the first call keep their proportion.
		a, b := tr.context(t, suiteCtxA).Weight, tr.context(t, suiteCtxB).Weight
		if !near(a, 3*b) || !(tr.context(t, suiteCtxC).Weight > 0) {
			t.Errorf("%s: weights %+v; want a three times b (as recorded) and c weighing", when, tr.Contexts)
		}
		var impact suiteImpact
		st.call(suiteSession, tracing.ToolQueryContextImpact, args("context_id", suiteCtxC), &impact)
		if impact.TotalResponses != 1 || len(impact.Responses) != 1 || impact.Responses[0].ResponseID != resp {
			t.Errorf("%s: query_context_impact %s = %+v; want the merged response once", when, suiteCtxC, impact)
		}
		return tr
	}
	before := check("after two parts")
	// The same part again (a batch the host sends twice): nothing moves.
	second.respond(otherSession, resp, part2, 1)
	after := check("after a part recorded again")
	for _, c := range before.Contexts {
		if w := after.context(t, c.ContextID).Weight; !near(w, c.Weight) {
			t.Errorf("context %s weighs %v after its part was recorded again, %v before", c.ContextID, w, c.Weight)
		}
	}
}

func checkVersions(t *testing.T, st *suiteStore) {
	first := st.unit(suiteSession, "resp_v1", suiteCtxA, tracing.TypeExternal, "before")
	st.respond(suiteSession, "resp_v1", []tracing.Event{first}, 1)
	second := st.unit(suiteSession, "resp_v2", suiteCtxA, tracing.TypeExternal, "after")
	changed := st.respond(suiteSession, "resp_v2", []tracing.Event{second}, 1)
	wantChanged(t, "Record of new content", changed, contextURI(suiteCtxA), evolutionURI(suiteCtxA))
	// The same content again is no new version.
	st.respond(suiteSession, "resp_v3", []tracing.Event{st.unit(suiteSession, "resp_v3", suiteCtxA, tracing.TypeExternal, "after")}, 1)

	var evo suiteEvolution
	st.call(suiteSession, tracing.ToolGetEvolutionHistory, args("context_id", suiteCtxA), &evo)
	if evo.HeadVersion != 2 || len(evo.Versions) != 2 {
		t.Fatalf("get_evolution_history = %+v; want versions 1 and 2, head 2", evo)
	}
	v1, v2 := evo.Versions[0], evo.Versions[1]
	if v1.Version != 1 || v1.NextVersion != 2 || v1.Current || v1.ContentHash != first.ContentHash {
		t.Errorf("version 1 = %+v; want it followed by 2, not current, hash %s", v1, first.ContentHash)
	}
	if v2.Version != 2 || v2.PreviousVersion != 1 || !v2.Current || v2.ContentHash != second.ContentHash {
		t.Errorf("version 2 = %+v; want it after 1, current, hash %s", v2, second.ContentHash)
	}
	for _, want := range []struct {
		response, status string
		version          int
	}{{"resp_v1", "superseded", 1}, {"resp_v2", "current", 2}, {"resp_v3", "current", 2}} {
		var tr suiteTrace
		st.call(suiteSession, tracing.ToolGetTrace, args("response_id", want.response), &tr)
		if c := tr.context(t, suiteCtxA); c.Version != want.version || c.HeadVersion != 2 || c.Status != want.status {
			t.Errorf("%s: context %+v; want version %d of 2, %s", want.response, c, want.version, want.status)
		}
	}
	var impact suiteImpact
	st.call(suiteSession, tracing.ToolQueryContextImpact, args("context_id", suiteCtxA), &impact)
	if impact.TotalResponses != 3 || len(impact.Responses) != 3 || impact.Responses[0].ResponseID != "resp_v3" || impact.Responses[2].ResponseID != "resp_v1" {
		t.Errorf("query_context_impact = %+v; want resp_v3, resp_v2, resp_v1, newest first", impact)
	}
}

func checkFeedback(t *testing.T, st *suiteStore) {
	units := []tracing.Event{
		st.unit(suiteSession, "resp_fb", suiteCtxA, tracing.TypeExternal, "good"),
		st.unit(suiteSession, "resp_fb", suiteCtxB, tracing.TypeSystem, "meh"),
	}
	st.respond(suiteSession, "resp_fb", units, 0.75, 0.25)
	quality := map[string]float64{suiteCtxA: 0, suiteCtxB: 0}
	weight := map[string]float64{suiteCtxA: 0.75, suiteCtxB: 0.25}
	for _, score := range []float64{1, -0.5, -1} {
		var fb suiteFeedback
		changed := st.call(suiteSession, tracing.ToolSubmitFeedback, args("response_id", "resp_fb", "score", score), &fb)
		wantChanged(t, "submit_feedback", changed, responseURI("resp_fb"), contextURI(suiteCtxA), contextURI(suiteCtxB))
		if fb.ResponseID != "resp_fb" || fb.LearningRate <= 0 || fb.LearningRate > 1 || len(fb.Contexts) != 2 {
			t.Fatalf("submit_feedback = %+v; want resp_fb, a learning rate in (0, 1] and 2 contexts", fb)
		}
		for _, c := range fb.Contexts {
			q, w := quality[c.ContextID], weight[c.ContextID]
			want := q + min(fb.LearningRate*w, 1)*(score-q)
			if !near(c.Weight, w) || !near(c.QualityBefore, q) || !near(c.Quality, want) {
				t.Errorf("score %v: context %+v; want weight %v, quality %v → %v (q' = q + r·w·(s − q), r = %v)",
					score, c, w, q, want, fb.LearningRate)
			}
			quality[c.ContextID] = want
		}
	}
	var tr suiteTrace
	st.call(suiteSession, tracing.ToolGetTrace, args("response_id", "resp_fb"), &tr)
	if tr.FeedbackCount != 3 {
		t.Errorf("get_trace feedback_count = %d, want 3", tr.FeedbackCount)
	}
	for id, q := range quality {
		if c := tr.context(t, id); !near(c.Quality, q) || c.FeedbackCount != 3 {
			t.Errorf("get_trace context %+v; want quality %v after 3 feedbacks", c, q)
		}
		var cr suiteContextResource
		st.read(suiteSession, contextURI(id), &cr)
		if !near(cr.Quality, q) {
			t.Errorf("%s quality = %v, want %v", contextURI(id), cr.Quality, q)
		}
	}
}

func checkLatest(t *testing.T, st *suiteStore) {
	const other, none = "suiteother0123456789abcdefghijklmn", "suitenone0123456789abcdefghijklmno"
	st.respond(suiteSession, "resp_mine_1", []tracing.Event{st.unit(suiteSession, "resp_mine_1", suiteCtxA, tracing.TypeExternal, "1")}, 1)
	st.respond(suiteSession, "resp_mine_2", []tracing.Event{st.unit(suiteSession, "resp_mine_2", suiteCtxB, tracing.TypeSystem, "2")}, 1)
	st.respond(other, "resp_other", []tracing.Event{st.unit(other, "resp_other", suiteCtxC, tracing.TypeUser, "3")}, 1)
	for _, c := range []struct{ session, args, want string }{
		{suiteSession, args("response_id", tracing.LatestResponse), "resp_mine_2"},
		{suiteSession, `{}`, "resp_mine_2"},
		{other, args("response_id", tracing.LatestResponse), "resp_other"},
	} {
		var tr suiteTrace
		st.call(c.session, tracing.ToolGetTrace, c.args, &tr)
		if tr.ResponseID != c.want {
			t.Errorf("get_trace %s for %s = %s, want %s (the session's newest)", c.args, c.session, tr.ResponseID, c.want)
		}
	}
	var fb suiteFeedback
	st.call(suiteSession, tracing.ToolSubmitFeedback, args("response_id", tracing.LatestResponse, "score", 0.5), &fb)
	if fb.ResponseID != "resp_mine_2" {
		t.Errorf("submit_feedback on latest rated %s, want resp_mine_2", fb.ResponseID)
	}
	if res, _ := st.callRaw(none, tracing.ToolGetTrace, `{}`); !res.IsError {
		t.Errorf("get_trace latest of a session without responses: %+v, want a tool error", res)
	}
}

func checkToolErrors(t *testing.T, st *suiteStore) {
	st.respond(suiteSession, "resp_err", []tracing.Event{st.unit(suiteSession, "resp_err", suiteCtxA, tracing.TypeExternal, "x")}, 1)
	for _, c := range []struct{ tool, args string }{
		{tracing.ToolGetTrace, args("response_id", "resp_unknown")},
		{tracing.ToolGetTrace, args("response_id", "resp_err", "format", "nope")},
		{tracing.ToolGetTrace, `[1]`},
		{tracing.ToolGetResponseContexts, args("response_id", "resp_unknown")},
		{tracing.ToolGetResponseContexts, args("response_id", "resp_err", "type", "nope")},
		{tracing.ToolQueryContextImpact, args("context_id", "suite/unknown")},
		{tracing.ToolQueryContextImpact, `{}`},
		{tracing.ToolQueryContextImpact, args("context_id", suiteCtxA, "limit", 0)},
		{tracing.ToolGetEvolutionHistory, args("context_id", "suite/unknown")},
		{tracing.ToolGetEvolutionHistory, `{}`},
		{tracing.ToolSubmitFeedback, args("response_id", "resp_unknown", "score", 1)},
		{tracing.ToolSubmitFeedback, args("response_id", "resp_err", "score", 2)},
		{tracing.ToolSubmitFeedback, args("response_id", "resp_err")},
		{tracing.ToolSubmitFeedback, args("response_id", "resp_err", "score", "good")},
	} {
		if res, _ := st.callRaw(suiteSession, c.tool, c.args); !res.IsError {
			t.Errorf("%s %s: %s; want a tool error (isError)", c.tool, c.args, res.StructuredContent)
		}
	}
	// Nothing the failed feedback could have moved did.
	var tr suiteTrace
	st.call(suiteSession, tracing.ToolGetTrace, args("response_id", "resp_err"), &tr)
	if c := tr.context(t, suiteCtxA); c.Quality != 0 || c.FeedbackCount != 0 || tr.FeedbackCount != 0 {
		t.Errorf("after failed feedback: %+v, context %+v; want no feedback", tr, c)
	}
	_, err := st.impl.CallTool(st.ctx, tracing.CallToolRequest{Session: suiteSession, Name: "mcp__proxy__tracing__no_such_tool", Arguments: json.RawMessage(`{}`)})
	if err == nil {
		t.Error("CallTool of an unknown tool succeeded; want an error (a JSON-RPC error for the client)")
	}
}

func checkUnknownResources(t *testing.T, st *suiteStore) {
	for _, uri := range []string{responseURI("resp_unknown"), contextURI("suite/unknown"), evolutionURI("suite/unknown"), "trace://no/such/resource"} {
		if r, err := st.impl.ReadResource(st.ctx, tracing.ReadResourceRequest{Session: suiteSession, URI: uri}); err == nil {
			t.Errorf("ReadResource %s = %s; want an error", uri, r.Result)
		}
	}
}

// checkWatcher: a store listing tracing.CapabilityWatchesChanges reports
// other hosts' writes, not those its own caller made (their ChangedURIs
// already said so). With WithPeer the peer's write is the fact the check
// waits for; without, what arrives before the watch is cancelled is
// checked.
func (s *tracingSuite) checkWatcher(t *testing.T, st *suiteStore) {
	info, err := st.impl.Info(st.ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !slices.Contains(info.Capabilities, tracing.CapabilityWatchesChanges) {
		t.Skipf("the store does not list %s", tracing.CapabilityWatchesChanges)
	}
	watcher, ok := st.impl.(tracing.ChangeWatcher)
	if !ok {
		t.Fatalf("the store lists %s but is no tracing.ChangeWatcher", tracing.CapabilityWatchesChanges)
	}
	ctx, cancel := context.WithCancel(st.ctx)
	defer cancel()
	changes, err := watcher.WatchChanges(ctx, tracing.WatchChangesRequest{})
	if err != nil {
		t.Fatalf("WatchChanges: %v", err)
	}
	own := responseURI("resp_own")
	st.respond(suiteSession, "resp_own", []tracing.Event{st.unit(suiteSession, "resp_own", suiteCtxA, tracing.TypeExternal, "own")}, 1)
	st.call(suiteSession, tracing.ToolSubmitFeedback, args("response_id", "resp_own", "score", 1), &suiteFeedback{})
	var seen []string
	if s.newPeer != nil {
		peer := newSuiteStore(t, s.newPeer(t, st.impl))
		peer.at = st.at
		const peerSession = "suitepeer0123456789abcdefghijklmno"
		peer.respond(peerSession, "resp_peer", []tracing.Event{peer.unit(peerSession, "resp_peer", suiteCtxB, tracing.TypeSystem, "peer")}, 1)
		for !slices.Contains(seen, responseURI("resp_peer")) {
			select {
			case c, ok := <-changes:
				if !ok {
					t.Fatalf("the watch ended before it reported the peer's write (saw %q)", seen)
				}
				seen = append(seen, c.ChangedURIs...)
			case <-st.ctx.Done():
				t.Fatalf("the peer's write was not reported within %v (saw %q)", Timeout, seen)
			}
		}
	} else {
		cancel()
		for c := range changes {
			seen = append(seen, c.ChangedURIs...)
		}
	}
	if slices.Contains(seen, own) {
		t.Errorf("the watch reported the caller's own write: %q", seen)
	}
}
