package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/oauth"
)

func TestReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "plugin error over gRPC", err: fmt.Errorf("open: %w", fromStatus(status.Error(codes.Unknown, `command "ghost" not found in PATH`))),
			want: `command "ghost" not found in PATH`},
		{name: "exit detail", err: fmt.Errorf("recv: %w", closedError("exited with status 3; last stderr: oops | again")),
			want: "exited with status 3; last stderr: oops | again"},
		{name: "signal without stderr", err: closedError("killed by signal 9 (killed)"), want: "killed by signal 9 (killed)"},
		{name: "other close detail", err: fmt.Errorf("initialize: send: %w", closedError("connection refused (http://h/mcp)")),
			want: "connection refused (http://h/mcp)"},
		{name: "plain", err: errors.New("something else"), want: "something else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Reason(tt.err); got != tt.want {
				t.Errorf("Reason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClosedErrorParsesExit(t *testing.T) {
	t.Parallel()
	err := closedError("exited with status 3; last stderr: oops")
	var exit *ExitError
	if !errors.Is(err, ErrClosed) || !errors.As(err, &exit) || exit.Status != "exited with status 3" || exit.Stderr != "oops" {
		t.Fatalf("closedError = %v (%+v)", err, exit)
	}
	if err := closedError("plugin data socket closed"); !errors.Is(err, ErrClosed) || errors.As(err, &exit) {
		t.Fatalf("closedError = %v, want no ExitError", err)
	}
}

func TestFromStatus(t *testing.T) {
	t.Parallel()
	if err := fromStatus(status.Error(codes.DeadlineExceeded, "slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DeadlineExceeded = %v", err)
	}
	if err := fromStatus(status.Error(codes.Canceled, "gone")); !errors.Is(err, context.Canceled) {
		t.Errorf("Canceled = %v", err)
	}
	var pe *PluginError
	if err := fromStatus(status.Error(codes.Unknown, "plain words")); !errors.As(err, &pe) || err.Error() != "plain words" {
		t.Errorf("Unknown = %v", err)
	}
	plain := errors.New("not a status")
	if fromStatus(plain) != plain || fromStatus(nil) != nil {
		t.Error("a non-status error changed")
	}
}

// A NeedsLoginError crosses the plugin boundary as text, as a close detail
// or an Open error (the plugin may wrap it), and is recognised again.
func TestNeedsLoginCrossesAsText(t *testing.T) {
	t.Parallel()
	sent := &oauth.NeedsLoginError{Server: "linear", Reason: "no token stored"}
	tests := []struct {
		name string
		err  error
	}{
		{"close detail", fmt.Errorf("initialize: %w", closedError(closedDetail(fmt.Errorf("%w: %w", ErrClosed, sent))))},
		{"open error", fmt.Errorf("open: %w", fromStatus(status.Error(codes.Unknown, "websocket linear: "+sent.Error())))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *oauth.NeedsLoginError
			if !errors.As(tt.err, &got) || got.Server != sent.Server || got.Reason != sent.Reason {
				t.Fatalf("errors.As(%v) = %+v, want %+v", tt.err, got, sent)
			}
			if reason := Reason(tt.err); !strings.Contains(reason, sent.Error()) {
				t.Errorf("Reason = %q, want it to hold %q", reason, sent.Error())
			}
		})
	}
	for _, msg := range []string{"connection refused", "the server said: needs login", "xneeds login: a; run: mcphost auth login b"} {
		var nle *oauth.NeedsLoginError
		if errors.As(closedError(msg), &nle) || errors.As(fromStatus(status.Error(codes.Unknown, msg)), &nle) {
			t.Errorf("%q was taken for a NeedsLoginError", msg)
		}
	}
}
