package admin

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/mcphost/mcphost/host/internal/httpguard"
)

// LoginRequest is the body of POST /api/v1/login: the admin token or a
// login code from POST /api/v1/login-codes.
type LoginRequest struct {
	Token string `json:"token,omitempty"`
	Code  string `json:"code,omitempty"`
}

// LoginResponse answers POST /api/v1/login, which also sets the session
// cookie (HttpOnly; SameSite=Strict; Path=/api/).
type LoginResponse struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// LoginCode answers POST /api/v1/login-codes: a code that POST
// /api/v1/login accepts once, until ExpiresAt, and the dashboard URL that
// carries it in its fragment (never sent to a server, so never logged).
type LoginCode struct {
	Code      string    `json:"code"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LogoutResponse answers POST /api/v1/logout.
type LogoutResponse struct {
	LoggedOut bool `json:"logged_out"`
}

// login exchanges the admin token or a single-use login code for a session
// cookie. It needs no other authentication; Host and Origin were checked.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		if !tooLarge(w, err) {
			writeError(w, http.StatusBadRequest, `the body must be {"token": "..."} or {"code": "..."}`)
		}
		return
	}
	var ok bool
	var how string
	switch {
	case req.Token != "" && req.Code != "":
		writeError(w, http.StatusBadRequest, "give a token or a code, not both")
		return
	case req.Token != "":
		ok, how = s.checks.TokenOK(req.Token), "token"
	case req.Code != "":
		ok, how = s.sessions.Redeem(req.Code), "code"
	}
	if !ok {
		s.log.Warn("admin login refused", "with", how, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", realm)
		writeError(w, http.StatusUnauthorized, "unauthorized: login needs the admin token or an unused login code")
		return
	}
	id, exp, err := s.sessions.Create()
	if err != nil {
		s.fail(w, "login", err)
		return
	}
	s.log.Info("admin login", "with", how, "remote", r.RemoteAddr, "expires", exp)
	http.SetCookie(w, s.sessions.SessionCookie(r, id, exp))
	writeJSON(w, http.StatusOK, LoginResponse{ExpiresAt: exp.UTC()})
}

// logout ends the session named by the request's cookie, if any, and
// clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(httpguard.CookieName(r)); err == nil {
		s.sessions.Revoke(c.Value)
	}
	http.SetCookie(w, httpguard.ClearCookie(r))
	writeJSON(w, http.StatusOK, LogoutResponse{LoggedOut: true})
}

// loginCode makes a single-use login code for the dashboard (mcphost ctl
// ui), with the URL that carries it.
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request) {
	code, exp, err := s.sessions.NewCode()
	if err != nil {
		s.fail(w, "login code", err)
		return
	}
	s.log.Info("admin login code issued", "remote", r.RemoteAddr, "expires", exp)
	writeJSON(w, http.StatusOK, LoginCode{Code: code, URL: s.dashboardURL(r, code), ExpiresAt: exp.UTC()})
}

// dashboardURL is the dashboard's address with code in the fragment: the
// host the request was sent to, or, over the copy's Unix socket, the TCP
// listener's address ("" when there is none).
func (s *Server) dashboardURL(r *http.Request, code string) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if localPeer(r) || host == "" {
		addr := s.Addr()
		h, port, err := net.SplitHostPort(addr)
		if err != nil {
			return ""
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			h = "127.0.0.1"
		}
		host = net.JoinHostPort(h, port)
	}
	return (&url.URL{Scheme: scheme, Host: host, Path: "/", Fragment: "login=" + code}).String()
}
