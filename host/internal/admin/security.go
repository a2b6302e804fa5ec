package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// realm is sent in WWW-Authenticate on every 401.
const realm = `Bearer realm="mcphost-admin"`

// authRequired says whether r needs the bearer token: none over the copy's
// Unix socket from the current user (see StartSocket); otherwise every
// request that is not a read (GET or HEAD), and every request when the
// listener is not loopback-only.
func (s *Server) authRequired(r *http.Request) bool {
	if localPeer(r) {
		return false // the copy's Unix socket, from the current user
	}
	if s.requireAll.Load() {
		return true
	}
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// authorized checks the Authorization header in constant time (both sides
// are hashed first, so not even the token's length leaks).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], s.tokenSum[:]) == 1
}

// hostAllowed is the DNS-rebinding defence: a browser tricked into sending a
// request to this listener under an attacker's name carries that name in
// Host.
func (s *Server) hostAllowed(hostport string) bool {
	if s.wildcard {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "" {
		return false
	}
	return isLoopbackName(host) || (s.extraHost != "" && host == s.extraHost)
}

// originAllowed refuses every cross-site request from a browser: only pages
// served from a loopback origin may talk to the API (and, with no CORS
// headers, not even they can read another port's responses).
func originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false // including the opaque origin "null"
	}
	return isLoopbackName(u.Hostname())
}

func isLoopbackName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
