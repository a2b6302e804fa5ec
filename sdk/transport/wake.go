package transport

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// WakeOnDone lets ctx's end (deadline or cancellation) interrupt one
// blocking read or write on a file or socket, which cannot see ctx itself: a
// deadline in the past wakes it. Call the returned function once the
// operation has returned; it reports whether ctx's end may have cut the
// operation short, and leaves no deadline behind for the next one. A Conn's
// Send and Recv use it to return when their ctx ends, as the Conn contract
// says. setDeadline is the file's or socket's SetWriteDeadline or
// SetReadDeadline (an *os.File must be pollable: opened non-blocking).
func WakeOnDone(ctx context.Context, setDeadline func(time.Time) error) (finish func() (woke bool)) {
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

// lineBatch is the size below which WriteLine copies a message to add its
// newline, so that it goes out in one write.
const lineBatch = 64 << 10

// PrepareSend is what every Send does before it writes: it refuses a msg
// over limit bytes and returns msg compacted to one line, since a newline
// inside would split a line-delimited message, and a server that bridges
// frames to lines expects one message per line. Its errors are Send's own,
// "send: ...".
func PrepareSend(msg []byte, limit int) ([]byte, error) {
	if len(msg) > limit {
		return nil, fmt.Errorf("send: message of %d bytes exceeds the %d byte limit", len(msg), limit)
	}
	msg, err := jsonrpc.Compact(msg)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return msg, nil
}

// WriteLine writes msg and a newline (the stdio framing), a small message
// in one write, and returns how much of the line went out: a Send cut short
// with some of it written has broken the stream.
func WriteLine(w io.Writer, msg []byte) (int, error) {
	if len(msg) < lineBatch {
		line := make([]byte, len(msg)+1)
		copy(line, msg)
		line[len(msg)] = '\n'
		return w.Write(line)
	}
	n, err := w.Write(msg)
	if err != nil {
		return n, err
	}
	m, err := w.Write([]byte{'\n'})
	return n + m, err
}
