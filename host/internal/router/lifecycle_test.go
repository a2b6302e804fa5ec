package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// flakyOpen wraps srv.open: while fail is set, opening fails with "boom".
// It records when each attempt was made.
type flakyOpen struct {
	srv   *fakeServer
	fail  atomic.Bool
	mu    sync.Mutex
	times []time.Time
}

func (f *flakyOpen) open(ctx context.Context) (transport.Conn, error) {
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	f.mu.Unlock()
	if f.fail.Load() {
		return nil, errors.New("boom")
	}
	return f.srv.open(ctx)
}

func (f *flakyOpen) attempts() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.times)
}

// startLoose starts a router without requiring its backends to be running.
func startLoose(t *testing.T, opts Options, specs ...BackendSpec) *Router {
	t.Helper()
	r := New(opts, specs)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	return r
}

func waitState(t *testing.T, r *Router, i int, want State) BackendStatus {
	t.Helper()
	var st BackendStatus
	poll.Until(t, "backend to be "+string(want), func() bool {
		st = r.Backends()[i]
		return st.State == want
	})
	return st
}

func TestRestartLimitFailsAndRestartRevives(t *testing.T) {
	t.Parallel()
	f := &flakyOpen{srv: newFakeServer([]string{tool("echo")})}
	f.fail.Store(true)
	spec := f.srv.spec("srv", true, 0)
	spec.Open = f.open
	spec.Restart = RestartPolicy{InitialDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxRestarts: 2, Window: time.Minute}
	r := startLoose(t, Options{}, spec)
	s, sink := newClient(t, r, v0618, `{}`)

	st := waitState(t, r, 0, StateFailed)
	if st.Reason != "too many restarts: 2 in 1m0s" || !strings.Contains(st.LastError, "boom") || st.Restarts != 2 || !st.NextAttempt.IsZero() {
		t.Fatalf("failed status: %+v", st)
	}
	time.Sleep(30 * time.Millisecond) // for a further attempt to show
	if n := len(f.attempts()); n != 3 {
		t.Fatalf("%d attempts, want 3 (first + 2 restarts) and no more once failed", n)
	}
	s.Handle(callMsg("1", "mcp__proxy__srv__echo", `{}`), nil)
	if resp := sink.response(t, "1"); errorCode(resp) == 0 {
		t.Fatalf("call to failed backend: %s", resp)
	}

	if err := r.RestartBackend("nope"); err == nil {
		t.Fatal("RestartBackend of an unknown server succeeded")
	}
	f.fail.Store(false)
	if err := r.RestartBackend("srv"); err != nil {
		t.Fatal(err)
	}
	st = waitState(t, r, 0, StateRunning)
	if st.Restarts != 3 || st.Reason != "" || st.Tools != 1 {
		t.Fatalf("status after RestartBackend: %+v", st)
	}
	sink.waitFor(t, "tools list_changed", isNotification("notifications/tools/list_changed"))

	// The window started afresh: two more failures are allowed again.
	f.fail.Store(true)
	f.srv.current().hangUp()
	st = waitState(t, r, 0, StateFailed)
	if n := len(f.attempts()); n != 6 {
		t.Fatalf("%d attempts after the second failure, want 6", n)
	}
}

func TestBackoffGrowsUpToMaxDelay(t *testing.T) {
	t.Parallel()
	f := &flakyOpen{srv: newFakeServer()}
	f.fail.Store(true)
	var mu sync.Mutex
	var delays []time.Duration
	spec := f.srv.spec("srv", true, 0)
	spec.Open = f.open
	spec.Restart = RestartPolicy{InitialDelay: 2 * time.Millisecond, MaxDelay: 8 * time.Millisecond, MaxRestarts: 100, Window: time.Minute}
	spec.backoffHook = func(d time.Duration) {
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
	}
	r := startLoose(t, Options{}, spec)
	poll.Until(t, "restarting status with a next attempt", func() bool {
		st := r.Backends()[0]
		return st.State == StateRestarting && !st.NextAttempt.IsZero() && strings.Contains(st.Reason, "boom")
	})
	poll.Until(t, "seven attempts", func() bool { return len(f.attempts()) >= 7 })
	r.Close()
	times := f.attempts()
	mu.Lock()
	defer mu.Unlock()
	base := []time.Duration{2, 4, 8, 8, 8, 8}
	for i, b := range base {
		b *= time.Millisecond
		d := delays[i]
		if d > b || d < b*8/10 {
			t.Errorf("delay %d = %s, want within [%s, %s]", i, d, b*8/10, b)
		}
		if gap := times[i+1].Sub(times[i]); gap < d {
			t.Errorf("attempt %d came %s after the previous one, before its delay %s", i+1, gap, d)
		}
	}
}

func TestUnhealthyBackendIsRestarted(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	spec := srv.spec("srv", true, 0)
	spec.Health = HealthCheck{Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond, FailureThreshold: 3}
	r := startRouter(t, Options{}, spec)
	_, sink := newClient(t, r, v0618, `{}`)
	first := srv.current()
	poll.Until(t, "a few answered pings", func() bool { return srv.count(isMethod("ping")) >= 3 })
	if st := r.Backends()[0]; st.State != StateRunning || srv.opens() != 1 {
		t.Fatalf("healthy backend: %+v after %d opens", st, srv.opens())
	}
	srv.mu.Lock()
	srv.hangPing = first
	srv.mu.Unlock()

	changed := isNotification("notifications/tools/list_changed")
	poll.Until(t, "restart after failed health checks, tools leaving and returning", func() bool {
		return srv.opens() == 2 && sink.countOf(changed) == 2 && r.Backends()[0].State == StateRunning
	})
	if first.closes.Load() == 0 {
		t.Fatal("the unhealthy connection was not closed")
	}
	st := r.Backends()[0]
	if st.Restarts != 1 || !strings.Contains(st.LastError, "health check failed 3 times") || !strings.Contains(st.LastError, "ping") {
		t.Fatalf("status after the health restart: %+v", st)
	}
}

func TestHealthFallsBackToListWithoutPing(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	srv.noPing = true
	spec := srv.spec("srv", true, 0)
	spec.Health = HealthCheck{Interval: 5 * time.Millisecond, Timeout: time.Second, FailureThreshold: 1}
	r := startRouter(t, Options{}, spec)
	bare := func(m []byte) bool { return isMethod("tools/list")(m) && jsonrpc.Get(m, "params") == nil }
	poll.Until(t, "health checks with tools/list", func() bool { return srv.count(bare) >= 3 })
	if n := srv.count(isMethod("ping")); n != 1 {
		t.Fatalf("%d pings, want 1 before falling back", n)
	}
	if st := r.Backends()[0]; st.State != StateRunning || srv.opens() != 1 || st.LastError != "" {
		t.Fatalf("status: %+v after %d opens", st, srv.opens())
	}
}

func TestStopAndStartBackend(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	other := newFakeServer([]string{tool("x")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0), other.spec("other", true, 0))
	s, sink := newClient(t, r, v0618, `{}`)
	changed := isNotification("notifications/tools/list_changed")

	for _, f := range []func(string) error{r.StopBackend, r.StartBackend, r.RestartBackend} {
		if err := f("nope"); err == nil {
			t.Fatal("unknown server accepted")
		}
	}
	if err := r.StopBackend("srv"); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, r, 0, StateStopped)
	if st.Reason != "stopped by request" || st.Tools != 0 {
		t.Fatalf("stopped status: %+v", st)
	}
	poll.Until(t, "list_changed after stop", func() bool { return sink.countOf(changed) == 1 })
	s.Handle([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
	if names := toolNames(t, sink.response(t, "1")); !slices.Equal(names, []string{"mcp__proxy__other__x"}) {
		t.Fatalf("tools while stopped: %q", names)
	}
	s.Handle(callMsg("2", "mcp__proxy__srv__echo", `{}`), nil)
	resp := sink.response(t, "2")
	if jsonrpc.Get(resp, "error") == nil {
		t.Fatalf("call while stopped: %s", resp)
	}
	if err := r.StopBackend("srv"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // for a reconnection to show
	if srv.opens() != 1 || r.Backends()[0].State != StateStopped {
		t.Fatalf("stopped backend reconnected: %d opens, %+v", srv.opens(), r.Backends()[0])
	}

	if err := r.StartBackend("srv"); err != nil {
		t.Fatal(err)
	}
	st = waitState(t, r, 0, StateRunning)
	poll.Until(t, "list_changed after start", func() bool { return sink.countOf(changed) == 2 })
	if srv.opens() != 2 || st.Restarts != 0 || st.Tools != 1 {
		t.Fatalf("after StartBackend: %d opens, %+v", srv.opens(), st)
	}
	if err := r.StartBackend("srv"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // for a reconnection to show
	if srv.opens() != 2 {
		t.Fatalf("StartBackend on a running backend reconnected it")
	}

	if err := r.RestartBackend("srv"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "reconnect after RestartBackend", func() bool {
		st := r.Backends()[0]
		return srv.opens() == 3 && st.State == StateRunning
	})
	if st := r.Backends()[0]; st.Restarts != 1 {
		t.Fatalf("after RestartBackend: %+v", st)
	}
	// Stop and Start at once: it ends up running.
	if err := r.StopBackend("srv"); err != nil {
		t.Fatal(err)
	}
	if err := r.StartBackend("srv"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "running after stop and start at once", func() bool {
		return srv.opens() == 4 && r.Backends()[0].State == StateRunning
	})
	if st := r.Backends()[1]; st.State != StateRunning || other.opens() != 1 {
		t.Fatalf("the other backend was disturbed: %+v", st)
	}
}

func TestAddRemoveAndDisabledBackends(t *testing.T) {
	t.Parallel()
	keep, extra, off := newFakeServer([]string{tool("a")}), newFakeServer([]string{tool("b"), tool("hang")}), newFakeServer([]string{tool("c")})
	disabled := off.spec("off", true, 0)
	disabled.Disabled = true
	r := New(Options{RestartDelay: 10 * time.Millisecond}, []BackendSpec{keep.spec("keep", true, 0), disabled})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	r.Start(ctx)
	t.Cleanup(r.Close)
	if st := r.Backends()[1]; st.State != StateStopped || st.Reason != DisabledReason || off.opens() != 0 {
		t.Fatalf("disabled backend: %+v, opened %d times", st, off.opens())
	}
	s, sink := newClient(t, r, "2025-06-18", `{}`)
	if err := r.AddBackend(extra.spec("extra", true, 0)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBackend(extra.spec("extra", true, 0)); err == nil {
		t.Fatal("a second backend with the same name was added")
	}
	sink.waitFor(t, "list_changed for the added backend", isNotification("notifications/tools/list_changed"))
	s.Handle(callMsg("1", "mcp__proxy__extra__b", `{}`), nil)
	if code := errorCode(sink.response(t, "1")); code != 0 {
		t.Fatalf("call to the added backend failed: %d", code)
	}
	if err := r.StartBackend("off"); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the disabled backend to start by hand", func() bool { return r.Backends()[1].State == StateRunning })
	s.Handle(callMsg("2", "mcp__proxy__extra__hang", `{}`), nil)
	if err := r.RemoveBackend("extra"); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(sink.response(t, "2")); code != jsonrpc.CodeBackendUnavailable {
		t.Fatalf("an open request on a removed backend: code %d", code)
	}
	if extra.current().gone() == false {
		t.Fatal("the removed backend's connection is still open")
	}
	for _, st := range r.Backends() {
		if st.Name == "extra" {
			t.Fatal("removed backend still listed")
		}
	}
	s.Handle(callMsg("3", "mcp__proxy__keep__a", `{}`), nil)
	if code := errorCode(sink.response(t, "3")); code != 0 {
		t.Fatalf("the untouched backend failed after a removal: %d", code)
	}
}
