package listen

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// 2026-07-28 streamable HTTP is stateless: no initialize and no session id;
// each POST carries one message with its metadata, and the protocol version,
// method and name are repeated in headers (checked against the body). The
// listener serves both eras on one endpoint: a POST is modern when its
// MCP-Protocol-Version header says so, or, without the header and without
// a session, when its body carries modern request metadata.

// codeHeaderMismatch is 2026-07-28's error for routing headers that
// disagree with the body.
const codeHeaderMismatch = -32020

var modernMetaKey = []byte(`io.modelcontextprotocol/protocolVersion`)

// isModernPost says whether a POST is a 2026-07-28 message.
func isModernPost(r *http.Request, body []byte, env jsonrpc.Envelope) bool {
	if v := r.Header.Get("MCP-Protocol-Version"); v != "" {
		return v == router.ModernVersion
	}
	if r.Header.Get("Mcp-Session-Id") != "" || env.Method == "initialize" {
		return false
	}
	if env.Method == "server/discover" {
		return true
	}
	meta := jsonrpc.Get(body, "params._meta") // not the arguments, which may be large
	return meta != nil && bytes.Contains(meta, modernMetaKey)
}

// isModernRequest says whether a GET or DELETE speaks 2026-07-28, which
// has neither.
func isModernRequest(r *http.Request) bool {
	return r.Header.Get("MCP-Protocol-Version") == router.ModernVersion
}

// nameParam is the member Mcp-Name must repeat, by method.
var nameParam = map[string]string{"tools/call": "params.name", "prompts/get": "params.name", "resources/read": "params.uri"}

// checkRoutingHeaders compares Mcp-Method and Mcp-Name with the body; it
// returns what is wrong, or "".
func checkRoutingHeaders(r *http.Request, body []byte, env jsonrpc.Envelope) string {
	if env.Kind != jsonrpc.KindRequest && env.Kind != jsonrpc.KindNotification {
		return ""
	}
	method := r.Header.Get("Mcp-Method")
	if method == "" {
		return "the Mcp-Method header is required"
	}
	if method != env.Method {
		return "the Mcp-Method header " + method + " does not match the body's method " + env.Method
	}
	path, ok := nameParam[env.Method]
	if !ok {
		return ""
	}
	want := gjson.GetBytes(body, path).Str
	got, present := r.Header["Mcp-Name"]
	if !present || len(got) == 0 {
		return "the Mcp-Name header is required for " + env.Method
	}
	if decodeHeaderValue(got[0]) != want {
		return "the Mcp-Name header does not match the body's " + strings.TrimPrefix(path, "params.")
	}
	return ""
}

// decodeHeaderValue undoes the =?base64?...?= form used for values that
// are not plain ASCII or have surrounding spaces.
func decodeHeaderValue(v string) string {
	if strings.HasPrefix(v, "=?base64?") && strings.HasSuffix(v, "?=") {
		if b, err := base64.StdEncoding.DecodeString(v[len("=?base64?") : len(v)-2]); err == nil {
			return string(b)
		}
	}
	return v
}

// postModern serves one 2026-07-28 POST with a session of its own, which
// lives as long as the request (a subscriptions/listen stream included).
func (h *HTTP) postModern(w http.ResponseWriter, r *http.Request, c caller, body []byte, env jsonrpc.Envelope) {
	id := env.ID
	if problem := checkRoutingHeaders(r, body, env); problem != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(jsonrpc.Error(id, codeHeaderMismatch, "Header mismatch: "+problem, nil))
		return
	}
	if v := gjson.GetBytes(body, `params._meta.io\.modelcontextprotocol/protocolVersion`); v.Exists() && v.Str != router.ModernVersion {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(jsonrpc.Error(id, router.CodeUnsupportedProtocolVersion, "Unsupported protocol version: "+v.Str,
			map[string]any{"supported": []string{router.ModernVersion}, "requested": v.Str}))
		return
	}
	fromPeer := false
	if sig := r.Header.Get(PeerHeader); sig != "" {
		if problem := checkPeer(h.opts.PeerKey, sig, body, time.Now()); problem != "" {
			h.log.Warn("refusing a forwarded request", "reason", problem, "remote", r.RemoteAddr)
			httpError(w, http.StatusUnauthorized, jsonrpc.CodeInvalidRequest, "Unauthorized: "+problem)
			return
		}
		fromPeer = true
	}
	if env.Kind != jsonrpc.KindRequest {
		// Stateless: a notification has no session to act on (a request is
		// cancelled by closing its stream), and batches are gone.
		if env.Kind == jsonrpc.KindBatch {
			httpError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "Bad Request: 2026-07-28 has no batches")
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rs := h.openSession(w, "http", c)
	if rs == nil {
		return
	}
	sess := &httpSession{s: rs}
	// No GET stream in 2026-07-28: what has no request to go with is kept
	// only briefly.
	sess.s.KeepWhileDetached(detachedStreamBytes)
	defer sess.close()
	if !h.authorize(w, c, sess.s, env, body) {
		return
	}
	if fromPeer {
		sess.s.SetFromPeer()
	}
	if cred := r.Header.Get("Authorization"); cred != "" {
		// For a retry this instance forwards to the call's owner.
		sess.s.SetClientAuthorization(cred)
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError, "shutting down")
		return
	}
	// A listen stream lasts until the client leaves or the proxy stops.
	stop := context.AfterFunc(h.stopCtx, sess.close)
	defer stop()
	reply := sess.s.NewReply(true)
	defer reply.Close()
	defer abortWritesOnShed(w, sess.s)()
	sess.s.HandlePeeked(env, body, reply)
	h.streamReply(w, r, sess, reply, false)
}
