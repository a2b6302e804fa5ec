// Command mcphost-plugin-http is the built-in http transport plugin: it
// connects to backend MCP servers over Streamable HTTP or the legacy
// HTTP+SSE transport.
package main

import (
	httptransport "github.com/mcphost/mcphost/plugins/http"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Transport: httptransport.New(nil)})
}
