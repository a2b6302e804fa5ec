package authserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// registrationRequest is the part of RFC 7591 client metadata this server
// reads; other fields are accepted and ignored.
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ClientName              string   `json:"client_name"`
	Scope                   string   `json:"scope"`
}

// registrationError writes an RFC 7591 section 3.2.2 error.
func registrationError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

// serveRegister is RFC 7591 dynamic client registration: fosite has no
// handler for it, so this one stores the client in fosite's store. A
// client asking for token_endpoint_auth_method "none" is public; any other
// method gets a secret.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	var req registrationRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		registrationError(w, "invalid_client_metadata", "the body is not a JSON object")
		return
	}
	if len(req.GrantTypes) == 0 || slices.Contains(req.GrantTypes, "authorization_code") {
		if len(req.RedirectURIs) == 0 {
			registrationError(w, "invalid_redirect_uri", "redirect_uris is required for the authorization_code grant")
			return
		}
	}
	for _, uri := range req.RedirectURIs {
		if u, err := url.Parse(uri); err != nil || !u.IsAbs() || u.Fragment != "" {
			registrationError(w, "invalid_redirect_uri", "a redirect URI must be absolute and have no fragment")
			return
		}
	}
	switch req.TokenEndpointAuthMethod {
	case "":
		req.TokenEndpointAuthMethod = "client_secret_basic" // RFC 7591's default
	case "none", "client_secret_basic", "client_secret_post":
	default:
		registrationError(w, "invalid_client_metadata", "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
		return
	}
	c := Client{ID: "dcr-" + randomID(8), RedirectURIs: req.RedirectURIs}
	// A client registers with the scope of the challenge that sent it here,
	// and a step-up later asks for more: it may have every advertised scope
	// as well as its own. With none advertised, it may ask for any.
	if len(s.opts.Scopes) > 0 {
		c.Scopes = slices.Clone(s.opts.Scopes)
		for _, scope := range strings.Fields(req.Scope) {
			if !slices.Contains(c.Scopes, scope) {
				c.Scopes = append(c.Scopes, scope)
			}
		}
	}
	if req.TokenEndpointAuthMethod != "none" {
		c.Secret = randomID(16)
	}
	if err := s.RegisterClient(c); err != nil {
		registrationError(w, "invalid_client_metadata", "the client could not be stored")
		return
	}
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        time.Now().Unix(),
		"redirect_uris":              c.RedirectURIs,
		"token_endpoint_auth_method": req.TokenEndpointAuthMethod,
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
	}
	if req.ClientName != "" {
		resp["client_name"] = req.ClientName
	}
	if req.Scope != "" {
		resp["scope"] = req.Scope
	}
	if c.Secret != "" {
		resp["client_secret"] = c.Secret
		resp["client_secret_expires_at"] = 0
	}
	writeJSON(w, http.StatusCreated, resp)
}
