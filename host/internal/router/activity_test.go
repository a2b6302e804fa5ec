package router

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// chanRecorder hands the records to the test.
type chanRecorder struct {
	capture ActivityCapture
	records chan *ActivityRecord
}

func (c *chanRecorder) Capture() ActivityCapture { return c.capture }
func (c *chanRecorder) Record(a *ActivityRecord) { c.records <- a }

func (c *chanRecorder) next(t *testing.T) *ActivityRecord {
	t.Helper()
	select {
	case a := <-c.records:
		return a
	case <-time.After(waitTimeout):
		t.Fatal("no activity record")
		return nil
	}
}

func TestActivityRecords(t *testing.T) {
	t.Parallel()
	fs, slow := newFakeServer([]string{tool("echo"), tool("fail")}), newFakeServer([]string{tool("hang")})
	rec := &chanRecorder{capture: ActivityCapture{Arguments: true, Results: true, MaxBytes: 40}, records: make(chan *ActivityRecord, 16)}
	r := startRouter(t, Options{Activity: rec}, fs.spec("fs", true, 0), slow.spec("slow", true, 100*time.Millisecond))
	s, sink := newClient(t, r, "2025-06-18", `{}`)

	tests := []struct {
		name    string
		msg     string
		id      string
		want    string // server/kind/name/exposed/outcome/code
		args    string
		resSize bool
	}{
		{name: "ok", id: "1", msg: string(callMsg("1", "mcp__proxy__fs__echo", `{"x":"hi"}`)),
			want: "fs/tool/echo/mcp__proxy__fs__echo/ok/0", args: `{"x":"hi"}`, resSize: true},
		{name: "backend error", id: "2", msg: string(callMsg("2", "mcp__proxy__fs__fail", `{"error":{"code":-32050,"message":"no"}}`)),
			want: "fs/tool/fail/mcp__proxy__fs__fail/error/-32050", args: `{"error":{"code":-32050,"message":"no"}}`},
		{name: "unknown tool", id: "3", msg: string(callMsg("3", "nope", `{}`)),
			want: "/tool//nope/error/-32602", args: `{}`},
		{name: "timeout", id: "4", msg: string(callMsg("4", "mcp__proxy__slow__hang", `{}`)),
			want: "slow/tool/hang/mcp__proxy__slow__hang/timeout/0", args: `{}`},
		{name: "prompt", id: "5", msg: `{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"nope"}}`,
			want: "/prompt//nope/error/-32602"},
		{name: "resource", id: "6", msg: `{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"x://y"}}`,
			want: "/resource//x://y/error/-32002"},
	}
	for _, tc := range tests {
		s.Handle([]byte(tc.msg), nil)
		sink.response(t, tc.id)
		a := rec.next(t)
		got := strings.Join([]string{a.Server, a.Kind, a.Name, a.ExposedName, string(a.Outcome), strconv.Itoa(a.Code)}, "/")
		if got != tc.want {
			t.Errorf("%s: record %s, want %s", tc.name, got, tc.want)
		}
		if a.SessionID != s.ID() || string(a.ClientInfo) != `{"name":"test","version":"1"}` || a.Time.IsZero() {
			t.Errorf("%s: session %q client %s time %v", tc.name, a.SessionID, a.ClientInfo, a.Time)
		}
		if string(a.Arguments) != tc.args {
			t.Errorf("%s: arguments %s, want %s", tc.name, a.Arguments, tc.args)
		}
		if a.Server != "" && (a.RequestBytes == 0 || a.Duration <= 0) {
			t.Errorf("%s: request bytes %d duration %v", tc.name, a.RequestBytes, a.Duration)
		}
		if tc.resSize && (a.ResponseBytes == 0 || a.Result != nil || a.ResultBytes <= 40) {
			// the echo's result is larger than MaxBytes: left out, its size kept
			t.Errorf("%s: response %d bytes, result %s (%d bytes)", tc.name, a.ResponseBytes, a.Result, a.ResultBytes)
		}
	}
}

func TestActivityCancelled(t *testing.T) {
	t.Parallel()
	fs := newFakeServer([]string{tool("hang")})
	rec := &chanRecorder{capture: ActivityCapture{}, records: make(chan *ActivityRecord, 16)}
	r := startRouter(t, Options{Activity: rec}, fs.spec("fs", false, 0))
	s, _ := newClient(t, r, "2025-06-18", `{}`)
	s.Handle(callMsg("1", "hang", `{}`), nil)
	fs.waitReceived(t, "the call", isToolCall("hang"))
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`), nil)
	if a := rec.next(t); a.Outcome != ActivityCancelled || a.Name != "hang" || a.Arguments != nil {
		t.Fatalf("record %+v, want cancelled, no arguments kept", a)
	}
}

// TestActivityProfile: a profile session's records name its profile.
func TestActivityProfile(t *testing.T) {
	t.Parallel()
	fs := newFakeServer([]string{tool("echo")})
	rec := &chanRecorder{records: make(chan *ActivityRecord, 4)}
	r := startRouter(t, Options{Activity: rec}, fs.spec("fs", true, 0))
	r.SetProfiles([]Profile{{Name: "coding", Servers: []string{"fs"}}})
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	if err := s.SetProfile("coding"); err != nil {
		t.Fatal(err)
	}
	s.Handle(callMsg("1", "mcp__proxy__fs__echo", `{}`), nil)
	sink.response(t, "1")
	if a := rec.next(t); a.Profile != "coding" || a.Outcome != "ok" {
		t.Fatalf("record profile %q outcome %s, want coding, ok", a.Profile, a.Outcome)
	}
}
