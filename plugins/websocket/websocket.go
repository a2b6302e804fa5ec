// Package websocket is the WebSocket transport: each backend is an MCP server
// reached at a ws:// or wss:// URL, carrying one JSON-RPC message per text
// frame under the "mcp" subprotocol.
package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// Config is one backend's `transport "websocket" {}` block.
type Config struct {
	URL                   string            `json:"url" config:"required" doc:"ws:// or wss:// URL of the MCP server."`
	Headers               map[string]string `json:"headers" config:"sensitive" doc:"Extra HTTP headers sent with the opening handshake; values may be secrets."`
	BearerToken           string            `json:"bearer_token" config:"sensitive" doc:"Sent as \"Authorization: Bearer <token>\" with the opening handshake."`
	Subprotocol           string            `json:"subprotocol" default:"mcp" doc:"WebSocket subprotocol to require of the server (default \"mcp\")."`
	ConnectTimeout        base.Duration     `json:"connect_timeout" config:"positive" default:"10s" doc:"How long the dial and handshake may take, as a duration such as \"10s\" (default 10s)."`
	TLSInsecureSkipVerify bool              `json:"tls_insecure_skip_verify" doc:"Skip verification of the server's TLS certificate (wss:// only; for testing)."`
	PingInterval          base.Duration     `json:"ping_interval" default:"30s" doc:"How often to ping the server, as a duration such as \"30s\"; a ping unanswered within the interval ends the connection. \"0s\" disables pings (default 30s)."`
	// The oauth_* attributes: signing in (at the opening handshake) to a
	// server that requires OAuth 2.1.
	oauth.Settings
}

// instance is the block, built once: a bad tag panics at start, not per
// call.
var instance = base.NewBlock(checkConfig)

// Transport dials one WebSocket connection per backend.
type Transport struct {
	transport.Kit[*conn]
}

var _ transport.Transport = (*Transport)(nil)

// New returns the websocket transport. A nil logger logs JSON to stderr,
// which is what the host collects from a plugin process.
func New(logger hclog.Logger) *Transport {
	return &Transport{Kit: transport.NewKit[*conn](base.InfoResponse{
		Name:        "websocket",
		Version:     Version,
		Description: "Connects to MCP servers over WebSocket: one JSON-RPC message per text frame, subprotocol \"mcp\".",
	}, instance, logger)}
}

// options is a decoded, checked Config.
type options struct {
	Config
	url    *url.URL
	header http.Header
	host   string
}

// headerRules check the headers and bearer token; the reserved ones are set
// by the WebSocket handshake itself.
var headerRules = transport.HeaderRules{Transport: "websocket", Reserved: func(key string) bool {
	switch key {
	case "Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version",
		"Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Accept":
		return true
	}
	return false
}}

// checkConfig checks what c's types cannot say.
func checkConfig(c Config) (options, []base.Diagnostic) {
	var diags []base.Diagnostic
	o := options{Config: c}
	switch u, err := url.Parse(o.URL); {
	case strings.TrimSpace(o.URL) == "":
		// Missing: DecodeConfig reported it (url is required).
	case err != nil:
		diags = append(diags, base.Error("url", "Invalid url", err.Error()))
	case u.Scheme != "ws" && u.Scheme != "wss":
		diags = append(diags, base.Error("url", "Invalid url", fmt.Sprintf("The scheme must be ws or wss, not %q.", u.Scheme)))
	case u.Host == "":
		diags = append(diags, base.Error("url", "Invalid url", "The url has no host."))
	case u.Fragment != "":
		diags = append(diags, base.Error("url", "Invalid url", "A WebSocket url must not have a #fragment."))
	default:
		o.url = u
	}

	headers, headerDiags := headerRules.Check(o.Headers, o.BearerToken)
	o.header, o.host = headers.Header, headers.Host
	diags = append(diags, headerDiags...)
	diags = append(diags, transport.CheckOAuth(o.Settings)...)

	if !transport.IsToken(o.Subprotocol) {
		diags = append(diags, base.Error("subprotocol", "Invalid subprotocol", fmt.Sprintf("%q is not a valid WebSocket subprotocol name.", o.Subprotocol)))
	}

	if o.TLSInsecureSkipVerify && o.url != nil && o.url.Scheme == "ws" {
		diags = append(diags, base.Diagnostic{
			Severity: base.SeverityWarning, Attribute: "tls_insecure_skip_verify",
			Summary: "No effect without TLS", Detail: "tls_insecure_skip_verify only applies to wss:// URLs.",
		})
	}
	return o, diags
}

// redactedURL is the URL for logs: scheme, host and path only, since the
// userinfo or query may carry credentials.
func (o options) redactedURL() string {
	return (&url.URL{Scheme: o.url.Scheme, Host: o.url.Host, Path: o.url.Path}).String()
}

// httpURL is the url as the handshake requests it (http or https), which
// is what an authorization server knows the resource by.
func (o options) httpURL() string {
	u := *o.url
	u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	return u.String()
}

// httpTransport returns the HTTP transport for one handshake. A WebSocket
// connection is taken over from it, so nothing is pooled between Opens; the
// caller closes whatever a refused handshake left idle.
func (o options) httpTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.TLSInsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // explicitly requested, for testing
	}
	return tr
}

// Open dials the backend. ctx and connect_timeout bound the dial and
// handshake only: the connection lives until Close or until it drops.
func (t *Transport) Open(ctx context.Context, req transport.OpenRequest) (transport.OpenResponse, error) {
	o, diags := instance.Decode(req.Config)
	if err := t.ConfigError(req.Name, diags); err != nil {
		return transport.OpenResponse{}, err
	}
	limit := req.MaxMessageBytes
	if limit <= 0 {
		limit = sdk.DefaultMaxMessageBytes
	}
	logger := t.Logger.With("server", req.Name, "url", o.redactedURL())
	tr := o.httpTransport()
	defer tr.CloseIdleConnections()
	rt, err := transport.WithOAuth(tr, transport.OAuthSetup{
		Server: req.Name, URL: o.httpURL(), Settings: o.Settings, HostEnv: req.HostEnv, Logger: logger,
		Authorized: o.header.Get("Authorization") != "",
	})
	if err != nil {
		return transport.OpenResponse{}, fmt.Errorf("websocket %s: %w", req.Name, err)
	}
	c, err := dial(ctx, o, rt, limit, logger, t.newConnMetrics(req.Name), t.forget)
	if _, ok := errors.AsType[*oauth.NeedsLoginError](err); ok {
		t.Counter(req.Name, "sign_ins_required_total").Inc()
	}
	if err != nil {
		return transport.OpenResponse{}, fmt.Errorf("websocket %s: %w", req.Name, err)
	}
	t.Conns.Add(c)
	return transport.OpenResponse{Conn: c}, nil
}

func (t *Transport) forget(c *conn) { t.Conns.Remove(c) }

// connMetrics are one server's series; connections to the same server name
// share them.
type connMetrics struct {
	transport.ConnCounters
	binaryIgnored, pingFailures *base.Counter
}

func (t *Transport) newConnMetrics(server string) connMetrics {
	return connMetrics{
		ConnCounters:  t.Counters(server),
		binaryIgnored: t.Counter(server, "binary_frames_ignored_total"),
		pingFailures:  t.Counter(server, "ping_failures_total"),
	}
}
