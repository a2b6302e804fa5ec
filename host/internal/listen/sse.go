package listen

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// sseKeepalive is how often an idle event stream gets a comment line, so
// that intermediaries keep it open.
const sseKeepalive = 20 * time.Second

// legacySession is one client of the HTTP+SSE transport (MCP 2024-11-05):
// everything the proxy sends it, responses included, goes onto its GET
// stream as an `event: message`, taken off the router session's outbox.
type legacySession struct {
	id string
	s  *router.Session
	// owner is the identity of the token that opened the stream (see
	// caller.owner): only it may post to the session.
	owner string
	once  sync.Once
}

func (s *legacySession) close() { s.once.Do(s.s.Close) }

// serveSSE opens a legacy session: its stream starts with the endpoint
// event naming where the client POSTs, and the session lasts as long as
// the stream.
func (h *HTTP) serveSSE(w http.ResponseWriter, r *http.Request) {
	c, ok := h.admit(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		httpError(w, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "Method not allowed: open the event stream with GET")
		return
	}
	h.mu.Lock()
	full := h.full(w, "sse")
	h.mu.Unlock()
	if full {
		return
	}
	rs := h.openSession(w, "sse", c)
	if rs == nil {
		return
	}
	// The router's session id is the sessionId clients POST with (as for
	// streamable HTTP's Mcp-Session-Id).
	sess := &legacySession{id: rs.ID(), s: rs, owner: c.owner()}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		sess.close()
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError, "shutting down")
		return
	}
	h.legacy[sess.id] = sess
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.legacy, sess.id)
		h.mu.Unlock()
		sess.close()
	}()

	defer abortWritesOnShed(w, sess.s)()
	// In a header too, where a load balancer can learn it and send the
	// session's POSTs to this instance.
	w.Header().Set("Mcp-Session-Id", sess.id)
	startEventStream(w)
	flusher, _ := w.(http.Flusher)
	endpoint := h.opts.MessagePath
	if c.profile != "" {
		endpoint = profilePath(endpoint) + c.profile
	}
	endpoint += "?sessionId=" + url.QueryEscape(sess.id)
	if _, err := io.WriteString(w, "event: endpoint\ndata: "+endpoint+"\n\n"); err != nil {
		return
	}
	if flusher != nil {
		flusher.Flush()
	}
	keepalive := time.NewTicker(h.opts.keepAlive)
	defer keepalive.Stop()
	out := sess.s.Outbox()
	for {
		select {
		case <-out.Ready():
			if writeWaiting(w, out, nil) != nil {
				return
			}
		case <-sess.s.Done():
			// Ended by the router (the client stopped reading) or shut down.
			return
		case <-keepalive.C:
			if _, err := io.WriteString(w, keepAliveComment); err != nil {
				return
			}
		case <-h.stop:
			return
		case <-r.Context().Done():
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// serveMessage takes one POSTed message (or batch) for a legacy session.
// Its answers go to the session's stream, so the POST itself is only
// acknowledged.
func (h *HTTP) serveMessage(w http.ResponseWriter, r *http.Request) {
	c, ok := h.admit(w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "Method not allowed: POST messages here")
		return
	}
	id := r.URL.Query().Get("sessionId")
	if id == "" {
		httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "Bad Request: the sessionId query parameter is required")
		return
	}
	h.mu.Lock()
	sess := h.legacy[id]
	h.mu.Unlock()
	if sess == nil || sess.owner != c.owner() {
		httpError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "Session not found")
		return
	}
	body, env, ok := h.readMessage(w, r)
	if !ok || !h.authorize(w, c, sess.s, env, body) {
		return
	}
	sess.s.HandlePeeked(env, body, nil)
	w.WriteHeader(http.StatusAccepted)
}
