package activity

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/router"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func record(server, name string, outcome router.ActivityOutcome) *router.ActivityRecord {
	return &router.ActivityRecord{
		Time: time.Now(), SessionID: "s-" + server, ClientInfo: []byte(`{"name":"test-client","version":"1.2"}`),
		Server: server, Kind: router.ActivityTool, Name: name, ExposedName: "mcp__proxy__" + server + "__" + name,
		Outcome: outcome, Duration: 1500 * time.Microsecond, RequestBytes: 10, ResponseBytes: 20,
	}
}

func newLog(t *testing.T, s Settings, opts Options) *Log {
	t.Helper()
	if s.Recent == 0 {
		s.Recent = 100
	}
	if s.MaxCaptureBytes == 0 {
		s.MaxCaptureBytes = 1 << 10
	}
	opts.Settings = s
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestRotationKeepsMaxFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "activity.log")
	l := newLog(t, Settings{File: file, MaxBytes: 4096, MaxFiles: 2}, Options{})
	for i := range 200 {
		l.Record(record("fs", fmt.Sprintf("tool%03d", i), router.ActivityOK))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if want := []string{"activity.log", "activity.log.1", "activity.log.2"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v (rotated, at most max_files kept)", names, want)
	}
	var last uint64
	for _, n := range []string{"activity.log.2", "activity.log.1", "activity.log"} {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		if fi.Size() > 4096 {
			t.Errorf("%s has %d bytes, more than max_bytes", n, fi.Size())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r admin.ActivityRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: line %q: %v", n, sc.Text(), err)
			}
			if r.Seq != last+1 && last != 0 {
				t.Fatalf("%s: record %d follows %d: lines lost or out of order", n, r.Seq, last)
			}
			last = r.Seq
			if r.ClientName != "test-client" || r.ClientVersion != "1.2" || r.Server != "fs" || r.Outcome != "ok" || r.DurationMs != 1.5 {
				t.Fatalf("record %+v", r)
			}
		}
		f.Close()
	}
	if last != 200 {
		t.Fatalf("last record in the files is %d, want 200", last)
	}
}

func TestQueryFiltersNewestFirst(t *testing.T) {
	t.Parallel()
	l := newLog(t, Settings{Recent: 5}, Options{})
	l.Record(record("a", "old", router.ActivityOK)) // pushed out of the ring of 5
	l.Record(record("a", "read", router.ActivityOK))
	l.Record(record("b", "read", router.ActivityToolError))
	l.Record(record("a", "write", router.ActivityError))
	l.Record(record("b", "write", router.ActivityOK))
	l.Record(record("a", "read", router.ActivityTimeout))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    admin.ActivityQuery
		want string
	}{
		{"all", admin.ActivityQuery{Limit: 100}, "a/read/timeout b/write/ok a/write/error b/read/tool_error a/read/ok"},
		{"limit", admin.ActivityQuery{Limit: 2}, "a/read/timeout b/write/ok"},
		{"server", admin.ActivityQuery{Server: "b", Limit: 100}, "b/write/ok b/read/tool_error"},
		{"tool", admin.ActivityQuery{Tool: "read", Limit: 100}, "a/read/timeout b/read/tool_error a/read/ok"},
		{"exposed tool", admin.ActivityQuery{Tool: "mcp__proxy__a__write", Limit: 100}, "a/write/error"},
		{"outcome", admin.ActivityQuery{Outcome: "ok", Limit: 100}, "b/write/ok a/read/ok"},
		{"session and tool", admin.ActivityQuery{Session: "s-a", Tool: "read", Limit: 100}, "a/read/timeout a/read/ok"},
		{"none", admin.ActivityQuery{Server: "c", Limit: 100}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, r := range l.Query(tc.q).Records {
				got = append(got, r.Server+"/"+r.Name+"/"+r.Outcome)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestDropsWhenQueueFull(t *testing.T) {
	t.Parallel()
	var counted atomic.Int64
	l := newLog(t, Settings{}, Options{QueueSize: 2, Dropped: func() { counted.Add(1) }})
	// Holding the lock stalls the writer on the first record it takes:
	// at most 1 + QueueSize records get in.
	l.mu.Lock()
	for range 10 {
		l.Record(record("a", "t", router.ActivityOK))
	}
	l.mu.Unlock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	dropped := l.Dropped()
	if dropped < 7 || uint64(counted.Load()) != dropped {
		t.Fatalf("dropped %d (counted %d), want at least 7, all counted", dropped, counted.Load())
	}
	list := l.Query(admin.ActivityQuery{Limit: 100})
	if uint64(len(list.Records))+dropped != 10 || list.Dropped != dropped {
		t.Fatalf("%d kept + %d dropped, want 10 in all (list says %d dropped)", len(list.Records), dropped, list.Dropped)
	}
}

func TestArgumentsAndResultsRedacted(t *testing.T) {
	t.Parallel()
	l := newLog(t, Settings{IncludeArguments: true, IncludeResults: true}, Options{})
	if c := l.Capture(); !c.Arguments || !c.Results || c.MaxBytes != 1<<10 {
		t.Fatalf("capture %+v", c)
	}
	rec := record("a", "login", router.ActivityOK)
	rec.Arguments = []byte(`{"user":"ann","api_token":"tok-123456","nested":{"password":"hunter22"}}`)
	rec.Result = []byte(`{"content":[{"type":"text","text":"signed in with tok-123456"}]}`)
	l.Record(rec)
	big := record("a", "upload", router.ActivityOK)
	big.ArgumentsBytes, big.ResultBytes = 5000, 7000 // larger than max_capture_bytes: left out by the router
	l.Record(big)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := l.Query(admin.ActivityQuery{Limit: 10}).Records
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	got := recs[1]
	for _, secret := range []string{"tok-123456", "hunter22"} {
		if strings.Contains(string(got.Arguments), secret) || strings.Contains(string(got.Result), secret) {
			t.Fatalf("secret %q kept: arguments %s result %s", secret, got.Arguments, got.Result)
		}
	}
	if !strings.Contains(string(got.Arguments), `"user":"ann"`) || !strings.Contains(string(got.Result), "signed in with (redacted)") {
		t.Fatalf("arguments %s result %s: want the rest kept", got.Arguments, got.Result)
	}
	if b := recs[0]; b.Arguments != nil || b.Result != nil || b.ArgumentsBytes != 5000 || b.ResultBytes != 7000 {
		t.Fatalf("oversized capture: %+v", b)
	}
}

func TestConfigureResizesAndSwitchesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	published := make(chan admin.ActivityRecord, 10)
	l := newLog(t, Settings{Recent: 3}, Options{Publish: func(r admin.ActivityRecord) { published <- r }})
	for _, n := range []string{"a", "b", "c"} {
		l.Record(record("s", n, router.ActivityOK))
		<-published
	}
	file := filepath.Join(dir, "calls.log")
	if err := l.Configure(Settings{Recent: 2, File: file, MaxBytes: 1 << 20, MaxFiles: 1}); err != nil {
		t.Fatal(err)
	}
	l.Record(record("s", "d", router.ActivityOK))
	if r := <-published; r.Name != "d" || r.Seq != 4 {
		t.Fatalf("published %+v", r)
	}
	var got []string
	for _, r := range l.Query(admin.ActivityQuery{Limit: 10}).Records {
		got = append(got, r.Name)
	}
	if strings.Join(got, "") != "dc" {
		t.Fatalf("kept %v, want the newest two", got)
	}
	data, err := os.ReadFile(file)
	if err != nil || strings.Count(string(data), "\n") != 1 || !strings.Contains(string(data), `"name":"d"`) {
		t.Fatalf("file %q, %v: want the one record since the reload", data, err)
	}
	if err := l.Configure(Settings{Recent: 0}); err == nil {
		t.Fatal("recent 0 accepted")
	}
}
