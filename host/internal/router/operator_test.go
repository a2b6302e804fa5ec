package router

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// recTracer records the sessions of traced results and closed sessions.
type recTracer struct {
	mu             sync.Mutex
	traced, closed []string
}

func (r *recTracer) ContextID(server, method, name, uri string, args []byte) string { return "ctx" }

func (r *recTracer) TraceResponse(params []byte) string { return "" }

func (r *recTracer) Traced(session, server, method, name, uri, contextID, response string, args, result []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.traced = append(r.traced, session)
	return nil
}

func (r *recTracer) SessionProfile(session, profile string) {}

func (r *recTracer) SessionClosed(session string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, session)
}

func (r *recTracer) snapshot() (traced, closed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.traced...), append([]string(nil), r.closed...)
}

func TestOperatorRequest(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo"), tool("hang")})
	tr := &recTracer{}
	r := startRouter(t, Options{Tracer: tr}, srv.spec("srv", true, 0))

	tests := []struct {
		name, method, params string
		timeout              time.Duration
		wantResult           string // a substring of the response's result
		wantCode             int    // a JSON-RPC error code instead
		wantErr              bool   // no response at all
	}{
		{name: "tool call", method: "tools/call", params: `{"name":"mcp__proxy__srv__echo","arguments":{"x":"hi"}}`,
			wantResult: `"x":"hi"`},
		{name: "unknown tool", method: "tools/call", params: `{"name":"nope","arguments":{}}`, wantCode: jsonrpc.CodeInvalidParams},
		{name: "unknown prompt", method: "prompts/get", params: `{"name":"nope"}`, wantCode: jsonrpc.CodeInvalidParams},
		{name: "not an operator method", method: "tools/list", params: `{}`, wantErr: true},
		{name: "no answer in time", method: "tools/call", params: `{"name":"mcp__proxy__srv__hang","arguments":{}}`,
			timeout: 100 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = waitTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			resp, err := r.OperatorRequest(ctx, tt.method, []byte(tt.params))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %s, want an error", resp)
				}
				if tt.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a deadline", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != 0 {
				if got := errorCode(resp); got != tt.wantCode {
					t.Fatalf("error code %d, want %d: %s", got, tt.wantCode, resp)
				}
				return
			}
			if res := jsonrpc.Get(resp, "result"); !strings.Contains(string(res), tt.wantResult) {
				t.Fatalf("result %s lacks %s", res, tt.wantResult)
			}
		})
	}
	t.Run("traced as an operator's and closed", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := r.OperatorRequest(ctx, "tools/call", []byte(`{"name":"mcp__proxy__srv__echo","arguments":{"x":"traced"}}`)); err != nil {
			t.Fatal(err)
		}
		traced, closed := tr.snapshot()
		if len(traced) == 0 {
			t.Fatal("nothing traced")
		}
		for _, s := range traced {
			if !tracing.IsOperatorCall(s) || len(s) != len(tracing.OperatorCallPrefix)+SessionIDLen {
				t.Errorf("traced session %q is not an operator call's", s)
			}
		}
		// The session is closed once the answer is taken, which ends its
		// traced response.
		for _, s := range traced {
			found := false
			for _, c := range closed {
				found = found || c == s
			}
			if !found {
				t.Errorf("session %q was traced but not closed (closed: %v)", s, closed)
			}
		}
	})
}

func TestOperatorSessionsAreClosed(t *testing.T) {
	t.Parallel()
	srv := newFakeServer([]string{tool("echo")})
	r := startRouter(t, Options{}, srv.spec("srv", true, 0))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for range 3 {
		if _, err := r.OperatorRequest(ctx, "tools/call", []byte(`{"name":"mcp__proxy__srv__echo","arguments":{}}`)); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.SessionCount(); n != 0 {
		t.Fatalf("%d sessions open after the requests, want 0", n)
	}
}
