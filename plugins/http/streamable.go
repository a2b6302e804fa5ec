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

// Backoff of the GET stream's reconnections.
const (
	minStreamBackoff = 250 * time.Millisecond
	maxStreamBackoff = 10 * time.Second
	// maxStreamFailures is how many reconnections in a row may fail to
	// reach the server before the connection is declared dead.
	maxStreamFailures = 3
)

// sessionRejected reports whether an HTTP error answering a request that
// carried a session id means the server no longer knows the session: 404,
// as the spec says, or a 400 whose body talks about the session id, which is
// what the TypeScript SDK's example servers (server-everything among them)
// answer for a session they do not know, after a restart for instance.
func sessionRejected(status int, body []byte) bool {
	switch status {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		return bytes.Contains(bytes.ToLower(body), []byte("session"))
	}
	return false
}

// readClose reads (a bounded part of) an error body and closes it.
func readClose(body io.ReadCloser) []byte {
	b, _ := io.ReadAll(io.LimitReader(body, errorBodyLimit))
	_ = body.Close()
	return b
}

// handleStreamable delivers the answer to one Streamable HTTP POST.
func (c *conn) handleStreamable(s sent, resp *http.Response, err error) {
	if s.env.Kind == jsonrpc.KindNotification && s.env.Method == "notifications/initialized" && (err != nil || resp.StatusCode/100 != 2) {
		c.streamSettled() // no GET stream is coming: hold nothing back for it
	}
	if err != nil {
		c.requestFailed(s, err)
		return
	}
	ok := resp.StatusCode/100 == 2
	if ok && s.modern != "" {
		c.mu.Lock()
		c.modern = true
		c.mu.Unlock()
	}
	if ok && s.isRequest() && s.env.Method == "initialize" {
		if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
			c.mu.Lock()
			c.sessionID = sid
			c.mu.Unlock()
		}
	}
	if !ok {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		if s.session != "" && sessionRejected(resp.StatusCode, body) {
			c.expire()
			return
		}
		c.httpErrorBody(s, resp, body)
		return
	}
	if s.env.Kind == jsonrpc.KindNotification && s.env.Method == "notifications/initialized" {
		c.startStream()
	}
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent {
		return
	}
	if mediaType(resp.Header) == "text/event-stream" {
		c.readEventStream(s, resp)
		return
	}
	body, ok := c.readBody(s, resp.Body)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if s.isRequest() {
			c.fail(s, jsonrpc.CodeBackendUnavailable, "backend answered the request with an empty body", nil)
		}
		return
	}
	c.deliverBody(body, func(msg []byte) { c.observe(s, msg) })
}

// observe learns from the answer to s: the negotiated protocol version
// from the initialize response, the tools' header parameters from a modern
// tools/list response.
func (c *conn) observe(s sent, msg []byte) {
	learnVersion := s.env.Method == "initialize"
	learnTools := s.env.Method == methodToolsList && s.modern != ""
	if !s.isRequest() || !learnVersion && !learnTools {
		return
	}
	env, err := jsonrpc.Peek(msg)
	if err != nil || env.Kind != jsonrpc.KindResponse || !bytes.Equal(env.ID, s.env.ID) {
		return
	}
	if learnTools {
		c.learnToolHeaders(msg)
		return
	}
	if v, ok := jsonrpc.GetString(msg, "result.protocolVersion"); ok && v != "" {
		c.mu.Lock()
		c.protocolVersion = v
		c.mu.Unlock()
	}
}

// readEventStream delivers every message of a POST's SSE answer, in order.
// If the stream ends without the response to s, the stream of a request of
// the initialize era whose events carry ids is resumed (see resume);
// otherwise s is answered with an error.
func (c *conn) readEventStream(s sent, resp *http.Response) {
	var r *resumption
	if s.isRequest() && s.modern == "" {
		r = c.watch(s)
		defer c.unwatch(s, r)
	}
	st := &streamState{}
	err := c.readEvents(s, resp.Body, st, false)
	if st.answered || !s.isRequest() || c.ctx.Err() != nil || c.stopped(r) {
		return
	}
	switch {
	case st.tooLarge:
		c.fail(s, jsonrpc.CodeMessageTooLarge, fmt.Sprintf("backend's answer exceeds the %d byte message limit", c.limit), nil)
	case r != nil && st.lastID != "" && resp.Request.Context().Err() == nil:
		_ = resp.Body.Close()
		c.resume(resp.Request.Context(), s, r, st, err)
	case errors.Is(resp.Request.Context().Err(), context.DeadlineExceeded):
		c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend did not answer within request_timeout (%s)", c.o.requestTimeout), nil)
	default:
		c.fail(s, jsonrpc.CodeBackendUnavailable, fmt.Sprintf("backend's event stream ended before the response (%v)", err), nil)
	}
}

// startStream opens the GET stream for server-initiated messages, once.
func (c *conn) startStream() {
	c.mu.Lock()
	started := c.streamStarted
	c.streamStarted = true
	c.mu.Unlock()
	if !started && !c.goAsync(c.listen) {
		c.streamSettled()
	}
}

// streamOpenWait bounds how long requests wait for the GET stream to open
// after initialization (see awaitStream).
const streamOpenWait = 2 * time.Second

// awaitStream holds a message of the initialize era back, once the
// initialized notification has gone out, until the GET stream has been
// answered (or will not be), for at most streamOpenWait. Servers send
// messages that belong to no request on that stream, and some drop those
// sent while it is not open: the request for input a tool makes of the
// client, say, when the tool is called right after initialization.
func (c *conn) awaitStream(ctx context.Context) error {
	c.mu.Lock()
	wait := c.streamWait
	c.mu.Unlock()
	if wait == nil {
		return nil
	}
	select {
	case <-wait:
		return nil
	default:
	}
	t := time.NewTimer(min(streamOpenWait, c.o.connectTimeout))
	defer t.Stop()
	select {
	case <-wait:
	case <-t.C:
		c.logger.Debug("the GET stream is not open yet; sending anyway")
		c.streamSettled()
	case <-c.done:
		return c.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// expectStream starts holding messages back for the GET stream, as the
// initialized notification goes out.
func (c *conn) expectStream() {
	c.mu.Lock()
	if c.streamWait == nil {
		c.streamWait = make(chan struct{})
	}
	c.mu.Unlock()
}

// streamSettled lets the messages held back for the GET stream go.
func (c *conn) streamSettled() {
	c.mu.Lock()
	if c.streamWait != nil && !c.streamWaitDone {
		close(c.streamWait)
		c.streamWaitDone = true
	}
	c.mu.Unlock()
}

// listen keeps the GET stream open while the connection lives,
// reconnecting with Last-Event-ID when it drops: no sooner than the
// server's retry interval (the last one it set, on any connection of this
// stream), and with backoff when reconnecting fails. A server that does
// not offer the stream (405) is fine; one whose session is gone (404) or
// that cannot be reached any more ends the connection.
func (c *conn) listen() {
	backoff := minStreamBackoff
	failures := 0
	var lastID string
	var retry time.Duration
	for c.ctx.Err() == nil {
		req, sid := c.streamableRequest(http.MethodGet, sent{})
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := c.client.Do(req)
		// Whatever the answer, the requests held back for it may go.
		c.streamSettled()
		switch {
		case err != nil:
			if c.ctx.Err() != nil {
				return
			}
			if failures++; failures >= maxStreamFailures {
				c.requestFailed(sent{}, err)
				return
			}
		case resp.StatusCode == http.StatusMethodNotAllowed:
			_ = resp.Body.Close()
			c.logger.Debug("server offers no GET stream")
			return
		case resp.StatusCode/100 == 4 && sid != "" && sessionRejected(resp.StatusCode, readClose(resp.Body)):
			c.expire()
			return
		case resp.StatusCode == http.StatusOK && mediaType(resp.Header) == "text/event-stream":
			failures, backoff = 0, minStreamBackoff
			r := newSSEReader(resp.Body, c.limit)
			r.LastID, r.Retry = lastID, retry
			for {
				ev, err := r.Next()
				lastID, retry = r.LastID, r.Retry
				if err != nil {
					break
				}
				switch {
				case ev.Type != "message":
				case ev.TooLarge:
					c.logger.Warn("discarded oversized message from backend", "bytes", ev.Size, "limit", c.limit)
				default:
					c.deliverBody(ev.Data, c.answeredElsewhere)
				}
			}
			_ = resp.Body.Close()
			if c.ctx.Err() != nil {
				return
			}
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests:
			_ = resp.Body.Close()
			c.logger.Debug("GET stream refused; retrying", "status", resp.StatusCode)
		default:
			_ = resp.Body.Close()
			c.logger.Debug("server refused the GET stream", "status", resp.StatusCode)
			return
		}
		delay := backoff
		if retry > 0 {
			delay = max(delay, retryDelay(retry))
		}
		c.logger.Debug("GET stream ended; reconnecting", "in", delay)
		c.m.streamReconnects.Inc()
		t := time.NewTimer(delay)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxStreamBackoff)
	}
}
