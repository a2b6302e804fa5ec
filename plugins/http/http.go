// Package httptransport is the built-in http transport: each backend MCP
// server is reached over the network, with Streamable HTTP (2025-03-26 and
// later) or the legacy HTTP+SSE transport (2024-11-05), or whichever of the
// two the server answers. Requests of the stateless 2026-07-28 revision,
// which name it in their _meta, go out sessionless with that revision's
// headers; see modern.go.
package httptransport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// Modes of the transport.
const (
	ModeStreamable = "streamable"
	ModeSSE        = "sse"
	ModeAuto       = "auto"
)

// DefaultConnectTimeout bounds dialing, the TLS handshake and the wait for a
// legacy server's endpoint event; it is connect_timeout's default, and what
// "0" means.
const DefaultConnectTimeout = 10 * time.Second

// Config is one backend's `transport "http" {}` block.
type Config struct {
	URL                   string            `json:"url" config:"required" doc:"The server's MCP endpoint (Streamable HTTP), or its SSE endpoint (legacy HTTP+SSE); http or https."`
	Mode                  string            `json:"mode" default:"auto" doc:"\"streamable\", \"sse\" (legacy HTTP+SSE) or \"auto\" (default): try Streamable HTTP and fall back to HTTP+SSE when the server rejects the first POST of the legacy era (a failed server/discover probe only fails that request)."`
	Headers               map[string]string `json:"headers" config:"sensitive" doc:"Extra HTTP headers sent with every request; values may be secrets."`
	BearerToken           string            `json:"bearer_token" config:"sensitive" doc:"Sent as \"Authorization: Bearer <token>\" with every request."`
	ConnectTimeout        base.Duration     `json:"connect_timeout" default:"10s" doc:"Bound on connecting (dial, TLS, and the legacy endpoint event), as a duration such as \"10s\" (default 10s)."`
	RequestTimeout        base.Duration     `json:"request_timeout" doc:"Bound on each HTTP request, as a duration; \"0\" (default) means none, leaving request timeouts to the host."`
	TLSInsecureSkipVerify bool              `json:"tls_insecure_skip_verify" doc:"Accept any server certificate. For testing only."`
	TLSCAFile             string            `json:"tls_ca_file" doc:"PEM file of CA certificates to trust instead of the system's."`
	// The oauth_* attributes: signing in to a server that requires
	// OAuth 2.1.
	oauth.Settings
}

// instance is the block, built once: a bad tag panics at start, not per
// call.
var instance = base.NewBlock(checkConfig)

// Transport connects to backends over HTTP.
type Transport struct {
	transport.Kit[*conn]
}

var _ transport.Transport = (*Transport)(nil)

// New returns the http transport. A nil logger logs JSON to stderr, which
// is what the host collects from a plugin process.
func New(logger hclog.Logger) *Transport {
	return &Transport{Kit: transport.NewKit[*conn](base.InfoResponse{
		Name:        "http",
		Version:     Version,
		Description: "Connects to backend MCP servers over Streamable HTTP or the legacy HTTP+SSE transport.",
	}, instance, logger)}
}

// options is a decoded, checked Config.
type options struct {
	Config
	url            *url.URL
	connectTimeout time.Duration
	requestTimeout time.Duration
	// header holds the configured headers and the bearer token.
	header http.Header
}

// checkConfig checks what c's types cannot say.
func checkConfig(c Config) (options, []base.Diagnostic) {
	var diags []base.Diagnostic
	o := options{Config: c, connectTimeout: c.ConnectTimeout.D(), requestTimeout: c.RequestTimeout.D()}
	if u := strings.TrimSpace(o.URL); u != "" {
		switch parsed, err := url.Parse(u); {
		case err != nil:
			diags = append(diags, base.Error("url", "Invalid url", err.Error()))
		case parsed.Scheme != "http" && parsed.Scheme != "https":
			diags = append(diags, base.Error("url", "Unsupported url scheme", fmt.Sprintf("The url must be http or https, not %q.", parsed.Scheme)))
		case parsed.Host == "":
			diags = append(diags, base.Error("url", "Invalid url", "The url has no host."))
		default:
			o.url = parsed
		}
	}
	switch o.Mode {
	case ModeStreamable, ModeSSE, ModeAuto:
	default:
		diags = append(diags, base.Error("mode", "Invalid mode", fmt.Sprintf(`mode must be "streamable", "sse" or "auto", not %q.`, o.Mode)))
	}
	if o.connectTimeout == 0 {
		// "0" means the default here rather than no bound.
		o.connectTimeout = DefaultConnectTimeout
	}
	if o.TLSCAFile != "" {
		if fi, err := os.Stat(o.TLSCAFile); err != nil {
			diags = append(diags, base.Error("tls_ca_file", "CA file not found", err.Error()))
		} else if fi.IsDir() {
			diags = append(diags, base.Error("tls_ca_file", "CA file is a directory", o.TLSCAFile+" is a directory."))
		}
	}
	headers, headerDiags := headerRules.Check(o.Headers, o.BearerToken)
	o.header = headers.Header
	diags = append(diags, headerDiags...)
	diags = append(diags, transport.CheckOAuth(o.Settings)...)
	if o.TLSInsecureSkipVerify && o.url != nil && o.url.Scheme == "https" {
		diags = append(diags, base.Diagnostic{Severity: base.SeverityWarning, Attribute: "tls_insecure_skip_verify",
			Summary: "TLS verification disabled", Detail: "The server's certificate is not checked; use this for testing only."})
	}
	return o, diags
}

// headerRules check the headers and bearer token; Host is reserved too,
// since this transport sends to the url's host.
var headerRules = transport.HeaderRules{Transport: "http", Reserved: reservedHeader}

// reservedHeader reports whether the transport sets the header named key
// (canonical) itself.
func reservedHeader(key string) bool {
	switch key {
	case "Content-Type", "Accept", "Content-Length", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-Id", "Host",
		"Mcp-Method", "Mcp-Name":
		return true
	}
	return strings.HasPrefix(key, "Mcp-Param-")
}

// client builds the HTTP client of one connection to server; hostEnv is
// the host's environment, where OAuth finds its token store and browser.
func (o options) client(server string, hostEnv []string, logger hclog.Logger) (*http.Client, error) {
	tlsConf, err := transport.TLSClientConfig(o.TLSCAFile, o.TLSInsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: o.connectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: o.connectTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	rt, err := transport.WithOAuth(tr, transport.OAuthSetup{
		Server: server, URL: o.url.String(), Settings: o.Settings, HostEnv: hostEnv, Logger: logger,
		Authorized: o.header.Get("Authorization") != "",
	})
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Transport: rt,
		// Redirects of a POST would lose its body, and redirects to
		// another origin would leak the headers: refuse them all.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// Open prepares a connection to the backend. A streamable (or auto)
// connection makes no request until the host sends its first message; a
// legacy SSE one opens its event stream and waits for the endpoint here. ctx
// only bounds the opening: the connection lives until Close.
func (t *Transport) Open(ctx context.Context, req transport.OpenRequest) (transport.OpenResponse, error) {
	o, diags := instance.Decode(req.Config)
	if err := t.ConfigError(req.Name, diags); err != nil {
		return transport.OpenResponse{}, err
	}
	limit := req.MaxMessageBytes
	if limit <= 0 {
		limit = sdk.DefaultMaxMessageBytes
	}
	logger := t.Logger.With("server", req.Name, "url", safeURL(o.url))
	client, err := o.client(req.Name, req.HostEnv, logger)
	if err != nil {
		return transport.OpenResponse{}, fmt.Errorf("http %s: %w", req.Name, err)
	}
	c := newConn(o, client, limit, logger, t.newConnMetrics(req.Name), t.forget)
	if o.Mode == ModeSSE {
		if err := c.openLegacy(ctx); err != nil {
			c.abort()
			return transport.OpenResponse{}, fmt.Errorf("http %s: %w", req.Name, err)
		}
	}
	t.Conns.Add(c)
	logger.Debug("backend connection opened", "mode", o.Mode)
	return transport.OpenResponse{Conn: c}, nil
}

func (t *Transport) forget(c *conn) { t.Conns.Remove(c) }

// connMetrics are one server's series; connections to the same server name
// share them.
type connMetrics struct {
	transport.ConnCounters
	httpErrors, sessionsExpired, streamReconnects, fallbacks *base.Counter
	// signInsRequired counts connections ended for want of a person
	// signing in (OAuth).
	signInsRequired *base.Counter
}

func (t *Transport) newConnMetrics(server string) connMetrics {
	return connMetrics{
		ConnCounters:     t.Counters(server),
		httpErrors:       t.Counter(server, "request_errors_total"),
		sessionsExpired:  t.Counter(server, "sessions_expired_total"),
		streamReconnects: t.Counter(server, "stream_reconnects_total"),
		fallbacks:        t.Counter(server, "sse_fallbacks_total"),
		signInsRequired:  t.Counter(server, "sign_ins_required_total"),
	}
}

// safeURL is u for logs: no user info, query or fragment, which may hold
// credentials or session ids.
func safeURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
