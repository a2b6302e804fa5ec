package authserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// TokenRequest asks the token endpoint for a client_credentials token.
type TokenRequest struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	Resource     string // RFC 8707 resource: becomes the token's audience
}

// TokenResponse is the token endpoint's answer (RFC 6749 section 5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// ClientCredentialsToken runs the client_credentials grant over HTTP
// against this server, authenticating with client_secret_basic.
func (s *Server) ClientCredentialsToken(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(req.Scopes) > 0 {
		form.Set("scope", strings.Join(req.Scopes, " "))
	}
	if req.Resource != "" {
		form.Set("resource", req.Resource)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResponse{}, fmt.Errorf("token request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.SetBasicAuth(url.QueryEscape(req.ClientID), url.QueryEscape(req.ClientSecret))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return TokenResponse{}, fmt.Errorf("token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The body is an OAuth error object: no secret in it.
		return TokenResponse{}, fmt.Errorf("token endpoint: %s: %s", resp.Status, body)
	}
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return TokenResponse{}, fmt.Errorf("token response: %w", err)
	}
	return tr, nil
}
