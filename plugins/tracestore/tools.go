package tracestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// Tool names, exactly as clients see them: the host adds no prefix to a
// tracing plugin's tools. They are the SDK's contract (plugintest.TracingSuite).
const (
	toolGetTrace         = tracing.ToolGetTrace
	toolContextImpact    = tracing.ToolQueryContextImpact
	toolResponseContexts = tracing.ToolGetResponseContexts
	toolEvolution        = tracing.ToolGetEvolutionHistory
	toolSubmitFeedback   = tracing.ToolSubmitFeedback
)

// The tools' arguments. Each tool's inputSchema is generated from its
// struct (names, types, required, descriptions), and its handler decodes
// the same struct, so the two cannot drift; inputSchema adds what Go types
// cannot say from the constants the handlers check against.
type (
	getTraceArgs struct {
		ResponseID *string `json:"response_id,omitempty"`
		Format     string  `json:"format,omitempty" jsonschema:"Text rendering of the result."`
	}
	contextImpactArgs struct {
		ContextID string   `json:"context_id"`
		Limit     *float64 `json:"limit,omitempty" jsonschema:"Most responses to list; all are counted."`
	}
	responseContextsArgs struct {
		ResponseID *string `json:"response_id,omitempty"`
		Type       string  `json:"type,omitempty" jsonschema:"Only contexts of this type: external (tool results), system (resources), user (prompts), model_state."`
	}
	evolutionArgs struct {
		ContextID string `json:"context_id"`
	}
	submitFeedbackArgs struct {
		ResponseID *string  `json:"response_id,omitempty"`
		Score      *float64 `json:"score" jsonschema:"Score from -1 to 1."`
		Text       string   `json:"text,omitempty" jsonschema:"Optional comment."`
		User       string   `json:"user,omitempty" jsonschema:"Optional id of who gives the feedback."`
	}
)

// Properties several tools share.
var (
	responseIDProp = jsonschema.Schema{Default: mustJSON(latestAlias),
		Description: `A response id (from a traced result's _meta), or "latest" for this session's most recent finalized response.`}
	contextIDProp = jsonschema.Schema{Description: "A context id, as listed by get_trace or get_response_contexts."}
)

// inputSchema generates the JSON Schema of arguments struct T and adds
// constraints to its properties: the description, enum, default, bounds,
// maxLength or type that each non-zero field of a constraint sets. A
// pointer field means "may be absent", not "may be null", so null is not
// in its type. Unknown arguments stay allowed: the handlers also take the
// names of the system the plugin replaced (context_unit_id, ...).
func inputSchema[T any](constraints map[string]jsonschema.Schema) *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("tracing: inputSchema: %v", err))
	}
	s.AdditionalProperties = nil
	for name, prop := range s.Properties {
		if len(prop.Types) == 2 && prop.Types[0] == "null" {
			prop.Type, prop.Types = prop.Types[1], nil
		}
		c, ok := constraints[name]
		if !ok {
			continue
		}
		if c.Type != "" {
			prop.Type = c.Type
		}
		if c.Description != "" {
			prop.Description = c.Description
		}
		if c.Enum != nil {
			prop.Enum = c.Enum
		}
		if c.Default != nil {
			prop.Default = c.Default
		}
		if c.Minimum != nil {
			prop.Minimum = c.Minimum
		}
		if c.Maximum != nil {
			prop.Maximum = c.Maximum
		}
		if c.MaxLength != nil {
			prop.MaxLength = c.MaxLength
		}
	}
	for name := range constraints {
		if _, ok := s.Properties[name]; !ok {
			panic(fmt.Sprintf("tracing: inputSchema: constraint on %q, which %T does not have", name, *new(T)))
		}
	}
	return s
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// inputSchemas are the tools' inputSchemas, generated once.
var inputSchemas = map[string]*jsonschema.Schema{
	toolGetTrace: inputSchema[getTraceArgs](map[string]jsonschema.Schema{
		"response_id": responseIDProp,
		"format":      {Enum: []any{formatJSON, formatTree, formatCompact}, Default: mustJSON(formatJSON)},
	}),
	toolContextImpact: inputSchema[contextImpactArgs](map[string]jsonschema.Schema{
		"context_id": contextIDProp,
		"limit":      {Type: "integer", Minimum: jsonschema.Ptr(1.0), Maximum: jsonschema.Ptr(float64(maxImpactLimit)), Default: mustJSON(defaultImpactLimit)},
	}),
	toolResponseContexts: inputSchema[responseContextsArgs](map[string]jsonschema.Schema{
		"response_id": responseIDProp,
		"type":        {Enum: []any{tracing.TypeExternal, tracing.TypeSystem, tracing.TypeUser, tracing.TypeModelState}},
	}),
	toolEvolution: inputSchema[evolutionArgs](map[string]jsonschema.Schema{"context_id": contextIDProp}),
	toolSubmitFeedback: inputSchema[submitFeedbackArgs](map[string]jsonschema.Schema{
		"response_id": responseIDProp,
		"score":       {Minimum: jsonschema.Ptr(-1.0), Maximum: jsonschema.Ptr(1.0)},
		"text":        {MaxLength: jsonschema.Ptr(maxTextBytes)},
		"user":        {MaxLength: jsonschema.Ptr(maxUserBytes)},
	}),
}

// js is a JSON Schema (or any JSON object) under construction.
type js = map[string]any

func object(props js, required ...string) js {
	o := js{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func str(desc string) js     { return js{"type": "string", "description": desc} }
func integer(desc string) js { return js{"type": "integer", "description": desc} }
func number(desc string) js  { return js{"type": "number", "description": desc} }
func boolean(desc string) js { return js{"type": "boolean", "description": desc} }
func array(items js) js      { return js{"type": "array", "items": items} }

// with merges property sets.
func with(sets ...js) js {
	out := js{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

var (
	qualityProps = js{
		"quality":        js{"type": "number", "minimum": -1, "maximum": 1, "description": "Quality score q in [-1, 1], 0 until rated."},
		"feedback_count": integer("Feedbacks that touched the context (weight > 0)."),
		"deprecated":     boolean("q <= deprecate_below after at least min_feedback feedbacks."),
	}
	identityProps = js{
		"type":   js{"type": "string", "description": "external (tool result), system (resource), user (prompt) or model_state."},
		"server": str("Backend server that produced it."),
		"method": str("JSON-RPC method that delivered it."),
		"name":   str("Tool or prompt name."),
		"uri":    str("Resource URI."),
	}
	traceContextSchema = object(with(identityProps, qualityProps, js{
		"context_id":       str("Stable identity of the context unit."),
		"weight":           number("Share of the response, from the weighting plugin."),
		"version":          integer("Version the response used; 0 if its delivery was not recorded."),
		"head_version":     integer("The context's latest version."),
		"status":           js{"type": "string", "enum": []string{statusCurrent, statusSuperseded, statusExpired, statusUnrecorded}},
		"content_hash":     str("Hash of the content as the host sent it: xxh64:<16 hex> (64 hex digits, SHA-256, when an earlier host recorded it)."),
		"summary":          str("Bounded summary of the content."),
		"size_bytes":       integer("Size of the content."),
		"token_estimate":   integer("Estimated tokens of the content."),
		"retrieval_score":  number("Relevance in [0, 1]."),
		"retrieval_source": str(`"meta", "lexical" or "default".`),
		"context_uri":      str("trace://context/{id} resource of the context."),
	}), "context_id", "weight", "version", "status", "quality", "feedback_count", "deprecated")
	feedbackBriefSchema = object(js{
		"id": str("Feedback id."), "score": number("Score in [-1, 1]."), "time": str("RFC 3339 time."),
		"user": str("Who gave it."), "text": str("Comment."),
	}, "id", "score", "time")
	traceSchema = object(js{
		"response_id":     str("Response id."),
		"session":         str("Client session of the response."),
		"profile":         str("Profile the session was opened for; absent on the main path."),
		"created_at":      str("When its first unit was delivered."),
		"finalized_at":    str("When the turn ended."),
		"units_delivered": integer("Unit events recorded for the response."),
		"token_estimate":  integer("Estimated tokens of all its contexts."),
		"contexts":        array(traceContextSchema),
		"feedback_count":  integer("Feedbacks on the response."),
		"feedback":        array(feedbackBriefSchema),
		"resource_uri":    str("trace://response/{id} resource of the response."),
	}, "response_id", "contexts", "feedback_count", "feedback")
	responseContextsSchema = object(js{
		"response_id":  str("Response id."),
		"session":      str("Client session of the response."),
		"profile":      str("Profile the session was opened for; absent on the main path."),
		"finalized_at": str("When the turn ended."),
		"type":         str("The type filter applied, if any."),
		"contexts":     array(traceContextSchema),
	}, "response_id", "contexts")
	impactSchema = object(with(identityProps, qualityProps, js{
		"context_id":      str("Context id."),
		"head_version":    integer("The context's latest version."),
		"total_responses": integer("Responses the context fed, within retention."),
		"avg_weight":      number("Mean weight over those responses."),
		"max_weight":      number("Largest weight over those responses."),
		"responses": array(object(js{
			"response_id": str("Response id."), "weight": number("Weight in that response."),
			"version": integer("Version used."), "time": str("When the response was finalized."),
		}, "response_id", "weight", "version", "time")),
		"truncated":   boolean("More responses than listed."),
		"context_uri": str("trace://context/{id} resource of the context."),
	}), "context_id", "total_responses", "responses", "quality", "feedback_count", "deprecated")
	versionSchema = object(js{
		"version":           integer("Version number, from 1."),
		"previous_version":  integer("The version this one replaced."),
		"next_version":      integer("The version that replaced this one."),
		"current":           boolean("This is the head version."),
		"content_hash":      str("Hash of the content as the host sent it: xxh64:<16 hex> (64 hex digits, SHA-256, when an earlier host recorded it)."),
		"created_at":        str("First delivered."),
		"last_seen_at":      str("Last delivered."),
		"seen_count":        integer("Times delivered."),
		"summary":           str("Bounded summary."),
		"size_bytes":        integer("Content size."),
		"token_estimate":    integer("Estimated tokens."),
		"retrieval_score":   number("Latest retrieval score."),
		"retrieval_source":  str("Where the score came from."),
		"meta":              js{"description": "The result's _meta, when small."},
		"first_response_id": str("Response it was first delivered in."),
		"first_session":     str("Session it was first delivered to."),
		"content_stored":    boolean("The content itself is stored (store_content)."),
	}, "version", "current", "content_hash", "created_at")
	evolutionSchema = object(with(identityProps, qualityProps, js{
		"context_id":       str("Context id."),
		"head_version":     integer("Latest version."),
		"expired_versions": integer("Older versions already past retention."),
		"versions":         array(versionSchema),
		"evolution_uri":    str("trace://evolution/{id} resource."),
	}), "context_id", "head_version", "versions", "quality", "feedback_count", "deprecated")
	feedbackResultSchema = object(js{
		"feedback_id":        str("Id of the stored feedback."),
		"response_id":        str("Response rated."),
		"score":              number("Score given."),
		"learning_rate":      number("r in q' = q + r·w·(s − q)."),
		"deprecate_below":    number("Deprecation threshold."),
		"min_feedback":       integer("Feedbacks needed before deprecation."),
		"contexts_updated":   integer("Contexts whose quality moved (weight > 0)."),
		"avg_quality_change": number("Mean q' − q over those contexts."),
		"contexts": array(object(js{
			"context_id":     str("Context id."),
			"weight":         number("Its weight in the response."),
			"quality_before": number("q before."),
			"quality":        js{"type": "number", "minimum": -1, "maximum": 1, "description": "q after."},
			"feedback_count": integer("Feedbacks that touched it."),
			"deprecated":     boolean("Deprecated after this feedback."),
		}, "context_id", "weight", "quality_before", "quality", "feedback_count", "deprecated")),
	}, "feedback_id", "response_id", "score", "contexts")
)

func readOnly(title string) js {
	return js{"title": title, "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
}

// toolDefs are the MCP Tool objects, in list order.
func toolDefs() []js {
	return []js{
		{
			"name": toolGetTrace, "title": "Get response trace",
			"description": "Shows which context units (tool results, resources, prompts) a response was built from, with their weights, " +
				"versions and quality scores. format: json (default), tree (indented text) or compact (one line per context).",
			"inputSchema":  inputSchemas[toolGetTrace],
			"outputSchema": traceSchema,
			"annotations":  readOnly("Get response trace"),
		},
		{
			"name": toolContextImpact, "title": "Query context impact",
			"description": "Lists the responses a context unit fed (newest first) with its weight in each, and its quality score, " +
				"feedback count and deprecation.",
			"inputSchema":  inputSchemas[toolContextImpact],
			"outputSchema": impactSchema,
			"annotations":  readOnly("Query context impact"),
		},
		{
			"name": toolResponseContexts, "title": "Get response contexts",
			"description":  "Lists the context units a response was built from, heaviest first, with weights and quality scores; optionally only one type.",
			"inputSchema":  inputSchemas[toolResponseContexts],
			"outputSchema": responseContextsSchema,
			"annotations":  readOnly("Get response contexts"),
		},
		{
			"name": toolEvolution, "title": "Get evolution history",
			"description":  "Lists every version of a context unit, oldest first: content hash, times, summary and the links between versions.",
			"inputSchema":  inputSchemas[toolEvolution],
			"outputSchema": evolutionSchema,
			"annotations":  readOnly("Get evolution history"),
		},
		{
			"name": toolSubmitFeedback, "title": "Submit feedback",
			"description": "Rates a response from -1 (harmful) to 1 (excellent). Every context that fed it moves toward the score in " +
				"proportion to its weight: q' = q + r·w·(s − q). Contexts that keep getting bad feedback are deprecated.",
			"inputSchema":  inputSchemas[toolSubmitFeedback],
			"outputSchema": feedbackResultSchema,
			"annotations":  js{"title": "Submit feedback", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false},
		},
	}
}

// argError is a tool call with bad arguments, reported as a tool error.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func badArgs(format string, a ...any) error { return &argError{msg: fmt.Sprintf(format, a...)} }

// decodeArgs decodes a tool's arguments; absent arguments are {}.
func decodeArgs(raw json.RawMessage, into any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return badArgs("invalid arguments: %v", err)
	}
	return nil
}

// responseArg normalizes a response_id argument; empty means latest.
func responseArg(p *string) string {
	if p == nil || strings.TrimSpace(*p) == "" {
		return latestAlias
	}
	return strings.TrimSpace(*p)
}

// contextArg takes context_id, or the replaced system's context_unit_id so
// that agents primed with its guide keep working.
func contextArg(id, alias string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		id = strings.TrimSpace(alias)
	}
	if id == "" {
		return "", badArgs("context_id is required")
	}
	return id, nil
}

// toolOutcome is what a tool handler produced.
type toolOutcome struct {
	structured any
	// text is the text block; empty means the structured JSON, indented.
	text    string
	changed []string
}

type toolHandler func(p *Plugin, ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error)

var toolHandlers = map[string]toolHandler{
	toolGetTrace:         (*Plugin).getTrace,
	toolContextImpact:    (*Plugin).contextImpact,
	toolResponseContexts: (*Plugin).responseContexts,
	toolEvolution:        (*Plugin).evolutionHistory,
	toolSubmitFeedback:   (*Plugin).submitFeedback,
}

func (p *Plugin) getTrace(ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error) {
	var args getTraceArgs
	if err := decodeArgs(req.Arguments, &args); err != nil {
		return toolOutcome{}, err
	}
	format := strings.ToLower(strings.TrimSpace(args.Format))
	switch format {
	case "":
		format = formatJSON
	case formatJSON, formatTree, formatCompact:
	default:
		return toolOutcome{}, badArgs("format must be json, tree or compact, not %q", args.Format)
	}
	tv, err := viewIn(ctx, b, func(r views) (*traceView, error) { return r.trace(responseArg(args.ResponseID), req.Session) })
	if err != nil {
		return toolOutcome{}, err
	}
	out := toolOutcome{structured: tv}
	switch format {
	case formatTree:
		out.text = tv.tree()
	case formatCompact:
		out.text = tv.compact()
	}
	return out, nil
}

// responseContextsView is get_response_contexts.
type responseContextsView struct {
	ResponseID  string         `json:"response_id"`
	Session     string         `json:"session,omitempty"`
	Profile     string         `json:"profile,omitempty"`
	FinalizedAt string         `json:"finalized_at"`
	Type        string         `json:"type,omitempty"`
	Contexts    []traceContext `json:"contexts"`
}

// contextTypes maps accepted type filters, including the replaced
// system's capitalized names, to ours.
var contextTypes = map[string]string{
	tracing.TypeExternal: tracing.TypeExternal, tracing.TypeSystem: tracing.TypeSystem,
	tracing.TypeUser: tracing.TypeUser, tracing.TypeModelState: tracing.TypeModelState,
	"modelstate": tracing.TypeModelState,
}

func (p *Plugin) responseContexts(ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error) {
	var args responseContextsArgs
	if err := decodeArgs(req.Arguments, &args); err != nil {
		return toolOutcome{}, err
	}
	typ := ""
	if t := strings.TrimSpace(args.Type); t != "" {
		var ok bool
		if typ, ok = contextTypes[strings.ToLower(t)]; !ok {
			return toolOutcome{}, badArgs("type must be external, system, user or model_state, not %q", args.Type)
		}
	}
	tv, err := viewIn(ctx, b, func(r views) (*traceView, error) { return r.trace(responseArg(args.ResponseID), req.Session) })
	if err != nil {
		return toolOutcome{}, err
	}
	v := responseContextsView{ResponseID: tv.ResponseID, Session: tv.Session, Profile: tv.Profile, FinalizedAt: tv.FinalizedAt, Type: typ, Contexts: []traceContext{}}
	for _, c := range tv.Contexts {
		if typ == "" || c.Type == typ {
			v.Contexts = append(v.Contexts, c)
		}
	}
	return toolOutcome{structured: v}, nil
}

func (p *Plugin) contextImpact(ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error) {
	var args struct {
		contextImpactArgs
		ContextUnitID string `json:"context_unit_id"` // context_id's old name
	}
	if err := decodeArgs(req.Arguments, &args); err != nil {
		return toolOutcome{}, err
	}
	id, err := contextArg(args.ContextID, args.ContextUnitID)
	if err != nil {
		return toolOutcome{}, err
	}
	limit := defaultImpactLimit
	if args.Limit != nil {
		l := *args.Limit
		if !isWhole(l) || l < 1 || l > maxImpactLimit {
			return toolOutcome{}, badArgs("limit must be a whole number from 1 to %d", maxImpactLimit)
		}
		limit = int(l)
	}
	v, err := viewIn(ctx, b, func(r views) (*impactView, error) { return r.impact(id, limit) })
	if err != nil {
		return toolOutcome{}, err
	}
	return toolOutcome{structured: v}, nil
}

func (p *Plugin) evolutionHistory(ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error) {
	var args struct {
		evolutionArgs
		ContextUnitID string `json:"context_unit_id"` // context_id's old name
	}
	if err := decodeArgs(req.Arguments, &args); err != nil {
		return toolOutcome{}, err
	}
	id, err := contextArg(args.ContextID, args.ContextUnitID)
	if err != nil {
		return toolOutcome{}, err
	}
	v, err := viewIn(ctx, b, func(r views) (*evolutionView, error) { return r.evolution(id) })
	if err != nil {
		return toolOutcome{}, err
	}
	return toolOutcome{structured: v}, nil
}

// feedbackContext is one context's update in submit_feedback's result.
type feedbackContext struct {
	ContextID     string  `json:"context_id"`
	Weight        float64 `json:"weight"`
	QualityBefore float64 `json:"quality_before"`
	Quality       float64 `json:"quality"`
	FeedbackCount uint32  `json:"feedback_count"`
	Deprecated    bool    `json:"deprecated"`
}

// feedbackResult is submit_feedback's result.
type feedbackResult struct {
	FeedbackID       string            `json:"feedback_id"`
	ResponseID       string            `json:"response_id"`
	Score            float64           `json:"score"`
	LearningRate     float64           `json:"learning_rate"`
	DeprecateBelow   float64           `json:"deprecate_below"`
	MinFeedback      uint32            `json:"min_feedback"`
	ContextsUpdated  int               `json:"contexts_updated"`
	AvgQualityChange float64           `json:"avg_quality_change"`
	Contexts         []feedbackContext `json:"contexts"`
}

func (p *Plugin) submitFeedback(ctx context.Context, b backend, req tracing.CallToolRequest) (toolOutcome, error) {
	var args struct {
		submitFeedbackArgs
		// The old names of text and user.
		FeedbackText string `json:"feedback_text"`
		UserID       string `json:"user_id"`
	}
	if err := decodeArgs(req.Arguments, &args); err != nil {
		return toolOutcome{}, err
	}
	if args.Score == nil {
		return toolOutcome{}, badArgs("score is required: a number from -1 to 1")
	}
	s := *args.Score
	if math.IsNaN(s) || s < -1 || s > 1 {
		return toolOutcome{}, badArgs("score must be from -1 to 1, not %v", s)
	}
	text := args.Text
	if text == "" {
		text = args.FeedbackText
	}
	user := args.User
	if user == "" {
		user = args.UserID
	}
	if len(text) > maxTextBytes {
		return toolOutcome{}, badArgs("text is %d bytes; at most %d are kept", len(text), maxTextBytes)
	}
	if len(user) > maxUserBytes {
		return toolOutcome{}, badArgs("user is %d bytes; at most %d are kept", len(user), maxUserBytes)
	}
	o := b.options()
	in := feedbackInput{ResponseID: responseArg(args.ResponseID), Session: req.Session, Score: s, Text: text, User: user}
	var fb *feedbackRec
	var changed uriSet
	err := b.write(ctx, nil, func(w recordWriter) error {
		var err error
		if fb, err = submitFeedback(w, o, in); err != nil {
			return err
		}
		changed = feedbackChanges(fb)
		w.notify(changed.list)
		return nil
	})
	if err != nil {
		return toolOutcome{}, err
	}
	p.m.feedback.Inc()
	res := feedbackResult{
		FeedbackID: fb.ID, ResponseID: fb.ResponseID, Score: fb.Score, LearningRate: fb.LearningRate,
		DeprecateBelow: o.deprecateBelow, MinFeedback: o.minFeedback, Contexts: []feedbackContext{},
	}
	var sum float64
	for _, u := range fb.Updates {
		res.Contexts = append(res.Contexts, feedbackContext{
			ContextID: u.ContextID, Weight: u.Weight, QualityBefore: u.Before, Quality: u.After,
			FeedbackCount: u.FeedbackCount, Deprecated: u.Deprecated,
		})
		if u.Weight > 0 {
			res.ContextsUpdated++
			sum += u.After - u.Before
		}
	}
	if res.ContextsUpdated > 0 {
		res.AvgQualityChange = sum / float64(res.ContextsUpdated)
	}
	return toolOutcome{structured: res, changed: changed.list}, nil
}

// feedbackChanges are the resources a feedback changed.
func feedbackChanges(fb *feedbackRec) uriSet {
	var changed uriSet
	changed.add(qualityURIs...)
	changed.add(responseURI(fb.ResponseID), uriStatsCache)
	for _, u := range fb.Updates {
		if u.Weight > 0 {
			changed.add(contextURI(u.ContextID))
		}
	}
	return changed
}

// toolResult is a successful MCP CallToolResult: structuredContent and a
// text block (the same JSON, or a formatted view).
func toolResult(out toolOutcome) (json.RawMessage, error) {
	text := out.text
	if text == "" {
		b, err := json.MarshalIndent(out.structured, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode tool result: %w", err)
		}
		text = string(b)
	}
	b, err := json.Marshal(js{
		"content":           []js{{"type": "text", "text": text}},
		"structuredContent": out.structured,
	})
	if err != nil {
		return nil, fmt.Errorf("encode tool result: %w", err)
	}
	return b, nil
}

// toolError is an MCP CallToolResult with isError set.
func toolError(msg string) json.RawMessage {
	b, _ := json.Marshal(js{"content": []js{{"type": "text", "text": msg}}, "isError": true})
	return b
}

// userFacing reports whether err is the caller's (bad arguments, unknown
// ids) rather than the plugin's.
func userFacing(err error) bool {
	var nf *notFoundError
	var ae *argError
	return errors.As(err, &nf) || errors.As(err, &ae)
}
