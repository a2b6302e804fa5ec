// Command mcphost-plugin-tracing-postgres is the built-in tracing-postgres
// plugin: it records the context units delivered to clients in a
// PostgreSQL database that several mcphost instances share, and serves
// the mcp__proxy__tracing__* tools and trace:// resources.
package main

import (
	"github.com/mcphost/mcphost/plugins/tracestore"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Tracing: tracestore.NewPostgres(nil)})
}
