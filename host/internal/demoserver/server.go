// Package demoserver is the MCP server built into mcphost (built with
// mcp-go), run by `mcphost example-server`. It is the default backend of
// proxy.hcl, so a fresh checkout has something to proxy, and the far end of
// the end-to-end tests, so every tool exercises one protocol feature a proxy
// has to forward.
package demoserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// DefaultName is the serverInfo name used when New is given an empty name.
const DefaultName = "mcphost-example"

// Version is the serverInfo version the example server reports.
const Version = "1.0.0"

const alphabet = "abcdefghijklmnopqrstuvwxyz"

// Keys under which the multi round-trip tools file their input requests.
const (
	sampleKey = "sample"
	elicitKey = "elicit"
	rootsKey  = "roots"
)

// echoOutputSchema is declared by hand so the schema on the wire is stable
// and does not depend on reflection over a Go type.
var echoOutputSchema = json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)

// greetNames are the completion candidates for the greet prompt's name.
var greetNames = []string{"alice", "bob", "carol"}

// New builds the example server. Each call returns an independent server, so
// callers may run several side by side. WithProtocol pins the version its
// initialize answers; the transports (ServeStream, ServeHTTP, ...) must be
// given the same options to refuse what the pinned version does not know.
func New(name string, opts ...Option) *server.MCPServer {
	if name == "" {
		name = DefaultName
	}
	o := buildOptions(opts)
	serverOpts := append([]server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(greetCompletion{}),
		// A panicking handler must surface as an error result, not kill a
		// backend that a proxy test is still talking to.
		server.WithRecovery(),
	}, o.protocol.serverOptions()...)
	s := server.NewMCPServer(name, Version, serverOpts...)
	addTools(s, name, o.protocol)
	addResources(s, name)
	addPrompts(s, name)
	return s
}

// addTools registers the tools. A server pinned to a revision only offers
// what that revision has: structured output from 2025-06-18, progress
// messages from 2025-03-26 (mcp-go itself would send them to anyone).
func addTools(s *server.MCPServer, name string, p Protocol) {
	structured := p.atLeast("2025-06-18")
	echoOpts := []mcp.ToolOption{
		mcp.WithDescription("Returns the given text, as text and as structured content."),
		mcp.WithString("text", mcp.Required(), mcp.Description("Text to echo back.")),
	}
	if structured {
		echoOpts = append(echoOpts, mcp.WithRawOutputSchema(echoOutputSchema))
	}
	s.AddTool(mcp.NewTool("echo", echoOpts...), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		text, err := req.RequireString("text")
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		if !structured {
			return mcp.NewToolResultText(text), nil
		}
		return mcp.NewToolResultStructured(map[string]any{"text": text}, text), nil
	})

	s.AddTool(mcp.NewTool("add",
		mcp.WithDescription("Adds two numbers."),
		mcp.WithNumber("a", mcp.Required()),
		mcp.WithNumber("b", mcp.Required()),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		a, err := req.RequireFloat("a")
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		b, err := req.RequireFloat("b")
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		return mcp.NewToolResultText(formatNumber(a + b)), nil
	})

	s.AddTool(mcp.NewTool("bytes",
		mcp.WithDescription("Returns one text block of exactly n bytes, for testing large payloads."),
		mcp.WithInteger("n", mcp.Required(), mcp.Description("Number of bytes to return.")),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		n, err := req.RequireInt("n")
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		if n < 0 {
			return mcp.NewToolResultError("n must not be negative"), nil
		}
		return mcp.NewToolResultText(payload(n)), nil
	})

	s.AddTool(mcp.NewTool("sleep",
		mcp.WithDescription("Sleeps ms milliseconds in steps, reporting progress after each step."),
		mcp.WithInteger("ms", mcp.Required(), mcp.Description("Total time to sleep, in milliseconds.")),
		mcp.WithInteger("steps", mcp.DefaultNumber(5), mcp.Description("Number of progress steps.")),
	), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return sleepTool(ctx, s, req, p.atLeast("2025-03-26"))
	})

	s.AddTool(mcp.NewTool("flood",
		mcp.WithDescription("Sends count notifications of about size bytes each, then answers: progress on the call's progress token, or log messages. For testing clients that stop reading."),
		mcp.WithInteger("count", mcp.Required(), mcp.Description("How many notifications (at most 100000).")),
		mcp.WithInteger("size", mcp.DefaultNumber(1024), mcp.Description("Bytes of text in each (at most 1048576).")),
		mcp.WithString("as", mcp.Enum("progress", "log"), mcp.DefaultString("progress")),
	), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return floodTool(ctx, s, name, req)
	})

	s.AddTool(mcp.NewTool("sample",
		mcp.WithDescription("Asks the client's model to answer prompt (sampling/createMessage)."),
		mcp.WithString("prompt", mcp.Required()),
	), sampleTool)

	s.AddTool(mcp.NewTool("elicit",
		mcp.WithDescription("Asks the client's user for a name (elicitation/create)."),
		mcp.WithString("message", mcp.Required()),
	), elicitTool)

	s.AddTool(mcp.NewTool("roots",
		mcp.WithDescription("Lists the client's roots (roots/list), one URI per line."),
	), rootsTool)

	s.AddTool(mcp.NewTool("add_tool",
		mcp.WithDescription("Registers a new tool at runtime, triggering notifications/tools/list_changed."),
		mcp.WithString("name", mcp.Required(), mcp.Description("Name of the tool to add.")),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		toolName, err := req.RequireString("name")
		if err != nil || toolName == "" {
			return mcp.NewToolResultError("name is required"), nil
		}
		reply := "dynamic " + toolName
		s.AddTool(mcp.NewTool(toolName, mcp.WithDescription("Added at runtime by add_tool.")),
			func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText(reply), nil
			})
		return mcp.NewToolResultText("added " + toolName), nil
	})

	s.AddTool(mcp.NewTool("crash",
		mcp.WithDescription("Exits the whole server process with the given code, to test backend death mid-call."),
		mcp.WithInteger("code", mcp.DefaultNumber(3)),
		mcp.WithInteger("delay_ms", mcp.DefaultNumber(0)),
	), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		code := req.GetInt("code", 3)
		delay := time.Duration(req.GetInt("delay_ms", 0)) * time.Millisecond
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, err
		}
		os.Exit(code)
		return nil, errors.New("unreachable")
	})

	s.AddTool(mcp.NewTool("log",
		mcp.WithDescription("Sends a notifications/message log to the client at the given level."),
		mcp.WithString("level", mcp.Required(), mcp.Enum(logLevels...)),
		mcp.WithString("message", mcp.Required()),
	), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		level := req.GetString("level", "")
		if !validLevel(level) {
			return mcp.NewToolResultErrorf("unknown log level %q", level), nil
		}
		message := req.GetString("message", "")
		n := mcp.NewLoggingMessageNotification(mcp.LoggingLevel(level), name, message)
		if err := s.SendLogMessageToClient(ctx, n); err != nil {
			return mcp.NewToolResultErrorf("log: %v", err), nil
		}
		return mcp.NewToolResultText("logged"), nil
	})

	var calls atomic.Int64
	s.AddTool(mcp.NewTool("counter",
		mcp.WithDescription("Returns how many times it has been called: the same call gives new content each time."),
	), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(fmt.Sprintf("called %d times", calls.Add(1))), nil
	})

	s.AddTool(mcp.NewTool("stderr",
		mcp.WithDescription("Writes lines to the server's stderr (what a proxy keeps in its log files)."),
		mcp.WithString("text", mcp.Required()),
		mcp.WithNumber("lines", mcp.Description("how many lines, numbered (default 1, at most 100000)")),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		n := min(max(req.GetInt("lines", 1), 1), 100000)
		text := req.GetString("text", "")
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%s #%d\n", text, i)
		}
		if _, err := io.WriteString(os.Stderr, b.String()); err != nil {
			return mcp.NewToolResultErrorf("stderr: %v", err), nil
		}
		return mcp.NewToolResultText(fmt.Sprintf("wrote %d lines", n)), nil
	})

	s.AddTool(mcp.NewTool("request_meta",
		mcp.WithDescription("Returns the _meta of its own request as JSON text, so tests can see what a proxy passed on (trace context)."),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		meta := []byte("{}")
		if req.Params.Meta != nil {
			var err error
			if meta, err = json.Marshal(req.Params.Meta); err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
		}
		return mcp.NewToolResultText(string(meta)), nil
	})

	s.AddTool(mcp.NewTool("whoami",
		mcp.WithDescription("Returns this server's name, so tests can tell backends apart."),
	), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(name), nil
	})

	// NewTool would set an InputSchema too, which mcp-go refuses to send
	// beside a raw one.
	describe := mcp.NewToolWithRawSchema("describe", "Returns its arguments as JSON text and, from 2025-06-18, as structured content. "+
		"Its input schema has every kind of field a form generated from a schema has to handle: "+
		"enums, booleans, bounds, arrays, nested objects, maps and alternatives.", describeInputSchema)
	describeOpts := []mcp.ToolOption{
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	}
	if structured {
		describeOpts = append(describeOpts, mcp.WithRawOutputSchema(describeOutputSchema))
	}
	for _, o := range describeOpts {
		o(&describe)
	}
	s.AddTool(describe, func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := req.GetArguments()
		if args == nil {
			args = map[string]any{}
		}
		text, err := json.Marshal(args)
		if err != nil {
			return mcp.NewToolResultErrorf("describe: %v", err), nil
		}
		if !structured {
			return mcp.NewToolResultText(string(text)), nil
		}
		return mcp.NewToolResultStructured(map[string]any{"arguments": args}, string(text)), nil
	})
}

// describeInputSchema is the describe tool's input schema: one field of
// each kind a form generated from a schema meets.
var describeInputSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "name": {"type": "string", "description": "A lower-case name.", "minLength": 1, "maxLength": 40, "pattern": "^[a-z][a-z0-9-]*$"},
    "count": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
    "ratio": {"type": "number", "minimum": 0, "maximum": 1},
    "enabled": {"type": "boolean", "default": false},
    "mode": {"type": "string", "enum": ["fast", "careful"], "default": "fast"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
    "levels": {"type": "array", "items": {"type": "string", "enum": ["low", "mid", "high"]}},
    "point": {
      "type": "object",
      "description": "A point on a plane.",
      "properties": {"x": {"type": "number"}, "y": {"type": "number"}, "label": {"type": "string"}},
      "required": ["x", "y"]
    },
    "options": {
      "type": "object",
      "properties": {
        "verbose": {"type": "boolean"},
        "depth": {"type": "integer", "minimum": 0},
        "filter": {
          "type": "object",
          "properties": {"include": {"type": "array", "items": {"type": "string"}}, "exclude": {"type": "array", "items": {"type": "string"}}}
        }
      }
    },
    "labels": {"type": "object", "description": "Any string labels.", "additionalProperties": {"type": "string"}},
    "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
    "value": {"description": "A string or a number.", "oneOf": [{"type": "string"}, {"type": "number"}]}
  },
  "required": ["name", "point"]
}`)

var describeOutputSchema = json.RawMessage(`{"type":"object","properties":{"arguments":{"type":"object"}},"required":["arguments"]}`)

var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

func validLevel(level string) bool {
	for _, l := range logLevels {
		if l == level {
			return true
		}
	}
	return false
}

// formatNumber prints whole sums without a fractional part, so add(2, 3)
// reads "5" rather than "5.000000".
func formatNumber(f float64) string {
	return fmt.Sprint(f)
}

// payload returns exactly n bytes of the repeated alphabet.
func payload(n int) string {
	return strings.Repeat(alphabet, n/len(alphabet)+1)[:n]
}

// sleepCtx waits d, returning early with ctx's error when it is cancelled.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepTool(ctx context.Context, s *server.MCPServer, req mcp.CallToolRequest, progressMessages bool) (*mcp.CallToolResult, error) {
	ms, err := req.RequireInt("ms")
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	steps := req.GetInt("steps", 5)
	if steps < 1 {
		steps = 1
	}
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	step := time.Duration(ms) * time.Millisecond / time.Duration(steps)
	for k := 1; k <= steps; k++ {
		if err := sleepCtx(ctx, step); err != nil {
			return nil, fmt.Errorf("sleep interrupted after %d of %d steps: %w", k-1, steps, err)
		}
		if token == nil {
			continue
		}
		// A lost progress notification must not fail the call itself.
		params := map[string]any{"progressToken": token, "progress": k, "total": steps}
		if progressMessages {
			params["message"] = fmt.Sprintf("step %d of %d", k, steps)
		}
		_ = s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
	}
	return mcp.NewToolResultText(fmt.Sprintf("slept %dms", ms)), nil
}

// floodTool sends many large notifications: progress messages on the
// call's progress token, or log messages.
func floodTool(ctx context.Context, s *server.MCPServer, name string, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	count := min(max(req.GetInt("count", 0), 0), 100000)
	text := payload(min(max(req.GetInt("size", 1024), 0), 1<<20))
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	asLog := req.GetString("as", "progress") == "log"
	if !asLog && token == nil {
		return mcp.NewToolResultError("flood as progress needs _meta.progressToken"), nil
	}
	for k := 1; k <= count; k++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("flood cancelled after %d notifications: %w", k-1, err)
		}
		send := func() error {
			if asLog {
				return s.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcp.LoggingLevelInfo, name, text))
			}
			return s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress),
				map[string]any{"progressToken": token, "progress": k, "total": count, "message": text})
		}
		// mcp-go queues notifications and refuses them when its queue is
		// full: wait for it to drain rather than lose any.
		err := send()
		for errors.Is(err, server.ErrNotificationChannelBlocked) {
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				return nil, fmt.Errorf("flood cancelled after %d notifications: %w", k-1, err)
			}
			err = send()
		}
		if err != nil {
			return mcp.NewToolResultErrorf("flood: notification %d: %v", k, err), nil
		}
	}
	return mcp.NewToolResultText(fmt.Sprintf("flooded %d", count)), nil
}

// The sample, elicit and roots tools are written in the multi round-trip
// style: they return an input_required result and are re-invoked with the
// answers. mcp-go turns that into server-initiated requests for clients on
// protocol versions before 2026-07-28, so one handler serves both eras.

func sampleTool(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if res := server.SamplingResponse(req.Params.InputResponses, sampleKey); res != nil {
		return mcp.NewToolResultText("sampled: " + samplingText(res.Content)), nil
	}
	prompt := req.GetString("prompt", "")
	return server.NewInputRequestBuilder("").Sample(sampleKey, mcp.CreateMessageParams{
		Messages: []mcp.SamplingMessage{{
			Role:    mcp.RoleUser,
			Content: mcp.NewTextContent(prompt),
		}},
		MaxTokens: 100,
	}).ToolResult(), nil
}

// samplingText extracts the text of a sampling reply, whose content may be a
// single block or a list of blocks, decoded or still raw JSON.
func samplingText(content any) string {
	switch c := content.(type) {
	case mcp.TextContent:
		return c.Text
	case *mcp.TextContent:
		return c.Text
	case []mcp.Content:
		parts := make([]string, 0, len(c))
		for _, item := range c {
			parts = append(parts, samplingText(item))
		}
		return strings.Join(parts, "")
	case []any:
		parts := make([]string, 0, len(c))
		for _, item := range c {
			parts = append(parts, samplingText(item))
		}
		return strings.Join(parts, "")
	case map[string]any:
		if text, ok := c["text"].(string); ok {
			return text
		}
	case string:
		return c
	}
	return ""
}

func elicitTool(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if res := server.ElicitationResponse(req.Params.InputResponses, elicitKey); res != nil {
		content, err := json.Marshal(res.Content)
		if err != nil {
			return mcp.NewToolResultErrorf("encoding elicitation content: %v", err), nil
		}
		return mcp.NewToolResultText(fmt.Sprintf("elicited: %s %s", res.Action, content)), nil
	}
	message := req.GetString("message", "")
	return server.NewInputRequestBuilder("").Elicit(elicitKey, mcp.ElicitationParams{
		Message: message,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"name": map[string]any{"type": "string"},
			},
			"required": []string{"name"},
		},
	}).ToolResult(), nil
}

func rootsTool(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if res := server.RootsResponse(req.Params.InputResponses, rootsKey); res != nil {
		uris := make([]string, 0, len(res.Roots))
		for _, r := range res.Roots {
			uris = append(uris, r.URI)
		}
		return mcp.NewToolResultText(strings.Join(uris, "\n")), nil
	}
	return server.NewInputRequestBuilder("").Roots(rootsKey).ToolResult(), nil
}

const (
	helloURI     = "example://static/hello"
	blobURI      = "example://static/blob"
	itemTemplate = "example://items/{id}"
	itemPrefix   = "example://items/"
)

func addResources(s *server.MCPServer, name string) {
	s.AddResource(mcp.NewResource(helloURI, "hello",
		mcp.WithResourceDescription("A static greeting."),
		mcp.WithMIMEType("text/plain"),
	), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI:      helloURI,
			MIMEType: "text/plain",
			Text:     "Hello from " + name,
		}}, nil
	})

	blob := make([]byte, 256)
	for i := range blob {
		blob[i] = byte(i)
	}
	encoded := base64.StdEncoding.EncodeToString(blob)
	s.AddResource(mcp.NewResource(blobURI, "blob",
		mcp.WithResourceDescription("Every byte value 0..255, in order."),
		mcp.WithMIMEType("application/octet-stream"),
	), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.BlobResourceContents{
			URI:      blobURI,
			MIMEType: "application/octet-stream",
			Blob:     encoded,
		}}, nil
	})

	s.AddResourceTemplate(mcp.NewResourceTemplate(itemTemplate, "item",
		mcp.WithTemplateDescription("A generated item."),
		mcp.WithTemplateMIMEType("text/plain"),
	), func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		id := strings.TrimPrefix(req.Params.URI, itemPrefix)
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI:      req.Params.URI,
			MIMEType: "text/plain",
			Text:     fmt.Sprintf("item %s from %s", id, name),
		}}, nil
	})
}

func addPrompts(s *server.MCPServer, name string) {
	s.AddPrompt(mcp.NewPrompt("greet",
		mcp.WithPromptDescription("Greets someone by name."),
		mcp.WithArgument("name", mcp.RequiredArgument(), mcp.ArgumentDescription("Who to greet.")),
	), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		who := req.Params.Arguments["name"]
		if who == "" {
			return nil, errors.New("argument name is required")
		}
		return mcp.NewGetPromptResult("A greeting", []mcp.PromptMessage{
			mcp.NewPromptMessage(mcp.RoleUser,
				mcp.NewTextContent(fmt.Sprintf("Hello, %s! (from %s)", who, name))),
		}), nil
	})

	s.AddPrompt(mcp.NewPrompt("summarise",
		mcp.WithPromptDescription("Asks for a summary of a topic."),
		mcp.WithArgument("topic", mcp.ArgumentDescription("What to summarise; defaults to the conversation.")),
	), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		topic := req.Params.Arguments["topic"]
		if topic == "" {
			topic = "the conversation so far"
		}
		return mcp.NewGetPromptResult("A summary request", []mcp.PromptMessage{
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("Please summarise "+topic+".")),
		}), nil
	})
}

// greetCompletion completes the greet prompt's name argument by prefix.
type greetCompletion struct{}

func (greetCompletion) CompletePromptArgument(_ context.Context, promptName string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	values := []string{}
	if promptName == "greet" && arg.Name == "name" {
		for _, n := range greetNames {
			if strings.HasPrefix(n, arg.Value) {
				values = append(values, n)
			}
		}
	}
	return &mcp.Completion{Values: values, Total: len(values)}, nil
}
