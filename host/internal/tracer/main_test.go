package tracer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// goroutine has an owner that stops it (the change watcher's included).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
