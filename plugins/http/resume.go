package httptransport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Resumability (2025-03-26 to 2025-11-25). A server may give the events of
// an SSE stream ids, and may end the stream of a POST's answer before the
// response (2025-11-25's SSE polling does it on purpose, after a priming
// event carrying an id and a retry field). The client then resumes that
// stream with a GET on the MCP endpoint carrying Last-Event-ID, no sooner
// than the server's retry interval, and the server replays what the stream
// would have carried. The 2026-07-28 revision has no resumption: a modern
// request whose stream ends is answered with an error.

const (
	// defaultRetry is the reconnection delay when the server set none.
	defaultRetry = minStreamBackoff
	// maxRetry caps the server's retry field, which could otherwise hold
	// a request (or the GET stream) back for days.
	maxRetry = 30 * time.Second
)

// retryDelay is how long to wait before reconnecting when the server's
// retry field asked for d (0 when it set none).
func retryDelay(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return defaultRetry
	case d > maxRetry:
		return maxRetry
	}
	return d
}

// streamState is what the reader of one request's answer keeps across the
// POST's event stream and the GETs that resume it.
type streamState struct {
	// lastID is the last event id seen, retry the server's last retry
	// field (0 for none): both persist across reconnections.
	lastID string
	retry  time.Duration
	// answered is set once the response to the request has come.
	answered bool
	// tooLarge is set when an event was over the message limit.
	tooLarge bool
	// events counts the events read on the current connection.
	events int
}

// readEvents delivers the messages of one connection's event stream, in
// order, until it ends, and returns what ended it (io.EOF for a clean
// end). With stopWhenAnswered it returns nil as soon as the response to s
// has come.
func (c *conn) readEvents(s sent, body io.Reader, st *streamState, stopWhenAnswered bool) error {
	r := newSSEReader(body, c.limit)
	r.LastID, r.Retry = st.lastID, st.retry
	st.events = 0
	for {
		ev, err := r.Next()
		st.lastID, st.retry = r.LastID, r.Retry
		if err != nil {
			return err
		}
		st.events++
		if ev.Type != "message" {
			continue
		}
		if ev.TooLarge {
			c.logger.Warn("discarded oversized message from backend", "bytes", ev.Size, "limit", c.limit)
			st.tooLarge = true
			continue
		}
		c.deliverBody(ev.Data, func(msg []byte) {
			c.observe(s, msg)
			if !st.answered && s.isRequest() && isResponseTo(msg, s.env.ID) {
				st.answered = true
			}
		})
		if st.answered && stopWhenAnswered {
			return nil
		}
	}
}

// isResponseTo reports whether msg is the response to the request id.
func isResponseTo(msg, id []byte) bool {
	env, err := jsonrpc.Peek(msg)
	return err == nil && env.Kind == jsonrpc.KindResponse && bytes.Equal(env.ID, id)
}

// resumption is a request of the initialize era whose answer is coming on
// an event stream, which may have to be resumed. Its fields are guarded by
// the connection's mutex.
type resumption struct {
	// stopped is set when the host cancelled the request or its response
	// came on another stream: its stream is not to be resumed.
	stopped bool
	// cancel stops the resumption going on, if any.
	cancel context.CancelFunc
}

// watch registers s, whose answer is an event stream, so that a
// cancellation can stop its resumption, even before it starts.
func (c *conn) watch(s sent) *resumption {
	r := &resumption{}
	c.mu.Lock()
	c.resuming[string(s.env.ID)] = r
	c.mu.Unlock()
	return r
}

// unwatch forgets s once its answer has been handled.
func (c *conn) unwatch(s sent, r *resumption) {
	c.mu.Lock()
	if c.resuming[string(s.env.ID)] == r {
		delete(c.resuming, string(s.env.ID))
	}
	c.mu.Unlock()
}

// resume resumes the answer stream of request s, which ended before the
// response, until the response comes: it waits the retry interval, GETs
// the MCP endpoint with Last-Event-ID, and reads that stream, again after
// each drop. ctx is the request's context (request_timeout, the
// connection's end). The request is answered with an error when the
// server refuses, cannot be reached or drops the stream too often without
// sending anything; not when the host cancels it, or when its response
// comes on the GET stream instead.
func (c *conn) resume(ctx context.Context, s sent, r *resumption, st *streamState, ended error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	stopped := r.stopped
	r.cancel = cancel
	c.mu.Unlock()
	if stopped {
		return
	}

	failures := 0
	for {
		delay := retryDelay(st.retry)
		c.logger.Debug("a request's event stream ended before its response; resuming it",
			"method", s.env.Method, "ended", ended, "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-rctx.Done():
			t.Stop()
			c.resumeStopped(ctx, s)
			return
		case <-t.C:
		}
		c.m.streamReconnects.Inc()
		req, sid := c.streamableRequest(http.MethodGet, sent{})
		req = req.WithContext(rctx)
		req.Header.Set("Last-Event-ID", st.lastID)
		resp, err := c.client.Do(req)
		switch {
		case err != nil:
			if rctx.Err() != nil {
				c.resumeStopped(ctx, s)
				return
			}
			ended = err
		case resp.StatusCode == http.StatusOK && mediaType(resp.Header) == "text/event-stream":
			before := st.lastID
			err := c.readEvents(s, resp.Body, st, true)
			_ = resp.Body.Close()
			switch {
			case st.answered:
				c.logger.Debug("resumed a request's event stream", "method", s.env.Method)
				return
			case rctx.Err() != nil:
				c.resumeStopped(ctx, s)
				return
			case st.tooLarge:
				c.fail(s, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("backend's answer exceeds the %d byte message limit", c.limit), nil)
				return
			}
			if st.events > 0 || st.lastID != before {
				failures = 0 // the server is sending: not a failure
			}
			ended = err
		case resp.StatusCode == http.StatusMethodNotAllowed:
			_ = resp.Body.Close()
			c.fail(s, jsonrpc.CodeBackendUnavailable, "backend's event stream ended before the response, and the server offers no GET stream to resume it (HTTP 405)", nil)
			return
		case resp.StatusCode/100 == 4 && sid != "" && sessionRejected(resp.StatusCode, readClose(resp.Body)):
			c.expire()
			return
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
			_ = resp.Body.Close()
			ended = fmt.Errorf("HTTP %s", resp.Status)
		default:
			_ = resp.Body.Close()
			c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend's event stream ended before the response, and the server refused to resume it (HTTP %s)", resp.Status),
				map[string]int{"status": resp.StatusCode})
			return
		}
		if failures++; failures >= maxStreamFailures {
			c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend's event stream ended before the response, and resuming it failed %d times (%v)", failures, ended), nil)
			return
		}
	}
}

// resumeStopped answers a request whose resumption was stopped: with a
// timeout error when request_timeout ran out; with nothing when the host
// cancelled it, its response came on another stream, or the connection is
// ending.
func (c *conn) resumeStopped(ctx context.Context, s sent) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.ctx.Err() == nil {
		c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend did not answer within request_timeout (%s)", c.o.requestTimeout), nil)
	}
}

// stopped reports whether r (nil for none) was stopped: the host gave up
// on the request, or its answer came on another stream.
func (c *conn) stopped(r *resumption) bool {
	if r == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return r.stopped
}

// stopResume marks the request id as not to be resumed, and stops its
// resumption if one is going on.
func (c *conn) stopResume(id []byte) {
	if len(id) == 0 {
		return
	}
	c.mu.Lock()
	var cancel context.CancelFunc
	if r := c.resuming[string(id)]; r != nil {
		r.stopped = true
		cancel = r.cancel
	}
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// answeredElsewhere stops the resumption of a request whose response came
// on the GET stream, as a server that keeps no per-stream history may send
// it.
func (c *conn) answeredElsewhere(msg []byte) {
	c.mu.Lock()
	n := len(c.resuming)
	c.mu.Unlock()
	if n == 0 {
		return
	}
	if env, err := jsonrpc.Peek(msg); err == nil && env.Kind == jsonrpc.KindResponse {
		c.stopResume(env.ID)
	}
}
