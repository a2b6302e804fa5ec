package tracestore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/plugins/tracestore/pgtest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// profiled is threeContexts as a session of profile "coding" recorded it.
func profiled(tr turn, profile string, at time.Time) []tracing.Event {
	evs := tr.events(at)
	for i := range evs {
		evs[i].Profile = profile
	}
	return evs
}

func TestResponseProfileShown(t *testing.T) {
	t.Parallel()
	testResponseProfileShown(t, badgerStore)
}

// testResponseProfileShown: a response of a profile's session shows the
// profile in every view of the response (get_trace in its three formats,
// get_response_contexts, the trace:// resources); one of the main path
// shows none, not even an empty member.
func testResponseProfileShown(t *testing.T, s storeUnderTest) {
	p := s.open(t, nil)
	coding, plain := threeContexts, threeContexts
	coding.session, coding.resp = "coding-0123456789abcdefghij", "resp_coding"
	plain.session, plain.resp = "plain-0123456789abcdefghijk", "resp_plain"
	record(t, p, profiled(coding, "coding", t0)...)
	record(t, p, plain.events(t0.Add(time.Minute))...)

	for _, tc := range []struct {
		resp, profile string
		tree, compact string
	}{
		{coding.resp, "coding", "(session " + shownSession(coding.session) + ", profile coding)\n", " session " + shownSession(coding.session) + " profile coding finalized "},
		{plain.resp, "", "(session " + shownSession(plain.session) + ")\n", " session " + shownSession(plain.session) + " finalized "},
	} {
		t.Run(tc.resp, func(t *testing.T) {
			tv, res := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": tc.resp})
			if tv.Profile != tc.profile {
				t.Errorf("get_trace profile %q, want %q", tv.Profile, tc.profile)
			}
			var members map[string]json.RawMessage
			if err := json.Unmarshal(res.StructuredContent, &members); err != nil {
				t.Fatal(err)
			}
			if _, ok := members["profile"]; ok != (tc.profile != "") {
				t.Errorf("get_trace has a profile member: %v, want %v: %s", ok, tc.profile != "", res.StructuredContent)
			}
			for format, want := range map[string]string{formatTree: tc.tree, formatCompact: tc.compact} {
				_, res := callOK[traceView](t, p, "s", toolGetTrace, map[string]any{"response_id": tc.resp, "format": format})
				text := res.text()
				if !strings.Contains(text, want) || (tc.profile == "" && strings.Contains(text, "profile")) {
					t.Errorf("get_trace %s lacks %q (or names a profile it has not):\n%s", format, want, text)
				}
			}
			rc, _ := callOK[responseContextsView](t, p, "s", toolResponseContexts, map[string]any{"response_id": tc.resp})
			if rc.Profile != tc.profile {
				t.Errorf("get_response_contexts profile %q, want %q", rc.Profile, tc.profile)
			}
			if rv := readJSON[traceView](t, p, "s", responseURI(tc.resp)); rv.Profile != tc.profile {
				t.Errorf("%s profile %q, want %q", responseURI(tc.resp), rv.Profile, tc.profile)
			}
		})
	}
	recent := readJSON[recentResponsesView](t, p, "s", uriRecentResponses)
	got := map[string]string{}
	for _, r := range recent.Responses {
		got[r.ResponseID] = r.Profile
	}
	if len(got) != 2 || got[coding.resp] != "coding" || got[plain.resp] != "" {
		t.Errorf("%s profiles %v, want %s of coding and %s of none", uriRecentResponses, got, coding.resp, plain.resp)
	}
}

// TestPostgresProfileColumn: tracing-postgres keeps a response's profile
// in its own column too (migration 0003), following the merged record.
func TestPostgresProfileColumn(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	p := configurePostgres(t, dsn, nil)
	coding, plain := threeContexts, threeContexts
	coding.session, coding.resp = "coding-0123456789abcdefghij", "resp_coding"
	plain.session, plain.resp = "plain-0123456789abcdefghijk", "resp_plain"
	record(t, p, profiled(coding, "coding", t0)...)
	record(t, p, plain.events(t0.Add(time.Minute))...)
	// A later batch of the coding response from the main path keeps it.
	again := coding
	again.session = plain.session
	record(t, p, again.events(t0.Add(2*time.Minute))...)
	got := queryDB[string](t, dsn, "SELECT id || '=' || profile FROM responses ORDER BY id")
	if want := []string{"resp_coding=coding", "resp_plain="}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("responses.profile %v, want %v", got, want)
	}
}
