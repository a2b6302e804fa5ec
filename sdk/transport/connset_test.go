package transport

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
)

type slowConn struct {
	closed   atomic.Bool
	deadline time.Time
}

func (c *slowConn) Send(context.Context, []byte) error   { return nil }
func (c *slowConn) Recv(context.Context) ([]byte, error) { return nil, ErrClosed }
func (c *slowConn) Close(ctx context.Context) error {
	c.deadline, _ = ctx.Deadline()
	time.Sleep(50 * time.Millisecond) // a peer slow to close is the case under test
	c.closed.Store(true)
	return nil
}

func TestConnSetCloseAll(t *testing.T) {
	t.Parallel()
	var set ConnSet[*slowConn]
	conns := []*slowConn{{}, {}, {}, {}}
	for _, c := range conns {
		set.Add(c)
	}
	set.Remove(conns[3])
	if set.Len() != 3 {
		t.Fatalf("Len = %d, want 3", set.Len())
	}
	deadline := time.Now().Add(time.Minute)
	set.CloseAll(context.Background(), base.StopRequest{DeadlineUnixNano: deadline.UnixNano()})
	for i, c := range conns[:3] {
		if !c.closed.Load() || !c.deadline.Equal(deadline) {
			t.Errorf("conn %d: closed %v, deadline %v (want %v)", i, c.closed.Load(), c.deadline, deadline)
		}
	}
	if conns[3].closed.Load() {
		t.Error("a removed connection was closed")
	}
}
