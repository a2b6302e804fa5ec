package pluginhost

import (
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/plugins/composite"
	httptransport "github.com/mcphost/mcphost/plugins/http"
	"github.com/mcphost/mcphost/plugins/stdio"
	"github.com/mcphost/mcphost/plugins/tracestore"
	"github.com/mcphost/mcphost/plugins/versions"
	"github.com/mcphost/mcphost/plugins/websocket"
	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
)

// builtin is a plugin compiled into the host binary.
type builtin struct {
	kind string
	new  func(hclog.Logger) base.Plugin
}

// builtins are the plugins compiled into the host binary.
var builtins = map[string]builtin{
	"stdio":            {base.KindTransport, func(l hclog.Logger) base.Plugin { return stdio.New(l) }},
	"websocket":        {base.KindTransport, func(l hclog.Logger) base.Plugin { return websocket.New(l) }},
	"http":             {base.KindTransport, func(l hclog.Logger) base.Plugin { return httptransport.New(l) }},
	"versions":         {base.KindTranslator, func(l hclog.Logger) base.Plugin { return versions.New(l) }},
	"composite":        {base.KindWeighting, func(l hclog.Logger) base.Plugin { return composite.New(l) }},
	"tracing":          {base.KindTracing, func(l hclog.Logger) base.Plugin { return tracestore.New(l) }},
	"tracing-postgres": {base.KindTracing, func(l hclog.Logger) base.Plugin { return tracestore.NewPostgres(l) }},
}

func builtinNames() string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// IsBuiltin reports whether name is a built-in plugin.
func IsBuiltin(name string) bool {
	_, ok := builtins[name]
	return ok
}

// ServeBuiltin runs the named built-in as a plugin process; it is what
// `mcphost plugin serve NAME` does.
func ServeBuiltin(name string) bool {
	b, ok := builtins[name]
	if !ok {
		return false
	}
	k, ok := sdk.KindNamed(b.kind)
	if !ok {
		return false
	}
	cfg, ok := k.ServeConfig(b.new(nil))
	if !ok {
		return false
	}
	sdk.Serve(cfg)
	return true
}
