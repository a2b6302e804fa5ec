package tracestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// traceOf reads response id (or "latest") for session through p.
func traceOf(t testing.TB, p tracing.Tracing, session, id string) traceView {
	t.Helper()
	tv, _ := callOK[traceView](t, p, session, toolGetTrace, map[string]any{"response_id": id, "format": "json"})
	return tv
}

// TestSharedStoreInProcess runs two plugins on one store, as two copies of
// mcphost would: the second forwards to the first; either records and
// answers for both sessions; the owner's host weighs what the other
// records; and when the owner stops, the other takes the store over with
// everything in it, and serves a third.
func TestSharedStoreInProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p1 := New(hclog.NewNullLogger())
	configureOn(t, p1, dir, nil)
	host := &weighHost{}
	p1.UseHost(host)
	p2 := configure(t, dir, nil)
	if !p1.owns() || p2.owns() {
		t.Fatalf("owner: p1 %v, p2 %v", p1.owns(), p2.owns())
	}

	a := turn{session: "s1", resp: "resp_a", ctxs: []string{"web/fetch"}, texts: []string{"page"}, weights: []float64{1}}
	b := turn{session: "s2", resp: "resp_b", ctxs: []string{"git/log", "git/diff"}, texts: []string{"log", "diff"}, weights: []float64{0.5, 0.5}}
	record(t, p1, a.events(t0)...)
	record(t, p2, b.events(t0.Add(time.Minute))...)

	tests := []struct {
		name          string
		via           tracing.Tracing
		session, id   string
		wantResponse  string
		wantContexts  int
		wantWeightMax float64
	}{
		{"s1 latest through the forwarder", p2, "s1", "latest", "resp_a", 1, 1},
		{"s2 latest through the owner", p1, "s2", "latest", "resp_b", 2, 2.0 / 3},
		{"s2 latest through the forwarder", p2, "s2", "latest", "resp_b", 2, 2.0 / 3},
		{"by id through the owner", p1, "other", "resp_b", "resp_b", 2, 2.0 / 3},
		{"the operator's latest is the newest of any session", p2, tracing.OperatorSession, "latest", "resp_b", 2, 2.0 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tv := traceOf(t, tc.via, tc.session, tc.id)
			if tv.ResponseID != tc.wantResponse || len(tv.Contexts) != tc.wantContexts {
				t.Fatalf("got %+v", tv)
			}
			// resp_b was weighed by the owner's host (1:2), not as sent.
			maxW := 0.0
			for _, c := range tv.Contexts {
				maxW = math.Max(maxW, c.Weight)
			}
			if !near(maxW, tc.wantWeightMax) {
				t.Errorf("largest weight %v, want %v", maxW, tc.wantWeightMax)
			}
		})
	}

	fb, _ := callOK[feedbackResult](t, p2, "s2", toolSubmitFeedback, map[string]any{"score": 1})
	if fb.ResponseID != "resp_b" {
		t.Errorf("feedback through the forwarder went to %+v", fb)
	}
	if stats := readJSON[statsView](t, p2, "s2", uriStatsCache); stats.Store.Responses != 2 || stats.Store.Feedback != 1 {
		t.Errorf("stats through the forwarder %+v", stats.Store)
	}

	stop(t, p1)
	poll.Within(t, 10*time.Second, "p2 took the store over", p2.owns)
	if tv := traceOf(t, p2, "s1", "latest"); tv.ResponseID != "resp_a" {
		t.Errorf("s1 latest after takeover: %+v", tv)
	}
	if tv := traceOf(t, p2, "x", "resp_b"); tv.FeedbackCount != 1 {
		t.Errorf("resp_b after takeover: %+v", tv)
	}

	p3 := configure(t, dir, nil)
	if p3.owns() {
		t.Fatal("a third plugin owns the store the second took over")
	}
	c := turn{session: "s3", resp: "resp_c", ctxs: []string{"web/fetch"}, texts: []string{"page 2"}, weights: []float64{1}}
	record(t, p3, c.events(t0.Add(2*time.Minute))...)
	if tv := traceOf(t, p2, "s3", "latest"); tv.ResponseID != "resp_c" {
		t.Errorf("s3 latest through the new owner: %+v", tv)
	}
	if tv := traceOf(t, p3, tracing.OperatorSession, "latest"); tv.ResponseID != "resp_c" {
		t.Errorf("the operator's latest through the third: %+v", tv)
	}
}

// TestSharedStoreConcurrentStart configures several plugins on one store
// at once: one owns it, the others all reach it.
func TestSharedStoreConcurrentStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 4
	ps := make([]*Plugin, n)
	var wg sync.WaitGroup
	for i := range ps {
		ps[i] = New(hclog.NewNullLogger())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if diags := configureDiags(t, ps[i], dir, nil); base.HasErrors(diags) {
				t.Errorf("plugin %d: %+v", i, diags)
			}
		}()
	}
	wg.Wait()
	owners := 0
	for i, p := range ps {
		t.Cleanup(func() { stop(t, p) })
		if p.owns() {
			owners++
		}
		tr := turn{session: fmt.Sprintf("s%d", i), resp: fmt.Sprintf("r%d", i), ctxs: []string{"a/b"}, texts: []string{"x"}, weights: []float64{1}}
		record(t, p, tr.events(t0)...)
	}
	if owners != 1 {
		t.Fatalf("%d owners", owners)
	}
	for i := range ps {
		if tv := traceOf(t, ps[(i+1)%n], fmt.Sprintf("s%d", i), "latest"); tv.ResponseID != fmt.Sprintf("r%d", i) {
			t.Errorf("s%d latest: %+v", i, tv)
		}
	}
}

// envOwner makes the test binary, run as a helper process, own the store
// in the directory it names until it is killed.
const envOwner = "MCPHOST_TRACING_TEST_OWNER_DIR"

// TestTakeoverAfterOwnerKilled forwards to an owner in another process,
// kills it with SIGKILL, and checks that this plugin takes the store over:
// a Record made in the gap succeeds, and what was returned or accepted
// before the kill is still there.
func TestTakeoverAfterOwnerKilled(t *testing.T) {
	if dir := os.Getenv(envOwner); dir != "" {
		p := New(hclog.NewNullLogger())
		configureOn(t, p, dir, nil)
		os.Stdout.WriteString("owning\n")
		select {} // until killed
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTakeoverAfterOwnerKilled$")
	cmd.Env = append(os.Environ(), envOwner+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "owning" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = openStore(options{dir: dir, cacheEntries: 1}, hclog.NewNullLogger(), newTestLRU(0).stats())
	if !errors.Is(err, ErrStoreInUse) || !strings.Contains(err.Error(), "locked by another process (one owner per directory)") {
		t.Fatalf("open while another process holds the store: %v", err)
	}
	p := configure(t, dir, nil)
	if p.owns() {
		t.Fatal("the plugin owns a store another process holds")
	}
	a := turn{session: "s1", resp: "resp_a", ctxs: []string{"web/fetch", "git/log"}, texts: []string{"page", "log"}, weights: []float64{0.5, 0.5}}
	record(t, p, a.events(t0)...)
	if tv := traceOf(t, p, "s1", "latest"); tv.ResponseID != "resp_a" {
		t.Fatalf("latest through the forwarder: %+v", tv)
	}
	callOK[feedbackResult](t, p, "s1", toolSubmitFeedback, map[string]any{"score": -1})

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	b := turn{session: "s1", resp: "resp_b", ctxs: []string{"web/fetch"}, texts: []string{"page 2"}, weights: []float64{1}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Record(ctx, tracing.RecordRequest{Events: b.events(t0.Add(time.Minute))}); err != nil {
		t.Fatalf("Record in the takeover gap: %v", err)
	}
	poll.Within(t, 10*time.Second, "took the store over", p.owns)
	t.Logf("took the store over %v after the owner's SIGKILL", time.Since(killed))

	if tv := traceOf(t, p, "s1", "resp_a"); len(tv.Contexts) != 2 || tv.FeedbackCount != 1 {
		t.Errorf("resp_a after takeover: %+v", tv)
	}
	if tv := traceOf(t, p, "s1", "latest"); tv.ResponseID != "resp_b" {
		t.Errorf("latest after takeover: %+v", tv)
	}
}

// TestSharedStoreLongDir shares a store whose directory is too long for a
// socket path in it: the socket goes to the private runtime directory.
func TestSharedStoreLongDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for len(filepath.Join(dir, sockName)) <= maxSockPath {
		dir = filepath.Join(dir, "a-rather-long-directory-name")
	}
	p1 := configure(t, dir, nil)
	p2 := configure(t, dir, nil)
	if !p1.owns() || p2.owns() {
		t.Fatalf("owner: p1 %v, p2 %v", p1.owns(), p2.owns())
	}
	place := p1.link.place
	if place.private == "" || strings.HasPrefix(place.path, dir) {
		t.Fatalf("socket at %+v for %s", place, dir)
	}
	fi, err := os.Stat(place.path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, %v", place.path, fi, err)
	}
	tr := turn{session: "s", resp: "r", ctxs: []string{"a/b"}, texts: []string{"x"}, weights: []float64{1}}
	record(t, p2, tr.events(t0)...)
	if tv := traceOf(t, p1, "s", "latest"); tv.ResponseID != "r" {
		t.Errorf("latest: %+v", tv)
	}
}

func TestSocketPlace(t *testing.T) {
	t.Parallel()
	short := "/var/lib/proj/.mcphost/trace"
	long := "/home/someone/" + strings.Repeat("x", 100) + "/.mcphost/trace"
	tests := []struct {
		name, dir, runtime, tmp string
		wantPath, wantPrivate   string
		wantOthers              int
		wantErr                 bool
	}{
		{name: "in the store", dir: short, runtime: "/run/user/7", tmp: "/tmp",
			wantPath: short + "/" + sockName},
		{name: "runtime dir, temp dir for an owner without it", dir: long, runtime: "/run/user/7", tmp: "/tmp",
			wantPrivate: "/run/user/7/mcphost", wantOthers: 1},
		{name: "runtime dir too long", dir: long, runtime: "/" + strings.Repeat("r", 100), tmp: "/tmp",
			wantPrivate: "/tmp/mcphost-7"},
		{name: "temp dir without XDG_RUNTIME_DIR", dir: long, runtime: "", tmp: "/tmp",
			wantPrivate: "/tmp/mcphost-7"},
		{name: "relative XDG_RUNTIME_DIR is ignored", dir: long, runtime: "run", tmp: "/tmp",
			wantPrivate: "/tmp/mcphost-7"},
		{name: "nothing short enough", dir: long, runtime: "", tmp: "/" + strings.Repeat("t", 100), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := socketPlace(tc.dir, tc.runtime, tc.tmp, 7)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tmpSocket(got.path)) > maxSockPath || got.private != tc.wantPrivate || len(got.others) != tc.wantOthers {
				t.Fatalf("got %+v", got)
			}
			if tc.wantPath != "" && got.path != tc.wantPath {
				t.Errorf("path %s, want %s", got.path, tc.wantPath)
			}
			if tc.wantPrivate != "" {
				again, _ := socketPlace(tc.dir, tc.runtime, tc.tmp, 7)
				other, _ := socketPlace(tc.dir+"2", tc.runtime, tc.tmp, 7)
				if filepath.Dir(got.path) != tc.wantPrivate || again.path != got.path || other.path == got.path {
					t.Errorf("path %s (again %s, other store %s)", got.path, again.path, other.path)
				}
			}
		})
	}
}

func TestEnsurePrivateDir(t *testing.T) {
	t.Parallel()
	uid := os.Getuid()
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr string
	}{
		{name: "created", prepare: func(*testing.T, string) {}},
		{name: "existing private", prepare: func(t *testing.T, dir string) { mkdir(t, dir, 0o700) }},
		{name: "open to others", prepare: func(t *testing.T, dir string) { mkdir(t, dir, 0o755) }, wantErr: "must be private"},
		{name: "a file", prepare: func(t *testing.T, dir string) {
			if err := writeFile(dir); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "not a directory"},
		{name: "a symlink", prepare: func(t *testing.T, dir string) {
			target := dir + "-target"
			mkdir(t, target, 0o700)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "not a directory"},
		{name: "another user's", prepare: func(t *testing.T, dir string) {
			if uid != 0 {
				t.Skip("needs root to give a directory away")
			}
			mkdir(t, dir, 0o700)
			if err := os.Chown(dir, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "belongs to uid 4242"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "mcphost-x")
			tc.prepare(t, dir)
			err := ensurePrivateDir(dir, uid)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
					t.Errorf("dir %v, %v", fi, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestPeerAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		peer uint32
		uid  int
		ok   bool
	}{
		{1000, 1000, true},
		{0, 0, true},
		{0, 1000, false},
		{1001, 1000, false},
		{1000, -1, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("peer %d uid %d", tc.peer, tc.uid), func(t *testing.T) {
			t.Parallel()
			if err := peerAllowed(tc.peer, tc.uid); (err == nil) != tc.ok {
				t.Errorf("peerAllowed = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestCheckPeer reads the credentials of a real connection, both ways.
func TestCheckPeer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, conn := range []*net.UnixConn{s, c} {
		if err := checkPeer(conn, os.Getuid()); err != nil {
			t.Errorf("same user refused: %v", err)
		}
		if runtime.GOOS == "linux" {
			if err := checkPeer(conn, os.Getuid()+1); err == nil {
				t.Error("another uid accepted")
			}
		}
	}
}

// TestForwarderLeaksNothing configures a forwarding plugin, uses it,
// configures it again and stops it: every goroutine and connection it made
// is gone (the owner's per-connection goroutines with them). Not parallel,
// so that other tests' goroutines do not count.
func TestForwarderLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	configure(t, dir, nil)
	settle := func() int {
		n := runtime.NumGoroutine()
		for range 50 { // the lowest count over half a second is the baseline
			time.Sleep(10 * time.Millisecond)
			n = min(n, runtime.NumGoroutine())
		}
		return n
	}
	base := settle()
	p := New(hclog.NewNullLogger())
	configureOn(t, p, dir, nil)
	tr := turn{session: "s", resp: "r", ctxs: []string{"a/b"}, texts: []string{"x"}, weights: []float64{1}}
	record(t, p, tr.events(t0)...)
	configureOn(t, p, dir, map[string]any{"cache_entries": 10})
	traceOf(t, p, "s", "latest")
	stop(t, p)
	poll.GoroutinesBackTo(t, base)
	if _, err := p.Record(context.Background(), tracing.RecordRequest{Events: tr.events(t0)}); !errors.Is(err, errNotConfigured) {
		t.Errorf("Record after Stop: %v", err)
	}
}

// TestDialOwnerTriesOtherPlaces: an owner started with another environment
// listens where this plugin would not; the forwarder finds it there.
func TestDialOwnerTriesOtherPlaces(t *testing.T) {
	t.Parallel()
	p := configure(t, t.TempDir(), nil)
	elsewhere := sockPlace{path: filepath.Join(t.TempDir(), "owner.sock")}
	srv, err := serveStore(p, elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(context.Background())
	here := sockPlace{path: filepath.Join(t.TempDir(), "missing.sock"), others: []string{elsewhere.path}}
	f, err := dialOwner(context.Background(), context.Background(), here)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	tr := turn{session: "s", resp: "r", ctxs: []string{"a/b"}, texts: []string{"x"}, weights: []float64{1}}
	record(t, f.client, tr.events(t0)...)
	if tv := traceOf(t, p, "s", "latest"); tv.ResponseID != "r" {
		t.Errorf("latest: %+v", tv)
	}
	if _, err := dialOwner(context.Background(), context.Background(), sockPlace{path: here.path}); err == nil {
		t.Error("dialed a socket nobody listens on")
	}
}

// TestReconfigureOtherDirWhileShared: an owner reloaded onto a directory
// it cannot join keeps serving the old store; onto a good one, it leaves the old
// store to the copy forwarding to it, which takes it over.
func TestReconfigureOtherDirWhileShared(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	p1 := configure(t, dirA, nil)
	p2 := configure(t, dirA, nil)
	tr := turn{session: "s", resp: "r", ctxs: []string{"a/b"}, texts: []string{"x"}, weights: []float64{1}}
	record(t, p2, tr.events(t0)...)

	// A directory held by a process that does not serve it: p1 cannot
	// join it, and keeps the store it has.
	held := t.TempDir()
	st, err := openStore(options{dir: held, cacheEntries: 1}, hclog.NewNullLogger(), newTestLRU(0).stats())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if diags := configureDiagsCtx(ctx, t, p1, held, nil); !base.HasErrors(diags) {
		t.Fatalf("Configure onto a held store: %+v", diags)
	}
	if tv := traceOf(t, p2, "s", "latest"); tv.ResponseID != "r" || !p1.owns() {
		t.Fatalf("after a failed reload: %+v, p1 owns %v", tv, p1.owns())
	}

	configureOn(t, p1, dirB, nil)
	poll.Within(t, 10*time.Second, "p2 took the first store over", p2.owns)
	if tv := traceOf(t, p2, "s", "latest"); tv.ResponseID != "r" {
		t.Errorf("the first store after p1 left it: %+v", tv)
	}
	if res := call(t, p1, "s", toolGetTrace, map[string]any{"response_id": "r"}); !res.IsError {
		t.Errorf("p1's new store has the first store's response: %+v", res)
	}
}
