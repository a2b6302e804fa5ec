package router

import (
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// TargetServer names the backend server a client request would be
// forwarded to, so that a listener can decide whether the client may
// reach it before handing the request over (a token's per-server scopes).
// It resolves names exactly as dispatch does, from the current catalog
// and the session's tasks, and takes no lock but the task table's (a
// leaf). ok is false when the request reaches no single backend: the
// proxy answers it itself (initialize, lists, ping, ...) or it names
// nothing known (which dispatch then refuses).
func (s *Session) TargetServer(method string, params []byte) (server string, ok bool) {
	cat := s.router.catalog.load()
	var rt route
	switch method {
	case "tools/call":
		if rewritten, isCallTool, _ := cat.rewriteCallTool(params); isCallTool {
			params = rewritten // nil when malformed: no server, refused later
		}
		name, _ := jsonrpc.GetString(params, "name")
		if rt, ok = cat.tools[name]; ok && !s.reaches(listTools, name, rt) {
			return "", false // dispatch answers it as unknown
		}
	case "prompts/get":
		name, _ := jsonrpc.GetString(params, "name")
		rt, ok = cat.prompts[name]
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		uri, _ := jsonrpc.GetString(params, "uri")
		rt, ok = cat.resolveURI(uri)
	case "completion/complete":
		ref := gjson.GetBytes(params, "ref")
		switch ref.Get("type").Str {
		case "ref/prompt":
			rt, ok = cat.prompts[ref.Get("name").Str]
		case "ref/resource":
			if rt, ok = cat.templates[ref.Get("uri").Str]; !ok {
				rt, ok = cat.resolveURI(ref.Get("uri").Str)
			}
		}
	case "tasks/get", "tasks/result", "tasks/cancel":
		exposed, _ := jsonrpc.GetString(params, "taskId")
		var tr taskRoute
		if tr, ok = s.router.tasks.lookup(exposed, s); ok {
			rt = route{backend: tr.backend}
		}
	}
	if !ok || rt.backend == nil {
		return "", false
	}
	if v := s.profile.Load(); v != nil && !v.seesServer(rt.backend.spec.Name) {
		return "", false // dispatch answers it as unknown
	}
	return rt.backend.spec.Name, true
}
