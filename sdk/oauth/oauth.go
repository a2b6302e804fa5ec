// Package oauth is the OAuth 2.1 client a transport uses to reach an MCP
// server that requires authorization, as the MCP authorization
// specification (2025-03-26 … 2026-07-28) describes it:
//
//   - discovery: a 401 with WWW-Authenticate → protected resource metadata
//     (RFC 9728, with the well-known fallbacks) → authorization server
//     metadata (RFC 8414 and OpenID discovery, with the 2025-03-26
//     fallbacks to /authorize, /token and /register at the server's origin);
//   - registration: a pre-registered client, a Client ID Metadata Document
//     URL, or Dynamic Client Registration (RFC 7591);
//   - the authorization-code grant with PKCE (S256) and a loopback redirect
//     (RFC 8252), or the client-credentials grant; the resource parameter
//     (RFC 8707) on every authorization and token request;
//   - tokens refreshed before they expire and kept per server in a Store;
//   - scope from the challenge or from scopes_supported, and step-up when a
//     403 asks for more (a bounded number of times).
//
// The built-in http and websocket transports embed Settings in their config
// and wrap their HTTP client's transport with Transport; `mcphost auth
// login` runs Client.Login with the same Settings. A third-party transport
// can do the same.
package oauth

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Settings.OAuth: whether a transport signs in at all.
const (
	// Auto: answer a server's 401 challenge by signing in.
	Auto = "auto"
	// Off: never.
	Off = "off"
)

// Sign-in modes (Settings.SignIn).
const (
	// SignInCommand: when a sign-in is needed, the connection fails with
	// a NeedsLoginError naming the command to run (`mcphost auth login`).
	SignInCommand = "command"
	// SignInBrowser: the transport runs the authorization-code flow
	// itself, opening the browser (see Opener).
	SignInBrowser = "browser"
)

// Grants (Settings.Grant).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// Settings are the oauth_* attributes of a transport block; a transport's
// Config embeds them (base.SchemaFor reads the tags).
type Settings struct {
	// OAuth is "auto" (default: answer the server's 401 challenge by
	// signing in, unless a bearer_token or Authorization header is
	// configured) or "off".
	OAuth             string   `json:"oauth" default:"auto" doc:"\"auto\" (default): when the server answers 401 with a WWW-Authenticate challenge, sign in with OAuth 2.1 (unless bearer_token or an Authorization header is set); \"off\": never."`
	ClientID          string   `json:"oauth_client_id" doc:"A client id registered with the server's authorization server. Without one, mcphost uses oauth_client_metadata_url when the server supports Client ID Metadata Documents, else Dynamic Client Registration."`
	ClientSecret      string   `json:"oauth_client_secret" config:"sensitive" doc:"The secret of oauth_client_id, for a confidential client."`
	ClientMetadataURL string   `json:"oauth_client_metadata_url" doc:"An https URL of this client's Client ID Metadata Document, used as its client id where the authorization server supports it."`
	Scopes            []string `json:"oauth_scopes" doc:"Scopes to request; by default those of the server's challenge, else its scopes_supported."`
	Grant             string   `json:"oauth_grant" default:"authorization_code" doc:"\"authorization_code\" (default; a person signs in) or \"client_credentials\" (machine to machine, with oauth_client_id and oauth_client_secret)."`
	TokenAuthMethod   string   `json:"oauth_token_endpoint_auth_method" doc:"\"client_secret_basic\", \"client_secret_post\", \"private_key_jwt\" or \"none\"; by default the first the authorization server supports that fits the client (private_key_jwt when oauth_client_assertion_key_file is set)."`
	// ClientAssertionKeyFile is a PEM private key for private_key_jwt.
	ClientAssertionKeyFile string `json:"oauth_client_assertion_key_file" doc:"A PEM file holding the private key (EC P-256 or RSA) of oauth_client_id, which then authenticates with a signed JWT (private_key_jwt, RFC 7523) instead of a secret."`
	RedirectPort           int    `json:"oauth_redirect_port" doc:"The loopback port of the redirect URI (http://127.0.0.1:PORT/callback); 0 (default) picks a free one. Set it when a pre-registered client's redirect URI names a port."`
	SignIn                 string `json:"oauth_sign_in" default:"command" doc:"What mcphost run does when a sign-in is needed: \"command\" (default) puts the server in state needs_login with the command to run; \"browser\" opens the browser itself."`
}

// Record is what a Store keeps for one server: enough to use and refresh
// its tokens without discovery or registration again.
type Record struct {
	// Resource is the server's canonical URI (RFC 8707), which the
	// tokens are bound to.
	Resource string `json:"resource"`
	// Issuer and the endpoints are the authorization server's.
	Issuer        string `json:"issuer,omitempty"`
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// ClientID and ClientSecret are the client's, as registered
	// (dynamically or not).
	ClientID        string `json:"client_id,omitempty"`
	ClientSecret    string `json:"client_secret,omitempty"`
	TokenAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	AccessToken     string `json:"access_token,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	// Expiry is when AccessToken expires; zero when the server did not
	// say.
	Expiry time.Time `json:"expiry,omitzero"`
	// Issued is when AccessToken was issued, from which the refresh
	// margin is a share of its life.
	Issued time.Time `json:"issued,omitzero"`
	// Scopes are those granted (or asked for, when the server did not
	// say).
	Scopes []string `json:"scopes,omitempty"`
	// WantScopes are scopes the server asked for in a step-up that only
	// a person can grant: the next Login asks for them too (it may run
	// in another process, `mcphost auth login`).
	WantScopes []string `json:"want_scopes,omitempty"`
	// RevocationEndpoint is the authorization server's (RFC 7009), for
	// Logout.
	RevocationEndpoint string `json:"revocation_endpoint,omitempty"`
}

// Store keeps Records by key (see Key). Implementations must be safe for
// concurrent use, also across processes (the CLI writes what a running
// proxy reads).
type Store interface {
	// Load returns the record, or an error wrapping fs.ErrNotExist.
	Load(key string) (*Record, error)
	Save(key string, r *Record) error
	// Delete removes the record; a missing one is not an error.
	Delete(key string) error
}

// NeedsLoginError says a person must sign in before the server can be
// used: there is no token, it expired and cannot be refreshed, or the
// server asks for more scope than the token has.
type NeedsLoginError struct {
	Server string   // the server's name in proxy.hcl
	Scopes []string // what the sign-in must ask for, when known
	Reason string   // why, in words
}

func (e *NeedsLoginError) Error() string {
	return NeedsLoginPrefix + e.Reason + "; run: mcphost auth login " + e.Server
}

// NeedsLoginPrefix starts a NeedsLoginError's text, which is how the host
// recognises one after it crossed the plugin boundary as words.
const NeedsLoginPrefix = "needs login: "

// Options are what a Client needs besides Settings.
type Options struct {
	// Server is the server's name in proxy.hcl (for messages and Key).
	Server string
	// URL is the MCP endpoint the tokens are for.
	URL string
	// Store keeps the tokens; required.
	Store Store
	// HTTPClient makes the discovery, registration and token requests
	// (not the MCP ones); nil is http.DefaultClient.
	HTTPClient *http.Client
	// Open shows the authorization URL to the person signing in; nil is
	// OpenBrowser with Getenv, printing to os.Stderr.
	Open func(ctx context.Context, authURL string) error
	// Getenv looks up the environment ($BROWSER); nil is os.Getenv. A
	// transport runs as a plugin process that does not inherit the
	// host's environment, so it passes the host's here.
	Getenv func(string) string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Client gets, keeps and refreshes the tokens of one server. It is safe
// for concurrent use.
type Client struct {
	settings  Settings
	opts      Options
	key       string
	canonical string

	// assertionKey signs private_key_jwt assertions; nil without one.
	assertionKey *assertionKey

	mu sync.Mutex
	// renewing is the refresh in flight, which concurrent callers share.
	renewing *renewal

	// cache is the record Token last read, so that a request to the
	// server does not read a file (see cachedLoad).
	cache recordCache

	// signIn serialises authorizations: one browser sign-in (or one
	// client-credentials grant) at a time. A channel rather than a mutex,
	// so that a caller waiting for another's sign-in can give up with
	// its context.
	signIn chan struct{}
}
