package jsonrpc

import (
	"bytes"
	"encoding/json"

	"github.com/tidwall/gjson"
)

// A scanner for valid JSON that finds members by skipping values: strings
// are skipped with bytes.IndexByte, so a message whose bulk is text (a
// tool result, a file) is crossed at memchr speed instead of byte by byte.
// It serves the common lookups of the message path (a member at a dotted
// path, the envelope); anything fancier goes to gjson.

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// SkipSpace returns the index of the first byte at or after i in data that
// is not JSON white space (len(data) if there is none).
func SkipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote
// is at i, or -1.
func skipString(data []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		escapes := 0
		for p := q - 1; p > i && data[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// SkipValue returns the index just past the value that starts at data[i]
// (no white space before it), or -1 when data ends first. It finds the
// end of valid JSON, or of a prefix of it, without validating: a number or
// literal cut by the end of data ends there, and the caller that cares
// sees that nothing follows it.
func SkipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); {
			switch data[j] {
			case '"':
				if j = skipString(data, j); j < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				return j
			}
			j++
		}
		return j
	}
}

// EachMember calls fn with each member of the object that starts at
// data[i], in order: its key, raw (the bytes between its quotes, escapes
// as written), and the index its value starts at. fn returns the index
// just past the value, or -1 to stop: SkipValue(data, value), or where its
// own reading of the value ended, so that a value looked into is crossed
// once, not once to find its end and again to read it.
//
// EachMember returns the index just past the object; -1 if fn stopped, or
// the object is not one or runs past data (a prefix of a document: the
// members before the cut are seen).
func EachMember(data []byte, i int, fn func(key []byte, value int) int) int {
	if i >= len(data) || data[i] != '{' {
		return -1
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1
	}
	for i < len(data) && data[i] == '"' {
		ke := skipString(data, i)
		if ke < 0 {
			return -1
		}
		key := data[i+1 : ke-1]
		if i = SkipSpace(data, ke); i >= len(data) || data[i] != ':' {
			return -1
		}
		vs := SkipSpace(data, i+1)
		if vs >= len(data) {
			return -1
		}
		if i = fn(key, vs); i < 0 {
			return -1
		}
		if i = SkipSpace(data, i); i >= len(data) {
			return -1
		}
		switch data[i] {
		case '}':
			return i + 1
		case ',':
			i = SkipSpace(data, i+1)
		default:
			return -1
		}
	}
	return -1
}

// EachElement is EachMember for the array that starts at data[i]: fn gets
// the index each element starts at.
func EachElement(data []byte, i int, fn func(value int) int) int {
	if i >= len(data) || data[i] != '[' {
		return -1
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1
	}
	for i < len(data) {
		if i = fn(i); i < 0 {
			return -1
		}
		if i = SkipSpace(data, i); i >= len(data) {
			return -1
		}
		switch data[i] {
		case ']':
			return i + 1
		case ',':
			i = SkipSpace(data, i+1)
		default:
			return -1
		}
	}
	return -1
}

// keyEquals compares a raw (still escaped) JSON key with key.
func keyEquals(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	s, ok := unescapeKey(raw)
	return ok && s == key
}

// unescapeKey returns the string a raw (still escaped) JSON key stands for.
func unescapeKey(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return "", false
	}
	return s, true
}

// step is what one step of a simple path finds in a value.
type step struct {
	// start and end bound the value found: end is -1 unless asked for, and
	// start is -1 when there is no such value.
	start, end int
	// after, when an object lacks the member, is the index just past the
	// object (else -1); empty says the object has no members at all.
	after int
	empty bool
}

// stepInto finds seg in the value at data[i]: the element at that index of
// an array, else the member of an object. Without needEnd the value found
// is not crossed: a lookup that goes on into it needs only its start, and
// the next step stops at its closing bracket anyway.
func stepInto(data []byte, i int, seg string, needEnd bool) step {
	s := step{start: -1, end: -1, after: -1}
	found := func(v int) int {
		s.start = v
		if needEnd {
			if s.end = SkipValue(data, v); s.end < 0 {
				s.start = -1
			}
		}
		return -1
	}
	if i < len(data) && data[i] == '[' && isIndex(seg) {
		n := atoi(seg)
		EachElement(data, i, func(v int) int {
			if n == 0 {
				return found(v)
			}
			n--
			return SkipValue(data, v)
		})
		return s
	}
	s.empty = true
	after := EachMember(data, i, func(key []byte, v int) int {
		s.empty = false
		if keyEquals(key, seg) {
			return found(v)
		}
		return SkipValue(data, v)
	})
	if s.start < 0 {
		s.after = after // -1 too when a value runs past data
	}
	return s
}

// simplePath reports whether path is made only of plain keys (with `\.`
// escapes) and array indexes, which lookup handles; anything gjson must
// interpret (wildcards, queries, modifiers) is not.
func simplePath(path string) bool {
	if path == "" || path[0] == '.' || path[len(path)-1] == '.' {
		return false
	}
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '\\':
			if i+1 >= len(path) {
				return false
			}
			i++
		case '.':
			if path[i+1] == '.' {
				return false
			}
		case '*', '?', '#', '@', '|', '!', '=', '<', '>', '%', '(', ')', '[', ']', '{', '}', ',':
			return false
		}
	}
	return true
}

// nextSegment returns the first segment of a simple path, unescaped, and
// the rest after its dot.
func nextSegment(path string, buf []byte) (seg string, rest string) {
	end := len(path)
	escaped := false
	for i := 0; i < len(path); i++ {
		if path[i] == '\\' {
			escaped = true
			i++
			continue
		}
		if path[i] == '.' {
			end = i
			break
		}
	}
	seg, rest = path[:end], ""
	if end < len(path) {
		rest = path[end+1:]
	}
	if escaped {
		buf = buf[:0]
		for i := 0; i < len(seg); i++ {
			if seg[i] == '\\' {
				i++
			}
			buf = append(buf, seg[i])
		}
		seg = string(buf)
	}
	return seg, rest
}

// walk follows a simple path into msg as far as it leads: last is the last
// step taken, which found the value at the path (crossed, to find its
// end) or did not find the segment that starts rest. ok is false when the
// path is not simple (the caller asks gjson or sjson).
func walk(msg []byte, path string) (last step, rest string, ok bool) {
	if !simplePath(path) {
		return step{}, "", false
	}
	var buf [64]byte
	at := 0
	for rest = path; ; {
		seg, next := nextSegment(rest, buf[:0])
		last = stepInto(msg, SkipSpace(msg, at), seg, next == "")
		if last.start < 0 || next == "" {
			return last, rest, true
		}
		at, rest = last.start, next
	}
}

// lookup finds the value at a simple path in msg; handled is false when
// the path is not simple (the caller asks gjson).
func lookup(msg []byte, path string) (start, end int, found, handled bool) {
	s, _, ok := walk(msg, path)
	if !ok {
		return 0, 0, false, false
	}
	if s.start < 0 {
		return 0, 0, false, true
	}
	return s.start, s.end, true, true
}

func isIndex(s string) bool {
	if len(s) == 0 || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// stringValue returns the Go string of the raw JSON string value, and
// whether it was a string.
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Locate returns the bounds of the value at path in msg, so that several
// members can be replaced in one copy (see Splice).
func Locate(msg []byte, path string) (start, end int, ok bool) {
	if s, e, found, handled := lookup(msg, path); handled {
		return s, e, found
	}
	r := gjson.GetBytes(msg, path)
	if !r.Exists() || r.Index <= 0 || r.Index+len(r.Raw) > len(msg) {
		return 0, 0, false
	}
	return r.Index, r.Index + len(r.Raw), true
}

// Patch replaces the bytes msg[Start:End] with With.
type Patch struct {
	Start, End int
	With       []byte
}

// Splice returns head, then msg with the patches applied, then tail, in
// one allocation. The patches must be in order and must not overlap.
func Splice(head, msg []byte, patches []Patch, tail []byte) []byte {
	var small [8][]byte
	parts := append(small[:0], head)
	at := 0
	for _, p := range patches {
		parts = append(parts, msg[at:p.Start], p.With)
		at = p.End
	}
	return join(append(parts, msg[at:], tail)...)
}

// join concatenates parts in one allocation that is not cleared first:
// bytes.Join allocates that way, where make would zero a 100 KB message
// only for the copy to write over it.
func join(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// newMembers is the member that adds the rest of a simple path with the
// value raw to an object (empty: one without members): `,"a":{"b":raw}`.
// ok is false when a key to create is all digits: sjson makes arrays of
// those.
func newMembers(rest string, raw []byte, empty bool) (add []byte, ok bool) {
	var buf [64]byte
	add = make([]byte, 0, len(rest)+len(raw)+16)
	if !empty {
		add = append(add, ',')
	}
	depth := 0
	for ; rest != ""; depth++ {
		var key string
		key, rest = nextSegment(rest, buf[:0])
		if allDigits(key) {
			return nil, false
		}
		if depth > 0 {
			add = append(add, '{')
		}
		add = append(appendString(add, key), ':')
	}
	add = append(add, raw...)
	for ; depth > 1; depth-- {
		add = append(add, '}')
	}
	return add, true
}

// Elements calls fn with each element of the JSON array arr, in order,
// until fn returns false. An element shares arr's memory.
func Elements(arr []byte, fn func(elem []byte) bool) {
	EachElement(arr, SkipSpace(arr, 0), func(v int) int {
		e := SkipValue(arr, v)
		if e < 0 || !fn(arr[v:e:e]) {
			return -1
		}
		return e
	})
}

// DeeperThan reports whether msg nests arrays and objects more than limit
// levels deep (brackets inside strings do not count). When msg holds no
// more than limit opening brackets in all, which is nearly always, it
// costs two vectorized byte counts; otherwise one walk over msg.
func DeeperThan(msg []byte, limit int) bool {
	if bytes.Count(msg, openBrace)+bytes.Count(msg, openBracket) <= limit {
		return false
	}
	depth := 0
	for i := 0; i < len(msg); i++ {
		switch msg[i] {
		case '"':
			j := skipString(msg, i)
			if j < 0 {
				return false
			}
			i = j - 1
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

var openBrace, openBracket = []byte{'{'}, []byte{'['}
