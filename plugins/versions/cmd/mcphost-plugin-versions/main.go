// Command mcphost-plugin-versions is the built-in versions translator
// plugin: it rewrites JSON-RPC messages between the MCP revisions
// 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28.
package main

import (
	"github.com/mcphost/mcphost/plugins/versions"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Translator: versions.New(nil)})
}
