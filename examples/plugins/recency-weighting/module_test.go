package main

import (
	"testing"

	"github.com/mcphost/mcphost/sdk/plugintest"
)

// A plugin built on the SDK alone must not pull in the host's modules.
func TestModuleGraphHasNoHostModule(t *testing.T) {
	t.Parallel()
	plugintest.CheckModuleGraph(t, plugintest.HostModules...)
}
