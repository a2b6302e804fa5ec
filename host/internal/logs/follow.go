package logs

import (
	"context"
	"fmt"
	"sync"
)

// DroppedMarker is the line a follower receives in place of the lines it
// lost by falling more than Options.FollowBuffer lines behind.
func DroppedMarker(n int) string {
	return fmt.Sprintf("... %d lines dropped ...", n)
}

// Follow returns the last fromTail lines of the log and then every line
// written after them, in order, with none repeated or skipped between the
// two, however many rotations happen meanwhile. The channel is closed when
// ctx ends, or when the Manager closes (after the lines already queued).
//
// The caller must keep reading until then, or cancel ctx. A caller that reads
// slowly does not slow writers down: once it is Options.FollowBuffer lines
// behind, further lines are dropped for it and it later receives one
// DroppedMarker line saying how many.
func (l *Log) Follow(ctx context.Context, fromTail int) (<-chan string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := &follower{
		limit: l.m.opts.FollowBuffer,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	// Registering and taking the snapshot under the same lock is what makes
	// the tail and the live lines meet exactly.
	var snap *snapshot
	if fromTail > 0 {
		var err error
		if snap, err = l.snapshot(); err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
	l.followers[f] = struct{}{}
	l.mu.Unlock()

	var tail []string
	if snap != nil {
		var err error
		tail, err = snap.lastLines(fromTail)
		snap.close()
		if err != nil {
			l.unfollow(f)
			return nil, err
		}
	}
	out := make(chan string)
	go l.deliver(ctx, f, tail, out)
	return out, nil
}

func (l *Log) unfollow(f *follower) {
	l.mu.Lock()
	delete(l.followers, f)
	l.mu.Unlock()
}

// follower is one Follow's queue between the writers, which only ever append
// to it under a short lock, and its delivery goroutine, which alone may block
// (on the caller's channel).
type follower struct {
	limit int
	wake  chan struct{} // capacity 1: "the queue may be non-empty"
	done  chan struct{} // closed when the log closes

	mu      sync.Mutex
	queue   []string
	dropped int
}

// push queues lines, counting instead of queueing once the queue is full.
// Drops only happen at the end of a full queue, so the marker that reports
// them belongs right after the queued lines.
func (f *follower) push(lines []string) {
	f.mu.Lock()
	room := max(f.limit-len(f.queue), 0)
	if len(lines) <= room {
		f.queue = append(f.queue, lines...)
	} else {
		f.queue = append(f.queue, lines[:room]...)
		f.dropped += len(lines) - room
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take swaps the queue for spare (an emptied earlier batch, reused so that a
// steady stream does not allocate) and returns it with the drop count.
func (f *follower) take(spare []string) ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	batch, dropped := f.queue, f.dropped
	f.queue, f.dropped = spare[:0], 0
	return batch, dropped
}

func (l *Log) deliver(ctx context.Context, f *follower, tail []string, out chan<- string) {
	defer close(out)
	defer l.unfollow(f)
	send := func(s string) bool {
		select {
		case out <- s:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, s := range tail {
		if !send(s) {
			return
		}
	}
	var spare []string
	closing := false
	for {
		batch, dropped := f.take(spare)
		for _, s := range batch {
			if !send(s) {
				return
			}
		}
		if dropped > 0 && !send(DroppedMarker(dropped)) {
			return
		}
		clear(batch) // let delivered lines be collected
		spare = batch
		if len(batch) > 0 || dropped > 0 {
			continue
		}
		if closing {
			return
		}
		select {
		case <-f.wake:
		case <-f.done:
			// Nothing is pushed after done is closed: one more pass
			// delivers everything.
			closing = true
		case <-ctx.Done():
			return
		}
	}
}
