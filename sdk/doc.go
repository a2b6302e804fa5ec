// Package sdk is what a plugin author imports to build an mcphost plugin.
//
// A plugin is a program whose main calls [Serve] with one implementation of a
// plugin kind (today: [transport.Transport]). The host starts it as a
// subprocess through hashicorp/go-plugin and talks gRPC to it; the same
// implementation can be exercised in tests with the sdk/plugintest harness.
//
// sdk imports nothing from the host or the built-in plugins.
package sdk
