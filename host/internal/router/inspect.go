package router

import (
	"sort"
	"time"

	"github.com/tidwall/gjson"
)

// ToolInfo is one tool of the merged catalog.
type ToolInfo struct {
	Name, Server, Original, Description string
}

// Tools lists the catalog's tools by exposed name.
func (r *Router) Tools() []ToolInfo {
	cat := r.catalog.Load()
	var out []ToolInfo
	gjson.GetBytes(cat.toolsResult, "tools").ForEach(func(_, t gjson.Result) bool {
		name := t.Get("name").Str
		if rt, ok := cat.tools[name]; ok {
			out = append(out, ToolInfo{Name: name, Server: rt.backend.spec.Name, Original: rt.original, Description: t.Get("description").Str})
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
	for _, s := range r.liveSessions() {
		s.mu.Lock()
		info := gjson.ParseBytes(s.clientInfo)
		out = append(out, SessionInfo{
			ID: s.id, Listener: s.listener, ProtocolVersion: s.version.load(),
			ClientName: info.Get("name").Str, ClientVersion: info.Get("version").Str,
			Started: s.started, InFlight: len(s.inflight),
		})
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}
