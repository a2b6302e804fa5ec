// Package traceparent reads and writes W3C trace context traceparent
// values (https://www.w3.org/TR/trace-context/), as MCP requests carry
// them in params._meta.traceparent.
package traceparent

import (
	"encoding/hex"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// MetaKey is the _meta member that carries the traceparent (the
// TypeScript SDK's TRACEPARENT_META_KEY); StateMetaKey carries tracestate.
const (
	MetaKey      = "traceparent"
	StateMetaKey = "tracestate"
)

// TraceParent is a parsed traceparent: version 00's fields.
type TraceParent struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

// Sampled says whether the caller sampled the trace.
func (t TraceParent) Sampled() bool { return t.Flags&1 == 1 }

// Parse reads a traceparent header value. It accepts version 00 exactly
// and, as the spec asks, a later version's first four fields (its value
// may be longer, after a '-'); version ff, all-zero ids, upper-case hex
// and anything malformed are refused.
func Parse(s string) (TraceParent, bool) {
	var t TraceParent
	// version "-" trace-id "-" parent-id "-" flags
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return t, false
	}
	var version [1]byte
	if !lowerHex(s[0:2]) || !lowerHex(s[3:35]) || !lowerHex(s[36:52]) || !lowerHex(s[53:55]) {
		return t, false
	}
	_, _ = hex.Decode(version[:], []byte(s[0:2]))
	switch {
	case version[0] == 0xff:
		return t, false
	case version[0] == 0 && len(s) != 55:
		return t, false
	case version[0] > 0 && len(s) > 55 && s[55] != '-':
		return t, false
	}
	_, _ = hex.Decode(t.TraceID[:], []byte(s[3:35]))
	_, _ = hex.Decode(t.SpanID[:], []byte(s[36:52]))
	var flags [1]byte
	_, _ = hex.Decode(flags[:], []byte(s[53:55]))
	t.Flags = flags[0]
	if t.TraceID == ([16]byte{}) || t.SpanID == ([8]byte{}) {
		return TraceParent{}, false
	}
	return t, true
}

// String is the version 00 form.
func (t TraceParent) String() string {
	var b [55]byte
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], t.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], t.SpanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{t.Flags})
	return string(b[:])
}

// FromParams reads params._meta.traceparent of a request's params
// without decoding the rest, with the message path's scanner (it crosses
// large arguments at memchr speed; gjson took 13 times as long on 100 KB).
func FromParams(params []byte) (TraceParent, bool) {
	s, ok := jsonrpc.GetString(params, "_meta."+MetaKey)
	if !ok {
		return TraceParent{}, false
	}
	return Parse(s)
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
