// Command mcphost-plugin-composite is the built-in composite weighting
// plugin: it weighs the context units behind a response by a blend of
// retrieval score, recency, unit type and share of tokens.
package main

import (
	"github.com/mcphost/mcphost/plugins/composite"
	"github.com/mcphost/mcphost/sdk"
)

func main() {
	sdk.Serve(sdk.ServeConfig{Weighting: composite.New(nil)})
}
