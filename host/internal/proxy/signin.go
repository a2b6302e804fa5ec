package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	httptransport "github.com/mcphost/mcphost/plugins/http"
	"github.com/mcphost/mcphost/plugins/websocket"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// OAuthServer is what signing in to one server needs from its transport
// block.
type OAuthServer struct {
	Name string `json:"-"`
	// URL is the endpoint as an authorization server knows it (http or
	// https: a websocket url's handshake URL).
	URL string `json:"url"`
	// The block's TLS settings, which the sign-in's requests (discovery
	// at the server among them) share with the transport.
	TLSCAFile             string `json:"tls_ca_file"`
	TLSInsecureSkipVerify bool   `json:"tls_insecure_skip_verify"`
	oauth.Settings
}

// ErrNoOAuth is the error of a server that does not sign in.
var ErrNoOAuth = errors.New(`does not sign in with OAuth (its transport is not http or websocket, or it sets oauth = "off")`)

// oauthSchemas are the instance schemas of the built-in transports that
// sign in.
var oauthSchemas = map[string]base.Schema{
	"http":      base.SchemaFor[httptransport.Config](),
	"websocket": base.SchemaFor[websocket.Config](),
}

// OAuthServerOf decodes server name's transport block as its transport
// would: its url and oauth_* attributes. The error wraps
// admin.ErrUnknownServer for a name cfg does not declare, and ErrNoOAuth
// for a server that does not sign in.
func OAuthServerOf(cfg *config.Config, name string) (OAuthServer, error) {
	var srv OAuthServer
	s, found := cfg.Server(name)
	if !found {
		return srv, fmt.Errorf("%w: %s declares no server %q", admin.ErrUnknownServer, cfg.Filename, name)
	}
	schema, known := oauthSchemas[s.Transport.Plugin]
	if !known {
		return srv, fmt.Errorf("server %q %w", name, ErrNoOAuth)
	}
	raw, diags := config.DecodeBody(s.Transport.Body, schema, cfg.EvalContext)
	if diags.HasErrors() {
		return srv, fmt.Errorf("server %q: %s", name, diags.Errs()[0])
	}
	if err := json.Unmarshal(raw, &srv); err != nil {
		return srv, fmt.Errorf("server %q: %w", name, err)
	}
	if srv.OAuth == oauth.Off {
		return srv, fmt.Errorf("server %q %w", name, ErrNoOAuth)
	}
	srv.Name = name
	if u, err := url.Parse(srv.URL); err == nil && (u.Scheme == "ws" || u.Scheme == "wss") {
		u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
		srv.URL = u.String()
	}
	return srv, nil
}

// Client is the server's OAuth client with mcphost's token store. open
// shows the authorization URL; nil opens the browser ($BROWSER, through
// getenv), printing the URL to prompt too.
func (s OAuthServer) Client(getenv func(string) string, prompt io.Writer, open func(ctx context.Context, authURL string) error) (*oauth.Client, error) {
	tlsConf, err := transport.TLSClientConfig(s.TLSCAFile, s.TLSInsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", s.Name, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	return transport.NewOAuthClient(s.Settings, transport.OAuthClientOptions{
		Server: s.Name, URL: s.URL, Getenv: getenv, Prompt: prompt, Open: open,
		HTTPClient: &http.Client{Transport: tr, Timeout: signInRequestTimeout},
	})
}

// signInRequestTimeout bounds each request of a sign-in (discovery,
// registration, tokens), not the wait for the person.
const signInRequestTimeout = 30 * time.Second

// signInTimeout bounds a sign-in started from the admin API: the person
// has this long to finish it in the browser.
const signInTimeout = 10 * time.Minute

// signIns are the sign-ins started from the admin API (the dashboard's
// "Sign in"), at most one a server. Each runs the authorization-code flow
// in the proxy, whose loopback redirect listens on this machine, and
// reconnects the server once signed in. Shutdown ends them.
type signIns struct {
	mu      sync.Mutex
	running map[string]*signIn
	closed  bool
	wg      sync.WaitGroup
}

type signIn struct{ cancel context.CancelFunc }

// start begins a sign-in to srv and returns the authorization URL to open
// ("" when none was needed); signedIn runs once it succeeds. A sign-in
// to srv not finished yet is abandoned for the new one.
func (s *signIns) start(ctx context.Context, srv OAuthServer, signedIn func(), log hclog.Logger) (string, error) {
	urls := make(chan string, 1)
	client, err := srv.Client(os.Getenv, io.Discard, func(_ context.Context, authURL string) error {
		select {
		case urls <- authURL:
		default:
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	runCtx, cancel := context.WithTimeout(context.Background(), signInTimeout)
	this := &signIn{cancel: cancel}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return "", errors.New("the proxy is shutting down")
	}
	if s.running == nil {
		s.running = map[string]*signIn{}
	}
	if prev := s.running[srv.Name]; prev != nil {
		prev.cancel()
	}
	s.running[srv.Name] = this
	s.wg.Add(1)
	s.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		defer s.wg.Done()
		defer s.forget(srv.Name, this)
		err := client.Login(runCtx, oauth.LoginOptions{})
		done <- err
		if err != nil {
			log.Warn("sign-in started from the admin API did not complete", "server", srv.Name, "error", err)
			return
		}
		log.Info("signed in; reconnecting the server", "server", srv.Name)
		signedIn()
	}()
	select {
	case authURL := <-urls:
		return authURL, nil
	case err := <-done:
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// forget drops the record of a sign-in that has ended, unless a newer one
// replaced it.
func (s *signIns) forget(server string, this *signIn) {
	this.cancel()
	s.mu.Lock()
	if s.running[server] == this {
		delete(s.running, server)
	}
	s.mu.Unlock()
}

// stop ends every sign-in under way and waits for them.
func (s *signIns) stop() {
	s.mu.Lock()
	s.closed = true
	for _, r := range s.running {
		r.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// StartSignIn starts a sign-in to server name from the admin API.
func (c control) StartSignIn(ctx context.Context, name string) (admin.SignInStart, error) {
	srv, err := OAuthServerOf(c.p.config(), name)
	if errors.Is(err, ErrNoOAuth) {
		return admin.SignInStart{}, fmt.Errorf("%w: %w", admin.ErrNoSignIn, err)
	}
	if err != nil {
		return admin.SignInStart{}, err
	}
	authURL, err := c.p.signIns.start(ctx, srv, func() {
		if err := c.p.router.RestartBackend(name); err != nil {
			c.p.log.Warn("reconnect after sign-in", "server", name, "error", err)
		}
	}, c.p.log)
	if err != nil {
		return admin.SignInStart{}, fmt.Errorf("sign in to %s: %w", name, err)
	}
	return admin.SignInStart{Server: name, AuthorizationURL: authURL}, nil
}
