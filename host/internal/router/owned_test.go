package router

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"go.uber.org/goleak"
)

// TestCloseWaitsForWhatTheRouterStarted: work the router starts on its
// own goroutines (here forwarding a client's log level to a backend that
// never answers) ends when the router closes, and Close returns only once
// it has: nothing is left running. (Not parallel: it counts goroutines.)
func TestCloseWaitsForWhatTheRouterStarted(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := newFakeServer([]string{tool("echo")})
	srv.hangMethod = "logging/setLevel"
	r := New(Options{RestartDelay: 10 * time.Millisecond}, []BackendSpec{srv.spec("s", true, time.Hour)})
	r.Start(t.Context())
	sink := &recSink{}
	s := r.NewSession(sink)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18",`+
		`"capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`), nil)
	sink.response(t, `"init"`)
	s.Handle([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), nil)
	poll.Until(t, "the session initialized", s.isInitialized)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}`), nil)
	srv.waitReceived(t, "the level forwarded", isMethod("logging/setLevel"))
	s.Close()
	r.Close()
	// At once, with no grace: Close has waited for it. (Only the frame of
	// levelForwarder.push itself counts: a goroutine it waited for may still be
	// returning from the function it ran, its wg.Done already called.)
	buf := make([]byte, 1<<20)
	if stacks := buf[:runtime.Stack(buf, true)]; bytes.Contains(stacks, []byte("(*levelForwarder).push(")) {
		t.Fatalf("forwarding the log level still runs after Close:\n%s", stacks)
	}
}
