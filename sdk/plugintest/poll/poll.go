// Package poll is the one polling helper of the repository's tests: a test
// waits on a fact (an admin API answer, a metric, a notification, process
// state) with poll.Until, never on a sleep or on log text. It imports
// nothing of mcphost, so that every package's tests can use it, the SDK's
// own included (sdk/plugintest imports sdk/transport, whose tests poll too).
package poll

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// DefaultWait is how long Until waits for its condition: long enough for a
// busy machine, so that a failure means the fact never came.
const DefaultWait = 30 * time.Second

// Condition is a fact a test waits for: a func() bool, or a func() error
// that returns nil once the fact holds and otherwise says why it does not
// (the last reason is in the failure message).
type Condition interface {
	func() bool | func() error
}

// Until polls cond until it holds and fails t (Fatalf, naming what and the
// last reason) if it still does not after DefaultWait. Call it from the
// test's goroutine.
func Until[C Condition](t testing.TB, what string, cond C) {
	t.Helper()
	Within(t, DefaultWait, what, cond)
}

// Within is Until with its own limit, for a fact that must come within a
// bound or one that takes longer than DefaultWait (a process started under
// load).
func Within[C Condition](t testing.TB, limit time.Duration, what string, cond C) {
	t.Helper()
	check := asCheck(cond)
	deadline := time.Now().Add(limit)
	// Start fast (most facts come within milliseconds in unit tests) and back
	// off so that a slow condition, such as an HTTP call, is not hammered.
	pause := time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
			return // for a testing.TB whose Fatalf does not end the goroutine
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

var errNotYet = errors.New("condition still false")

func asCheck[C Condition](cond C) func() error {
	switch f := any(cond).(type) {
	case func() bool:
		return func() error {
			if f() {
				return nil
			}
			return errNotYet
		}
	default:
		return any(cond).(func() error)
	}
}

// GoroutinesBackTo waits until no more than n goroutines run, as before a
// test started them, and fails with every goroutine's stack if they do not
// end.
func GoroutinesBackTo(t testing.TB, n int) {
	t.Helper()
	Until(t, "goroutines back to where they were", func() error {
		if now := runtime.NumGoroutine(); now > n {
			return lazily(func() string {
				buf := make([]byte, 1<<20)
				return fmt.Sprintf("%d goroutines before, %d after:\n%s", n, now, buf[:runtime.Stack(buf, true)])
			})
		}
		return nil
	})
}

// lazily is an error whose message is made only when it is printed: for a
// reason that is costly to make (a goroutine dump) and is only read when the
// wait fails.
func lazily(msg func() string) error { return lazyError(msg) }

type lazyError func() string

func (e lazyError) Error() string { return e() }
