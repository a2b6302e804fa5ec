package tracing

// ResourceToolQuality is a resource a tracing plugin with
// CapabilityToolQuality serves (API minor 7): what feedback taught about
// each tool's results, aggregated over the tool's rated contexts (those
// with feedback), for ranking tools (proxy.tool_mode = "search"). Its
// contents are one application/json text decoding into ToolQualityView.
// The plugin reports it in ChangedURIs whenever a feedback changes a
// quality.
const ResourceToolQuality = "trace://quality/tools"

// CapabilityToolQuality, in a tracing plugin's Info capabilities, says
// that it serves ResourceToolQuality; the host reads it only then, so an
// older plugin is not asked. (API minor 7.)
const CapabilityToolQuality = "tool_quality"

// ToolQualityView is the contents of ResourceToolQuality.
type ToolQualityView struct {
	Tools []ToolQuality `json:"tools"`
}

// ToolQuality is one tool's aggregate: Server and Name as the backend
// knows the tool (as in Event), Quality the mean quality of its rated
// contexts weighted by their feedback counts, in [-1, 1].
type ToolQuality struct {
	Server             string  `json:"server"`
	Name               string  `json:"name"`
	Quality            float64 `json:"quality"`
	FeedbackCount      uint64  `json:"feedback_count"`
	Contexts           int     `json:"contexts"`
	DeprecatedContexts int     `json:"deprecated_contexts"`
	// Deprecated is set when every rated context of the tool is
	// deprecated.
	Deprecated bool `json:"deprecated"`
}
