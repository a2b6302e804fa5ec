package admin

import (
	"net/http"
	"strings"

	"github.com/mcphost/mcphost/host/internal/httpguard"
)

// realm is sent in WWW-Authenticate on every 401.
const realm = `Bearer realm="mcphost-admin"`

// loginPath exchanges credentials for a session cookie: it is the one API
// path that needs no authentication.
const loginPath = "/api/v1/login"

// authRequired says whether r must be authenticated (bearer token or
// session cookie): none over the copy's Unix socket from the current user
// (see StartSocket), nor for the login itself; otherwise every request
// under /api/, reads included, and every request at all when the listener
// is not loopback-only. (Other paths, such as /metrics, stay open on
// loopback.)
func (s *Server) authRequired(r *http.Request) bool {
	if localPeer(r) {
		return false // the copy's Unix socket, from the current user
	}
	if r.URL.Path == loginPath || isDashboard(r) {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	return s.requireAll.Load()
}

// isDashboard says whether r asks for the dashboard's page or one of its
// static assets: public code with no data in it, served without
// authentication even where every other request needs it, so that a
// browser can load the page and sign in.
func isDashboard(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/ui/")
}

// newGuard is the admin listener's guard for a listen host (without port):
// any Host when bound to every interface, loopback names and the
// configured name otherwise; only the API's own origin; the token and the
// browser sessions.
func newGuard(host, token string, sessions *httpguard.Sessions) (g *httpguard.Guard, loopback bool) {
	host = httpguard.CanonicalHost(host)
	opts := httpguard.Options{SameOrigin: true, Token: token, Sessions: sessions}
	switch {
	case host == "" || host == "0.0.0.0" || host == "::":
		opts.AnyHost = true
	case httpguard.IsLoopback(host):
		loopback = true
	default:
		opts.Hosts = []string{host}
	}
	return httpguard.New(opts), loopback
}
