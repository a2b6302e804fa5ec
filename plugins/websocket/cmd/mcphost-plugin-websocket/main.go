// Command mcphost-plugin-websocket is the WebSocket transport plugin: it
// connects mcphost to MCP servers at ws:// or wss:// URLs, one JSON-RPC
// message per text frame.
package main

import (
	"github.com/mcphost/mcphost/plugins/websocket"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Transport: websocket.New(nil)})
}
