package httptransport

import (
	"bytes"
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/transport"
)

// Protocol version 2026-07-28 made the protocol stateless: a request carries
// its version, the client's capabilities and identity in its own _meta, and
// there is no initialize and no session. Over Streamable HTTP such a request
// must also carry the version and its routing in headers (MCP-Protocol-Version,
// Mcp-Method, Mcp-Name, Mcp-Param-*), it must not carry Mcp-Session-Id, and
// closing its response stream is how it is cancelled. The host decides the
// era per backend and marks every request for a modern one, so the
// transport goes by the mark on each request rather than by a mode of its
// own; what it remembers (the requests in flight, the tools' header
// parameters) only serves those requests.

// Members of a modern request's params._meta and the methods this file
// treats specially.
const (
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	firstModernVersion  = "2026-07-28"

	methodDiscover  = "server/discover"
	methodListen    = "subscriptions/listen"
	methodCancelled = "notifications/cancelled"
	methodToolsList = "tools/list"
)

// metaVersionPath is the gjson path of a request's protocol version.
var metaVersionPath = "params._meta." + jsonrpc.EscapePath(metaProtocolVersion)

// modernVersion returns the protocol version a request names in its _meta
// when that is 2026-07-28 or later, and "" for a request of an earlier era
// (which names none). Versions are dates, so they order as strings.
func modernVersion(msg []byte) string {
	v, ok := jsonrpc.GetString(msg, metaVersionPath)
	if !ok || len(v) != len(firstModernVersion) || v < firstModernVersion {
		return ""
	}
	return v
}

// inflight is a modern request whose answer is still coming.
type inflight struct {
	cancel context.CancelFunc
	// cancelled is set when the host cancelled the request: whatever
	// becomes of its stream then is no news to anyone.
	cancelled atomic.Bool
}

// track registers s's cancellation, so that notifications/cancelled can
// close its stream.
func (c *conn) track(s sent, cancel context.CancelFunc) *inflight {
	f := &inflight{cancel: cancel}
	c.mu.Lock()
	c.inflight[string(s.env.ID)] = f
	c.mu.Unlock()
	return f
}

// untrack forgets s once its answer has been handled.
func (c *conn) untrack(s sent, f *inflight) {
	c.mu.Lock()
	if c.inflight[string(s.env.ID)] == f {
		delete(c.inflight, string(s.env.ID))
	}
	c.mu.Unlock()
}

// cancelled reports whether the host cancelled s.
func (s sent) cancelled() bool { return s.flight != nil && s.flight.cancelled.Load() }

// cancelModern handles notifications/cancelled for a modern backend, and
// reports whether it did, in which case nothing is to be sent. Closing the
// request's response stream is the cancellation the 2026-07-28 transport
// defines; the notification itself would be a request of no era to the
// server, since it has no _meta and no session. A cancellation of a request
// that is no longer in flight is dropped when the backend is known to be
// modern and has no legacy session the notification could belong to.
func (c *conn) cancelModern(msg []byte) bool {
	id := jsonrpc.Get(msg, "params.requestId")
	c.mu.Lock()
	f := c.inflight[string(id)]
	drop := f == nil && c.modern && c.sessionID == ""
	c.mu.Unlock()
	if f != nil {
		f.cancelled.Store(true)
		f.cancel()
		c.logger.Debug("cancelled a request by closing its stream")
		return true
	}
	if drop {
		c.logger.Debug("dropping the cancellation of a request that is no longer in flight")
	}
	return drop
}

// setModernHeaders adds the headers a 2026-07-28 POST must carry.
func (c *conn) setModernHeaders(req *http.Request, s sent) {
	req.Header.Set("MCP-Protocol-Version", s.modern)
	req.Header.Set("Mcp-Method", s.env.Method)
	switch s.env.Method {
	case "tools/call", "prompts/get":
		if name, ok := jsonrpc.GetString(s.msg, "params.name"); ok {
			req.Header.Set("Mcp-Name", encodeHeaderValue(name))
		}
	case "resources/read":
		if uri, ok := jsonrpc.GetString(s.msg, "params.uri"); ok {
			req.Header.Set("Mcp-Name", encodeHeaderValue(uri))
		}
	}
	if s.env.Method != "tools/call" {
		return
	}
	name, _ := jsonrpc.GetString(s.msg, "params.name")
	c.mu.Lock()
	bindings := c.toolHeaders[name]
	c.mu.Unlock()
	if len(bindings) == 0 {
		return
	}
	args := gjson.GetBytes(s.msg, "params.arguments")
	for _, b := range bindings {
		v := args
		for _, part := range b.path {
			v = v.Get(jsonrpc.EscapePath(part))
		}
		if value, ok := headerPrimitive(v); ok {
			req.Header.Set("Mcp-Param-"+b.header, encodeHeaderValue(value))
		}
	}
}

// headerPrimitive renders an argument for an Mcp-Param-* header: strings,
// booleans and integers JavaScript can hold exactly. Anything else (absent,
// null, fractions, objects) gets no header, as the spec says.
func headerPrimitive(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.String:
		return v.Str, true
	case gjson.True:
		return "true", true
	case gjson.False:
		return "false", true
	case gjson.Number:
		const maxSafe = 1<<53 - 1
		if v.Num != math.Trunc(v.Num) || math.Abs(v.Num) > maxSafe {
			return "", false
		}
		return strconv.FormatInt(int64(v.Num), 10), true
	}
	return "", false
}

// Header values that are not plain printable ASCII, or that have leading or
// trailing whitespace, travel base64-encoded in this wrapper.
const (
	base64Prefix = "=?base64?"
	base64Suffix = "?="
)

func encodeHeaderValue(s string) string {
	if !needsBase64(s) {
		return s
	}
	return base64Prefix + base64.StdEncoding.EncodeToString([]byte(s)) + base64Suffix
}

func needsBase64(s string) bool {
	if s == "" {
		return false
	}
	if strings.ContainsAny(s[:1], " \t") || strings.ContainsAny(s[len(s)-1:], " \t") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return true
		}
	}
	// A plain value that looks encoded is encoded, so it cannot be taken
	// for the value it spells.
	return strings.HasPrefix(s, base64Prefix) && strings.HasSuffix(s, base64Suffix)
}

// paramBinding is a tool parameter that an x-mcp-header annotation mirrors
// into the header Mcp-Param-<header>.
type paramBinding struct {
	path   []string
	header string
}

// learnToolHeaders records, from a modern tools/list response, which tool
// parameters travel in headers too. The server checks those headers against
// the body and rejects a call without them, and only the list says which
// they are.
func (c *conn) learnToolHeaders(msg []byte) {
	c.mu.Lock()
	known := len(c.toolHeaders) > 0
	c.mu.Unlock()
	if !known && !bytes.Contains(msg, []byte("x-mcp-header")) {
		return
	}
	learned := map[string][]paramBinding{}
	gjson.GetBytes(msg, "result.tools").ForEach(func(_, tool gjson.Result) bool {
		if name := tool.Get("name"); name.Type == gjson.String {
			learned[name.Str] = collectBindings(tool.Get("inputSchema"), nil, nil)
		}
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, bindings := range learned {
		if len(bindings) == 0 {
			delete(c.toolHeaders, name)
			continue
		}
		c.toolHeaders[name] = bindings
	}
}

// collectBindings walks a schema's properties, nested objects included,
// for x-mcp-header annotations on primitive parameters. An annotation
// that is not a valid header name or sits on a parameter of another type
// is invalid; the server would have refused the tool, so it is skipped.
func collectBindings(schema gjson.Result, prefix []string, out []paramBinding) []paramBinding {
	schema.Get("properties").ForEach(func(key, prop gjson.Result) bool {
		path := append(slices.Clip(prefix), key.Str)
		if h := prop.Get("x-mcp-header"); h.Type == gjson.String && transport.IsToken(h.Str) && primitiveSchema(prop.Get("type")) {
			out = append(out, paramBinding{path: path, header: h.Str})
		}
		if prop.Get("properties").IsObject() {
			out = collectBindings(prop, path, out)
		}
		return true
	})
	return out
}

// primitiveSchema reports whether a schema's type (a name or a list of
// them) allows only strings, integers and booleans.
func primitiveSchema(typ gjson.Result) bool {
	names := []gjson.Result{typ}
	if typ.IsArray() {
		names = typ.Array()
	}
	if len(names) == 0 || !typ.Exists() {
		return false
	}
	for _, n := range names {
		switch n.Str {
		case "string", "integer", "boolean":
		default:
			return false
		}
	}
	return true
}
