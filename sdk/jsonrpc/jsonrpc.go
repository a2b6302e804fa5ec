// Package jsonrpc reads and writes JSON-RPC 2.0 messages as raw bytes: it
// peeks at the envelope and edits single members in place, so that every
// other byte of a forwarded message (schemas, _meta, unknown fields) passes
// through untouched.
package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	segjson "github.com/segmentio/encoding/json"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Standard JSON-RPC and MCP error codes, and the ones mcphost adds.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeBackendUnavailable: the backend that owns the request is down or went away.
	CodeBackendUnavailable = -32000
	// CodeRequestTimeout: the backend did not answer within the request timeout.
	CodeRequestTimeout = -32001
	// CodeMessageTooLarge: the message exceeds the configured maximum size.
	CodeMessageTooLarge = -32003
)

// Kind is what a message is.
type Kind int

const (
	KindInvalid Kind = iota
	KindRequest
	KindNotification
	KindResponse
	KindBatch
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResponse:
		return "response"
	case KindBatch:
		return "batch"
	}
	return "invalid"
}

// Envelope is what Peek learns about a message without decoding it.
type Envelope struct {
	Kind   Kind
	ID     []byte // raw JSON of "id", nil when absent
	Method string
	// IsError is true for a response carrying "error".
	IsError bool
}

// ErrParse reports bytes that are not JSON.
var ErrParse = errors.New("parse error")

// ErrInvalid reports JSON that is not a JSON-RPC message.
var ErrInvalid = errors.New("invalid JSON-RPC message")

// Peek validates msg and reads its envelope.
func Peek(msg []byte) (Envelope, error) {
	// JSON's own whitespace only: bytes.TrimSpace would also take \v, \f
	// and Unicode spaces, and let through a message that is not JSON.
	msg = bytes.Trim(msg, " \t\r\n")
	if !Valid(msg) {
		return Envelope{}, ErrParse
	}
	if len(msg) > 0 && msg[0] == '[' {
		return Envelope{Kind: KindBatch}, nil
	}
	if len(msg) == 0 || msg[0] != '{' {
		return Envelope{}, fmt.Errorf("%w: not an object", ErrInvalid)
	}
	var env Envelope
	var hasResult, hasError, hasMethod bool
	var version string
	eachMember(msg, func(key, value []byte) {
		switch string(key) {
		case "jsonrpc":
			version = "-"
			if string(value) == `"2.0"` {
				version = "2.0"
			}
		case "id":
			env.ID = value
		case "method":
			env.Method, hasMethod = stringValue(value)
		case "result":
			hasResult = true
		case "error":
			hasError = true
		}
	})
	// An id that can't be used is answered with null, as JSON-RPC says,
	// whatever else is wrong with the message.
	badID := env.ID != nil && !validID(env.ID)
	if badID {
		env.ID = nil
	}
	if version != "2.0" {
		return env, fmt.Errorf(`%w: "jsonrpc" must be "2.0"`, ErrInvalid)
	}
	if badID {
		return env, fmt.Errorf("%w: id must be a string or a number", ErrInvalid)
	}
	switch {
	case hasMethod && env.ID != nil:
		env.Kind = KindRequest
	case hasMethod:
		env.Kind = KindNotification
	case (hasResult || hasError) && env.ID != nil:
		env.Kind = KindResponse
		env.IsError = hasError
	default:
		return env, fmt.Errorf("%w: neither a request, a notification nor a response", ErrInvalid)
	}
	return env, nil
}

// validSmall is the size below which gjson's validator is the faster one.
const validSmall = 1024

// Valid reports whether msg is valid JSON. Large messages are checked with
// segmentio's validator, which crosses string contents a word at a time
// (tens of times faster than a byte loop on a mostly-text tool result).
func Valid(msg []byte) bool {
	if len(msg) < validSmall {
		return gjson.ValidBytes(msg)
	}
	return segjson.Valid(msg)
}

// eachMember calls fn with every member of the valid JSON object obj, in
// order (a duplicated key is seen twice). key is unquoted (escapes
// resolved); value shares obj's memory.
func eachMember(obj []byte, fn func(key, value []byte)) {
	EachMember(obj, 0, func(key []byte, vs int) int {
		ve := SkipValue(obj, vs)
		if ve < 0 {
			return -1
		}
		if bytes.IndexByte(key, '\\') >= 0 {
			s, _ := unescapeKey(key)
			key = []byte(s)
		}
		fn(key, obj[vs:ve:ve])
		return ve
	})
}

func validID(raw []byte) bool {
	switch raw[0] {
	case '"':
		return true
	case 'n': // null is allowed on error responses only; callers check.
		return string(raw) == "null"
	default:
		return raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')
	}
}

// Get returns the raw JSON at a gjson path, or nil when absent.
//
// The result shares msg's memory (no copy: params and results can be tens
// of megabytes); its capacity is capped, so appending to it copies.
func Get(msg []byte, path string) []byte {
	if s, e, found, handled := lookup(msg, path); handled {
		if !found {
			return nil
		}
		return msg[s:e:e]
	}
	r := gjson.Get(unsafe.String(unsafe.SliceData(msg), len(msg)), path)
	if !r.Exists() {
		return nil
	}
	if r.Index > 0 && r.Index+len(r.Raw) <= len(msg) {
		return msg[r.Index : r.Index+len(r.Raw) : r.Index+len(r.Raw)]
	}
	return []byte(r.Raw)
}

// GetString returns the string at path, and whether it was a string.
func GetString(msg []byte, path string) (string, bool) {
	if s, e, found, handled := lookup(msg, path); handled {
		if !found {
			return "", false
		}
		return stringValue(msg[s:e])
	}
	r := gjson.GetBytes(msg, path)
	return r.Str, r.Type == gjson.String
}

// Set replaces (or adds) the member at path with raw JSON. msg itself is
// never changed.
//
// A simple path is walked once: the message is crossed up to the value it
// replaces or the object it adds to (with the objects on the way), then
// copied once. Anything else goes to sjson, and so does a path with a
// segment that starts with ':', which sjson reads as a key however it
// looks (":1" is the key "1", not an index).
func Set(msg []byte, path string, raw []byte) ([]byte, error) {
	if strings.HasPrefix(path, ":") || strings.Contains(path, ".:") {
		return setSlow(msg, path, raw)
	}
	if s, rest, ok := walk(msg, path); ok {
		if s.start >= 0 {
			return join(msg[:s.start], raw, msg[s.end:]), nil
		}
		if s.after > 0 {
			if add, ok := newMembers(rest, raw, s.empty); ok {
				brace := s.after - 1 // the new member goes just before it
				return join(msg[:brace], add, msg[brace:]), nil
			}
		}
	}
	return setSlow(msg, path, raw)
}

func setSlow(msg []byte, path string, raw []byte) ([]byte, error) {
	out, err := sjson.SetRawBytes(msg, path, raw)
	if err != nil {
		return nil, fmt.Errorf("set %s: %w", path, err)
	}
	return out, nil
}

// Delete removes the member at path.
func Delete(msg []byte, path string) ([]byte, error) {
	out, err := sjson.DeleteBytes(msg, path)
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", path, err)
	}
	return out, nil
}

// EscapePath escapes a literal key for use in a gjson/sjson path.
func EscapePath(key string) string {
	var b []byte
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '.', '*', '?', '|', '#', '@', '\\', ':', '!', '=', '<', '>', '%':
			b = append(b, '\\')
		}
		b = append(b, key[i])
	}
	return string(b)
}

// String returns s as a JSON string (as encoding/json writes it).
func String(s string) []byte {
	return appendString(make([]byte, 0, len(s)+2), s)
}

// appendString appends s as a JSON string (as encoding/json writes it).
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// Int returns n as a JSON number.
func Int(n int64) []byte {
	return strconv.AppendInt(nil, n, 10)
}

// Request builds a request; params may be nil.
func Request(id []byte, method string, params []byte) []byte {
	b := make([]byte, 0, 48+len(method)+len(params))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"method":`...)
	b = append(b, String(method)...)
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, '}')
}

// Notification builds a notification; params may be nil.
func Notification(method string, params []byte) []byte {
	b := make([]byte, 0, 40+len(method)+len(params))
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	b = append(b, String(method)...)
	if params != nil {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	return append(b, '}')
}

// Result builds a success response.
func Result(id, result []byte) []byte {
	b := make([]byte, 0, 36+len(id)+len(result))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	return append(b, '}')
}

// Error builds an error response. A nil id is sent as null. data may be nil.
func Error(id []byte, code int, message string, data any) []byte {
	if id == nil {
		id = []byte("null")
	}
	e := struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{code, message, data}
	eb, _ := json.Marshal(e)
	b := make([]byte, 0, 36+len(id)+len(eb))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	b = append(b, `,"error":`...)
	b = append(b, eb...)
	return append(b, '}')
}

// Compact removes insignificant whitespace, so that a message fits on one
// line (stdio framing). Messages already on one line are returned as is.
func Compact(msg []byte) ([]byte, error) {
	if bytes.IndexByte(msg, '\n') < 0 && bytes.IndexByte(msg, '\r') < 0 {
		return msg, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(msg))
	if err := json.Compact(&buf, msg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParse, err)
	}
	return buf.Bytes(), nil
}
