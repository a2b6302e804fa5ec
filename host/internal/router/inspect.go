package router

import (
	"sort"
	"time"

	"github.com/tidwall/gjson"
)

// ToolInfo is one tool of the merged catalog. The raw members are the JSON
// the backend gave (nil when absent).
type ToolInfo struct {
	Name, Server, Original, Description, Title string
	InputSchema, OutputSchema, Annotations     []byte
	// State says whether clients see the tool; Name is "" unless exposed.
	State ToolState
	// Overridden names what the server's tool block changed ("name",
	// "description", "annotations"); Shortened says the name was cut to
	// fit the name budget.
	Overridden []string
	Shortened  bool
}

// ToolState is whether clients see a tool the server lists.
type ToolState string

const (
	ToolExposed  ToolState = "exposed"
	ToolFiltered ToolState = "filtered" // left out by the server's tools filter
	ToolHidden   ToolState = "hidden"   // left out by its tool block
)

// leftOutTool is a listed tool clients do not see.
type leftOutTool struct {
	server string
	state  ToolState
	item   []byte
}

// Tools lists the catalog's tools by exposed name.
func (r *Router) Tools() []ToolInfo {
	cat := r.catalog.load()
	shortened := make(map[string]bool, len(cat.shortened))
	for _, s := range cat.shortened {
		shortened[s.Exposed] = s.Kind == "tool"
	}
	return listed(cat.toolsResult, "tools", "name", cat.tools, func(t gjson.Result, name string, rt route) ToolInfo {
		info := toolInfo(t, rt.backend.spec.Name, ToolExposed)
		info.Name, info.Original, info.Overridden, info.Shortened = name, rt.original, cat.overridden[name], shortened[name]
		return info
	})
}

// LeftOutTools lists the tools servers list that their filters or tool
// blocks keep from clients, by server and name.
func (r *Router) LeftOutTools() []ToolInfo {
	cat := r.catalog.load()
	out := make([]ToolInfo, 0, len(cat.leftOut))
	for _, lo := range cat.leftOut {
		t := gjson.ParseBytes(lo.item)
		info := toolInfo(t, lo.server, lo.state)
		info.Original = t.Get("name").Str
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Server != out[j].Server {
			return out[i].Server < out[j].Server
		}
		return out[i].Original < out[j].Original
	})
	return out
}

func toolInfo(t gjson.Result, server string, state ToolState) ToolInfo {
	return ToolInfo{
		Server: server, Description: t.Get("description").Str, State: state,
		Title: t.Get("title").Str, InputSchema: rawMember(t, "inputSchema"), OutputSchema: rawMember(t, "outputSchema"),
		Annotations: rawMember(t, "annotations"),
	}
}

// PromptInfo is one prompt of the merged catalog; Arguments is the
// backend's JSON array (nil when absent).
type PromptInfo struct {
	Name, Server, Original, Description, Title string
	Arguments                                  []byte
}

// Prompts lists the catalog's prompts by exposed name.
func (r *Router) Prompts() []PromptInfo {
	cat := r.catalog.load()
	return listed(cat.promptsResult, "prompts", "name", cat.prompts, func(p gjson.Result, name string, rt route) PromptInfo {
		return PromptInfo{
			Name: name, Server: rt.backend.spec.Name, Original: rt.original, Description: p.Get("description").Str,
			Title: p.Get("title").Str, Arguments: rawMember(p, "arguments"),
		}
	})
}

// ResourceInfo is one resource of the merged catalog: URI as exposed,
// Original as the backend knows it.
type ResourceInfo struct {
	URI, Server, Original, Name, Title, Description, MimeType string
}

// Resources lists the catalog's resources by exposed URI.
func (r *Router) Resources() []ResourceInfo {
	cat := r.catalog.load()
	return listed(cat.resourcesResult, "resources", "uri", cat.resources, func(res gjson.Result, uri string, rt route) ResourceInfo {
		return ResourceInfo{
			URI: uri, Server: rt.backend.spec.Name, Original: rt.original, Name: res.Get("name").Str,
			Title: res.Get("title").Str, Description: res.Get("description").Str, MimeType: res.Get("mimeType").Str,
		}
	})
}

// listed makes one entry with info for each item of the merged list result
// (its member list) whose key (its exposed name or URI) has a route, sorted
// by that key.
func listed[T any](result []byte, list, key string, routes map[string]route, info func(item gjson.Result, key string, rt route) T) []T {
	type keyed struct {
		key string
		v   T
	}
	var items []keyed
	gjson.GetBytes(result, list).ForEach(func(_, item gjson.Result) bool {
		k := item.Get(key).Str
		if rt, ok := routes[k]; ok {
			items = append(items, keyed{k, info(item, k, rt)})
		}
		return true
	})
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	var out []T // nil when empty, as before
	for _, it := range items {
		out = append(out, it.v)
	}
	return out
}

// rawMember is a member's JSON as given, copied, or nil when absent.
func rawMember(obj gjson.Result, key string) []byte {
	v := obj.Get(key)
	if !v.Exists() {
		return nil
	}
	return []byte(v.Raw)
}

// SessionInfo describes one client session.
type SessionInfo struct {
	ID, Listener, ProtocolVersion, ClientName, ClientVersion string
	Started                                                  time.Time
	InFlight                                                 int
}

// SetListener names the kind of listener the session came from (stdio,
// http, sse, websocket), for the admin API.
func (s *Session) SetListener(kind string) {
	s.mu.Lock()
	s.listener = kind
	s.mu.Unlock()
}

// Sessions lists the open client sessions, oldest first.
func (r *Router) Sessions() []SessionInfo {
	var out []SessionInfo
	for _, s := range r.sessions.live() {
		inFlight := s.requests.count()
		s.mu.Lock()
		info := gjson.ParseBytes(s.clientInfo)
		out = append(out, SessionInfo{
			ID: s.id, Listener: s.listener, ProtocolVersion: s.version.load(),
			ClientName: info.Get("name").Str, ClientVersion: info.Get("version").Str,
			Started: s.started, InFlight: inFlight,
		})
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}
