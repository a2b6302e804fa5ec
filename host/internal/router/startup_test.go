package router

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// slowSpec is a backend whose connection opens only once release is
// closed: a server that takes its time to start.
func slowSpec(s *fakeServer, name string, release <-chan struct{}) BackendSpec {
	return BackendSpec{Name: name, Prefix: true, Open: func(ctx context.Context) (transport.Conn, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return s.open(ctx)
	}}
}

func backendState(r *Router, name string) State {
	for _, b := range r.Backends() {
		if b.Name == name {
			return b.State
		}
	}
	return ""
}

// launchWithSlow launches a router with a fast backend and one that starts
// only when the returned function is called.
func launchWithSlow(t *testing.T, wait time.Duration) (r *Router, started <-chan struct{}, release func()) {
	t.Helper()
	gate := make(chan struct{})
	r = New(Options{RestartDelay: 10 * time.Millisecond}, []BackendSpec{
		newFakeServer([]string{tool("quick")}).spec("fast", true, 0),
		slowSpec(newFakeServer([]string{tool("late")}), "slow", gate),
	})
	t.Cleanup(r.Close)
	started = r.Launch(wait)
	var once bool
	return r, started, func() {
		if !once {
			once = true
			close(gate)
		}
	}
}

// TestInitializeBeforeBackends: initialize is answered while a backend is
// still starting; the first tools/list waits for it (within the start-up
// wait) and lists its tools; so does a call to one of them.
func TestInitializeBeforeBackends(t *testing.T) {
	t.Parallel()
	r, started, release := launchWithSlow(t, time.Minute)
	defer release()
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	// Answered although the slow backend has not even opened.
	if st := backendState(r, "slow"); st != StateStarting {
		t.Fatalf("slow backend is %s once initialize is answered, want %s", st, StateStarting)
	}
	select {
	case <-started:
		t.Fatal("the start-up wait ended before the slow backend started")
	default:
	}
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	s.Handle(callMsg("2", "mcp__proxy__slow__late", `{"x":"y"}`), nil)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":3,"method":"ping"}`), nil)
	// ping does not wait behind the waiting list.
	sink.response(t, "3")
	if sink.index(isResponse("1")) >= 0 || sink.index(isResponse("2")) >= 0 {
		t.Fatalf("tools/list or the call were answered before the slow backend started: %v", sink.all())
	}
	release()
	names := toolNames(t, sink.response(t, "1"))
	want := []string{"mcp__proxy__fast__quick", "mcp__proxy__slow__late"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools/list after start-up = %q, want %q", names, want)
	}
	if call := sink.response(t, "2"); errorCode(call) != 0 {
		t.Fatalf("call to the slow backend's tool: %s", call)
	}
	<-started
	// Once started, nothing waits.
	s.Handle([]byte(`{"jsonrpc":"2.0","id":4,"method":"tools/list"}`), nil)
	sink.response(t, "4")
}

// TestStartupWaitOver: with a wait shorter than a backend's start, the
// first tools/list is answered without it, and list_changed announces it
// once it is up.
func TestStartupWaitOver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wait time.Duration
	}{
		{"short wait", 20 * time.Millisecond},
		{"no wait", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, started, release := launchWithSlow(t, tt.wait)
			defer release()
			s, sink := newClient(t, r, "2025-06-18", `{}`)
			s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
			first := sink.response(t, "1")
			select {
			case <-started:
			default:
				t.Fatal("tools/list was answered before the start-up wait ended")
			}
			if st := backendState(r, "slow"); st != StateStarting {
				t.Fatalf("slow backend is %s, want still %s", st, StateStarting)
			}
			// The fast backend may or may not be up when no wait is asked.
			for _, n := range toolNames(t, first) {
				if n == "mcp__proxy__slow__late" {
					t.Fatalf("tools/list listed the slow backend before it started: %s", first)
				}
			}
			release()
			poll.Until(t, "the slow backend's tools to be announced", func() bool {
				if sink.countOf(isNotification("notifications/tools/list_changed")) == 0 {
					return false
				}
				return backendState(r, "slow") == StateRunning
			})
			s.Handle([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`), nil)
			if names := toolNames(t, sink.response(t, "2")); !slices.Contains(names, "mcp__proxy__slow__late") {
				t.Fatalf("tools/list after list_changed = %q", names)
			}
		})
	}
}

// TestStartupWaitEndsWithSession: a request waiting for start-up is given
// up when its session closes (its goroutine does not outlive it).
func TestStartupWaitEndsWithSession(t *testing.T) {
	t.Parallel()
	r, _, release := launchWithSlow(t, time.Minute)
	defer release()
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	s.Close()
	release()
	poll.Until(t, "the slow backend to start", func() bool { return backendState(r, "slow") == StateRunning })
	if sink.index(isResponse("1")) >= 0 {
		t.Fatalf("a closed session was answered: %v", sink.all())
	}
}
