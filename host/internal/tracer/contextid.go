package tracer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// ContextID is a unit's stable identity: the server, the method, the tool,
// prompt or resource, and the arguments in canonical form (keys sorted),
// so that the same call is the same context whatever the key order.
//
// It runs on the message path, so the canonical form is computed in one
// pass over the arguments without decoding them (see canonical). The
// function itself is unchanged since the first release: ids are stable
// across restarts, versions and processes sharing a store, and SHA-256
// keeps them collision resistant against crafted arguments.
func ContextID(server, method, name, uri string, args []byte) string {
	pooled := canonicalBuffers.Get().(*[]byte)
	buf := (*pooled)[:0]
	for _, part := range [...]string{server, method, name, uri} {
		buf = append(append(buf, part...), 0)
	}
	prefix := len(buf)
	out, grown := canonicalInto(buf, args)
	var sum [sha256.Size]byte
	if len(out) > 0 && len(grown) > 0 && &out[0] == &grown[0] {
		sum = sha256.Sum256(out) // the prefix and the canonical form, in one buffer
	} else {
		h := sha256.New()
		h.Write(buf[:prefix])
		h.Write(out)
		h.Sum(sum[:0])
	}
	if cap(grown) <= maxPooledCanonical {
		buf = grown
	}
	*pooled = buf[:0]
	canonicalBuffers.Put(pooled)
	var id [len(contextIDPrefix) + 24]byte
	copy(id[:], contextIDPrefix)
	hex.Encode(id[len(contextIDPrefix):], sum[:12])
	return string(id[:])
}

const contextIDPrefix = "ctx_"

// maxPooledCanonical bounds the buffers kept for canonical forms, so that
// one huge argument list does not stay in the pool.
const maxPooledCanonical = 256 << 10

var canonicalBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// canonical is the canonical form of raw arguments: what encoding/json
// makes of them (keys sorted, no whitespace, its string escaping and
// number formatting) after a round trip through any, except that an
// object of at most one plain member written without any whitespace is
// taken as it is, and so is anything encoding/json rejects. That is the
// form context ids have always hashed; canonicalInto computes it without
// the round trip.
func canonical(raw []byte) []byte {
	out, _ := canonicalInto(nil, raw)
	if len(raw) == 0 {
		return nil
	}
	return out
}

// canonicalInto returns the canonical form of raw, and dst grown. The form
// is raw itself when raw is already canonical (the common case: one pass,
// no copy), else it is appended to dst (out then starts at dst's start),
// or, for deep nesting, made by legacyCanonical.
func canonicalInto(dst, raw []byte) (out, grown []byte) {
	if len(raw) == 0 {
		return dst, dst
	}
	check := canonicalizer{raw: raw}
	check.top()
	switch {
	case check.invalid, check.keepRaw:
		return raw, dst
	case check.tooDeep:
		return legacyCanonical(raw), dst
	case check.topSimple && !hasWhitespace(raw), !check.changed:
		return raw, dst
	}
	c := canonicalizer{raw: raw, out: dst, build: true}
	c.top()
	return c.out, c.out
}

// hasWhitespace says whether b holds a JSON whitespace byte anywhere.
func hasWhitespace(b []byte) bool {
	return bytes.IndexByte(b, ' ') >= 0 || bytes.IndexByte(b, '\n') >= 0 ||
		bytes.IndexByte(b, '\t') >= 0 || bytes.IndexByte(b, '\r') >= 0
}

// legacyCanonical is the round trip through encoding/json that defines the
// canonical form; canonicalInto uses it only for deeply nested arguments.
func legacyCanonical(raw []byte) []byte {
	if len(raw) == 0 {
		return nil
	}
	if legacySimpleObject(raw) {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	out, err := json.Marshal(v) // map keys come out sorted
	if err != nil {
		return raw
	}
	return out
}

// legacySimpleObject says whether raw is an object of at most one member
// whose value is not an object or array, and holds no whitespace at all.
func legacySimpleObject(raw []byte) bool {
	r := gjson.ParseBytes(raw)
	if !r.IsObject() {
		return false
	}
	n, simple := 0, true
	r.ForEach(func(_, v gjson.Result) bool {
		n++
		simple = simple && !v.IsObject() && !v.IsArray()
		return simple && n <= 1
	})
	return simple && n <= 1 && !bytes.ContainsAny(raw, " \t\n\r")
}

// maxCanonicalDepth is the nesting beyond which canonicalizer hands over
// to legacyCanonical: sorting rewrites each level of nesting once, so the
// work grows with depth times size.
const maxCanonicalDepth = 64

// canonicalizer validates raw JSON as encoding/json does and, when
// building, appends its canonical form to out; either way it notes
// whether that form differs from raw.
type canonicalizer struct {
	raw, out []byte
	build    bool
	// invalid: encoding/json would reject raw; keepRaw: it would fail to
	// decode a number; tooDeep: nesting beyond maxCanonicalDepth.
	invalid, keepRaw, tooDeep bool
	// changed: the canonical form differs from raw.
	changed bool
	// topSimple: raw is an object of at most one member whose value is
	// neither an object nor an array.
	topSimple bool
	// verbatim: the last string read is canonical as it came.
	verbatim bool
}

func (c *canonicalizer) top() {
	if i := c.value(c.ws(0), 0); i >= 0 && c.ws(i) != len(c.raw) {
		c.invalid = true
	}
}

func (c *canonicalizer) emit(b ...byte) {
	if c.build {
		c.out = append(c.out, b...)
	}
}

// ws skips whitespace at raw[i], which the canonical form has none of.
func (c *canonicalizer) ws(i int) int {
	j := jsonrpc.SkipSpace(c.raw, i)
	if j != i {
		c.changed = true
	}
	return j
}

// member is one object member as the canonicalizer sorts it: the decoded
// key, and when building, the canonical member ("key":value) at
// out[start:end].
type member struct {
	key        []byte
	start, end int
}

// value reads the value at raw[i] and returns the index after it, or -1
// (with a flag set) when it cannot.
func (c *canonicalizer) value(i, depth int) int {
	if i >= len(c.raw) {
		c.invalid = true
		return -1
	}
	switch b := c.raw[i]; {
	case b == '{':
		return c.object(i, depth+1)
	case b == '[':
		return c.array(i, depth+1)
	case b == '"':
		return c.str(i)
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number(i)
	case b == 't':
		return c.literal(i, "true")
	case b == 'f':
		return c.literal(i, "false")
	case b == 'n':
		return c.literal(i, "null")
	}
	c.invalid = true
	return -1
}

func (c *canonicalizer) literal(i int, lit string) int {
	if !bytes.HasPrefix(c.raw[i:], []byte(lit)) {
		c.invalid = true
		return -1
	}
	if c.build {
		c.out = append(c.out, lit...)
	}
	return i + len(lit)
}

func (c *canonicalizer) object(i, depth int) int {
	if depth > maxCanonicalDepth {
		c.tooDeep = true
		return -1
	}
	start := len(c.out)
	c.emit('{')
	var members []member
	i = c.ws(i + 1)
	if i < len(c.raw) && c.raw[i] == '}' {
		c.topSimple = depth == 1
		c.emit('}')
		return i + 1
	}
	scalarValues := true
	for {
		if i >= len(c.raw) || c.raw[i] != '"' {
			c.invalid = true
			return -1
		}
		if len(members) > 0 {
			c.emit(',')
		}
		m := member{start: len(c.out)}
		keyStart := i
		if i = c.str(i); i < 0 {
			return -1
		}
		m.key = c.raw[keyStart+1 : i-1]
		if !c.verbatim {
			var s string
			_ = json.Unmarshal(c.raw[keyStart:i], &s) // valid: str checked it
			m.key = []byte(s)
		}
		if i = c.ws(i); i >= len(c.raw) || c.raw[i] != ':' {
			c.invalid = true
			return -1
		}
		c.emit(':')
		i = c.ws(i + 1)
		if i < len(c.raw) && (c.raw[i] == '{' || c.raw[i] == '[') {
			scalarValues = false
		}
		if i = c.value(i, depth); i < 0 {
			return -1
		}
		m.end = len(c.out)
		members = append(members, m)
		if i = c.ws(i); i >= len(c.raw) {
			c.invalid = true
			return -1
		}
		if c.raw[i] == '}' {
			break
		}
		if c.raw[i] != ',' {
			c.invalid = true
			return -1
		}
		i = c.ws(i + 1)
	}
	c.emit('}')
	if depth == 1 {
		c.topSimple = len(members) == 1 && scalarValues
	}
	c.sortMembers(start, members)
	return i + 1
}

// sortMembers puts the members written at out[start:] in key order, the
// order encoding/json writes a map in; of members with the same key only
// the last counts, as when decoding into a map.
func (c *canonicalizer) sortMembers(start int, members []member) {
	sorted := true
	for k := 1; k < len(members) && sorted; k++ {
		sorted = bytes.Compare(members[k-1].key, members[k].key) < 0
	}
	if sorted {
		return
	}
	c.changed = true
	if !c.build {
		return
	}
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	body := len(c.out)
	c.out = append(c.out, '{')
	first := true
	for k, m := range members {
		if k+1 < len(members) && bytes.Equal(members[k+1].key, m.key) {
			continue // a later duplicate wins
		}
		if !first {
			c.out = append(c.out, ',')
		}
		first = false
		c.out = append(c.out, c.out[m.start:m.end]...)
	}
	c.out = append(c.out, '}')
	n := copy(c.out[start:], c.out[body:])
	c.out = c.out[:start+n]
}

func (c *canonicalizer) array(i, depth int) int {
	if depth > maxCanonicalDepth {
		c.tooDeep = true
		return -1
	}
	c.emit('[')
	i = c.ws(i + 1)
	if i < len(c.raw) && c.raw[i] == ']' {
		c.emit(']')
		return i + 1
	}
	for n := 0; ; n++ {
		if n > 0 {
			c.emit(',')
		}
		if i = c.value(i, depth); i < 0 {
			return -1
		}
		if i = c.ws(i); i >= len(c.raw) {
			c.invalid = true
			return -1
		}
		if c.raw[i] == ']' {
			c.emit(']')
			return i + 1
		}
		if c.raw[i] != ',' {
			c.invalid = true
			return -1
		}
		i = c.ws(i + 1)
	}
}

// str validates the string at raw[i] and appends it as encoding/json
// writes it: as it came when it needs no escaping other than its own,
// else decoded and encoded again by encoding/json itself.
func (c *canonicalizer) str(i int) int {
	c.verbatim = true
	j := i + 1
	for {
		j = plainRun(c.raw, j)
		if j >= len(c.raw) {
			c.invalid = true
			return -1
		}
		switch b := c.raw[j]; {
		case b == '"':
			j++
			if c.verbatim {
				c.emit(c.raw[i:j]...)
				return j
			}
			var s string
			if json.Unmarshal(c.raw[i:j], &s) != nil {
				c.invalid = true
				return -1
			}
			enc, _ := json.Marshal(s)
			c.emit(enc...)
			c.changed = c.changed || !bytes.Equal(enc, c.raw[i:j])
			return j
		case b < 0x20:
			c.invalid = true
			return -1
		case b == '\\':
			n := escapeLen(c.raw[j:])
			if n == 0 {
				c.invalid = true
				return -1
			}
			c.verbatim = false
			j += n
		case b == '<' || b == '>' || b == '&':
			c.verbatim = false
			j++
		default: // b >= utf8.RuneSelf
			r, size := utf8.DecodeRune(c.raw[j:])
			if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
				c.verbatim = false
			}
			j += size
		}
	}
}

// escapeLen is the length of the valid escape sequence at the start of b,
// or 0.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, h := range b[2:6] {
			if !isHex(h) {
				return 0
			}
		}
		return 6
	}
	return 0
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

// plainRun returns the index of the first byte at or after j that a JSON
// string cannot hold as it is for encoding/json: a quote, a backslash, a
// control character, <, >, &, or a non-ASCII byte. Arguments can be large
// and this is on the message path, so it finds the ASCII ones with
// IndexByte (vectorized) within the run up to the next quote, and checks
// the rest eight bytes at a time.
func plainRun(b []byte, j int) int {
	seg := b[j:]
	if k := bytes.IndexByte(seg, '"'); k >= 0 {
		seg = seg[:k]
	}
	for _, c := range [...]byte{'\\', '<', '>', '&'} {
		if k := bytes.IndexByte(seg, c); k >= 0 {
			seg = seg[:k]
		}
	}
	i := 0
	for ; i+8 <= len(seg); i += 8 {
		// A byte below 0x20 borrows into its high bit; one at or above
		// 0x80 has it set.
		if w := binary.LittleEndian.Uint64(seg[i:]); (w-ones*0x20|w)&highs != 0 {
			break
		}
	}
	for ; i < len(seg) && seg[i] >= 0x20 && seg[i] < utf8.RuneSelf; i++ {
	}
	return j + i
}

const ones, highs = 0x0101010101010101, 0x8080808080808080

// number validates the number at raw[i] and appends it as encoding/json
// writes the float64 it decodes to.
func (c *canonicalizer) number(i int) int {
	j := i
	if c.raw[j] == '-' {
		j++
	}
	intStart := j
	switch {
	case j < len(c.raw) && c.raw[j] == '0':
		j++
	case j < len(c.raw) && c.raw[j] >= '1' && c.raw[j] <= '9':
		j = digits(c.raw, j)
	default:
		c.invalid = true
		return -1
	}
	intDigits := j - intStart
	plain := true
	if j < len(c.raw) && c.raw[j] == '.' {
		plain = false
		k := digits(c.raw, j+1)
		if k == j+1 {
			c.invalid = true
			return -1
		}
		j = k
	}
	if j < len(c.raw) && (c.raw[j] == 'e' || c.raw[j] == 'E') {
		plain = false
		j++
		if j < len(c.raw) && (c.raw[j] == '+' || c.raw[j] == '-') {
			j++
		}
		k := digits(c.raw, j)
		if k == j {
			c.invalid = true
			return -1
		}
		j = k
	}
	if plain && intDigits <= 15 {
		// Exact in a float64, and written back digit for digit.
		c.emit(c.raw[i:j]...)
		return j
	}
	f, err := strconv.ParseFloat(string(c.raw[i:j]), 64)
	if err != nil {
		c.keepRaw = true // encoding/json fails to decode it, so raw is kept
		return -1
	}
	enc, err := json.Marshal(f)
	if err != nil {
		c.keepRaw = true
		return -1
	}
	c.emit(enc...)
	c.changed = c.changed || !bytes.Equal(enc, c.raw[i:j])
	return j
}

func digits(b []byte, j int) int {
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	return j
}
