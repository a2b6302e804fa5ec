package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/oauth"
)

// CheckOAuth checks the oauth_* attributes of a transport block for what
// their types cannot say.
func CheckOAuth(s oauth.Settings) []base.Diagnostic {
	var diags []base.Diagnostic
	oneOf := func(attr, value string, allowed ...string) {
		for _, a := range allowed {
			if value == a {
				return
			}
		}
		diags = append(diags, base.Error(attr, "Invalid value", fmt.Sprintf("%s must be %s, not %q.", attr, quotedList(allowed), value)))
	}
	oneOf("oauth", s.OAuth, oauth.Auto, oauth.Off)
	oneOf("oauth_grant", s.Grant, oauth.GrantAuthorizationCode, oauth.GrantClientCredentials)
	oneOf("oauth_sign_in", s.SignIn, oauth.SignInCommand, oauth.SignInBrowser)
	if s.TokenAuthMethod != "" {
		oneOf("oauth_token_endpoint_auth_method", s.TokenAuthMethod, "client_secret_basic", "client_secret_post", "private_key_jwt", "none")
	}
	if s.RedirectPort < 0 || s.RedirectPort > 65535 {
		diags = append(diags, base.Error("oauth_redirect_port", "Invalid value", "oauth_redirect_port must be a port number (0 picks a free one)."))
	}
	if s.Grant == oauth.GrantClientCredentials && (s.ClientID == "" || s.ClientSecret == "" && s.ClientAssertionKeyFile == "") {
		diags = append(diags, base.Error("oauth_grant", "Missing client credentials",
			`oauth_grant = "client_credentials" needs oauth_client_id, and oauth_client_secret or oauth_client_assertion_key_file.`))
	}
	return diags
}

func quotedList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// OAuthSetup is what WithOAuth needs to sign one backend's requests.
type OAuthSetup struct {
	// Server is the backend's name in proxy.hcl.
	Server string
	// URL is the MCP endpoint (http or https) the tokens are for.
	URL      string
	Settings oauth.Settings
	// Authorized says a bearer_token or an Authorization header is
	// configured, which oauth = "auto" leaves alone.
	Authorized bool
	// HostEnv is OpenRequest.HostEnv: where the token store and the
	// browser are found. Nil is the plugin's own environment.
	HostEnv []string
	// Logger gets the authorization URL when oauth_sign_in = "browser",
	// in case no browser opens.
	Logger hclog.Logger
}

// WithOAuth returns base wrapped in an oauth.Transport as setup says, or
// base itself when OAuth is off for the backend. Discovery, registration
// and token requests go through base too, so that they share its TLS
// settings.
func WithOAuth(base http.RoundTripper, setup OAuthSetup) (http.RoundTripper, error) {
	if setup.Settings.OAuth == oauth.Off || setup.Authorized {
		return base, nil
	}
	client, err := NewOAuthClient(setup.Settings, OAuthClientOptions{
		Server: setup.Server, URL: setup.URL, Getenv: EnvLookup(setup.HostEnv),
		HTTPClient: &http.Client{Transport: base}, Prompt: &logWriter{logger: setup.Logger},
	})
	if err != nil {
		return nil, err
	}
	return &oauth.Transport{Base: base, Client: client}, nil
}

// OAuthClientOptions are what NewOAuthClient needs besides Settings.
type OAuthClientOptions struct {
	Server, URL string
	// Getenv finds the token store's directory and the browser.
	Getenv func(string) string
	// HTTPClient makes discovery, registration and token requests; nil
	// is http.DefaultClient.
	HTTPClient *http.Client
	// Prompt is where the authorization URL is printed, besides opening
	// the browser.
	Prompt io.Writer
	// Open, when set, shows the authorization URL instead (Prompt and
	// the browser are then unused).
	Open func(ctx context.Context, authURL string) error
}

// NewOAuthClient returns the oauth.Client of one backend with mcphost's
// token store (oauth.DefaultDir), as the transports and `mcphost auth`
// share it.
func NewOAuthClient(s oauth.Settings, o OAuthClientOptions) (*oauth.Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	dir, err := oauth.DefaultDir(getenv)
	if err != nil {
		return nil, fmt.Errorf("oauth token store: %w", err)
	}
	open := o.Open
	if open == nil {
		open = func(ctx context.Context, authURL string) error {
			return oauth.OpenBrowser(ctx, authURL, getenv, o.Prompt)
		}
	}
	client, err := oauth.New(s, oauth.Options{
		Server: o.Server, URL: o.URL, Store: oauth.FileStore{Dir: dir}, HTTPClient: o.HTTPClient, Getenv: getenv, Open: open,
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return client, nil
}

// EnvLookup is a getenv over env (KEY=VALUE entries); nil env is the
// process's own environment.
func EnvLookup(env []string) func(string) string {
	if env == nil {
		return os.Getenv
	}
	return func(key string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

// logWriter logs each line written to it: how a plugin process, which has
// no terminal, shows the authorization URL (its log reaches the host's).
type logWriter struct {
	logger hclog.Logger
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.logger == nil {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.logger.Warn(line)
		}
		w.buf = w.buf[i+1:]
	}
}

// TLSClientConfig is the TLS configuration of a transport block's
// tls_ca_file (PEM certificates to trust instead of the system's; "" for
// the system's) and tls_insecure_skip_verify, which the requests of a
// sign-in to the same server use too.
func TLSClientConfig(caFile string, insecureSkipVerify bool) (*tls.Config, error) {
	conf := &tls.Config{InsecureSkipVerify: insecureSkipVerify} //nolint:gosec // opt-in, warned about by the transports' Validate
	if caFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("tls_ca_file: no PEM certificates found")
	}
	conf.RootCAs = pool
	return conf, nil
}
