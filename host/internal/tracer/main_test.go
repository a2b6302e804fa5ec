package tracer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// goroutine has an owner that stops it (the change watcher's included).
// go-plugin's in-process test server (plugintest.ServeTracing) copies the
// process's stdout and stderr on goroutines of its own that never end;
// they are go-plugin's, not the tracer's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/hashicorp/go-plugin.copyChan"))
}
