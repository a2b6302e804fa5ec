// Command mcphost-plugin-tracing is the built-in tracing plugin: it records
// the context units delivered to clients in a Badger store and serves the
// mcp__proxy__tracing__* tools and trace:// resources.
package main

import (
	"github.com/mcphost/mcphost/plugins/tracestore"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Tracing: tracestore.New(nil)})
}
