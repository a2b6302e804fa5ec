package transport

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// wakeOnDone lets ctx's end (deadline or cancellation) interrupt one
// blocking read or write on a file or socket, which cannot see ctx itself: a
// deadline in the past wakes it. Call the returned function once the
// operation has returned; it reports whether ctx's end may have cut the
// operation short, and leaves no deadline behind for the next one.
func wakeOnDone(ctx context.Context, setDeadline func(time.Time) error) (finish func() (woke bool)) {
	if ctx.Done() == nil {
		return func() bool { return false }
	}
	var mu sync.Mutex
	finished, woke := false, false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		// A wake-up that comes after the operation must not leave a
		// deadline behind to fail the next one.
		if !finished {
			woke = true
			_ = setDeadline(time.Now())
		}
	})
	return func() bool {
		stop()
		mu.Lock()
		defer mu.Unlock()
		finished = true
		if woke {
			_ = setDeadline(time.Time{})
		}
		return woke
	}
}

// sendLock is a lock whose waiters give up when their ctx ends, so that a
// sender stuck behind another stuck sender returns in time too.
type sendLock chan struct{}

func newSendLock() sendLock { return make(sendLock, 1) }

func (l sendLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for another send: %w", ctx.Err())
	}
}

func (l sendLock) unlock() { <-l }
