package router

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// The proxy's client side is dual-era: a session that sends initialize
// is an initialize-era session; one whose requests carry 2026-07-28
// request metadata is a stateless one, whose capabilities, client info
// and log level come with each request.

// Request metadata keys of 2026-07-28, as gjson paths under params.
const (
	metaVersionPath = `_meta.io\.modelcontextprotocol/protocolVersion`
	metaCapsPath    = `_meta.io\.modelcontextprotocol/clientCapabilities`
	metaInfoPath    = `_meta.io\.modelcontextprotocol/clientInfo`
	metaLevelPath   = `_meta.io\.modelcontextprotocol/logLevel`
	subscriptionKey = "io.modelcontextprotocol/subscriptionId"
	// CodeUnsupportedProtocolVersion is 2026-07-28's error for a request
	// in a version the server does not speak.
	CodeUnsupportedProtocolVersion = -32022
)

var metaVersionKey = []byte("io.modelcontextprotocol/protocolVersion")

// adoptRequestMeta makes the session a 2026-07-28 one when the request
// carries that revision's metadata, taking the client's capabilities, info
// and log level from it. It returns an error response for a version the
// proxy does not speak, or nil.
func (s *Session) adoptRequestMeta(id, params []byte) []byte {
	if v := s.version.load(); v != "" && v != ModernVersion {
		return nil // an initialized session keeps the version it negotiated
	}
	if meta := jsonrpc.Get(params, "_meta"); meta == nil || !bytes.Contains(meta, metaVersionKey) {
		return nil // (only _meta is searched: the arguments may be large)
	}
	v := gjson.GetBytes(params, metaVersionPath)
	if !v.Exists() {
		return nil
	}
	if v.Str != ModernVersion {
		// Every revision the proxy serves: an older one by initialize.
		return jsonrpc.Error(id, CodeUnsupportedProtocolVersion, "Unsupported protocol version: "+v.Str,
			map[string]any{"supported": SupportedVersions, "requested": v.Str})
	}
	caps := []byte(gjson.GetBytes(params, metaCapsPath).Raw)
	if len(caps) == 0 {
		caps = []byte(`{}`)
	}
	info := []byte(gjson.GetBytes(params, metaInfoPath).Raw)
	s.mu.Lock()
	s.version.store(ModernVersion)
	s.caps = caps
	if len(info) > 0 {
		s.clientInfo = info
	}
	s.mu.Unlock()
	level := int32(0)
	if rank := levelRank(gjson.GetBytes(params, metaLevelPath).Str); rank >= 0 {
		level = int32(rank) + 1
	}
	if old := s.logLevel.Swap(level); old != level && level != 0 {
		s.router.spawn(func(ctx context.Context) { s.router.levels.push(ctx, nil) })
	}
	return nil
}

// capabilities are the proxy's server capabilities in protocol version:
// completions came in 2025-03-26, tasks in 2025-11-25 (and left the core
// in 2026-07-28, where the proxy does not offer the tasks extension).
func (r *Router) capabilities(version string) string {
	extra := ""
	if version != "2024-11-05" {
		extra += `,"completions":{}`
	}
	if version == "2025-11-25" {
		if t := r.backends.tasksCapability(); t != nil {
			extra += `,"tasks":` + string(t)
		}
	}
	return `{"tools":{"listChanged":true},"prompts":{"listChanged":true},` +
		`"resources":{"subscribe":true,"listChanged":true},"logging":{}` + extra + `}`
}

func (r *Router) serverInfo() string {
	return `{"name":` + string(jsonrpc.String(r.opts.Name)) + `,"version":` + string(jsonrpc.String(r.opts.Version)) + `}`
}

// ownServerInfo replaces a 2026-07-28 backend's identity in a result's
// _meta with the proxy's: the client talks to one server, the proxy.
func (r *Router) ownServerInfo(msg []byte) []byte {
	const path = `result._meta.io\.modelcontextprotocol/serverInfo`
	if jsonrpc.Get(msg, path) == nil {
		return msg
	}
	if out, err := jsonrpc.Set(msg, path, []byte(r.serverInfo())); err == nil {
		return out
	}
	return msg
}

// supportedVersionsJSON lists every revision the proxy serves (the older
// ones through initialize), as server/discover gives them.
var supportedVersionsJSON, _ = json.Marshal(SupportedVersions)

// discoverResult answers server/discover. The lists can change at any
// moment (list_changed), so nothing may be cached.
func (r *Router) discoverResult() []byte {
	out := `{"resultType":"complete","supportedVersions":` + string(supportedVersionsJSON) + `,"capabilities":` + r.capabilities(ModernVersion)
	if r.opts.Instructions != "" {
		out += `,"instructions":` + string(jsonrpc.String(r.opts.Instructions))
	}
	out += `,"ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":` + r.serverInfo() + `}}`
	return []byte(out)
}

// listenStream is one subscriptions/listen request of a 2026-07-28 client.
type listenStream struct {
	id                        []byte
	reply                     replyStream
	tools, prompts, resources bool
	uris                      map[string]bool
}

// listen opens a subscriptions/listen stream: the proxy acknowledges the
// filter it honours and then sends matching notifications on the stream,
// until the client cancels it.
func (s *Session) listen(reply replyStream, id, params []byte) {
	f := gjson.GetBytes(params, "notifications")
	ls := &listenStream{
		id: id, reply: reply, uris: map[string]bool{},
		tools:     f.Get("toolsListChanged").Bool(),
		prompts:   f.Get("promptsListChanged").Bool(),
		resources: f.Get("resourcesListChanged").Bool(),
	}
	cat := s.router.catalog.load()
	var uris []string
	f.Get("resourceSubscriptions").ForEach(func(_, v gjson.Result) bool {
		rt, ok := cat.resolveURI(v.Str)
		if !ok || ls.uris[v.Str] {
			return true
		}
		ls.uris[v.Str] = true
		uris = append(uris, v.Str)
		s.router.subscribeBackend(rt, true)
		return true
	})
	sort.Strings(uris)
	s.subscriptions.addListen(ls, uris)
	honoured := `{"toolsListChanged":` + boolJSON(ls.tools) + `,"promptsListChanged":` + boolJSON(ls.prompts) +
		`,"resourcesListChanged":` + boolJSON(ls.resources)
	if len(uris) > 0 {
		list, _ := json.Marshal(uris)
		honoured += `,"resourceSubscriptions":` + string(list)
	}
	ack := `{"notifications":` + honoured + `},"_meta":{"` + subscriptionKey + `":` + string(id) + `}}`
	s.deliver(reply, jsonrpc.Notification("notifications/subscriptions/acknowledged", []byte(ack)))
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// subscribeBackend passes a subscription to the backend that owns rt.
func (r *Router) subscribeBackend(rt route, add bool) {
	b := rt.backend
	if b.version.era().subscribe(b, rt.original, add) {
		return
	}
	method := "resources/unsubscribe"
	if add {
		method = "resources/subscribe"
	}
	r.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, b.spec.Timeout)
		defer cancel()
		if _, err := b.call(ctx, method, []byte(`{"uri":`+string(jsonrpc.String(rt.original))+`}`)); err != nil {
			b.log.Debug(method, "error", err)
		}
	})
}

// endListen closes a listen stream the client cancelled (or all of them
// when the session ends), dropping its subscriptions.
func (s *Session) endListen(ls *listenStream) {
	cat := s.router.catalog.load()
	s.subscriptions.removeListen(ls)
	for u := range ls.uris {
		if rt, ok := cat.resolveURI(u); ok {
			s.router.subscribeBackend(rt, false)
		}
	}
	if ls.reply != nil {
		ls.reply.abandon()
	}
}

// notifyListens sends a notification to the session's listen streams
// whose filter takes it; uri is set for resources/updated.
func (s *Session) notifyListens(method, uri string, msg []byte) {
	targets := s.subscriptions.listensFor(method, uri)
	for _, ls := range targets {
		out, err := jsonrpc.Set(msg, `params._meta.io\.modelcontextprotocol/subscriptionId`, ls.id)
		if err == nil {
			s.deliver(ls.reply, out)
		}
	}
}
