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
	"context"
	"errors"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// killGrace is how long a child gets between SIGTERM and SIGKILL.
const killGrace = time.Second

// Config is one backend's `transport "stdio" {}` block.
type Config struct {
	Command     string            `json:"command" config:"required" doc:"Executable to run; looked up in PATH when it has no slash."`
	Args        []string          `json:"args" doc:"Arguments passed to the command."`
	Env         map[string]string `json:"env" config:"sensitive" doc:"Extra environment variables for the child; values may be secrets."`
	Cwd         string            `json:"cwd" doc:"Working directory of the child; defaults to the plugin's."`
	InheritEnv  bool              `json:"inherit_env" default:"true" doc:"Whether the child also gets mcphost's environment (default true)."`
	StopTimeout base.Duration     `json:"stop_timeout" default:"5s" doc:"How long to wait for the child to exit after closing its stdin before SIGTERM, as a duration such as \"5s\" (default 5s)."`
}

// instance is the block, built once: a bad tag panics at start, not per
// call.
var instance = base.NewBlock(checkConfig)

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
	return &Transport{Kit: transport.NewKit[*conn](base.InfoResponse{
		Name:        "stdio",
		Version:     Version,
		Description: "Runs each backend MCP server as a child process speaking newline-delimited JSON-RPC on stdin/stdout.",
	}, instance, logger)}
}

// options is a decoded, checked Config.
type options struct {
	Config
}

// checkConfig checks what c's types cannot say.
func checkConfig(c Config) (options, []base.Diagnostic) {
	var diags []base.Diagnostic
	if c.Cwd != "" {
		if fi, err := os.Stat(c.Cwd); err != nil {
			diags = append(diags, base.Error("cwd", "Working directory not found", err.Error()))
		} else if !fi.IsDir() {
			diags = append(diags, base.Error("cwd", "Working directory is not a directory", c.Cwd+" is not a directory."))
		}
	}
	return options{Config: c}, diags
}

// environ builds the child's environment. It is never nil: a nil Env would
// make os/exec inherit everything even when inherit_env is false. With
// inherit_env the child gets hostEnv, the host's environment as it came
// with the open request (a plugin process has only a minimal one of its
// own), or this process's when the host sent none.
func (o options) environ(hostEnv []string) []string {
	env := []string{}
	if o.InheritEnv {
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
	o, diags := instance.Decode(req.Config)
	if err := t.ConfigError(req.Name, diags); err != nil {
		return transport.OpenResponse{}, err
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
