package listen

import (
	"errors"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/httpguard"
	"github.com/mcphost/mcphost/host/internal/oauthrs"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// caller is who sent an admitted request: with an OAuth listener, the
// identity of its access token; else (or with the listener's static
// auth_token, the operator's credential) anyone allowed everything.
type caller struct {
	token    bool
	identity oauthrs.Identity
	// profile is the profile the request was made to; "" for the main
	// endpoints.
	profile string
}

// owner is what a session is bound to: one opened with a token's identity
// is not continued with another's (nor with the static token).
func (c caller) owner() string {
	// A session belongs to its profile too: its id used on another
	// profile's endpoint (or the main one) finds nothing.
	prefix := ""
	if c.profile != "" {
		prefix = "profile:" + c.profile + " "
	}
	switch {
	case !c.token:
		return prefix
	case c.identity.Subject != "":
		return prefix + "sub:" + c.identity.Subject
	}
	return prefix + "client:" + c.identity.ClientID
}

// authenticate applies the listener's credentials: the static auth_token,
// else, with OAuth, an access token for this resource with the listener's
// scopes. It answers the request (401, 403 or 503, with the challenge
// that sends an OAuth client to its authorization server) when it fails.
// The token is never logged: errors name only what was wrong.
func (h *HTTP) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if h.guard.HasToken() && h.guard.BearerOK(r) {
		return caller{}, true
	}
	v := h.opts.OAuth
	if v == nil {
		if h.guard.HasToken() {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcphost"`)
			httpError(w, http.StatusUnauthorized, jsonrpc.CodeInvalidRequest, "Unauthorized")
			return caller{}, false
		}
		return caller{}, true
	}
	token, ok := httpguard.BearerToken(r)
	if !ok {
		h.authRefused("missing")
		w.Header().Set("WWW-Authenticate", v.Challenge(nil))
		httpError(w, http.StatusUnauthorized, jsonrpc.CodeInvalidRequest, "Unauthorized: an access token is required")
		return caller{}, false
	}
	id, err := v.Verify(r.Context(), token)
	if errors.Is(err, oauthrs.ErrUnavailable) {
		h.authRefused(oauthrs.Reason(err))
		h.log.Warn("cannot check an access token", "error", err)
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, jsonrpc.CodeInternalError,
			"Service Unavailable: the authorization server could not be reached to check the access token")
		return caller{}, false
	}
	if err != nil {
		h.authRefused(oauthrs.Reason(err))
		h.log.Debug("access token refused", "reason", oauthrs.Reason(err), "error", err)
		w.Header().Set("WWW-Authenticate", v.Challenge(err))
		httpError(w, http.StatusUnauthorized, jsonrpc.CodeInvalidRequest, "Unauthorized: "+err.Error())
		return caller{}, false
	}
	if need := v.RequiredScopes(""); !id.HasScopes(need) {
		h.refuseScope(w, nil, need, "Forbidden: the access token lacks the scope this endpoint requires")
		return caller{}, false
	}
	return caller{token: true, identity: id}, true
}

func (h *HTTP) authRefused(reason string) {
	if h.opts.AuthRefused != nil {
		h.opts.AuthRefused(reason)
	}
}

// refuseScope answers 403 insufficient_scope, naming the scopes needed.
func (h *HTTP) refuseScope(w http.ResponseWriter, id []byte, need []string, message string) {
	h.authRefused("insufficient_scope")
	w.Header().Set("WWW-Authenticate", h.opts.OAuth.InsufficientScope(need))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(jsonrpc.Error(id, jsonrpc.CodeInvalidRequest, message, map[string]any{"scope": need}))
}

// deniedServer names the first backend server msg (a request or a batch)
// would reach that c's token lacks the scopes for; "" when there is none.
func (h *HTTP) deniedServer(c caller, s *router.Session, env jsonrpc.Envelope, msg []byte) string {
	v := h.opts.OAuth
	if !c.token || !v.HasServerScopes() {
		return ""
	}
	check := func(method string, params []byte) string {
		if server, ok := s.TargetServer(method, params); ok && !v.MayUse(c.identity, server) {
			return server
		}
		return ""
	}
	switch env.Kind {
	case jsonrpc.KindRequest:
		return check(env.Method, jsonrpc.Get(msg, "params"))
	case jsonrpc.KindBatch:
		denied := ""
		gjson.ParseBytes(msg).ForEach(func(_, m gjson.Result) bool {
			if m.Get("id").Exists() && m.Get("method").Str != "" {
				denied = check(m.Get("method").Str, []byte(m.Get("params").Raw))
			}
			return denied == ""
		})
		return denied
	}
	return ""
}

// authorize applies c's server scopes to a message for session s: the
// lists s answers with show only the servers c's token may use (the
// latest token decides, as a client steps up its scopes), and a message
// that would reach another server is refused with 403 insufficient_scope.
// It says whether the message may go on.
func (h *HTTP) authorize(w http.ResponseWriter, c caller, s *router.Session, env jsonrpc.Envelope, msg []byte) bool {
	h.showServers(c, s)
	server := h.deniedServer(c, s, env, msg)
	if server == "" {
		return true
	}
	h.refuseScope(w, env.ID, h.opts.OAuth.RequiredScopes(server),
		"Forbidden: the access token lacks the scope server "+server+" requires")
	return false
}

// showServers limits the lists s answers with to the servers c's token may
// use.
func (h *HTTP) showServers(c caller, s *router.Session) {
	if !c.token || !h.opts.OAuth.HasServerScopes() {
		return
	}
	v, id := h.opts.OAuth, c.identity
	s.SetVisibleServers(func(server string) bool { return v.MayUse(id, server) })
}

// serveResourceMetadata answers the protected resource metadata (RFC
// 9728), which a client reads before it has a token: no authentication,
// but the Host and Origin checks.
func (h *HTTP) serveResourceMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.guard.Check(r) != nil {
		http.Error(w, "Forbidden: host or origin not allowed", http.StatusForbidden)
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, h.opts.OAuth.Metadata())
}
