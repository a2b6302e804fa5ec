// Package traceparent reads W3C Trace Context traceparent values
// (https://www.w3.org/TR/trace-context/#traceparent-header), as MCP
// requests carry them in params._meta (SEP-414; the TypeScript SDK's
// TRACEPARENT_META_KEY, "traceparent").
package traceparent

import (
	"encoding/hex"

	"github.com/tidwall/gjson"
)

// MetaKey is the params._meta member a request's traceparent is in.
const MetaKey = "traceparent"

// TraceParent is a parsed traceparent. The zero value is not valid.
type TraceParent struct {
	Version  byte
	TraceID  [16]byte
	ParentID [8]byte
	Flags    byte
}

// Sampled says whether the caller may have recorded the trace (flag 01).
func (tp TraceParent) Sampled() bool { return tp.Flags&1 != 0 }

// TraceIDString is the trace id as 32 lowercase hex digits.
func (tp TraceParent) TraceIDString() string { return hex.EncodeToString(tp.TraceID[:]) }

// String is the traceparent in its version's format (for a version past
// 00, the fields version 00 defines, as the spec lets a receiver pass it on).
func (tp TraceParent) String() string {
	var b [55]byte
	hex.Encode(b[0:2], []byte{tp.Version})
	b[2] = '-'
	hex.Encode(b[3:35], tp.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], tp.ParentID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{tp.Flags})
	return string(b[:])
}

// Parse reads a traceparent header value. It follows the spec's rules for
// a receiver: lowercase hex only; version ff is invalid; version 00 is
// exactly 55 characters; a later version may add fields after a '-' and
// is read for the fields 00 defines; an all-zero trace id or parent id is
// invalid.
func Parse(s string) (TraceParent, bool) {
	var tp TraceParent
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return tp, false
	}
	var v [1]byte
	if !lowerHex(v[:], s[0:2]) || v[0] == 0xff {
		return tp, false
	}
	tp.Version = v[0]
	if len(s) > 55 && (tp.Version == 0 || s[55] != '-') {
		return tp, false
	}
	if !lowerHex(tp.TraceID[:], s[3:35]) || !lowerHex(tp.ParentID[:], s[36:52]) || !lowerHex(v[:], s[53:55]) {
		return tp, false
	}
	tp.Flags = v[0]
	if tp.TraceID == [16]byte{} || tp.ParentID == [8]byte{} {
		return tp, false
	}
	return tp, true
}

// FromParams reads params._meta.traceparent of a request's raw params,
// without decoding the rest of them.
func FromParams(params []byte) (TraceParent, bool) {
	if len(params) == 0 {
		return TraceParent{}, false
	}
	r := gjson.GetBytes(params, "_meta."+MetaKey)
	if r.Type != gjson.String {
		return TraceParent{}, false
	}
	return Parse(r.Str)
}

// lowerHex decodes s (2·len(dst) lowercase hex digits) into dst.
func lowerHex(dst []byte, s string) bool {
	for i := range dst {
		hi, ok1 := nibble(s[2*i])
		lo, ok2 := nibble(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
