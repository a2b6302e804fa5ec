package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Refresh margins: a token is renewed when it expires within
// refreshMargin, or within a tenth of its life when that is shorter.
const refreshMargin = 60 * time.Second

// scopeOfflineAccess asks for a refresh token where the authorization
// server lists it (SEP-2207).
const scopeOfflineAccess = "offline_access"

// New returns a Client; it makes no request.
func New(s Settings, opts Options) (*Client, error) {
	if opts.Store == nil {
		return nil, errors.New("oauth: Options.Store is required")
	}
	canonical, err := canonicalResource(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	switch s.Grant {
	case "", GrantAuthorizationCode, GrantClientCredentials:
	default:
		return nil, fmt.Errorf("oauth: oauth_grant %q: want %q or %q", s.Grant, GrantAuthorizationCode, GrantClientCredentials)
	}
	switch s.SignIn {
	case "", SignInCommand, SignInBrowser:
	default:
		return nil, fmt.Errorf("oauth: oauth_sign_in %q: want %q or %q", s.SignIn, SignInCommand, SignInBrowser)
	}
	switch s.TokenAuthMethod {
	case "", authBasic, authPost, authNone, authPrivateKeyJWT:
	default:
		return nil, fmt.Errorf("oauth: oauth_token_endpoint_auth_method %q: want %s, %s, %s or %s", s.TokenAuthMethod, authBasic, authPost, authPrivateKeyJWT, authNone)
	}
	c := &Client{settings: s, opts: opts, key: Key(opts.Server, opts.URL), canonical: canonical, signIn: make(chan struct{}, 1)}
	if s.ClientAssertionKeyFile != "" {
		if c.assertionKey, err = loadAssertionKey(s.ClientAssertionKeyFile); err != nil {
			return nil, fmt.Errorf("oauth: %w", err)
		}
		if s.ClientID == "" {
			return nil, errors.New("oauth: oauth_client_assertion_key_file needs oauth_client_id")
		}
		if s.TokenAuthMethod == "" {
			c.settings.TokenAuthMethod = authPrivateKeyJWT
		}
	}
	if c.settings.TokenAuthMethod == authPrivateKeyJWT && c.assertionKey == nil {
		return nil, errors.New("oauth: private_key_jwt needs oauth_client_assertion_key_file")
	}
	if s.Grant == GrantClientCredentials && (s.ClientID == "" || (s.ClientSecret == "" && c.assertionKey == nil)) {
		return nil, errors.New("oauth: the client_credentials grant needs oauth_client_id and oauth_client_secret (or oauth_client_assertion_key_file)")
	}
	return c, nil
}

func (c *Client) httpClient() *http.Client {
	if c.opts.HTTPClient != nil {
		return c.opts.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

func (c *Client) getenv(name string) string {
	if c.opts.Getenv != nil {
		return c.opts.Getenv(name)
	}
	return os.Getenv(name)
}

func (c *Client) open(ctx context.Context, authURL string) error {
	if c.opts.Open != nil {
		return c.opts.Open(ctx, authURL)
	}
	return OpenBrowser(ctx, authURL, c.getenv, os.Stderr)
}

func (c *Client) clientCredentials() bool { return c.settings.Grant == GrantClientCredentials }

// load returns the stored record, nil when there is none.
func (c *Client) load() (*Record, error) {
	rec, err := c.opts.Store.Load(c.key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	return rec, nil
}

// expiresSoon reports whether rec's access token should be renewed now.
func (c *Client) expiresSoon(rec *Record) bool {
	if rec.Expiry.IsZero() {
		return false
	}
	margin := refreshMargin
	if !rec.Issued.IsZero() {
		if tenth := rec.Expiry.Sub(rec.Issued) / 10; tenth < margin {
			margin = tenth
		}
	}
	return !c.now().Add(margin).Before(rec.Expiry)
}

func (c *Client) needsLogin(scopes []string, reason string) *NeedsLoginError {
	return &NeedsLoginError{Server: c.opts.Server, Scopes: scopes, Reason: reason}
}

// Token returns an access token to send: the stored one, refreshed when it
// is about to expire, or a new one by the client-credentials grant. It
// returns a *NeedsLoginError when only a person can get one. With nothing
// stored yet it returns "" and no error: the request goes without a token,
// and the server's challenge (see Challenged) starts discovery.
func (c *Client) Token(ctx context.Context) (string, error) {
	rec, err := c.cachedLoad()
	if err != nil || rec == nil {
		return "", err
	}
	if rec.AccessToken != "" && !c.expiresSoon(rec) {
		return rec.AccessToken, nil
	}
	return c.renew(ctx, "")
}

// renewal is one renewal of the token, which concurrent callers wait for.
type renewal struct {
	done  chan struct{}
	token string
	err   error
}

// renew gets a new access token by refresh (or client credentials), once
// for all concurrent callers. rejected is a token the server refused:
// renew returns the stored token unless it is that one or expires soon.
func (c *Client) renew(ctx context.Context, rejected string) (string, error) {
	c.mu.Lock()
	if r := c.renewing; r != nil {
		c.mu.Unlock()
		select {
		case <-r.done:
			return r.token, r.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	r := &renewal{done: make(chan struct{})}
	c.renewing = r
	c.mu.Unlock()

	r.token, r.err = c.renewNow(ctx, rejected)
	c.mu.Lock()
	c.renewing = nil
	c.mu.Unlock()
	close(r.done)
	return r.token, r.err
}

func (c *Client) renewNow(ctx context.Context, rejected string) (string, error) {
	// Read again: another caller or process may have renewed it already.
	rec, err := c.load()
	if err != nil {
		return "", err
	}
	if rec == nil {
		return "", c.needsLogin(c.settings.Scopes, "not signed in")
	}
	if rec.AccessToken != "" && rec.AccessToken != rejected && !c.expiresSoon(rec) {
		return rec.AccessToken, nil
	}
	if c.clientCredentials() {
		if err := c.clientCredentialsGrant(ctx, rec, rec.Scopes); err != nil {
			return "", err
		}
		return rec.AccessToken, nil
	}
	if rec.RefreshToken == "" {
		return "", c.needsLogin(rec.Scopes, "the access token expired and there is no refresh token")
	}
	err = c.refreshGrant(ctx, rec)
	var te *tokenError
	switch {
	case err == nil:
		return rec.AccessToken, nil
	case errors.As(err, &te) && te.code == "invalid_grant":
		// The refresh token is dead: forget the tokens, keep the
		// client's registration for the next sign-in.
		rec.AccessToken, rec.RefreshToken, rec.Expiry, rec.Issued = "", "", time.Time{}, time.Time{}
		if serr := c.save(rec); serr != nil {
			return "", serr
		}
		return "", c.needsLogin(rec.Scopes, "the refresh token was refused (invalid_grant)")
	case rec.AccessToken != "" && rec.AccessToken != rejected && (rec.Expiry.IsZero() || c.now().Before(rec.Expiry)):
		// A refresh that failed for a network reason leaves a token
		// that is still good for a while: use it, try again later.
		return rec.AccessToken, nil
	default:
		return "", err
	}
}

// Challenged handles a 401 or 403 answer from the MCP server: it runs
// discovery from its WWW-Authenticate header and gets a new token (by
// refreshing, by client credentials, or by signing in when Settings.SignIn
// is "browser"), returning nil when the request should be sent again with
// Token. Otherwise it returns a *NeedsLoginError, or an error saying why
// the server cannot be used.
func (c *Client) Challenged(ctx context.Context, resp *http.Response) error {
	if c.settings.OAuth == Off {
		return fmt.Errorf("oauth: %s answered %s and oauth is off", c.opts.Server, resp.Status)
	}
	ch, hasChallenge := bearerChallenge(resp.Header)
	var challengeP *challenge
	if hasChallenge {
		challengeP = &ch
	}
	// The token to replay with is read from the Store, which this may
	// have changed, or another process (mcphost auth login) did.
	defer c.cache.invalidate()
	stepUp := resp.StatusCode == http.StatusForbidden
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
	case stepUp && hasChallenge && ch.params["error"] == "insufficient_scope":
	default:
		return fmt.Errorf("oauth: %s answered %s", c.opts.Server, resp.Status)
	}
	rejected := ""
	if resp.Request != nil {
		rejected, _ = strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	}
	rec, err := c.load()
	if err != nil {
		return err
	}
	if !stepUp && rec != nil && rec.AccessToken != "" {
		// A rejected token may be renewed without a person (or
		// already was, by a concurrent request).
		_, err := c.renew(ctx, rejected)
		var nle *NeedsLoginError
		if err == nil {
			return nil
		}
		if !errors.As(err, &nle) {
			return err
		}
	}

	if err := c.lockSignIn(ctx); err != nil {
		return err
	}
	defer c.unlockSignIn()
	disc, err := c.discover(ctx, challengeP)
	if err != nil {
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	// Another sign-in may have finished while this one waited.
	if rec, err = c.load(); err != nil {
		return err
	}
	scopes := c.signInScopes(disc, challengeP, rec)
	if stepUp {
		var held []string
		if rec != nil {
			held = rec.Scopes
		}
		wanted := union(held, ch.scopes())
		if rec != nil && rec.AccessToken != rejected && covers(rec.Scopes, wanted) {
			return nil
		}
		if covers(held, wanted) {
			// Asking again for what the token has would loop.
			return fmt.Errorf("oauth: %s refuses the request for insufficient scope although the token has %q", c.opts.Server, strings.Join(wanted, " "))
		}
		scopes = wanted
	} else if rec != nil && rec.AccessToken != "" && rec.AccessToken != rejected && !c.expiresSoon(rec) {
		return nil
	}
	switch {
	case c.clientCredentials():
		return c.clientCredentialsGrant(ctx, c.recordFor(rec, disc), scopes)
	case c.settings.SignIn == SignInBrowser:
		return c.authorize(ctx, disc, rec, scopes)
	case stepUp:
		if rec != nil {
			rec.WantScopes = scopes
			if err := c.save(rec); err != nil {
				return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
			}
		}
		return c.needsLogin(scopes, "the server asks for more scope")
	default:
		return c.needsLogin(scopes, "not signed in")
	}
}

// lockSignIn waits for the sign-in in progress, if any, to end.
func (c *Client) lockSignIn(ctx context.Context) error {
	select {
	case c.signIn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("oauth: %s: waiting for another sign-in: %w", c.opts.Server, ctx.Err())
	}
}

func (c *Client) unlockSignIn() { <-c.signIn }

// scopesFor chooses the scopes of an authorization (MCP "Scope Selection
// Strategy"): configured ones, else the challenge's, else the protected
// resource's scopes_supported, else none; plus offline_access where the
// authorization server offers it, for a refresh token.
func (c *Client) scopesFor(d *discovery, ch *challenge) []string {
	if len(c.settings.Scopes) > 0 {
		return slices.Clone(c.settings.Scopes)
	}
	var scopes []string
	switch {
	case ch != nil && len(ch.scopes()) > 0:
		scopes = ch.scopes()
	case d.prm != nil:
		scopes = slices.Clone(d.prm.ScopesSupported)
	}
	if !c.clientCredentials() && slices.Contains(d.as.ScopesSupported, scopeOfflineAccess) {
		scopes = union(scopes, []string{scopeOfflineAccess})
	}
	return scopes
}

// signInScopes are the scopes of a new sign-in: those scopesFor chooses
// and, unless configured, those granted before (a step-up's) and those a
// step-up asked for that only a person could grant.
func (c *Client) signInScopes(d *discovery, ch *challenge, rec *Record) []string {
	scopes := c.scopesFor(d, ch)
	if rec != nil && len(c.settings.Scopes) == 0 {
		scopes = union(union(scopes, rec.Scopes), rec.WantScopes)
	}
	return scopes
}

// union returns a's scopes followed by those of b not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// covers reports whether held includes every scope of wanted.
func covers(held, wanted []string) bool {
	for _, s := range wanted {
		if !slices.Contains(held, s) {
			return false
		}
	}
	return true
}

// LoginOptions tune Login.
type LoginOptions struct {
	// Scopes to ask for beyond those discovery gives.
	Scopes []string
}

// Login runs the whole sign-in: discovery (by an unauthenticated request
// to the server), registration, the authorization-code flow with a
// loopback redirect (opening the authorization URL with Options.Open), and
// stores the tokens. With the client-credentials grant it gets a token
// by that grant instead.
func (c *Client) Login(ctx context.Context, o LoginOptions) error {
	ch, err := c.probe(ctx)
	if err != nil {
		return err
	}
	if err := c.lockSignIn(ctx); err != nil {
		return err
	}
	defer c.unlockSignIn()
	disc, err := c.discover(ctx, ch)
	if err != nil {
		return fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	rec, err := c.load()
	if err != nil {
		return err
	}
	scopes := union(c.signInScopes(disc, ch, rec), o.Scopes)
	if c.clientCredentials() {
		return c.clientCredentialsGrant(ctx, c.recordFor(rec, disc), scopes)
	}
	return c.authorize(ctx, disc, rec, scopes)
}

// probe sends the server an unauthenticated MCP ping to read its
// challenge; a server that does not challenge returns nil (discovery then
// uses the well-known locations).
func (c *Client) probe(ctx context.Context) (*challenge, error) {
	body := `{"jsonrpc":"2.0","id":"mcphost-auth-probe","method":"ping"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.URL, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth: %s: %w", c.opts.Server, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if ch, ok := bearerChallenge(resp.Header); ok {
		return &ch, nil
	}
	return nil, nil
}

// Logout deletes the server's stored tokens (and revokes them where the
// authorization server supports RFC 7009).
func (c *Client) Logout(ctx context.Context) error {
	rec, err := c.load()
	if err != nil || rec == nil {
		return err
	}
	var revokeErr error
	if rec.RevocationEndpoint != "" {
		for _, t := range []struct{ token, hint string }{{rec.RefreshToken, "refresh_token"}, {rec.AccessToken, "access_token"}} {
			if t.token != "" {
				revokeErr = errors.Join(revokeErr, c.revoke(ctx, rec, t.token, t.hint))
			}
		}
	}
	if err := c.delete(); err != nil {
		return err
	}
	if revokeErr != nil {
		return fmt.Errorf("oauth: %s: signed out here, but revoking the tokens failed: %w", c.opts.Server, revokeErr)
	}
	return nil
}

// Status is what `mcphost auth status` shows of a server: never a token.
type Status struct {
	SignedIn   bool
	Issuer     string
	ClientID   string
	Scopes     []string
	Expiry     time.Time
	Refreshing bool // a refresh token is held
}

// Status reads the Store.
func (c *Client) Status() (Status, error) {
	rec, err := c.load()
	if err != nil || rec == nil {
		return Status{}, err
	}
	return Status{
		SignedIn:   rec.AccessToken != "" || rec.RefreshToken != "",
		Issuer:     rec.Issuer,
		ClientID:   rec.ClientID,
		Scopes:     slices.Clone(rec.Scopes),
		Expiry:     rec.Expiry,
		Refreshing: rec.RefreshToken != "",
	}, nil
}
