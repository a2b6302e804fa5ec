package versions

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// The _meta keys of 2026-07-28. The prefix is reserved by the spec, so
// every key under it belongs to the protocol (and to the proxy).
const (
	metaPrefix            = "io.modelcontextprotocol/"
	metaProtocolVersion   = metaPrefix + "protocolVersion"
	metaClientCaps        = metaPrefix + "clientCapabilities"
	metaClientInfo        = metaPrefix + "clientInfo"
	metaLogLevel          = metaPrefix + "logLevel"
	metaServerInfo        = metaPrefix + "serverInfo"
	metaSubscriptionID    = metaPrefix + "subscriptionId"
	legacyResourceMissing = -32002 // resource not found before 2026-07-28
	urlElicitationNeeded  = -32042 // retired in 2026-07-28
	headerMismatch        = -32020
	missingCapability     = -32021
	unsupportedVersion    = -32022
)

// cacheable are the methods whose 2026-07-28 results are CacheableResult.
// server/discover is one too, but the proxy answers it itself.
var cacheable = map[string]bool{
	"tools/list": true, "prompts/list": true, "resources/list": true,
	"resources/templates/list": true, "resources/read": true,
}

// errInvalidSession reports session JSON that would corrupt the message it
// is spliced into.
var errInvalidSession = errors.New("not valid JSON")

// stripModernResult rewrites a 2026-07-28 response for a legacy client:
// results lose resultType "complete", the cache fields and the backend's
// serverInfo; errors get codes the client knows. Any other resultType
// (input_required, task) is left for the host to bridge: a translator sees
// one message and cannot run the round trips.
func stripModernResult(e *edit) error {
	if view(e.msg, "error").Exists() {
		return mapModernError(e)
	}
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		switch key.Str {
		case "resultType":
			return nil, value.Str == "complete", nil
		case "ttlMs", "cacheScope":
			return nil, true, nil
		case "_meta":
			return metaWithout(key, value, func(k string) bool { return k == metaServerInfo })
		}
		return nil, false, nil
	}
	return e.update(rewriteAt(e.msg, "result", fn, nil))
}

// stripSubscriptionID drops the subscriptions/listen tag from a
// notification for a legacy client, which has no such stream.
func stripSubscriptionID(e *edit) error {
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		if key.Str != "_meta" {
			return nil, false, nil
		}
		return metaWithout(key, value, func(k string) bool { return k == metaSubscriptionID })
	}
	return e.update(rewriteAt(e.msg, "params", fn, nil))
}

// stripRequestMeta drops every io.modelcontextprotocol/ key of a 2026-07-28
// client's params._meta before a legacy backend, which negotiated all of
// that at initialize. Other keys (progressToken, tracing) stay.
func stripRequestMeta(e *edit) error {
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		if key.Str != "_meta" {
			return nil, false, nil
		}
		return metaWithout(key, value, func(k string) bool { return strings.HasPrefix(k, metaPrefix) })
	}
	return e.update(rewriteAt(e.msg, "params", fn, nil))
}

// metaWithout rewrites a _meta member without the keys gone selects,
// dropping _meta itself when nothing is left in it.
func metaWithout(key, value gjson.Result, gone func(string) bool) ([]byte, bool, error) {
	if !value.IsObject() {
		return nil, false, nil
	}
	raw, err := rewriteObject(value, func(k, _ gjson.Result) ([]byte, bool, error) {
		return nil, gone(k.Str), nil
	}, nil)
	switch {
	case err != nil || raw == nil:
		return nil, false, err
	case string(raw) == "{}":
		return nil, true, nil
	}
	return member(key.Raw, raw), false, nil
}

// mapModernError gives a 2026-07-28 error a code a legacy client knows.
// Resource not found moved from -32002 to -32602 and is moved back when
// the message says so (-32602 is also plain invalid params). The
// -32020..-32022 codes are reserved for the spec in 2026-07-28 and mean
// nothing before it: they become Invalid Request with their message, and
// the original code goes into data.originalCode when data is absent or an
// object without that member.
func mapModernError(e *edit) error {
	errObj := view(e.msg, "error")
	code := errObj.Get("code").Int()
	switch {
	case code == jsonrpc.CodeInvalidParams && e.method == "resources/read" &&
		strings.Contains(strings.ToLower(errObj.Get("message").Str), "not found"):
		return e.update(rewriteAt(e.msg, "error", codeTo(legacyResourceMissing), nil))
	case code == headerMismatch || code == missingCapability || code == unsupportedVersion:
		return e.update(invalidRequest(e.msg, errObj, code))
	}
	return nil
}

// invalidRequest turns error errObj into -32600, recording the original
// code in data.
func invalidRequest(msg []byte, errObj gjson.Result, code int64) ([]byte, bool, error) {
	orig := member(`"originalCode"`, strconv.AppendInt(nil, code, 10))
	setCode := codeTo(jsonrpc.CodeInvalidRequest)
	fn := func(key, value gjson.Result) ([]byte, bool, error) {
		if key.Str != "data" {
			return setCode(key, value)
		}
		if !value.IsObject() || value.Get("originalCode").Exists() {
			return nil, false, nil
		}
		raw, err := rewriteObject(value, keepAll, orig)
		if err != nil {
			return nil, false, err
		}
		return member(key.Raw, raw), false, nil
	}
	var extra []byte
	if !errObj.Get("data").Exists() {
		extra = member(`"data"`, []byte("{"+string(orig)+"}"))
	}
	return rewriteAt(msg, "error", fn, extra)
}

// codeTo is a memberFunc that sets an error's code.
func codeTo(code int) memberFunc {
	return func(key, _ gjson.Result) ([]byte, bool, error) {
		if key.Str != "code" {
			return nil, false, nil
		}
		return member(key.Raw, jsonrpc.Int(int64(code))), false, nil
	}
}

// completeLegacyResult rewrites a legacy backend's response for a
// 2026-07-28 client: a result gets the resultType every result now has
// (clients must assume "complete" when it is missing, but strict ones
// validate it), and the cacheable ones get the most conservative cache
// fields, ttlMs 0 and private. Error codes retired in 2026-07-28 are mapped
// to their replacements.
func completeLegacyResult(e *edit) error {
	if view(e.msg, "error").Exists() {
		return mapLegacyError(e)
	}
	result := view(e.msg, "result")
	if !result.IsObject() {
		return nil
	}
	var hasType, hasTTL, hasScope bool
	result.ForEach(func(key, _ gjson.Result) bool {
		switch key.Str {
		case "resultType":
			hasType = true
		case "ttlMs":
			hasTTL = true
		case "cacheScope":
			hasScope = true
		}
		return true
	})
	var add []string
	if !hasType {
		add = append(add, `"resultType":"complete"`)
	}
	if cacheable[e.method] && !hasTTL {
		add = append(add, `"ttlMs":0`)
	}
	if cacheable[e.method] && !hasScope {
		add = append(add, `"cacheScope":"private"`)
	}
	if len(add) == 0 {
		return nil
	}
	out, err := appendMembers(e.msg, result, []byte(strings.Join(add, ",")))
	return e.update(out, true, err)
}

// mapLegacyError maps -32002 (resource not found, now -32602) and -32042
// (URL elicitation required, retired; the client just retries) for a
// 2026-07-28 client, keeping message and data.
func mapLegacyError(e *edit) error {
	switch view(e.msg, "error.code").Int() {
	case legacyResourceMissing:
		return e.update(rewriteAt(e.msg, "error", codeTo(jsonrpc.CodeInvalidParams), nil))
	case urlElicitationNeeded:
		return e.update(rewriteAt(e.msg, "error", codeTo(jsonrpc.CodeInternalError), nil))
	}
	return nil
}

// addRequestMeta merges the per-request metadata of 2026-07-28 into a
// legacy client's request: the protocol version, and the capabilities,
// info and log level the client gave at initialize (which the host keeps
// in the session). Existing _meta keys such as progressToken stay; the
// io.modelcontextprotocol/ keys this sets replace any the client sent.
func addRequestMeta(e *edit) error {
	members, err := requestMeta(e.session)
	if err != nil {
		return err
	}
	params := view(e.msg, "params")
	switch {
	case !params.Exists():
		out, err := appendMembers(e.msg, root(e.msg), []byte(`"params":{"_meta":{`+string(members)+`}}`))
		return e.update(out, true, err)
	case !params.IsObject():
		return nil // not an MCP request; the backend will say so
	}
	meta := view(e.msg, "params._meta")
	switch {
	case !meta.Exists():
		out, err := appendMembers(e.msg, params, []byte(`"_meta":{`+string(members)+`}`))
		return e.update(out, true, err)
	case !meta.IsObject():
		out, err := replace(e.msg, meta, []byte("{"+string(members)+"}"))
		return e.update(out, true, err)
	case hasOwnedKey(meta):
		raw, err := rewriteObject(meta, func(k, _ gjson.Result) ([]byte, bool, error) {
			return nil, ownedKey(k.Str), nil
		}, members)
		if err != nil {
			return err
		}
		out, err := replace(e.msg, meta, raw)
		return e.update(out, true, err)
	}
	out, err := appendMembers(e.msg, meta, members)
	return e.update(out, true, err)
}

// ownedKey reports the _meta keys addRequestMeta sets.
func ownedKey(k string) bool {
	return k == metaProtocolVersion || k == metaClientCaps || k == metaClientInfo || k == metaLogLevel
}

func hasOwnedKey(meta gjson.Result) bool {
	found := false
	meta.ForEach(func(k, _ gjson.Result) bool {
		found = ownedKey(k.Str)
		return !found
	})
	return found
}

// requestMeta builds the io.modelcontextprotocol/ members for a session.
// Capabilities are required, so a client that declared none sends {}.
func requestMeta(s translator.Session) ([]byte, error) {
	caps, err := sessionJSON(s.ClientCapabilities)
	if err != nil {
		return nil, fmt.Errorf("session client capabilities: %w", err)
	}
	if caps == nil {
		caps = []byte("{}")
	}
	info, err := sessionJSON(s.ClientInfo)
	if err != nil {
		return nil, fmt.Errorf("session client info: %w", err)
	}
	b := make([]byte, 0, 128+len(caps)+len(info))
	b = append(b, `"`+metaProtocolVersion+`":"`+V20260728+`"`...)
	b = append(b, `,"`+metaClientCaps+`":`...)
	b = append(b, caps...)
	if info != nil {
		b = append(b, `,"`+metaClientInfo+`":`...)
		b = append(b, info...)
	}
	if s.LogLevel != "" {
		b = append(b, `,"`+metaLogLevel+`":`...)
		b = append(b, str(s.LogLevel)...)
	}
	return b, nil
}

// sessionJSON checks raw session JSON and puts it on one line (stdio
// framing); empty and null are nil.
func sessionJSON(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if !gjson.ValidBytes(raw) {
		return nil, errInvalidSession
	}
	out, err := jsonrpc.Compact(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidSession, err)
	}
	return out, nil
}
