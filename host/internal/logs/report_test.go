package logs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestReportUnwritableFile: a log file that stops taking lines (here a
// symlink to /dev/full: every write fails with ENOSPC) is reported once,
// not per line, and once more, with the lines it missed, when it takes
// lines again. Before, a failed write was dropped without a word.
func TestReportUnwritableFile(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("needs /dev/full")
	}
	type report struct {
		name string
		err  error
		lost int64
	}
	var mu sync.Mutex
	var reports []report
	dir := t.TempDir()
	m, err := New(Options{Dir: dir, Report: func(name, _ string, err error, lost int64) {
		mu.Lock()
		reports = append(reports, report{name, err, lost})
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.Log("ex")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := l.WriteLine(now, StreamStderr, "fine"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ex.log")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.WriteLine(now, StreamStderr, "lost"); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write %d to /dev/full: %v, want ENOSPC", i, err)
		}
	}
	mu.Lock()
	if len(reports) != 1 || reports[0].name != "ex" || !errors.Is(reports[0].err, syscall.ENOSPC) {
		t.Fatalf("reports after 3 failed writes: %+v, want one ENOSPC for ex", reports)
	}
	mu.Unlock()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteLine(now, StreamStderr, "back"); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteLine(now, StreamStderr, "again"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 2 || reports[1].err != nil || reports[1].lost != 3 {
		t.Fatalf("reports after recovery: %+v, want a second one with 3 lines lost", reports)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "back") || strings.Contains(string(data), "lost") {
		t.Fatalf("the new file holds %q (%v)", data, err)
	}
}
