package pluginhost

import (
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	httptransport "github.com/mcphost/mcphost/plugins/http"
	"github.com/mcphost/mcphost/plugins/stdio"
	"github.com/mcphost/mcphost/plugins/websocket"
	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/transport"
)

// builtins are the plugins compiled into the host binary.
var builtins = map[string]func(hclog.Logger) transport.Transport{
	"stdio":     func(l hclog.Logger) transport.Transport { return stdio.New(l) },
	"websocket": func(l hclog.Logger) transport.Transport { return websocket.New(l) },
	"http":      func(l hclog.Logger) transport.Transport { return httptransport.New(l) },
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
	factory, ok := builtins[name]
	if !ok {
		return false
	}
	sdk.Serve(sdk.ServeConfig{Transport: factory(nil)})
	return true
}
