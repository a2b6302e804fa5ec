// Package tracing is the plugin kind that records what the host delivered to
// clients (tool results, resources, prompts) and the feedback clients gave,
// and serves the tracing tools and resources. The host lists those tools and
// resources next to the backends' own and forwards calls on them here.
//
// Record is off the hot path: the host queues events and sends them in
// batches, dropping (and counting) what does not fit rather than blocking a
// client. A response's unit events usually come in the same batch as the
// response event, but may come in earlier ones (when they hold too much
// to wait for it). A response may be finalized more than once: the units
// of a W3C trace (a response id the host derives from the trace id of the
// requests, "resp_" and its 32 hex digits) come from any session, copy or
// instance, each batch finalizing the response with the units it has; a
// store merges each into the response it has (all units kept, weights
// summing to 1, a batch recorded twice changing nothing; API minor 6;
// plugintest.TracingSuite checks it). Every JSON value crosses raw and
// byte for byte.
package tracing

import (
	"context"
	"encoding/json"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities. Minor 4: ResourceRecentResponses, and the
// sessions of operators' calls (OperatorCallPrefix). Minor 5:
// ChangeWatcher. Minor 6: a response finalized again is merged into the
// stored one (trace responses). Minor 7: ResourceToolQuality
// (CapabilityToolQuality). Minor 8: Event.Profile.
const APIMinor = 8

// ResourceRecentResponses is a resource every tracing plugin serves (API
// minor 4; the admin API and dashboard read it): the latest finalized
// responses, newest first, at most 50 unless the URI ends in ?limit=N
// (1 to 200). Its contents are one application/json text:
//
//	{"responses": [{
//	    "response_id": "…", "session": "<first 14 characters of the session id>",
//	    "origin": "client" | "admin",   // admin: tracing.IsOperatorCall(session)
//	    "created_at": RFC 3339, "finalized_at": RFC 3339,
//	    "units_delivered": n, "contexts": n, "token_estimate": n,
//	    "top_contexts": [{"context_id": "…", "weight": 0.5, …}],  // heaviest first
//	    "resource_uri": "trace://response/…"}, …]}
//
// A plugin lists it in ListResources, reports it in ChangedURIs when a
// response is finalized, and may add members. plugintest.CheckTracing
// checks it.
const ResourceRecentResponses = "trace://responses/recent"

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

// MaxEventArgumentsBytes is the largest Arguments the host sends in an
// event. Arguments that large are data more than an identity (which the
// context id already is), and a unit holds on to them until recorded.
const MaxEventArgumentsBytes = 64 << 10

// Kinds of event, as in Event.Kind.
const (
	EventToolResult = "tool_result"
	EventResource   = "resource"
	EventPrompt     = "prompt"
	EventFeedback   = "feedback"
	// EventResponse finalizes a response: its Units carry the weights.
	EventResponse = "response"
)

// Context types, as in Event.ContextType (the weighting plugin's Unit.Type).
// The host maps tool results to external, resources to system and
// prompts to user; model_state is for units a client reports itself.
const (
	TypeSystem     = "system"
	TypeUser       = "user"
	TypeExternal   = "external"
	TypeModelState = "model_state"
)

// Event is one thing delivered to a client, or feedback from one.
type Event struct {
	// Kind is EventToolResult, EventResource, EventPrompt or EventFeedback.
	Kind         string
	TimeUnixNano int64
	// Session is the client session the event belongs to.
	Session string
	// Profile is the profile that session was opened for, "" for the
	// proxy's main endpoints (API minor 8; "" from older hosts).
	Profile string
	// Server is the backend that produced the content.
	Server string
	// Method is the JSON-RPC method ("tools/call", "resources/read", ...).
	Method string
	// Name is the tool or prompt name, as the backend knows it.
	Name string
	// URI is the resource URI, as the backend knows it.
	URI string
	// Arguments are the request's arguments, raw JSON; left out when
	// larger than MaxEventArgumentsBytes.
	Arguments json.RawMessage
	// ArgumentsBytes is the size of the request's arguments, sent or not
	// (API minor 2; 0 from older hosts, which always sent them).
	ArgumentsBytes int64
	// Content is the result delivered, raw JSON.
	Content json.RawMessage
	// ContentHash identifies Content, so that versions can be told apart
	// without comparing it: the host sends ContentHash(Content), computed
	// over the whole result even when Content itself is not sent.
	ContentHash string
	SizeBytes   int64
	// Meta is the result's _meta, raw JSON.
	Meta json.RawMessage
	// ResponseID is the response (turn) the unit was delivered in, or the
	// response an EventResponse finalizes.
	ResponseID string
	// ContextID is the unit's stable identity, computed by the host:
	// server + tool + canonical arguments, resource URI, or prompt +
	// arguments. A changed ContentHash under one ContextID is a new
	// version of the unit.
	ContextID string
	// ContextType is TypeSystem, TypeUser, TypeExternal or TypeModelState.
	ContextType string
	// RetrievalScore in [0, 1], and where it came from: "meta" (the
	// backend's _meta), "lexical" (measured against the request's
	// arguments) or "default".
	RetrievalScore  float64
	RetrievalSource string
	TokenEstimate   int64
	// Summary is a bounded text summary of Content.
	Summary string
	// Units are, for EventResponse, the response's units and weights.
	Units []ResponseUnit
}

// ResponseUnit is one unit of a finalized response and its weight.
type ResponseUnit struct {
	ContextID   string
	ContentHash string
	Weight      float64
}

// RecordRequest carries a batch of events.
type RecordRequest struct {
	Events []Event
}

// RecordResponse acknowledges a batch.
type RecordResponse struct {
	// ChangedURIs are the plugin's resources whose contents changed, for
	// notifications/resources/updated to subscribed clients.
	ChangedURIs []string
}

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
	// ChangedURIs are the plugin's resources the call changed.
	ChangedURIs []string
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

// CapabilityWatchesChanges, in a tracing plugin's Info capabilities, says
// that it implements ChangeWatcher; the host then watches for changes
// from the moment the plugin is configured. (API minor 5.)
const CapabilityWatchesChanges = "watches_changes"

// ChangeWatcher is implemented by a Tracing whose store other hosts write
// to as well (several mcphost instances on one database): the resources
// their writes change must reach this host's subscribers, yet this host
// made no call whose response could say so.
type ChangeWatcher interface {
	// WatchChanges reports, until ctx ends, the plugin's resources changed
	// by writes this host did not make through this plugin (those are in
	// the ChangedURIs of its own calls). The channel is closed when ctx
	// ends or the plugin stops; the host watches again after a stop.
	WatchChanges(ctx context.Context, req WatchChangesRequest) (<-chan WatchChangesResponse, error)
}

// WatchChangesRequest starts watching for changes.
type WatchChangesRequest struct{}

// WatchChangesResponse is one set of changes.
type WatchChangesResponse struct {
	// ChangedURIs are the plugin's resources whose contents changed, for
	// notifications/resources/updated to subscribed clients.
	ChangedURIs []string
}
