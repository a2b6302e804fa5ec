package poll

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recordingTB keeps what Fatalf was given instead of ending the test.
type recordingTB struct {
	testing.TB
	fatal string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestUntil(t *testing.T) {
	t.Parallel()
	calls := 0
	Until(t, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Errorf("bool condition called %d times, want 3", calls)
	}
	calls = 0
	Until(t, "the second call", func() error {
		calls++
		if calls < 2 {
			return errors.New("first call")
		}
		return nil
	})
	if calls != 2 {
		t.Errorf("error condition called %d times, want 2", calls)
	}
}

func TestWithinFailsWithTheLastReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(tb testing.TB)
		want string
	}{
		{"bool", func(tb testing.TB) {
			Within(tb, 20*time.Millisecond, "never", func() bool { return false })
		}, "never: not within 20ms: condition still false"},
		{"lazy", func(tb testing.TB) {
			Within(tb, 20*time.Millisecond, "never", func() error { return lazily(func() string { return "made late" }) })
		}, "never: not within 20ms: made late"},
		{"error", func(tb testing.TB) {
			Within(tb, 20*time.Millisecond, "never", func() error { return errors.New("backend down") })
		}, "never: not within 20ms: backend down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingTB{TB: t}
			tc.run(rec)
			if !strings.Contains(rec.fatal, tc.want) {
				t.Errorf("Fatalf got %q, want %q", rec.fatal, tc.want)
			}
		})
	}
}

func TestGoroutinesBackTo(t *testing.T) {
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-stop
	}()
	rec := &recordingTB{TB: t}
	Within(rec, 20*time.Millisecond, "never", func() error {
		if now := runtime.NumGoroutine(); now > before {
			return lazily(func() string { return "still running" })
		}
		return nil
	})
	if rec.fatal == "" {
		t.Error("a goroutine left running went unnoticed")
	}
	close(stop)
	<-done
	GoroutinesBackTo(t, before)
}
