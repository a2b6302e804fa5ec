package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Retry delays of a tracing plugin that cannot be used: doubling from the
// first to the last.
const (
	tracingRetryFirst = time.Second
	tracingRetryMax   = 30 * time.Second
	// tracingAttemptTimeout bounds one attempt to start the plugins.
	tracingAttemptTimeout = 30 * time.Second
)

// tracingHealth is whether context tracing can be used, and why not.
type tracingHealth struct {
	mu          sync.Mutex
	up          bool
	reason      string
	since       time.Time
	failures    int
	nextAttempt time.Time
	// upFlag mirrors up for the message path (Tracer.Traced).
	upFlag atomic.Bool
	// weighsItself: the tracing plugin weighs through the host.
	weighsItself atomic.Bool
	// operatorLatest: the tracing plugin resolves an operator's "latest"
	// itself, over every copy sharing its store.
	operatorLatest atomic.Bool
	// retry wakes the supervisor (one pending wake is enough).
	retry chan struct{}
}

func newTracingHealth() *tracingHealth {
	return &tracingHealth{retry: make(chan struct{}, 1)}
}

func (h *tracingHealth) isUp() bool { return h.upFlag.Load() }

func (h *tracingHealth) state() (up bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up, h.reason
}

// setUp marks tracing up and says whether it was down.
func (h *tracingHealth) setUp() (wasDown bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wasDown = !h.up && !h.since.IsZero()
	h.up, h.reason, h.since, h.failures, h.nextAttempt = true, "", time.Now(), 0, time.Time{}
	h.upFlag.Store(true)
	return wasDown
}

// setDown marks tracing down for reason and says whether it was up.
func (h *tracingHealth) setDown(reason string) (wasUp bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wasUp = h.up || h.since.IsZero()
	if wasUp {
		h.since = time.Now()
	}
	h.up, h.reason = false, reason
	h.failures++
	h.upFlag.Store(false)
	return wasUp
}

func (h *tracingHealth) setNextAttempt(at time.Time) {
	h.mu.Lock()
	h.nextAttempt = at
	h.mu.Unlock()
}

// TracingStatus is context tracing's state, for the admin API.
type TracingStatus struct {
	Up          bool
	Reason      string
	Since       time.Time
	Failures    int
	NextAttempt time.Time
}

func (h *tracingHealth) status() TracingStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return TracingStatus{Up: h.up, Reason: h.reason, Since: h.since, Failures: h.failures, NextAttempt: h.nextAttempt}
}

// tracingFailed marks tracing down for err, says so in the log when it
// was up, and wakes the supervisor to retry.
func (p *Proxy) tracingFailed(err error) {
	if p.tracingHealth.setDown(err.Error()) {
		p.log.Warn("context tracing is down; serving MCP without it and retrying in the background", "error", err)
	}
	select {
	case p.tracingHealth.retry <- struct{}{}:
	default:
	}
}

// superviseTracing retries a tracing that is down, with backoff, until it
// comes up; then it waits for the next failure; until ctx ends.
func (p *Proxy) superviseTracing(ctx context.Context) {
	h := p.tracingHealth
	for {
		if h.isUp() {
			select {
			case <-ctx.Done():
				return
			case <-h.retry:
			}
			continue // the wake may be stale: check again
		}
		for delay := tracingRetryFirst; !h.isUp(); delay = min(delay*2, tracingRetryMax) {
			h.setNextAttempt(time.Now().Add(delay))
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			attemptCtx, cancel := context.WithTimeout(ctx, tracingAttemptTimeout)
			err := p.connectTracing(attemptCtx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				h.setDown(err.Error())
				p.log.Debug("context tracing still down", "error", err, "retry_in", min(delay*2, tracingRetryMax))
				continue
			}
			if h.setUp() {
				p.log.Info("context tracing is up again")
				// Its tools and resources, unlisted or stale while down.
				p.tracer.ListsChanged()
			}
		}
	}
}
