package logs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// newManager makes a Manager in a fresh directory unless opts names one,
// closed when the test ends.
func newManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

func mustLog(t testing.TB, m *Manager, name string) *Log {
	t.Helper()
	l, err := m.Log(name)
	if err != nil {
		t.Fatalf("Log(%q): %v", name, err)
	}
	return l
}

// fileLines reads a file's lines; a missing file has none.
func fileLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// numbered writes lines "line-0000" ... through Write: 10 bytes each with
// the newline, so file sizes are easy to reason about.
func numbered(t testing.TB, l *Log, from, to int) []string {
	t.Helper()
	var want []string
	for i := from; i < to; i++ {
		s := fmt.Sprintf("line-%04d", i)
		if _, err := l.Write([]byte(s + "\n")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		want = append(want, s)
	}
	return want
}

func TestRotationKeepsMaxFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		maxFiles int
		keep     int // rotated files expected
	}{
		{"one", 1, 1},
		{"two", 2, 2},
		{"three", 3, 3},
		{"none", -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, Options{MaxBytes: 30, MaxFiles: tc.maxFiles})
			l := mustLog(t, m, "alpha")
			all := numbered(t, l, 0, 20)

			// 3 lines fit in 30 bytes: the files are consecutive groups
			// of 3, the current one holding the last (partial) group.
			var groups [][]string
			for i := 0; i < len(all); i += 3 {
				groups = append(groups, all[i:min(i+3, len(all))])
			}
			dir := m.opts.Dir
			for idx := 0; idx <= tc.keep; idx++ {
				path := filepath.Join(dir, "alpha.log")
				if idx > 0 {
					path = filepath.Join(dir, rotatedName("alpha", idx))
				}
				want := groups[len(groups)-1-idx]
				if got := fileLines(t, path); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", filepath.Base(path), got, want)
				}
				if fi, err := os.Stat(path); err != nil || fi.Size() > 30 {
					t.Errorf("%s: size over MaxBytes or missing: %v %v", path, fi, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, rotatedName("alpha", tc.keep+1))); !os.IsNotExist(err) {
				t.Errorf("%s exists beyond MaxFiles (err %v)", rotatedName("alpha", tc.keep+1), err)
			}
		})
	}
}

func TestMaxAgeOnRotation(t *testing.T) {
	t.Parallel()
	now := t0
	m := newManager(t, Options{MaxBytes: 30, MaxFiles: 5, MaxAge: time.Hour, Now: func() time.Time { return now }})
	l := mustLog(t, m, "alpha")
	numbered(t, l, 0, 12) // 4 files: current + .1 .2 .3
	dir := m.opts.Dir
	ages := map[int]time.Duration{1: 30 * time.Minute, 2: 2 * time.Hour, 3: 3 * time.Hour}
	for idx, age := range ages {
		p := filepath.Join(dir, rotatedName("alpha", idx))
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	// The current file is new; its rotation shifts .1 (30m) to .2, and the
	// 2h and 3h files (now .3 and .4) are past MaxAge.
	numbered(t, l, 12, 13)
	tests := []struct {
		idx    int
		exists bool
	}{{1, true}, {2, true}, {3, false}, {4, false}}
	for _, tc := range tests {
		_, err := os.Stat(filepath.Join(dir, rotatedName("alpha", tc.idx)))
		if got := err == nil; got != tc.exists {
			t.Errorf(".%d exists = %v, want %v (err %v)", tc.idx, got, tc.exists, err)
		}
	}
}

func TestNewPrunes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		age  time.Duration
		kept bool
	}{
		{"alpha.log", 10 * time.Hour, true}, // current files are never aged out
		{"alpha.log.1", 10 * time.Minute, true},
		{"alpha.log.2", 2 * time.Hour, false},
		{"alpha.log.4", time.Minute, false}, // beyond MaxFiles
		{"beta.log.1", 3 * time.Hour, false},
		{"a.log.1.log", 3 * time.Hour, true}, // the current file of "a.log.1"
		{"notes.txt", 3 * time.Hour, true},
		{"alpha.log.01", 3 * time.Hour, true}, // not a name this package makes
	}
	dir := t.TempDir()
	for _, tc := range tests {
		p := filepath.Join(dir, tc.file)
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, t0.Add(-tc.age), t0.Add(-tc.age)); err != nil {
			t.Fatal(err)
		}
	}
	newManager(t, Options{Dir: dir, MaxFiles: 3, MaxAge: time.Hour, Now: func() time.Time { return t0 }})
	for _, tc := range tests {
		_, err := os.Stat(filepath.Join(dir, tc.file))
		if got := err == nil; got != tc.kept {
			t.Errorf("%s kept = %v, want %v", tc.file, got, tc.kept)
		}
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{MaxBytes: 30, MaxFiles: 3})
	l := mustLog(t, m, "alpha")
	all := numbered(t, l, 0, 20)
	kept := all[9:] // current [18 19], .1 [15-17], .2 [12-14], .3 [9-11]
	tests := []struct {
		n    int
		want []string
	}{
		{0, []string{}},
		{-1, []string{}},
		{1, kept[len(kept)-1:]},
		{2, kept[len(kept)-2:]},
		{5, kept[len(kept)-5:]},
		{len(kept), kept},
		{100, kept},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			t.Parallel()
			got, err := l.Tail(tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Tail(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

// TestTailBlocks reads back across many of Tail's read blocks and across
// files of uneven line lengths.
func TestTailBlocks(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{MaxBytes: 300 << 10, MaxFiles: 5})
	l := mustLog(t, m, "alpha")
	var all []string
	for i := range 20000 {
		s := fmt.Sprintf("%06d %s", i, strings.Repeat("x", i%97))
		if _, err := l.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for _, n := range []int{1, 1000, 5000, 12345, 20000} {
		got, err := l.Tail(n)
		if err != nil {
			t.Fatal(err)
		}
		if want := all[len(all)-n:]; !slices.Equal(got, want) {
			t.Errorf("Tail(%d): %d lines, first %q, want %d from %q", n, len(got), got[:1], len(want), want[0])
		}
	}
}

func TestWriteLineFormat(t *testing.T) {
	t.Parallel()
	// An hour after t0, in +01:00: stored in UTC.
	at := t0.Add(time.Hour).In(time.FixedZone("x", 3600))
	const p = "2024-05-06T08:08:09.000000Z alpha "
	tests := []struct {
		name   string
		stream string
		line   string
		want   []string
	}{
		{"plain", StreamStderr, "hello", []string{p + "stderr: hello"}},
		{"trailing newline", StreamStdout, "hello\n", []string{p + "stdout: hello"}},
		{"crlf", StreamStderr, "hello\r\n", []string{p + "stderr: hello"}},
		{"embedded newlines", StreamPlugin, "a\nb\r\nc", []string{p + "plugin: a", p + "plugin: b", p + "plugin: c"}},
		{"carriage returns", StreamStderr, "10%\r20%", []string{p + "stderr: 10%20%"}},
		{"empty", StreamStderr, "", []string{p + "stderr: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, Options{})
			l := mustLog(t, m, "alpha")
			if err := l.WriteLine(at, tc.stream, tc.line); err != nil {
				t.Fatal(err)
			}
			if got := fileLines(t, l.path); !slices.Equal(got, tc.want) {
				t.Errorf("file = %q, want %q", got, tc.want)
			}
		})
	}
	m := newManager(t, Options{})
	l := mustLog(t, m, "alpha")
	for _, stream := range []string{"", "std err", "a\nb"} {
		if err := l.WriteLine(t0, stream, "x"); err == nil {
			t.Errorf("WriteLine with stream %q: no error", stream)
		}
	}
}

func TestWritePartialLines(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{})
	l := mustLog(t, m, "mcphost")
	for _, s := range []string{"ab", "c\r\nd", "e\nf\n\n", "tail"} {
		if n, err := l.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	got, err := l.Tail(10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"abc", "de", "f", ""}; !slices.Equal(got, want) {
		t.Errorf("before Close: %q, want %q", got, want)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"abc", "de", "f", "", "tail"}; !slices.Equal(fileLines(t, l.path), want) {
		t.Errorf("after Close: %q, want %q", fileLines(t, l.path), want)
	}
	if _, err := l.Write([]byte("x\n")); err == nil {
		t.Error("Write after Close: no error")
	}
}

// collect reads n lines from ch, failing the test if that takes too long.
func collect(t *testing.T, ch <-chan string, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d lines", len(got), n)
			}
			got = append(got, s)
		case <-timeout:
			t.Fatalf("timed out after %d of %d lines", len(got), n)
		}
	}
	return got
}

func TestFollowAcrossRotations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fromTail int
	}{
		{"no tail", 0},
		{"some tail", 3},
		{"more tail than kept", 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// 10-byte lines, 3 per file, so every third line rotates.
			m := newManager(t, Options{MaxBytes: 30, MaxFiles: 2})
			l := mustLog(t, m, "alpha")
			before := numbered(t, l, 0, 10)
			kept := before[3:] // current [9], .1 [6-8], .2 [3-5]
			want := kept[max(len(kept)-tc.fromTail, 0):]
			if tc.fromTail == 0 {
				want = nil
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ch, err := l.Follow(ctx, tc.fromTail)
			if err != nil {
				t.Fatal(err)
			}
			const live = 300 // 100 rotations while following
			done := make(chan []string)
			go func() {
				var w []string
				for i := 10; i < 10+live; i++ {
					s := fmt.Sprintf("line-%04d", i)
					if _, err := l.Write([]byte(s + "\n")); err != nil {
						t.Error(err)
					}
					w = append(w, s)
				}
				done <- w
			}()
			got := collect(t, ch, len(want)+live)
			want = append(want, <-done...)
			if !slices.Equal(got, want) {
				t.Errorf("followed %d lines, want %d:\n got %q\nwant %q", len(got), len(want), got, want)
			}
			if got := fileLines(t, l.path); !slices.Equal(got, want[len(want)-1:]) {
				t.Errorf("current file = %q: the live lines did not rotate as expected", got)
			}

			cancel()
			select {
			case s, ok := <-ch:
				if ok {
					t.Errorf("line %q after cancel", s)
				}
			case <-time.After(10 * time.Second):
				t.Error("channel not closed after cancel")
			}
		})
	}
}

func TestFollowEndsOnClose(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{})
	l := mustLog(t, m, "alpha")
	ch, err := l.Follow(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := numbered(t, l, 0, 5)
	// A partial line is written out by Close and still reaches the follower.
	if _, err := l.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	want = append(want, "last")
	var got []string
	for s := range ch {
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := l.Follow(t.Context(), 0); err == nil {
		t.Error("Follow after Close: no error")
	}
}

func TestSlowFollowerDropsAndNeverBlocks(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{FollowBuffer: 4})
	l := mustLog(t, m, "alpha")
	ch, err := l.Follow(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads ch while these are written.
	const total = 2000
	var slowest time.Duration
	for i := range total {
		start := time.Now()
		if err := l.WriteLine(t0, StreamStderr, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	// Generous: a blocked writer would hang forever, not take 5s.
	if slowest > 5*time.Second {
		t.Fatalf("a write took %v with a stalled follower", slowest)
	}

	// Every line is accounted for, delivered or counted in a marker.
	delivered, dropped, markers, last := 0, 0, 0, -1
	timeout := time.After(30 * time.Second)
	for delivered+dropped < total {
		var s string
		select {
		case s = <-ch:
		case <-timeout:
			t.Fatalf("delivered %d + dropped %d of %d", delivered, dropped, total)
		}
		var n int
		if _, err := fmt.Sscanf(s, "... %d lines dropped ...", &n); err == nil {
			dropped += n
			markers++
			continue
		}
		i, err := strconv.Atoi(s[strings.LastIndex(s, " ")+1:])
		if err != nil || i <= last {
			t.Fatalf("line %q out of order after %d", s, last)
		}
		last = i
		delivered++
	}
	if markers == 0 || delivered > 2*4 || delivered+dropped != total {
		t.Errorf("delivered %d + dropped %d (in %d markers), want %d with at most 2 buffers delivered", delivered, dropped, markers, total)
	}
	// After catching up the follower gets every line again.
	want := numbered(t, l, 0, 3)
	if got := collect(t, ch, 3); !slices.Equal(got, want) {
		t.Errorf("after catching up: %q, want %q", got, want)
	}
}

func TestConcurrentWritersWholeLines(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{MaxBytes: 64 << 10, MaxFiles: 1000})
	l := mustLog(t, m, "alpha")
	ch, err := l.Follow(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 300
	followed := make(chan int)
	go func() {
		n := 0
		for range ch {
			if n++; n == writers*each {
				break
			}
		}
		followed <- n
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			payload := strings.Repeat(string(rune('a'+w)), 500+w*100)
			for i := range each {
				s := fmt.Sprintf("w%d-%d-%s", w, i, payload)
				var err error
				if w%2 == 0 {
					err = l.WriteLine(t0, StreamStderr, s)
				} else {
					_, err = l.Write([]byte(s + "\n"))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	files, err := filepath.Glob(filepath.Join(m.opts.Dir, "alpha.log*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Errorf("only %d files: rotation did not happen under load", len(files))
	}
	count := 0
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() > 64<<10 {
			t.Errorf("%s is %d bytes, over MaxBytes", f, fi.Size())
		}
		for _, line := range fileLines(t, f) {
			count++
			line = strings.TrimPrefix(line, "2024-05-06T07:08:09.000000Z alpha stderr: ")
			var w, i int
			var payload string
			if _, err := fmt.Sscanf(line, "w%d-%d-%s", &w, &i, &payload); err != nil ||
				payload != strings.Repeat(string(rune('a'+w)), 500+w*100) {
				t.Fatalf("torn line in %s: %.80q", filepath.Base(f), line)
			}
		}
	}
	if count != writers*each {
		t.Errorf("%d lines in files, want %d", count, writers*each)
	}
	if n := <-followed; n != writers*each {
		t.Errorf("followed %d lines, want %d", n, writers*each)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"alpha", true},
		{"mcphost", true},
		{"a.b-c_D9", true},
		{"a.log.1", true},
		{strings.Repeat("a", 128), true},
		{"", false},
		{"../x", false},
		{"x/../../y", false},
		{"..", false},
		{".hidden", false},
		{"/etc/passwd", false},
		{`a\b`, false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
		{strings.Repeat("a", 129), false},
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "logs")
	m := newManager(t, Options{Dir: dir})
	for _, tc := range tests {
		_, err := m.Log(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("Log(%q) error = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	want := []string{"a.b-c_D9", "a.log.1", strings.Repeat("a", 128), "alpha", "mcphost"}
	if got := m.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	// Nothing was created outside Dir.
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "logs" {
		t.Errorf("parent holds %v", entries)
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "logs")
	m := newManager(t, Options{Dir: dir, MaxBytes: 30})
	// A file left with a wider mode by something else is narrowed on open.
	if err := os.WriteFile(filepath.Join(dir, "old.log"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "old"} {
		numbered(t, mustLog(t, m, name), 0, 10)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		fi, err := d.Info()
		if err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", d.Name(), fi.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("only %d files checked", n)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file} {
		if _, err := New(Options{Dir: dir}); err == nil {
			t.Errorf("New(Dir %q): no error", dir)
		}
	}
}

func BenchmarkWriteLine(b *testing.B) {
	line := strings.Repeat("x", 100)
	b.Run("no followers", func(b *testing.B) {
		l := mustLog(b, newManager(b, Options{MaxBytes: 64 << 20}), "bench")
		b.ReportAllocs()
		for b.Loop() {
			if err := l.WriteLine(t0, StreamStderr, line); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one follower", func(b *testing.B) {
		l := mustLog(b, newManager(b, Options{MaxBytes: 64 << 20}), "bench")
		ch, err := l.Follow(b.Context(), 0)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			if err := l.WriteLine(t0, StreamStderr, line); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRotationFailureLosesNothing makes the rename to .1 impossible (a
// non-empty directory has that name): writes report the error but the lines
// stay in the current file and reach followers.
func TestRotationFailureLosesNothing(t *testing.T) {
	t.Parallel()
	m := newManager(t, Options{MaxBytes: 30, MaxFiles: 1})
	blocker := filepath.Join(m.opts.Dir, rotatedName("alpha", 1))
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	l := mustLog(t, m, "alpha")
	ch, err := l.Follow(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	failed := 0
	for i := range 6 {
		s := fmt.Sprintf("line-%04d", i)
		if _, err := l.Write([]byte(s + "\n")); err != nil {
			failed++
		}
		want = append(want, s)
	}
	if failed != 3 {
		t.Errorf("%d writes failed, want the 3 that tried to rotate", failed)
	}
	if got := fileLines(t, l.path); !slices.Equal(got, want) {
		t.Errorf("current file = %q, want %q", got, want)
	}
	if got := collect(t, ch, len(want)); !slices.Equal(got, want) {
		t.Errorf("followed %q, want %q", got, want)
	}

	// Once the obstacle is gone, the next write rotates.
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	want = numbered(t, l, 6, 7)
	if got := fileLines(t, l.path); !slices.Equal(got, want) {
		t.Errorf("after recovery current file = %q, want %q", got, want)
	}
}
