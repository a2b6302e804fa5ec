package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
	authNone  = "none"
)

// recordFor returns the record to fill for a grant against d: the stored
// one (keeping its client registration when the issuer is the same) with
// d's resource and endpoints.
func (c *Client) recordFor(stored *Record, d *discovery) *Record {
	rec := &Record{}
	if stored != nil && stored.Issuer == d.as.Issuer {
		*rec = *stored
	}
	rec.Resource = d.resource
	rec.Issuer = d.as.Issuer
	rec.TokenEndpoint = d.as.TokenEndpoint
	rec.RevocationEndpoint = d.as.RevocationEndpoint
	if c.settings.ClientID != "" {
		rec.ClientID, rec.ClientSecret = c.settings.ClientID, c.settings.ClientSecret
		rec.TokenAuthMethod = chooseAuthMethod(c.settings.TokenAuthMethod, "", d.as.TokenEndpointAuthMethodsSupported, rec.ClientSecret != "")
	}
	return rec
}

// chooseAuthMethod picks how the client authenticates at the token
// endpoint: as configured, else as registered, else the first method the
// authorization server lists that the client can use (RFC 8414's default
// is client_secret_basic).
func chooseAuthMethod(configured, registered string, supported []string, hasSecret bool) string {
	switch {
	case configured != "":
		return configured
	case registered != "":
		return registered
	case !hasSecret:
		return authNone
	case len(supported) == 0:
		return authBasic
	}
	for _, m := range supported {
		if m == authBasic || m == authPost || m == authNone {
			return m
		}
	}
	return authBasic
}

// ensureClient gives rec a client id: the configured one, the one
// registered before with this issuer, the Client ID Metadata Document URL
// where the server accepts one, or a new one by Dynamic Client
// Registration.
func (c *Client) ensureClient(ctx context.Context, d *discovery, rec *Record, redirectURI string) error {
	switch {
	case rec.ClientID != "":
		return nil
	case c.settings.ClientMetadataURL != "" && d.as.ClientIDMetadataDocumentSupported:
		rec.ClientID, rec.ClientSecret = c.settings.ClientMetadataURL, ""
		rec.TokenAuthMethod = authNone
		return nil
	case d.as.RegistrationEndpoint != "":
		return c.register(ctx, d, rec, redirectURI)
	}
	return fmt.Errorf("the authorization server %s offers no dynamic client registration; set oauth_client_id", d.as.Issuer)
}

// register is Dynamic Client Registration (RFC 7591) as a public client.
func (c *Client) register(ctx context.Context, d *discovery, rec *Record, redirectURI string) error {
	body, err := json.Marshal(map[string]any{
		"client_name":                "mcphost",
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": authNone,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.as.RegistrationEndpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("client registration: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("client registration: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("client registration: %w", err)
	}
	var out struct {
		ClientID        string `json:"client_id"`
		ClientSecret    string `json:"client_secret"`
		TokenAuthMethod string `json:"token_endpoint_auth_method"`
		Error           string `json:"error"`
		Description     string `json:"error_description"`
	}
	_ = json.Unmarshal(data, &out)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("client registration at %s: %s %s %s", d.as.RegistrationEndpoint, resp.Status, out.Error, out.Description)
	}
	if out.ClientID == "" {
		return fmt.Errorf("client registration at %s: the answer has no client_id", d.as.RegistrationEndpoint)
	}
	rec.ClientID, rec.ClientSecret = out.ClientID, out.ClientSecret
	rec.TokenAuthMethod = chooseAuthMethod(c.settings.TokenAuthMethod, out.TokenAuthMethod, d.as.TokenEndpointAuthMethodsSupported, out.ClientSecret != "")
	return nil
}

// oauth2Config is rec's client for golang.org/x/oauth2.
func oauth2Config(rec *Record, authURL, redirectURI string, scopes []string) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if rec.TokenAuthMethod == authBasic {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID:     rec.ClientID,
		ClientSecret: rec.secretToSend(),
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: rec.TokenEndpoint, AuthStyle: style},
		RedirectURL:  redirectURI,
		Scopes:       scopes,
	}
}

// secretToSend is the client secret, or "" for a client that does not
// authenticate with it: a public one (method none), which must not send
// one even when registration gave it one, or one that signs assertions.
func (r *Record) secretToSend() string {
	if r.TokenAuthMethod == authNone || r.TokenAuthMethod == authPrivateKeyJWT {
		return ""
	}
	return r.ClientSecret
}

// oauth2Context makes golang.org/x/oauth2 use the client's HTTP client.
func (c *Client) oauth2Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
}

// randomString is 32 random bytes, base64url: a state value.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// callbackResult is what the loopback redirect brought.
type callbackResult struct {
	code string
	err  error
}

// authorize runs the authorization-code grant with PKCE and a loopback
// redirect (RFC 8252), and stores the tokens.
func (c *Client) authorize(ctx context.Context, d *discovery, stored *Record, scopes []string) error {
	if d.as.AuthorizationEndpoint == "" {
		return fmt.Errorf("oauth: %s: the authorization server %s has no authorization_endpoint", c.opts.Server, d.as.Issuer)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.settings.RedirectPort)))
	if err != nil {
		return fmt.Errorf("oauth: %s: listen for the sign-in redirect: %w", c.opts.Server, err)
	}
	redirectURI := fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	rec := c.recordFor(stored, d)
	if err := c.ensureClient(ctx, d, rec, redirectURI); err != nil {
		ln.Close()
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	state, verifier := randomString(), oauth2.GenerateVerifier()
	cfg := oauth2Config(rec, d.as.AuthorizationEndpoint, redirectURI, scopes)
	resource := oauth2.SetAuthURLParam("resource", rec.Resource)
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), resource)

	issuer := ""
	if d.as.ISSParameterSupported {
		issuer = d.as.Issuer
	}
	results := make(chan callbackResult, 1)
	srv := &http.Server{Handler: callbackHandler(state, issuer, results), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		// Shutdown lets the callback page reach the browser.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-served
	}()

	if err := c.open(ctx, authURL); err != nil {
		return fmt.Errorf("oauth: %s: open the sign-in page: %w", c.opts.Server, err)
	}
	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return fmt.Errorf("oauth: %s: no sign-in arrived: %w", c.opts.Server, ctx.Err())
	}
	if res.err != nil {
		return fmt.Errorf("oauth: %s: sign-in failed: %w", c.opts.Server, res.err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier), resource}
	assertion, err := c.assertionParams(rec)
	if err != nil {
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	for k := range assertion {
		opts = append(opts, oauth2.SetAuthURLParam(k, assertion.Get(k)))
	}
	tok, err := cfg.Exchange(c.oauth2Context(ctx), res.code, opts...)
	if err != nil {
		return fmt.Errorf("oauth: %s: code exchange: %w", c.opts.Server, asTokenError(err))
	}
	return c.keep(rec, fromOAuth2(tok), scopes)
}

// callbackPage is what the browser shows after the redirect.
const callbackPage = `<!doctype html><html><head><meta charset="utf-8"><title>mcphost sign-in</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>%s</h1><p>%s</p></body></html>
`

// callbackHandler answers the loopback redirect: it checks state (and iss
// when the server sends it, RFC 9207) and hands the first answer's code or
// error to results.
func callbackHandler(state, issuer string, results chan<- callbackResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res callbackResult
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the redirect's state does not match the request's (a forged or stale redirect)")
		case issuer != "" && q.Get("iss") != issuer:
			res.err = fmt.Errorf("the redirect's iss %q is not the authorization server %q (RFC 9207)", q.Get("iss"), issuer)
		case q.Get("error") != "":
			res.err = fmt.Errorf("the authorization server answered %s: %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("the redirect has no code")
		default:
			res.code = q.Get("code")
		}
		select {
		case results <- res:
		default: // an answer arrived already
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, callbackPage, "Sign-in failed", "mcphost could not complete the sign-in; see its output. You may close this tab.")
			return
		}
		fmt.Fprintf(w, callbackPage, "Signed in", "mcphost has the authorization. You may close this tab.")
	})
	return mux
}

// clientCredentialsGrant gets a token by the client-credentials grant
// (machine to machine) and stores it.
func (c *Client) clientCredentialsGrant(ctx context.Context, rec *Record, scopes []string) error {
	if rec.ClientID == "" {
		rec.ClientID, rec.ClientSecret = c.settings.ClientID, c.settings.ClientSecret
	}
	if rec.TokenAuthMethod == "" {
		rec.TokenAuthMethod = chooseAuthMethod(c.settings.TokenAuthMethod, "", nil, rec.ClientSecret != "")
	}
	style := oauth2.AuthStyleInParams
	if rec.TokenAuthMethod == authBasic {
		style = oauth2.AuthStyleInHeader
	}
	params, err := c.assertionParams(rec)
	if err != nil {
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	if params == nil {
		params = url.Values{}
	}
	params.Set("resource", rec.Resource)
	cfg := clientcredentials.Config{
		ClientID:       rec.ClientID,
		ClientSecret:   rec.secretToSend(),
		TokenURL:       rec.TokenEndpoint,
		Scopes:         scopes,
		EndpointParams: params,
		AuthStyle:      style,
	}
	tok, err := cfg.Token(c.oauth2Context(ctx))
	if err != nil {
		return fmt.Errorf("oauth: %s: client credentials: %w", c.opts.Server, asTokenError(err))
	}
	return c.keep(rec, fromOAuth2(tok), scopes)
}

// tokenResponse is a token endpoint's answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
}

func fromOAuth2(t *oauth2.Token) tokenResponse {
	scope, _ := t.Extra("scope").(string)
	r := tokenResponse{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, ExpiresIn: t.ExpiresIn, Scope: scope}
	// clientcredentials drops ExpiresIn (keeping Expiry, on the wall
	// clock, not Options.Now); the answer's own field is in Extra.
	if r.ExpiresIn == 0 {
		if n, ok := t.Extra("expires_in").(float64); ok && n > 0 {
			r.ExpiresIn = int64(n)
		} else if !t.Expiry.IsZero() {
			r.ExpiresIn = int64(time.Until(t.Expiry).Round(time.Second) / time.Second)
		}
	}
	return r
}

// keep puts a token response in rec and saves it.
func (c *Client) keep(rec *Record, t tokenResponse, asked []string) error {
	if t.AccessToken == "" {
		return fmt.Errorf("oauth: %s: the token endpoint sent no access_token", c.opts.Server)
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "Bearer") {
		return fmt.Errorf("oauth: %s: the token endpoint sent a %q token, not Bearer", c.opts.Server, t.TokenType)
	}
	now := c.now()
	rec.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		rec.RefreshToken = t.RefreshToken
	}
	rec.Issued, rec.Expiry = now, time.Time{}
	if t.ExpiresIn > 0 {
		rec.Expiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	if t.Scope != "" {
		rec.Scopes = strings.Fields(t.Scope)
	} else if asked != nil {
		rec.Scopes = slices.Clone(asked)
	}
	if covers(rec.Scopes, rec.WantScopes) {
		rec.WantScopes = nil
	}
	if err := c.save(rec); err != nil {
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	return nil
}

// refreshGrant renews rec's tokens with its refresh token and saves them.
// It is written here, not left to golang.org/x/oauth2, because that
// package's refresh cannot send the resource parameter, which MCP
// requires on every token request (RFC 8707).
func (c *Client) refreshGrant(ctx context.Context, rec *Record) error {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rec.RefreshToken},
		"resource":      {rec.Resource},
	}
	if len(rec.Scopes) > 0 {
		form.Set("scope", strings.Join(rec.Scopes, " "))
	}
	var t tokenResponse
	if err := c.postForm(ctx, rec, rec.TokenEndpoint, form, &t); err != nil {
		return fmt.Errorf("oauth: %s: refresh: %w", c.opts.Server, err)
	}
	return c.keep(rec, t, rec.Scopes)
}

// revoke revokes one token (RFC 7009).
func (c *Client) revoke(ctx context.Context, rec *Record, token, hint string) error {
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	if err := c.postForm(ctx, rec, rec.RevocationEndpoint, form, nil); err != nil {
		return fmt.Errorf("revoke the %s: %w", strings.ReplaceAll(hint, "_", " "), err)
	}
	return nil
}

// postForm posts form to an authorization server endpoint with rec's
// client authentication and decodes a JSON answer into out (when not
// nil). An OAuth error answer is a *tokenError.
func (c *Client) postForm(ctx context.Context, rec *Record, endpoint string, form url.Values, out any) error {
	form = cloneValues(form)
	switch rec.TokenAuthMethod {
	case authBasic:
	case authPost:
		form.Set("client_id", rec.ClientID)
		form.Set("client_secret", rec.ClientSecret)
	default:
		form.Set("client_id", rec.ClientID)
	}
	assertion, err := c.assertionParams(rec)
	if err != nil {
		return err
	}
	for k := range assertion {
		form.Set(k, assertion.Get(k))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if rec.TokenAuthMethod == authBasic {
		// RFC 6749 §2.3.1: both parts form-encoded first.
		req.SetBasicAuth(url.QueryEscape(rec.ClientID), url.QueryEscape(rec.ClientSecret))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		te := &tokenError{status: resp.Status}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(data, &body) == nil {
			te.code, te.description = body.Error, body.Description
		}
		return te
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the answer is not JSON: %w", err)
	}
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// tokenError is an authorization server's error answer (RFC 6749 §5.2).
// Its text holds the status and the server's error code and description,
// never the request (which carries secrets).
type tokenError struct {
	status      string
	code        string
	description string
}

func (e *tokenError) Error() string {
	s := "the authorization server answered " + e.status
	if e.code != "" {
		s += ": " + e.code
	}
	if e.description != "" {
		s += " (" + e.description + ")"
	}
	return s
}

// asTokenError turns golang.org/x/oauth2's error, whose text includes the
// whole answer body, into a *tokenError.
func asTokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	te := &tokenError{code: re.ErrorCode, description: re.ErrorDescription}
	if re.Response != nil {
		te.status = re.Response.Status
	}
	return te
}
