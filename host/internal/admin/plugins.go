package admin

import (
	"context"
	"net/http"
)

// PluginLister reports the plugins the proxy knows: GET /api/v1/plugins.
// A Control that implements it serves the endpoint; without it it answers
// 501.
type PluginLister interface {
	Plugins(ctx context.Context) []Plugin
}

// Plugin checksum states.
const (
	ChecksumBuiltin  = "builtin"  // compiled into mcphost
	ChecksumPinned   = "pinned"   // the binary's sha256 matches the configured one
	ChecksumMismatch = "mismatch" // the binary's sha256 differs: it will not start
	ChecksumMissing  = "missing"  // the binary cannot be read
	ChecksumInvalid  = "invalid"  // the configured sha256 is not 64 hex digits
)

// Plugin is one plugin: built-in or declared with a plugin block. Kind and
// Version come from the plugin's Info (for a built-in never started, from
// the copy compiled into mcphost). Pid is the plugin process's while it
// runs as a subprocess, else omitted. Restarts counts the times mcphost
// started it again after its process exited.
type Plugin struct {
	Name     string `json:"name"`
	Kind     string `json:"kind,omitempty"`
	Version  string `json:"version,omitempty"`
	Source   string `json:"source"` // "builtin" or the binary's path
	Mode     string `json:"mode"`   // "subprocess" or "inprocess"
	Running  bool   `json:"running"`
	Pid      int    `json:"pid,omitempty"`
	Checksum string `json:"checksum"`
	Restarts int    `json:"restarts"`
}

// PluginList answers GET /api/v1/plugins.
type PluginList struct {
	Plugins []Plugin `json:"plugins"`
}

func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	l, ok := s.ctl.(PluginLister)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy does not list its plugins")
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	writeJSON(w, http.StatusOK, PluginList{Plugins: nonNil(l.Plugins(ctx))})
}
