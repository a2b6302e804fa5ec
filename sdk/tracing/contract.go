package tracing

import (
	"fmt"
	"strings"
)

// The tracing tools every tracing plugin serves, named exactly as clients
// see them (the host adds no prefix to a tracing plugin's tools). They are
// what the built-in serves and what plugintest.TracingSuite checks, so an
// agent or dashboard written against one store works against another.
// Unknown ids and bad arguments are tool errors (isError); an unknown tool
// name is an error of CallTool. Each returns structuredContent; the
// members the suite reads are listed with it:
//
//   - ToolGetTrace (response_id, default LatestResponse): response_id,
//     session, resource_uri, contexts [{context_id, weight, version,
//     head_version, status: "current" | "superseded", quality,
//     feedback_count, context_uri}], feedback_count; from API minor 8,
//     profile (the response's Event.Profile, the latest non-empty one of
//     a response finalized again; omitted when empty), also in the
//     ResourceResponsePrefix resource.
//   - ToolGetResponseContexts (response_id, type): response_id, contexts
//     as get_trace's, heaviest first, only of type when given.
//   - ToolQueryContextImpact (context_id, limit): context_id,
//     total_responses, responses [{response_id, weight, version}], newest
//     first.
//   - ToolGetEvolutionHistory (context_id): context_id, head_version,
//     versions [{version, previous_version, next_version, current,
//     content_hash}], oldest first.
//   - ToolSubmitFeedback (response_id, score in [-1, 1]): response_id,
//     learning_rate r, contexts [{context_id, weight, quality_before,
//     quality}], where quality = quality_before + min(r·weight, 1)·(score −
//     quality_before) and a context's quality starts at 0.
const (
	ToolGetTrace            = "mcp__proxy__tracing__get_trace"
	ToolQueryContextImpact  = "mcp__proxy__tracing__query_context_impact"
	ToolGetResponseContexts = "mcp__proxy__tracing__get_response_contexts"
	ToolGetEvolutionHistory = "mcp__proxy__tracing__get_evolution_history"
	ToolSubmitFeedback      = "mcp__proxy__tracing__submit_feedback"
)

// LatestResponse, as a response_id, is the calling session's newest
// finalized response (for OperatorSession, see CapabilityOperatorLatest).
const LatestResponse = "latest"

// The templated resources every tracing plugin serves next to
// ResourceRecentResponses, as prefixes of their URIs: the id follows,
// escaped as an RFC 6570 simple expansion of {id} (ResourceURI), and each
// reads as one application/json text: a response as get_trace's result,
// a context as {context_id, head_version, quality, …}, a context's
// versions as get_evolution_history's. An unknown id is an error of
// ReadResource. Record reports the response's URI and
// ResourceRecentResponses as changed when it finalizes a response, and a
// context's and its evolution's when it stores a new version of it;
// ToolSubmitFeedback reports the response's and every context's it moved.
const (
	ResourceResponsePrefix  = "trace://response/"
	ResourceContextPrefix   = "trace://context/"
	ResourceEvolutionPrefix = "trace://evolution/"
)

// ResourceURI is the URI of id under one of the templated resources'
// prefixes: id percent-encoded but for RFC 3986's unreserved characters,
// as a client expanding the template builds it.
func ResourceURI(prefix, id string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
