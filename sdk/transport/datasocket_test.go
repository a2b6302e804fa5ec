//go:build linux

// Built where pipes_test.go is: it serves with that file's gRPC harness.

package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// failingConn refuses every Send with ErrClosed, as a backend that has
// gone does. With exits set, its Recv then ends with an exit status, as a
// stdio child's does; without, Recv waits for its ctx, as a faulty
// transport's might.
type failingConn struct {
	exits      bool
	sendFailed chan struct{}
	once       sync.Once
}

func (c *failingConn) Send(context.Context, []byte) error {
	c.once.Do(func() { close(c.sendFailed) })
	return fmt.Errorf("send: %w: broken pipe", ErrClosed)
}

func (c *failingConn) Recv(ctx context.Context) ([]byte, error) {
	if c.exits {
		select {
		case <-c.sendFailed:
			return nil, fmt.Errorf("%w: exit status 7", ErrClosed)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *failingConn) Close(context.Context) error { return nil }

// TestDataSocketAfterAFailedSend: once the plugin's Send fails because the
// backend has gone, the host still learns why from Recv, and a Recv that
// never ends by itself is cut after a while.
func TestDataSocketAfterAFailedSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		exits bool
		want  string
	}{
		{"the backend's exit status", true, "exit status 7"},
		{"a Recv that would never end", false, "broken pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.exits && testing.Short() {
				t.Skipf("skipped under -short: waits out goneWait (%v) for Recv to be cut", goneWait)
			}
			conn := &failingConn{exits: tt.exits, sendFailed: make(chan struct{})}
			client := serveGRPC(t, &fakeTransport{conn: func() Conn { return conn }})
			client.NoPipes = true
			ctx := ctxTimeout(t)
			r, err := client.Open(ctx, OpenRequest{Name: "gone"})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Conn.Close(ctx)
			if err := r.Conn.Send(ctx, []byte(`{"jsonrpc":"2.0","method":"x"}`)); err != nil {
				t.Fatal(err)
			}
			_, err = r.Conn.Recv(ctx)
			if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Recv = %v, want ErrClosed with %q", err, tt.want)
			}
		})
	}
}
