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

func skipSpace(data []byte, i int) int {
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

// skipValue returns the index just past the value starting at i (no
// leading whitespace), or -1.
func skipValue(data []byte, i int) int {
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

// member finds key at the top level of the object obj and returns the
// bounds of its value; ok is false when obj is not an object or has no
// such member.
func member(obj []byte, key string) (start, end int, ok bool) {
	return memberOf(obj, key, true)
}

// memberOf is member; without needEnd the matched value is not crossed and
// end is -1: a lookup that goes on into the value needs only its start.
func memberOf(obj []byte, key string, needEnd bool) (start, end int, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return 0, 0, false
	}
	for i < len(obj) && obj[i] == '"' {
		ke := skipString(obj, i)
		if ke < 0 {
			return 0, 0, false
		}
		match := keyEquals(obj[i+1:ke-1], key)
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return 0, 0, false
		}
		vs := skipSpace(obj, i+1)
		if match && !needEnd {
			return vs, -1, vs < len(obj)
		}
		ve := skipValue(obj, vs)
		if ve < 0 {
			return 0, 0, false
		}
		if match {
			return vs, ve, true
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) || obj[i] != ',' {
			return 0, 0, false
		}
		i = skipSpace(obj, i+1)
	}
	return 0, 0, false
}

// keyEquals compares a raw (still escaped) JSON key with key.
func keyEquals(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return false
	}
	return s == key
}

// element returns the bounds of the n-th element of the array arr; without
// needEnd, as memberOf.
func element(arr []byte, n int, needEnd bool) (start, end int, ok bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return 0, 0, false
	}
	i = skipSpace(arr, i+1)
	for k := 0; i < len(arr) && arr[i] != ']'; k++ {
		if k == n && !needEnd {
			return i, -1, true
		}
		ve := skipValue(arr, i)
		if ve < 0 {
			return 0, 0, false
		}
		if k == n {
			return i, ve, true
		}
		i = skipSpace(arr, ve)
		if i >= len(arr) || arr[i] != ',' {
			return 0, 0, false
		}
		i = skipSpace(arr, i+1)
	}
	return 0, 0, false
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

// lookup finds the value at a simple path in msg; handled is false when
// the path is not simple (the caller asks gjson).
func lookup(msg []byte, path string) (start, end int, found, handled bool) {
	if !simplePath(path) {
		return 0, 0, false, false
	}
	var buf [64]byte
	lo, hi := 0, len(msg)
	for rest := path; rest != ""; {
		var seg string
		seg, rest = nextSegment(rest, buf[:0])
		// A value the lookup goes on into is not crossed to find its end:
		// the next step stops at its closing bracket anyway.
		last := rest == ""
		v := msg[lo:hi]
		i := skipSpace(v, 0)
		var s, e int
		var ok bool
		if i < len(v) && v[i] == '[' && isIndex(seg) {
			s, e, ok = element(v, atoi(seg), last)
		} else {
			s, e, ok = memberOf(v, seg, last)
		}
		if !ok {
			return 0, 0, false, true
		}
		if last {
			return lo + s, lo + e, true, true
		}
		lo = lo + s
	}
	return lo, hi, true, true
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
	n := len(head) + len(msg) + len(tail)
	for _, p := range patches {
		n += len(p.With) - (p.End - p.Start)
	}
	out := make([]byte, 0, n)
	out = append(out, head...)
	at := 0
	for _, p := range patches {
		out = append(out, msg[at:p.Start]...)
		out = append(out, p.With...)
		at = p.End
	}
	out = append(out, msg[at:]...)
	return append(out, tail...)
}

// addMember adds the member at a simple path that msg lacks, creating the
// objects on the way, in one copy; ok is false when the path is not simple,
// a missing step is an array index, or the deepest existing step is not an
// object (the caller leaves those to sjson).
func addMember(msg []byte, path string, raw []byte) ([]byte, bool) {
	if !simplePath(path) {
		return nil, false
	}
	var buf [64]byte
	var segs []string
	for rest := path; rest != ""; {
		var seg string
		seg, rest = nextSegment(rest, buf[:0])
		segs = append(segs, seg)
	}
	// Find the deepest object on the path that exists.
	lo, hi, have := 0, len(msg), 0
	for have < len(segs) {
		s, e, ok := member(msg[lo:hi], segs[have])
		if !ok {
			break
		}
		lo, hi, have = lo+s, lo+e, have+1
	}
	if have == len(segs) {
		return nil, false // it exists after all
	}
	obj := msg[lo:hi]
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	value := raw
	for k := len(segs) - 1; k > have; k-- {
		if allDigits(segs[k]) {
			return nil, false // sjson makes arrays of those
		}
		value = append(append(append(append([]byte(`{`), String(segs[k])...), ':'), value...), '}')
	}
	if allDigits(segs[have]) {
		return nil, false
	}
	// The new member goes just before the object's closing brace.
	end := lo + len(bytes.TrimRight(obj, " \t\r\n")) - 1
	inner := bytes.TrimSpace(obj[i+1 : len(bytes.TrimRight(obj, " \t\r\n"))-1])
	var add []byte
	if len(inner) > 0 {
		add = append(add, ',')
	}
	add = append(add, String(segs[have])...)
	add = append(add, ':')
	add = append(add, value...)
	out := make([]byte, 0, len(msg)+len(add))
	out = append(out, msg[:end]...)
	out = append(out, add...)
	return append(out, msg[end:]...), true
}

// Elements calls fn with each element of the JSON array arr, in order,
// until fn returns false. An element shares arr's memory.
func Elements(arr []byte, fn func(elem []byte) bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i = skipSpace(arr, i+1)
	for i < len(arr) && arr[i] != ']' {
		e := skipValue(arr, i)
		if e < 0 || !fn(arr[i:e:e]) {
			return
		}
		i = skipSpace(arr, e)
		if i >= len(arr) || arr[i] != ',' {
			return
		}
		i = skipSpace(arr, i+1)
	}
}
