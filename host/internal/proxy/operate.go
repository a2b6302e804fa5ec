package proxy

import (
	"context"
	"fmt"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
)

var (
	_ admin.Operator     = control{}
	_ admin.Catalog      = control{}
	_ admin.PluginLister = control{}
)

// operateGrace is how much longer than the longest request timeout an
// admin request waits: the router answers a timed-out request itself, with
// a JSON-RPC error, and that answer is what the operator should see.
const operateGrace = 5 * time.Second

// Operate makes a request through the router as an admin session (see
// router.OperatorRequest), waiting at most the longest request timeout
// configured (the proxy's or a server's) plus operateGrace.
func (c control) Operate(ctx context.Context, req admin.OperateRequest) (admin.OperateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.operateTimeout()+operateGrace)
	defer cancel()
	msg, err := c.p.router.OperatorRequest(ctx, req.Method, req.Params)
	if err != nil {
		return admin.OperateResponse{}, fmt.Errorf("%s through the router: %w", req.Method, err)
	}
	return admin.OperateResponse{Message: msg}, nil
}

func (c control) operateTimeout() time.Duration {
	cfg := c.p.config()
	d := cfg.Proxy.RequestTimeout
	if d <= 0 {
		d = config.DefaultRequestTimeout
	}
	for _, s := range cfg.Servers {
		d = max(d, s.RequestTimeout)
	}
	return d
}

func (c control) Prompts() []admin.Prompt {
	var out []admin.Prompt
	for _, p := range c.p.router.Prompts() {
		out = append(out, admin.Prompt{
			Name: p.Name, Server: p.Server, OriginalName: p.Original, Title: p.Title, Description: p.Description,
			Arguments: p.Arguments,
		})
	}
	return out
}

func (c control) Resources() []admin.Resource {
	var out []admin.Resource
	for _, r := range c.p.router.Resources() {
		out = append(out, admin.Resource{
			URI: r.URI, Server: r.Server, OriginalURI: r.Original, Name: r.Name, Title: r.Title,
			Description: r.Description, MimeType: r.MimeType,
		})
	}
	return out
}

// Plugins lists every plugin the proxy knows, with the pid of those
// running as subprocesses (an in-process one has none of its own).
func (c control) Plugins(ctx context.Context) []admin.Plugin {
	var out []admin.Plugin
	for _, st := range c.p.plugins.List(ctx) {
		out = append(out, admin.Plugin{
			Name: st.Name, Kind: st.Kind, Version: st.Version, Source: st.Source, Mode: st.Mode,
			Running: st.Running, Pid: st.Pid, Checksum: st.Checksum, Restarts: st.Restarts,
		})
	}
	return out
}
