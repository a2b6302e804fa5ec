// Package httpguard holds the checks every HTTP listener of mcphost applies
// before a request reaches a handler: the Host allow-list (the defence
// against DNS rebinding), the Origin check, the bearer token (compared in
// constant time, without leaking its length) and, for the admin API,
// browser sessions carried by a cookie (see Sessions).
package httpguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The reasons Check and Authenticate refuse a request. Status maps them to
// an HTTP status.
var (
	// ErrHost: the Host header names none of this listener's hosts.
	ErrHost = errors.New("the Host header names another site")
	// ErrOrigin: the request comes from a page of another origin.
	ErrOrigin = errors.New("cross-origin requests are not allowed")
	// ErrUnauthorized: no valid bearer token or session cookie.
	ErrUnauthorized = errors.New("a valid bearer token or session is required")
	// ErrCrossSite: a cookie-authenticated change that the browser did not
	// mark as coming from this origin (Sec-Fetch-Site: same-origin).
	ErrCrossSite = errors.New("a change made with a session cookie must come from the dashboard's own origin")
)

// Status is the HTTP status for an error of Check or Authenticate: 403 for
// ErrHost, ErrOrigin and ErrCrossSite, 401 for ErrUnauthorized, else 500.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrHost), errors.Is(err, ErrOrigin), errors.Is(err, ErrCrossSite):
		return http.StatusForbidden
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// Options configure a Guard.
type Options struct {
	// AnyHost accepts every Host header: for a listener bound to every
	// interface or to a non-loopback address, where the name a client used
	// cannot be known. Otherwise Host must be a loopback name (localhost,
	// 127.0.0.0/8, ::1) or one of Hosts.
	AnyHost bool
	// Hosts are further host names (without port) that Host may carry.
	Hosts []string

	// SameOrigin accepts an Origin equal to the listener's own origin as
	// the browser sees it: the request's scheme and its (checked) Host.
	SameOrigin bool
	// LoopbackOrigins accepts every Origin whose host is a loopback name,
	// whatever its port.
	LoopbackOrigins bool
	// Origins are accepted as written (exact match).
	Origins []string

	// Token, when set, is the bearer token Authenticate accepts.
	Token string
	// Sessions, when set, lets Authenticate accept a session cookie
	// (named by CookieName).
	Sessions *Sessions
}

// Guard applies Options to requests. It is safe for concurrent use.
type Guard struct {
	anyHost    bool
	hosts      []string
	sameOrigin bool
	loopbackOK bool
	origins    []string
	hasToken   bool
	tokenSum   [32]byte
	sessions   *Sessions
}

// New builds a Guard.
func New(opts Options) *Guard {
	g := &Guard{
		anyHost:    opts.AnyHost,
		sameOrigin: opts.SameOrigin,
		loopbackOK: opts.LoopbackOrigins,
		origins:    slices.Clone(opts.Origins),
		sessions:   opts.Sessions,
	}
	for _, h := range opts.Hosts {
		if c := CanonicalHost(h); c != "" {
			g.hosts = append(g.hosts, c)
		}
	}
	if opts.Token != "" {
		g.hasToken = true
		g.tokenSum = sha256.Sum256([]byte(opts.Token))
	}
	return g
}

// Check applies the Host and Origin checks; the error wraps ErrHost or
// ErrOrigin.
func (g *Guard) Check(r *http.Request) error {
	if err := g.CheckHost(r); err != nil {
		return err
	}
	return g.CheckOrigin(r)
}

// CheckHost is the DNS-rebinding defence: a browser tricked into sending a
// request to this listener under an attacker's name carries that name in
// Host.
func (g *Guard) CheckHost(r *http.Request) error {
	if g.anyHost {
		return nil
	}
	host := CanonicalHost(r.Host)
	if host != "" && (IsLoopback(host) || slices.Contains(g.hosts, host)) {
		return nil
	}
	return ErrHost
}

// CheckOrigin accepts a request without Origin (not from a browser page, or
// a same-origin navigation) and one whose Origin the options allow; the
// opaque origin "null" is never allowed.
func (g *Guard) CheckOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || slices.Contains(g.origins, origin) {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return ErrOrigin
	}
	if g.loopbackOK && IsLoopback(CanonicalHost(u.Host)) {
		return nil
	}
	if g.sameOrigin && sameOrigin(u, r) {
		return nil
	}
	return ErrOrigin
}

// sameOrigin says whether u is the origin r was sent to: same scheme, host
// and port (the scheme's default when absent).
func sameOrigin(u *url.URL, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if !strings.EqualFold(u.Scheme, scheme) || u.Path != "" || u.RawQuery != "" {
		return false
	}
	return CanonicalHost(u.Host) == CanonicalHost(r.Host) && portOf(u.Host, scheme) == portOf(r.Host, scheme)
}

func portOf(hostport, scheme string) string {
	if _, port, err := net.SplitHostPort(hostport); err == nil && port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// TokenOK compares token with the configured one in constant time: both are
// hashed first, so not even the length leaks. Without a configured token it
// is false.
func (g *Guard) TokenOK(token string) bool {
	if !g.hasToken || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum[:]) == 1
}

// BearerOK says whether r carries "Authorization: Bearer <token>" with the
// configured token.
func (g *Guard) BearerOK(r *http.Request) bool {
	token, ok := bearer(r)
	return ok && g.TokenOK(token)
}

// HasToken says whether a bearer token is configured.
func (g *Guard) HasToken() bool { return g.hasToken }

// BearerToken is the token of r's "Authorization: Bearer <token>" header;
// ok is false when r has none.
func BearerToken(r *http.Request) (token string, ok bool) { return bearer(r) }

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// Method says how a request was authenticated.
type Method int

const (
	// Bearer: the Authorization header carried the token.
	Bearer Method = iota + 1
	// Cookie: a session cookie named a live session.
	Cookie
)

// Authenticate accepts r with the bearer token, or with a session cookie
// (when Options.Sessions is set). A cookie-authenticated request that may
// change something (any method but GET and HEAD) must also carry
// Sec-Fetch-Site: same-origin, or ErrCrossSite is returned. Otherwise the
// error is ErrUnauthorized. Check comes first: Authenticate does not look
// at Host or Origin.
func (g *Guard) Authenticate(r *http.Request) (Method, error) {
	if g.BearerOK(r) {
		return Bearer, nil
	}
	if g.sessions == nil {
		return 0, ErrUnauthorized
	}
	c, err := r.Cookie(CookieName(r))
	if err != nil || !g.sessions.Valid(c.Value) {
		return 0, ErrUnauthorized
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	default:
		if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
			return 0, ErrCrossSite
		}
	}
	return Cookie, nil
}

// CanonicalHost is the host of a Host header or URL authority as compared
// by the checks: lower case, without port, IPv6 brackets or a trailing dot
// ("LocalHost.:3001" → "localhost", "[::1]:80" → "::1").
func CanonicalHost(hostport string) string {
	host := strings.TrimSpace(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// IsLoopback says whether a canonical host (see CanonicalHost) names the
// loopback interface: localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
