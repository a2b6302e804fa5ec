package listen

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/mcphost/mcphost/host/internal/httpguard"
	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// ProfileAccess is what a profile's endpoints require of a client, beside
// the listener's Host and Origin checks.
type ProfileAccess struct {
	// Token, when set, is a bearer token of the profile's own. It admits
	// to this profile only; the listener's AuthToken (the operator's
	// credential) and, with OAuth, an access token are accepted as well.
	Token string
	// Scopes are OAuth scopes an access token needs for this profile,
	// beside the listener's.
	Scopes []string
}

// profileSegment is what follows an endpoint's path to name a profile:
// <path>/p/NAME.
const profileSegment = "/p/"

// profileAccess is a profile's access, kept with its token's hash so that
// comparing it takes constant time whatever the lengths.
type profileAccess struct {
	ProfileAccess
	tokenSum [sha256.Size]byte
}

// SetProfiles replaces the profiles the listener serves at <path>/p/NAME
// (for each of its transports), with what each requires. A profile that
// is gone answers 404 from then on; the router closes its sessions.
func (h *HTTP) SetProfiles(profiles map[string]ProfileAccess) {
	next := make(map[string]*profileAccess, len(profiles))
	for name, a := range profiles {
		pa := &profileAccess{ProfileAccess: a}
		pa.Scopes = slices.Clone(a.Scopes)
		if a.Token != "" {
			pa.tokenSum = sha256.Sum256([]byte(a.Token))
		}
		next[name] = pa
	}
	h.profiles.Store(&next)
}

// ProfileURL is the MCP endpoint of profile name, once listening.
func (h *HTTP) ProfileURL(name string) string {
	return "http://" + h.ln.Addr().String() + profilePath(h.opts.Path) + name
}

// profilePath is the prefix of the profile endpoints under path.
func profilePath(path string) string {
	return strings.TrimSuffix(path, "/") + profileSegment
}

type profileKey struct{}

type requestProfile struct {
	name   string
	access *profileAccess
}

// serveProfiles serves next's endpoint for the profile the path names:
// an unknown one is 404, a known one goes to next with the profile in the
// request's context, where admit and the session openers find it.
func (h *HTTP) serveProfiles(prefix string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, prefix)
		access, ok := (*h.profiles.Load())[name]
		if !ok || name == "" || strings.Contains(name, "/") {
			httpError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "Not Found: no profile is served at "+r.URL.Path)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), profileKey{}, requestProfile{name: name, access: access})))
	}
}

// profileOf is the profile a request was made to, if any.
func profileOf(r *http.Request) (requestProfile, bool) {
	p, ok := r.Context().Value(profileKey{}).(requestProfile)
	return p, ok
}

// handleProfiles adds the profile endpoints of each endpoint served to mux.
func (h *HTTP) handleProfiles(mux *http.ServeMux, endpoints map[string]http.HandlerFunc, taken []string) {
	for path, serve := range endpoints {
		if path == "" {
			continue
		}
		prefix := profilePath(path)
		if slices.Contains(taken, prefix) {
			h.log.Error("profile endpoints clash with another endpoint; not served", "path", prefix)
			continue
		}
		mux.HandleFunc(prefix, h.serveProfiles(prefix, serve))
	}
}

// authenticateProfile applies a profile's access to a request made to it:
// its own token admits; else the listener's credentials do (the static
// token, or an OAuth access token that also has the profile's scopes).
// A profile with a token on a listener without OAuth needs a token.
func (h *HTTP) authenticateProfile(w http.ResponseWriter, r *http.Request, p requestProfile) (caller, bool) {
	if p.access.Token != "" {
		if token, ok := httpguard.BearerToken(r); ok {
			sum := sha256.Sum256([]byte(token))
			if subtle.ConstantTimeCompare(sum[:], p.access.tokenSum[:]) == 1 {
				return caller{profile: p.name}, true
			}
		}
		if h.opts.OAuth == nil && !(h.guard.HasToken() && h.guard.BearerOK(r)) {
			challenge, reason := `Bearer realm="mcphost"`, "missing"
			if _, sent := httpguard.BearerToken(r); sent {
				challenge, reason = `Bearer realm="mcphost", error="invalid_token"`, "invalid_token"
			}
			h.authRefused(reason)
			w.Header().Set("WWW-Authenticate", challenge)
			httpError(w, http.StatusUnauthorized, jsonrpc.CodeInvalidRequest, "Unauthorized: profile "+p.name+" requires its token")
			return caller{}, false
		}
	}
	c, ok := h.authenticate(w, r)
	if !ok {
		return caller{}, false
	}
	c.profile = p.name
	if c.token && len(p.access.Scopes) > 0 && !c.identity.HasScopes(p.access.Scopes) {
		need := append(slices.Clone(h.opts.OAuth.RequiredScopes("")), p.access.Scopes...)
		h.refuseScope(w, nil, need, "Forbidden: the access token lacks the scope profile "+p.name+" requires")
		return caller{}, false
	}
	return c, true
}

// openSession opens a router session for c on listener kind, limited to
// c's profile when it has one; nil when that profile has just gone (w is
// answered then).
func (h *HTTP) openSession(w http.ResponseWriter, kind string, c caller) *router.Session {
	s := h.router.OpenSession(kind)
	if c.profile == "" {
		return s
	}
	if err := s.SetProfile(c.profile); err != nil {
		s.Close()
		httpError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "Not Found: no profile named "+c.profile)
		return nil
	}
	return s
}
