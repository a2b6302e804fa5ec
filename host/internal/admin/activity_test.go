package admin_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/admin/admintest"
)

// activityFake keeps a few records and filters them as the proxy does
// (ActivityQuery.Match), newest first.
type activityFake struct {
	*admintest.Control
	records []admin.ActivityRecord // oldest first
}

func (f *activityFake) Activity(q admin.ActivityQuery) admin.ActivityList {
	var out []admin.ActivityRecord
	for i := len(f.records) - 1; i >= 0 && len(out) < q.Limit; i-- {
		if q.Match(&f.records[i]) {
			out = append(out, f.records[i])
		}
	}
	return admin.ActivityList{Records: out, Kept: 1000, Dropped: 3}
}

func TestActivityEndpoint(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	fake := &activityFake{Control: admintest.New()}
	for i, r := range []struct{ server, name, outcome string }{
		{"fs", "read_file", "ok"}, {"fs", "write_file", "error"}, {"git", "status", "tool_error"}, {"fs", "read_file", "timeout"},
	} {
		fake.records = append(fake.records, admin.ActivityRecord{Seq: uint64(i + 1), Time: now.Add(time.Duration(i) * time.Second),
			Session: "s1", Server: r.server, Kind: "tool", Name: r.name, ExposedName: r.server + "__" + r.name, Outcome: r.outcome})
	}
	_, base := start(t, admin.Options{Token: testToken, Control: fake})
	tests := []struct {
		name       string
		query      string
		token      string
		wantStatus int
		wantSeqs   string
		wantBody   string
	}{
		{name: "all newest first", query: "", token: testToken, wantStatus: 200, wantSeqs: "4 3 2 1"},
		{name: "server", query: "?server=fs", token: testToken, wantStatus: 200, wantSeqs: "4 2 1"},
		{name: "tool and outcome", query: "?tool=read_file&outcome=ok", token: testToken, wantStatus: 200, wantSeqs: "1"},
		{name: "exposed tool name", query: "?tool=git__status", token: testToken, wantStatus: 200, wantSeqs: "3"},
		{name: "session", query: "?session=other", token: testToken, wantStatus: 200, wantSeqs: ""},
		{name: "limit", query: "?limit=2", token: testToken, wantStatus: 200, wantSeqs: "4 3"},
		{name: "bad limit", query: "?limit=0", token: testToken, wantStatus: 400, wantBody: "limit must be"},
		{name: "limit too large", query: "?limit=10001", token: testToken, wantStatus: 400, wantBody: "limit must be"},
		{name: "unknown outcome", query: "?outcome=fine", token: testToken, wantStatus: 400, wantBody: "outcome must be one of"},
		{name: "needs the token", query: "", wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := send(t, base, request{method: "GET", path: "/api/v1/activity" + tt.query, token: tt.token})
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			checkHygiene(t, r, testToken)
			if tt.wantBody != "" && !strings.Contains(r.body, tt.wantBody) {
				t.Fatalf("body lacks %q: %s", tt.wantBody, r.body)
			}
			if r.status != 200 {
				return
			}
			var list admin.ActivityList
			if err := json.Unmarshal([]byte(r.body), &list); err != nil {
				t.Fatal(err)
			}
			var seqs []string
			for _, rec := range list.Records {
				seqs = append(seqs, itoa(rec.Seq))
			}
			if got := strings.Join(seqs, " "); got != tt.wantSeqs {
				t.Fatalf("records %q, want %q", got, tt.wantSeqs)
			}
			if list.Records == nil || list.Kept != 1000 || list.Dropped != 3 {
				t.Fatalf("list %+v: want records never null, kept and dropped", list)
			}
		})
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

func TestActivityEndpointWithoutSupport(t *testing.T) {
	t.Parallel()
	_, base := start(t, admin.Options{Token: testToken, Control: admintest.New()})
	if r := send(t, base, request{method: "GET", path: "/api/v1/activity", token: testToken}); r.status != 501 {
		t.Fatalf("status %d, want 501: %s", r.status, r.body)
	}
}

func TestActivityEvent(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(admin.Event{Type: admin.EventActivity, Activity: &admin.ActivityRecord{Seq: 7, Server: "fs", Outcome: "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"activity"`, `"activity":{"seq":7,`, `"server":"fs"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}
