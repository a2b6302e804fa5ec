// Package stdio is the built-in stdio transport: each backend MCP server is a
// child process speaking newline-delimited JSON-RPC on its stdin and stdout,
// with stderr collected as logs.
//
// A host in another process takes the child's stdin and stdout over
// (transport.PipeConn) and reads and writes them itself; the plugin keeps
// the process, its stderr and Close. The message and byte counters count
// only what passes through the plugin, so they stay at 0 for those
// connections: the host counts the traffic.
package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// DefaultStopTimeout is how long Close waits for a child to exit after its
// stdin is closed before signalling it.
const DefaultStopTimeout = 5 * time.Second

// killGrace is how long a child gets between SIGTERM and SIGKILL.
const killGrace = time.Second

// Config is one backend's `transport "stdio" {}` block.
type Config struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
	Cwd     string            `json:"cwd"`
	// InheritEnv is a pointer so that an absent attribute means the default
	// (true) rather than false.
	InheritEnv  *bool  `json:"inherit_env"`
	StopTimeout string `json:"stop_timeout"`
}

// Transport runs backends as child processes.
type Transport struct {
	transport.Kit[*conn]
}

var (
	_ transport.Transport = (*Transport)(nil)
	_ transport.PipeConn  = (*conn)(nil)
)

// New returns the stdio transport. A nil logger logs JSON to stderr, which
// is what the host collects from a plugin process.
func New(logger hclog.Logger) *Transport {
	return &Transport{Kit: transport.NewKit[*conn]("stdio", logger)}
}

func (t *Transport) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name:        "stdio",
		Kind:        base.KindTransport,
		Version:     Version,
		APIMinor:    transport.APIMinor,
		Description: "Runs each backend MCP server as a child process speaking newline-delimited JSON-RPC on stdin/stdout.",
	}, nil
}

func (t *Transport) Schema(context.Context, base.SchemaRequest) (base.SchemaResponse, error) {
	return base.SchemaResponse{Instance: base.Schema{Attributes: []base.Attribute{
		{Name: "command", Type: base.TypeString, Required: true, Description: "Executable to run; looked up in PATH when it has no slash."},
		{Name: "args", Type: base.TypeListString, Description: "Arguments passed to the command."},
		{Name: "env", Type: base.TypeMapString, Sensitive: true, Description: "Extra environment variables for the child; values may be secrets."},
		{Name: "cwd", Type: base.TypeString, Description: "Working directory of the child; defaults to the plugin's."},
		{Name: "inherit_env", Type: base.TypeBool, Description: "Whether the child also gets mcphost's environment (default true)."},
		{Name: "stop_timeout", Type: base.TypeString, Description: `How long to wait for the child to exit after closing its stdin before SIGTERM, as a duration such as "5s" (default 5s).`},
	}}}, nil
}

func (t *Transport) Validate(_ context.Context, req base.ValidateRequest) (base.ValidateResponse, error) {
	_, diags := parseConfig(req.Config)
	return base.ValidateResponse{Diagnostics: diags}, nil
}

// options is a parsed, validated Config.
type options struct {
	Config
	inheritEnv  bool
	stopTimeout time.Duration
}

func parseConfig(raw json.RawMessage) (options, []base.Diagnostic) {
	var o options
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &o.Config); err != nil {
		return o, []base.Diagnostic{base.Error("", "Invalid stdio transport config", err.Error())}
	}
	var diags []base.Diagnostic
	if strings.TrimSpace(o.Command) == "" {
		diags = append(diags, base.Error("command", "Missing command", "The stdio transport needs the command that starts the MCP server."))
	}
	if o.Cwd != "" {
		if fi, err := os.Stat(o.Cwd); err != nil {
			diags = append(diags, base.Error("cwd", "Working directory not found", err.Error()))
		} else if !fi.IsDir() {
			diags = append(diags, base.Error("cwd", "Working directory is not a directory", o.Cwd+" is not a directory."))
		}
	}
	o.stopTimeout = DefaultStopTimeout
	if o.StopTimeout != "" {
		d, err := time.ParseDuration(o.StopTimeout)
		switch {
		case err != nil:
			diags = append(diags, base.Error("stop_timeout", "Invalid duration", err.Error()))
		case d < 0:
			diags = append(diags, base.Error("stop_timeout", "Invalid duration", "stop_timeout must not be negative."))
		default:
			o.stopTimeout = d
		}
	}
	o.inheritEnv = o.InheritEnv == nil || *o.InheritEnv
	return o, diags
}

// environ builds the child's environment. It is never nil: a nil Env would
// make os/exec inherit everything even when inherit_env is false. With
// inherit_env the child gets hostEnv, the host's environment as it came
// with the open request (a plugin process has only a minimal one of its
// own), or this process's when the host sent none.
func (o options) environ(hostEnv []string) []string {
	env := []string{}
	if o.inheritEnv {
		if hostEnv == nil {
			hostEnv = os.Environ()
		}
		env = append(env, hostEnv...)
	}
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Later entries win in os/exec, so these override inherited ones.
		env = append(env, k+"="+o.Env[k])
	}
	return env
}

// Open starts the backend's child process. ctx only bounds the start: the
// child lives until Close, since the gRPC server cancels ctx as soon as the
// Open call returns.
func (t *Transport) Open(_ context.Context, req transport.OpenRequest) (transport.OpenResponse, error) {
	o, diags := parseConfig(req.Config)
	for _, d := range diags {
		if d.Severity == base.SeverityError {
			return transport.OpenResponse{}, fmt.Errorf("stdio %s: %s: %s", req.Name, d.Summary, d.Detail)
		}
	}
	limit := req.MaxMessageBytes
	if limit <= 0 {
		limit = sdk.DefaultMaxMessageBytes
	}
	c, err := start(o, req.Name, req.HostEnv, limit, t.Logger.With("server", req.Name), t.newConnMetrics(req.Name), t.forget)
	if err != nil {
		// Plain words (command "x" not found in PATH): the host shows
		// them as the server's reason, next to its name.
		return transport.OpenResponse{}, err
	}
	t.Conns.Add(c)
	return transport.OpenResponse{Conn: c}, nil
}

func (t *Transport) forget(c *conn) { t.Conns.Remove(c) }

// connMetrics are one server's series; connections to the same server name
// share them.
type connMetrics struct {
	transport.ConnCounters
}

func (t *Transport) newConnMetrics(server string) connMetrics {
	return connMetrics{
		ConnCounters: t.Counters(server),
	}
}

// errStopped is returned by Send after Close.
var errStopped = errors.New("connection is closing")
