// Package tracing is the plugin kind that records what the host delivered to
// clients (tool results, resources, prompts) and the feedback clients gave,
// and serves the tracing tools and resources. The host lists those tools and
// resources next to the backends' own and forwards calls on them here.
//
// Record is off the hot path: the host queues events and sends them in
// batches, dropping (and counting) what does not fit rather than blocking a
// client. Every JSON value crosses raw and byte for byte.
package tracing

import (
	"context"
	"encoding/json"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities.
const APIMinor = 0

// Tracing records deliveries and serves the tracing tools and resources.
type Tracing interface {
	base.Plugin
	// Record stores a batch of events, in the order they happened.
	Record(ctx context.Context, req RecordRequest) (RecordResponse, error)
	// ListTools returns the tools the plugin serves.
	ListTools(ctx context.Context, req ListToolsRequest) (ListToolsResponse, error)
	// CallTool runs one of the plugin's tools. A tool that fails reports
	// it in the result (isError); an error return becomes a JSON-RPC error.
	CallTool(ctx context.Context, req CallToolRequest) (CallToolResponse, error)
	// ListResources returns the resources and resource templates the
	// plugin serves.
	ListResources(ctx context.Context, req ListResourcesRequest) (ListResourcesResponse, error)
	// ReadResource reads one of the plugin's resources.
	ReadResource(ctx context.Context, req ReadResourceRequest) (ReadResourceResponse, error)
}

// Kinds of event, as in Event.Kind.
const (
	EventToolResult = "tool_result"
	EventResource   = "resource"
	EventPrompt     = "prompt"
	EventFeedback   = "feedback"
)

// Event is one thing delivered to a client, or feedback from one.
type Event struct {
	// Kind is EventToolResult, EventResource, EventPrompt or EventFeedback.
	Kind         string
	TimeUnixNano int64
	// Session is the client session the event belongs to.
	Session string
	// Server is the backend that produced the content.
	Server string
	// Method is the JSON-RPC method ("tools/call", "resources/read", ...).
	Method string
	// Name is the tool or prompt name, as the backend knows it.
	Name string
	// URI is the resource URI, as the backend knows it.
	URI string
	// Arguments are the request's arguments, raw JSON.
	Arguments json.RawMessage
	// Content is the result delivered, raw JSON.
	Content json.RawMessage
	// ContentHash identifies Content, so that versions can be told apart
	// without comparing it.
	ContentHash string
	SizeBytes   int64
	// Meta is the result's _meta, raw JSON.
	Meta json.RawMessage
}

// RecordRequest carries a batch of events.
type RecordRequest struct {
	Events []Event
}

// RecordResponse acknowledges a batch.
type RecordResponse struct{}

// ListToolsRequest asks for the plugin's tools for one client session.
type ListToolsRequest struct {
	Session string
}

// ListToolsResponse lists tools.
type ListToolsResponse struct {
	// Tools are raw MCP Tool objects.
	Tools []json.RawMessage
}

// CallToolRequest calls a tool for one client session.
type CallToolRequest struct {
	Session string
	Name    string
	// Arguments are the tool call's arguments, raw JSON.
	Arguments json.RawMessage
}

// CallToolResponse carries a tool's result.
type CallToolResponse struct {
	// Result is a raw MCP CallToolResult.
	Result json.RawMessage
}

// ListResourcesRequest asks for the plugin's resources for one client
// session.
type ListResourcesRequest struct {
	Session string
}

// ListResourcesResponse lists resources.
type ListResourcesResponse struct {
	// Resources are raw MCP Resource objects.
	Resources []json.RawMessage
	// Templates are raw MCP ResourceTemplate objects.
	Templates []json.RawMessage
}

// ReadResourceRequest reads a resource for one client session.
type ReadResourceRequest struct {
	Session string
	URI     string
}

// ReadResourceResponse carries a resource's contents.
type ReadResourceResponse struct {
	// Result is a raw MCP ReadResourceResult.
	Result json.RawMessage
}
