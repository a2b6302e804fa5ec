package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/host/internal/toolsearch"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Tool modes, as in proxy.tool_mode.
const (
	ToolModeAll    = "all"
	ToolModeSearch = "search"
)

// The tools the proxy answers itself in search mode.
const (
	searchToolName   = "search_tools"
	describeToolName = "describe_tool"
	callToolName     = "call_tool"
)

// QualitySource gives what context tracing learned about each tool's
// results, as last refreshed (off the message path); nil or an empty map
// when tracing is off or has learned nothing.
type QualitySource interface {
	ToolQuality() map[toolsearch.QualityKey]toolsearch.Quality
}

// searchTools are the three tools' definitions, in tools/list order.
var searchTools = [][]byte{
	[]byte(`{"name":"search_tools","title":"Search tools",` +
		`"description":"Finds the tools this proxy can reach that fit a task described in plain words. Returns the best matches, best first, each with its name, description, score and why it matched. Then call describe_tool for a tool's input schema, and call_tool (or the tool's name directly) to run it.",` +
		`"inputSchema":{"type":"object","properties":{` +
		`"query":{"type":"string","description":"What you want to do, in plain words (e.g. \"compress a file\")."},` +
		`"limit":{"type":"integer","minimum":1,"maximum":50,"default":5,"description":"How many tools to return (default 5, at most 50)."}},` +
		`"required":["query"]},` +
		`"annotations":{"title":"Search tools","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}}`),
	[]byte(`{"name":"describe_tool","title":"Describe a tool",` +
		`"description":"Returns the full definition of one tool search_tools found: its input schema (the arguments call_tool needs), output schema and annotations.",` +
		`"inputSchema":{"type":"object","properties":{` +
		`"name":{"type":"string","description":"The tool's name, as search_tools returned it."}},` +
		`"required":["name"]},` +
		`"annotations":{"title":"Describe a tool","readOnlyHint":true,"destructiveHint":false,"idempotentHint":true,"openWorldHint":false}}`),
	[]byte(`{"name":"call_tool","title":"Call a tool",` +
		`"description":"Runs one tool by the name search_tools returned, with the given arguments, and returns that tool's own result. It is the same as calling the tool by its name directly.",` +
		`"inputSchema":{"type":"object","properties":{` +
		`"name":{"type":"string","description":"The tool's name, as search_tools returned it."},` +
		`"arguments":{"type":"object","description":"The tool's arguments, as its input schema (describe_tool) says."}},` +
		`"required":["name"]},` +
		`"annotations":{"title":"Call a tool","readOnlyHint":false,"openWorldHint":true}}`),
}

// searchCatalog is what search mode adds to a catalog: the short tool list
// clients get and the index over every tool. Built with the catalog, so
// the index is rebuilt when the catalog changes, never per query.
type searchCatalog struct {
	index *toolsearch.Index
	// items and owners are the listed tools (the three, owner "", then
	// the pinned ones), result their tools/list result.
	items  [][]byte
	owners []string
	result []byte
}

// buildSearch indexes c's tools and picks the pinned ones.
func (c *catalog) buildSearch(pinned []string) *searchCatalog {
	sc := &searchCatalog{}
	var tools []toolsearch.Tool
	sc.items = append(sc.items, searchTools...)
	sc.owners = append(sc.owners, "", "", "")
	for i, item := range c.items[listTools] {
		name, _ := jsonrpc.GetString(item, "name")
		rt := c.tools[name]
		desc, _ := jsonrpc.GetString(item, "description")
		tools = append(tools, toolsearch.Tool{
			Name: name, Server: c.owners[listTools][i], Original: rt.original, Description: desc, Definition: item,
		})
		if matchesAny(pinned, name) {
			sc.items = append(sc.items, item)
			sc.owners = append(sc.owners, c.owners[listTools][i])
		}
	}
	sc.index = toolsearch.NewIndex(tools)
	sc.result = listResult("tools", sc.items)
	return sc
}

// PinnedTools lists, in search mode, the exposed names of the tools
// tools/list shows beside the three search tools (for the admin API and
// dashboard to mark them); nil in mode all.
func (r *Router) PinnedTools() []string {
	sc := r.catalog.load().search
	if sc == nil {
		return nil
	}
	out := []string{}
	for _, item := range sc.items[len(searchTools):] {
		name, _ := jsonrpc.GetString(item, "name")
		out = append(out, name)
	}
	return out
}

// clientToolsResult is the tools/list result clients get.
func (c *catalog) clientToolsResult() []byte {
	if c.search != nil {
		return c.search.result
	}
	return c.toolsResult
}

// visibleSearchResult is the search-mode tools/list result with only the
// pinned tools of the servers visible says yes to and, when showsTool is
// set, whose names it says yes to (the three always).
func (sc *searchCatalog) visibleResult(visible func(server string) bool, showsTool func(name string) bool) (result []byte, hidden string) {
	var kept [][]byte
	var hiddenServers []string
	for i, item := range sc.items {
		owner := sc.owners[i]
		shown := owner == "" || visible(owner)
		if shown && owner != "" && showsTool != nil {
			name, _ := jsonrpc.GetString(item, "name")
			shown = showsTool(name)
		}
		if shown {
			kept = append(kept, item)
		} else if !slices.Contains(hiddenServers, owner) {
			hiddenServers = append(hiddenServers, owner)
		}
	}
	if len(hiddenServers) == 0 {
		return sc.result, ""
	}
	return listResult("tools", kept), strings.Join(hiddenServers, ",")
}

// rewriteCallTool turns a call of call_tool into the tools/call of the
// tool it names, so that routing, authorization (TargetServer), tracing
// and metrics all see the real tool. ok is false when params is not a
// call_tool call in search mode; errMsg is set when it is one without a
// tool name.
func (c *catalog) rewriteCallTool(params []byte) (rewritten []byte, ok bool, errMsg string) {
	if c.search == nil {
		return nil, false, ""
	}
	if name, _ := jsonrpc.GetString(params, "name"); name != callToolName {
		return nil, false, ""
	}
	args := jsonrpc.Get(params, "arguments")
	target, isString := jsonrpc.GetString(args, "name")
	if !isString || target == "" {
		return nil, true, "call_tool: arguments.name must name a tool (a name search_tools returned)"
	}
	out, err := jsonrpc.Set(params, "name", jsonrpc.String(target))
	if err != nil {
		return nil, true, "call_tool: " + err.Error()
	}
	if inner := jsonrpc.Get(args, "arguments"); inner != nil {
		if gjson.ParseBytes(inner).Type != gjson.JSON || !gjson.ParseBytes(inner).IsObject() {
			return nil, true, "call_tool: arguments.arguments must be an object"
		}
		out, err = jsonrpc.Set(out, "arguments", inner)
	} else {
		out, err = jsonrpc.Delete(out, "arguments")
	}
	if err != nil {
		return nil, true, "call_tool: " + err.Error()
	}
	return out, true, ""
}

// answerSearchTool answers search_tools and describe_tool in search mode;
// it says false for any other call.
func (s *Session) answerSearchTool(reply replyStream, id, params []byte, cat *catalog) bool {
	if cat.search == nil {
		return false
	}
	name, _ := jsonrpc.GetString(params, "name")
	if name != searchToolName && name != describeToolName {
		return false
	}
	s.markInitialized()
	args := jsonrpc.Get(params, "arguments")
	var result []byte
	var errMsg string
	if name == searchToolName {
		result, errMsg = s.searchTools(cat, args)
	} else {
		result, errMsg = s.describeTool(cat, args)
	}

	if errMsg != "" {
		s.respond(reply, jsonrpc.Error(id, jsonrpc.CodeInvalidParams, errMsg, nil))
		return true
	}
	s.respond(reply, s.localCallResult(id, result))
	return true
}

// localCallResult puts a tool result the proxy built (in catalogVersion)
// into the session's version, as a backend's result would be: without
// structuredContent for a client before 2025-06-18, with resultType for a
// 2026-07-28 one. Not cached: each result is different.
func (s *Session) localCallResult(id, result []byte) []byte {
	msg := jsonrpc.Result(id, result)
	version := s.ProtocolVersion()
	if version == catalogVersion || version == "" || len(s.router.translators.Load().refs) == 0 {
		return msg
	}
	out, _, err := s.router.translate(s, catalogVersion, version, translator.ToClient, "tools/call", translator.KindResponse, msg)
	if err != nil {
		return jsonrpc.Error(id, jsonrpc.CodeInternalError, "mcphost: "+err.Error(), nil)
	}
	if out == nil {
		return msg
	}
	return out
}

// reachable says whether the session sees server's tools: its token's
// servers, and its profile's.
func (s *Session) reachable(server string) bool {
	if p := s.profile.Load(); p != nil && !p.seesServer(server) {
		return false
	}
	visible := s.visible.Load()
	return visible == nil || (*visible)(server)
}

type searchHit struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Server      string  `json:"server"`
	Score       float64 `json:"score"`
	Why         string  `json:"why"`
}

func (s *Session) searchTools(cat *catalog, args []byte) (result []byte, errMsg string) {
	query, ok := jsonrpc.GetString(args, "query")
	if !ok || strings.TrimSpace(query) == "" {
		return nil, "search_tools: arguments.query must be a non-empty string"
	}
	limit := toolsearch.DefaultLimit
	if l := gjson.GetBytes(args, "limit"); l.Exists() {
		if l.Type != gjson.Number || l.Num != float64(int(l.Num)) || l.Num < 1 || l.Num > toolsearch.MaxLimit {
			return nil, fmt.Sprintf("search_tools: arguments.limit must be an integer from 1 to %d", toolsearch.MaxLimit)
		}
		limit = int(l.Num)
	}
	q := toolsearch.Query{Text: query, Limit: limit, Reachable: func(t toolsearch.Tool) bool {
		return s.reachable(t.Server) && s.profileShowsTool(t.Name)
	}}
	if src := s.router.opts.ToolQuality; src != nil {
		q.Quality = src.ToolQuality()
	}
	hits := []searchHit{}
	for _, h := range cat.search.index.Search(q) {
		hits = append(hits, searchHit{
			Name: h.Tool.Name, Description: h.Tool.Description, Server: h.Tool.Server,
			Score: float64(int(h.Score*1000+0.5)) / 1000, Why: h.Why,
		})
	}
	return toolResult(map[string]any{"query": query, "tools": hits})
}

func (s *Session) describeTool(cat *catalog, args []byte) (result []byte, errMsg string) {
	name, ok := jsonrpc.GetString(args, "name")
	if !ok || name == "" {
		return nil, "describe_tool: arguments.name must name a tool"
	}
	rt, known := cat.tools[name]
	if !known || !s.reachable(rt.backend.spec.Name) || !s.profileShowsTool(name) {
		return nil, fmt.Sprintf("unknown tool: %q", name)
	}
	t, _ := cat.search.index.Tool(name)
	return toolResult(map[string]any{"tool": json.RawMessage(t.Definition)})
}

// toolResult is a CallToolResult carrying v as JSON text and as
// structured content.
func toolResult(v any) ([]byte, string) {
	structured, err := json.Marshal(v)
	if err != nil {
		return nil, err.Error()
	}
	out, err := json.Marshal(map[string]any{
		"content":           []map[string]string{{"type": "text", "text": string(structured)}},
		"structuredContent": json.RawMessage(structured),
	})
	if err != nil {
		return nil, err.Error()
	}
	return out, ""
}
