// Command tcp-transport is an example third-party transport plugin: it
// connects mcphost to MCP servers that speak newline-delimited JSON-RPC over
// a plain TCP socket. It uses only mcphost's sdk packages.
package main

import "github.com/mcphost/mcphost/sdk"

func main() {
	sdk.Serve(sdk.ServeConfig{Transport: New()})
}
