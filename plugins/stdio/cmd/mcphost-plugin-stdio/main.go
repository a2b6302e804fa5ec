// Command mcphost-plugin-stdio is the built-in stdio transport plugin: it
// runs each backend MCP server as a child process and speaks newline-delimited
// JSON-RPC on its stdin and stdout.
package main

import (
	"github.com/mcphost/mcphost/plugins/stdio"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Transport: stdio.New(nil)})
}
