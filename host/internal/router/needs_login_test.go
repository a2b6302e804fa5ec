package router

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// loginGate opens srv once signedIn is set; before, it fails as a
// transport does when a person must sign in first.
type loginGate struct {
	srv      *fakeServer
	signedIn atomic.Bool
	tries    atomic.Int32
}

func (g *loginGate) open(ctx context.Context) (transport.Conn, error) {
	g.tries.Add(1)
	if !g.signedIn.Load() {
		return nil, fmt.Errorf("http: %w", &oauth.NeedsLoginError{Server: "hosted", Reason: "no token stored"})
	}
	return g.srv.open(ctx)
}

func TestNeedsLoginBackend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryDelay time.Duration
		// signIn signs in and makes the router notice.
		signIn func(t *testing.T, r *Router, g *loginGate)
	}{
		{"retried every LoginRetryDelay without counting restarts", 5 * time.Millisecond, func(t *testing.T, r *Router, g *loginGate) {
			// Each try passes through starting; wait for the state it
			// settles in after the fourth.
			poll.Until(t, "needs_login after several tries", func() bool {
				return g.tries.Load() >= 4 && r.Backends()[0].State == StateNeedsLogin
			})
			if st := r.Backends()[0]; st.Restarts != 0 {
				t.Fatalf("after %d tries: %+v, want no restarts counted", g.tries.Load(), st)
			}
			g.signedIn.Store(true)
		}},
		{"tried at once on RestartBackend", time.Hour, func(t *testing.T, r *Router, g *loginGate) {
			g.signedIn.Store(true)
			if err := r.RestartBackend("hosted"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &loginGate{srv: newFakeServer([]string{tool("search")})}
			hosted := g.srv.spec("hosted", true, 0)
			hosted.Open = g.open
			// A restart limit of one would fail the backend at its second
			// try if needs_login counted.
			hosted.Restart = RestartPolicy{InitialDelay: time.Millisecond, MaxRestarts: 1, Window: time.Hour}
			other := newFakeServer([]string{tool("echo")})
			r := startLoose(t, Options{LoginRetryDelay: tt.retryDelay}, hosted, other.spec("local", true, 0))

			st := waitState(t, r, 0, StateNeedsLogin)
			if !strings.Contains(st.Reason, "mcphost auth login hosted") || !strings.Contains(st.LastError, "no token stored") || st.NextAttempt.IsZero() {
				t.Fatalf("needs_login status: %+v", st)
			}
			// The other server keeps working meanwhile.
			waitState(t, r, 1, StateRunning)
			s, sink := newClient(t, r, v0618, `{}`)
			s.Handle(callMsg("1", "mcp__proxy__local__echo", `{}`), nil)
			if resp := sink.response(t, "1"); errorCode(resp) != 0 {
				t.Fatalf("call to the other server: %s", resp)
			}

			tt.signIn(t, r, g)
			st = waitState(t, r, 0, StateRunning)
			if st.Tools != 1 {
				t.Fatalf("signed-in status: %+v", st)
			}
			s.Handle(callMsg("2", "mcp__proxy__hosted__search", `{}`), nil)
			if resp := sink.response(t, "2"); errorCode(resp) != 0 {
				t.Fatalf("call once signed in: %s", resp)
			}
		})
	}
}
