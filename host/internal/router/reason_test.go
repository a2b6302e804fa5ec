package router

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mcphost/mcphost/sdk/transport"
)

// TestInitClosedReason: a connection that ended before initialize was
// answered reads as its cause, with when it happened for an exit.
func TestInitClosedReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cause error
		want  string
	}{
		{name: "exit with stderr", cause: fmt.Errorf("%w: %w", transport.ErrClosed, &transport.ExitError{Status: "exited with status 3", Stderr: "oops"}),
			want: "exited with status 3 before answering initialize; last stderr: oops"},
		{name: "exit without stderr", cause: fmt.Errorf("%w: %w", transport.ErrClosed, &transport.ExitError{Status: "killed by signal 9 (killed)"}),
			want: "killed by signal 9 (killed) before answering initialize"},
		{name: "refused", cause: fmt.Errorf("%w: connection refused (http://h/mcp)", transport.ErrClosed),
			want: "connection refused (http://h/mcp)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := fmt.Errorf("initialize: %w", &initClosedError{cause: tt.cause})
			if got := reasonOf(err); got != tt.want {
				t.Errorf("reasonOf = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, transport.ErrClosed) {
				t.Error("the cause is not kept")
			}
		})
	}
}
