// Package sdk is what a plugin author imports to build an mcphost plugin.
//
// A plugin is a program whose main calls [Serve] with exactly one
// implementation of a plugin kind:
//
//   - [transport.Transport] connects the host to one kind of backend and
//     carries raw JSON-RPC both ways;
//   - [translator.Translator] rewrites messages between two MCP protocol
//     versions, for the messages its rules declare (the host tests the
//     rules' conditions and makes their simple edits itself);
//   - [weighting.Weighting] turns the features of the context units behind
//     a response into their weights;
//   - [tracing.Tracing] records what was delivered to clients and serves
//     the tracing tools and resources.
//
// Every kind also answers the shared [base.Plugin] service (info, schema,
// validate, configure, stop, metrics); embed [base.Unimplemented] for its
// defaults, or [base.Described] to answer info, schema and validate from
// the plugin's info and its config block ([base.NewBlock]). The host starts the plugin as a subprocess through
// hashicorp/go-plugin and talks gRPC to it; the same implementation can be
// exercised in tests with the sdk/plugintest harness (ServeTransport,
// ServeTranslator, ServeWeighting, ServeTracing).
//
// sdk imports nothing from the host or the built-in plugins.
package sdk
