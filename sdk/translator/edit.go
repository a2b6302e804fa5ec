package translator

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// errInvalidSession reports session data that would corrupt the message
// it is spliced into.
var errInvalidSession = errors.New("not valid JSON")

// errMalformed reports a message an edit cannot find its way through. The
// host validates messages before translating them, so it does not happen
// there; an edit must not splice a message it cannot read.
var errMalformed = errors.New("malformed JSON")

type edit struct {
	op          EditOp
	path        memberPath
	from        memberPath // EditMoveToTextBlock's member
	value       []byte     // compact
	fromSession SessionField
	ifEquals    *jsonValue
	prune       bool
}

func compileEdit(e Edit) (edit, error) {
	out := edit{op: e.Op, fromSession: e.FromSession, prune: e.Prune}
	if e.Op == EditDrop {
		return out, nil
	}
	switch e.Op {
	case EditDelete, EditSet, EditAdd:
	case EditMoveToTextBlock:
		return compileMove(e)
	default:
		return out, fmt.Errorf("unknown operation %d", e.Op)
	}
	if e.From != "" {
		return out, errors.New("only a move takes a From")
	}
	var err error
	if out.path, err = parseMemberPath(e.Path); err != nil {
		return out, err
	}
	if e.Op != EditDelete && (e.IfEquals != "" || e.Prune) {
		return out, errors.New("IfEquals and Prune are for deletes")
	}
	if e.Op != EditSet && e.FromSession != NoSessionField {
		return out, errors.New("FromSession is for sets")
	}
	switch e.Op {
	case EditDelete:
		if e.Value != "" {
			return out, errors.New("a delete has no Value")
		}
		if e.IfEquals != "" {
			if out.ifEquals, err = compileValue(e.IfEquals); err != nil {
				return out, fmt.Errorf("if-equals: %w", err)
			}
		}
	case EditSet, EditAdd:
		switch {
		case e.FromSession > SessionLogLevel || e.FromSession < NoSessionField:
			return out, fmt.Errorf("unknown session field %d", e.FromSession)
		case e.FromSession != NoSessionField && e.Value != "":
			return out, errors.New("both Value and FromSession")
		case e.FromSession == NoSessionField:
			if out.value, err = compactJSON([]byte(e.Value)); err != nil {
				return out, fmt.Errorf("value: %w", err)
			}
		}
	}
	return out, nil
}

// apply makes the edit on m.
func (e *edit) apply(m *buffer, sess *sessionOnce) error {
	switch e.op {
	case EditDelete:
		return e.delete(m)
	case EditAdd:
		return e.set(m, e.value, false)
	case EditMoveToTextBlock:
		return e.moveToTextBlock(m)
	}
	if e.fromSession == NoSessionField {
		return e.set(m, e.value, true)
	}
	value, err := sessionValue(e.fromSession, sess.session())
	if err != nil {
		return err
	}
	if value == nil {
		return deleteMember(m, &e.path)
	}
	return e.set(m, value, true)
}

func (e *edit) delete(m *buffer) error {
	at, err := locate(m.b, &e.path, &m.hint)
	if err != nil || !at.found {
		return err
	}
	if e.ifEquals != nil && !e.ifEquals.matches(view(m.b[at.value.start:at.value.end])) {
		return nil
	}
	removeMember(m, &e.path, at)
	if !e.prune || at.parentKey < 0 {
		return nil
	}
	// The deletion was inside the parent, so the parent and its name are
	// where they were.
	if obj := at.parent.start; emptyObject(m.b[obj:]) {
		start, end := memberSpan(m.b, at.parentKey, skipSpace(m.b, obj+1)+1)
		m.splice(start, end, nil)
	}
	return nil
}

// deleteMember deletes the member at p.
func deleteMember(m *buffer, p *memberPath) error {
	at, err := locate(m.b, p, &m.hint)
	if err == nil && at.found {
		removeMember(m, p, at)
	}
	return err
}

// removeMember removes the member at, found at p, and leaves a hint of
// where it was.
func removeMember(m *buffer, p *memberPath, at location) {
	start, end := memberSpan(m.b, at.key, at.value.end)
	m.splice(start, end, nil)
	m.hint = resumeHint{object: at.parent.start, path: p.objects[len(p.objects)-1], at: start}
}

// memberSpan is the span of the member from its name at start to the end
// of its value at end, with the comma that separated it from its
// neighbours.
func memberSpan(msg []byte, start, end int) (int, int) {
	if j := skipSpaceBack(msg, start-1); msg[j] == ',' {
		start = j
	} else if j := skipSpace(msg, end); j < len(msg) && msg[j] == ',' {
		end = j + 1 // the first member takes the comma after it
	}
	return start, end
}

// set puts value at the edit's path: in place of the member there when
// replace is set (EditSet), or, when there is none, at the end of the
// deepest object on the path, with the objects missing in between.
func (e *edit) set(m *buffer, value []byte, replace bool) error {
	at, err := locate(m.b, &e.path, &m.hint)
	switch {
	case err != nil || at.blocked:
		return err
	case at.found:
		if replace {
			m.splice(at.value.start, at.value.end, value)
		}
		return nil
	}
	head, closers := newMember(e.path.quoted[at.depth:], !emptyObject(m.b[at.parent.start:at.parent.end]), len(value))
	members := appendBraces(append(head, value...), closers)
	closing := at.parent.end - 1
	m.splice(closing, closing, members)
	return nil
}

// newMember is what adds a value to an object as the member the names
// lead to, with the objects missing in between: head, the names up to the
// value (after a comma when the object has members), with room for the
// value's valueLen bytes and the closing braces, and how many braces must
// close after the value.
func newMember(missing []string, comma bool, valueLen int) (head []byte, closers int) {
	n := valueLen + 1
	for _, k := range missing {
		n += len(k) + 3 // its name, ':', and a brace on each side of its object
	}
	head = make([]byte, 0, n)
	if comma {
		head = append(head, ',')
	}
	for i, k := range missing {
		if i > 0 {
			head = append(head, '{')
		}
		head = append(head, k...)
		head = append(head, ':')
	}
	return head, len(missing) - 1
}

// appendBraces appends n closing braces to b.
func appendBraces(b []byte, n int) []byte {
	for range n {
		b = append(b, '}')
	}
	return b
}

// buffer is a message being edited: the bytes the host gave until the
// first edit copies them, then a copy of its own, which later edits change
// in place. The host's bytes are never written to.
type buffer struct {
	b     []byte
	owned bool
	// hint is valid until the next splice (hint.at 0: none).
	hint resumeHint
}

// editSlack is room left at the end of the copy for later edits to grow
// the message in place.
const editSlack = 256

// splice replaces m.b[start:end] with repl.
func (m *buffer) splice(start, end int, repl []byte) {
	m.hint = resumeHint{}
	size := len(m.b) - (end - start) + len(repl)
	if m.owned && size <= cap(m.b) {
		old := len(m.b)
		m.b = m.b[:max(old, size)]
		copy(m.b[start+len(repl):], m.b[end:old])
		copy(m.b[start:], repl)
		m.b = m.b[:size]
		return
	}
	out := make([]byte, 0, size+editSlack)
	out = append(out, m.b[:start]...)
	out = append(out, repl...)
	m.b, m.owned = append(out, m.b[end:]...), true
}

// memberPath is an edit's path: object member names.
type memberPath struct {
	raw    string
	keys   []string // the names
	quoted []string // each name as a JSON string
	// objects[d] identifies the object the d-th name is looked up in: the
	// names before it.
	objects []string
}

// parseMemberPath splits a plain gjson path into member names, refusing
// what would make it more than a path (wildcards, queries, modifiers,
// sjson's ":" key marker).
func parseMemberPath(path string) (memberPath, error) {
	p := memberPath{raw: path}
	if path == "" {
		return p, errors.New("empty path")
	}
	if !utf8.ValidString(path) {
		// JSON names are Unicode: the name could never be found, and
		// an add would write U+FFFD in its place, once per application.
		return p, fmt.Errorf("path %q is not valid UTF-8", path)
	}
	var key strings.Builder
	escapedKey := false // the name so far had an escape, so ':' at its start is literal
	flush := func() error {
		if key.Len() == 0 {
			return fmt.Errorf("path %q has an empty name", path)
		}
		k := key.String()
		p.keys = append(p.keys, k)
		p.quoted = append(p.quoted, string(quote(k)))
		key.Reset()
		escapedKey = false
		return nil
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '\\':
			i++
			if i == len(path) {
				return p, fmt.Errorf("path %q ends with an escape", path)
			}
			key.WriteByte(path[i])
			escapedKey = true
		case '.':
			if err := flush(); err != nil {
				return p, err
			}
		case '*', '?', '#', '@', '|':
			return p, fmt.Errorf("path %q: %q is a pattern, a query or a modifier; edits take plain member names (escape it with \\ if it is part of one)", path, c)
		case ':', '!':
			if key.Len() == 0 && !escapedKey {
				return p, fmt.Errorf("path %q: a name cannot start with %q unescaped", path, c)
			}
			key.WriteByte(c)
		default:
			key.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return p, err
	}
	for d := range p.keys {
		p.objects = append(p.objects, strings.Join(p.keys[:d], "\x00"))
	}
	return p, nil
}

// span is where a JSON value sits in a message: msg[start:end].
type span struct{ start, end int }

// location is where a member path leads in a message.
type location struct {
	// found: the member exists; value is its value, key the offset of its
	// name's opening quote.
	found bool
	value span
	key   int
	// parent is the object holding the member (only its start is known
	// then) or, when the member is absent, the deepest object on the path,
	// and depth how many names lead to it. parentKey is where the parent's
	// own name starts, -1 for the message itself.
	parent    span
	parentKey int
	depth     int
	// blocked: a member on the way exists but is not an object.
	blocked bool
}

// locate follows p's names from the message's root object, through
// objects only. It reads the message itself rather than through gjson:
// it skips a string with IndexByte, which on a large text (the usual bulk
// of a message) is several times faster than gjson's byte by byte scan.
// hint, when set and about the object holding the member, says where to
// start reading it.
func locate(msg []byte, p *memberPath, hint *resumeHint) (location, error) {
	return locateMember(msg, p, hint, true)
}

// locateMember is locate, which finds the end of the member's value
// only with end (value.end is -1 otherwise).
func locateMember(msg []byte, p *memberPath, hint *resumeHint, end bool) (location, error) {
	start := skipSpace(msg, 0)
	if start >= len(msg) || msg[start] != '{' {
		return location{blocked: true}, nil
	}
	obj, objKey := start, -1
	for d, key := range p.keys {
		resume := -1
		if hint.about(p.objects[d], obj) {
			resume = hint.at
		}
		last := d == len(p.keys)-1
		m, err := findMember(msg, obj, key, resume, last && end)
		switch {
		case err != nil:
			return location{}, err
		case !m.found:
			return location{parent: span{obj, m.objectEnd}, parentKey: objKey, depth: d}, nil
		case last:
			return location{found: true, value: m.value, key: m.key, parent: span{obj, -1}, parentKey: objKey}, nil
		case msg[m.value.start] != '{':
			return location{blocked: true}, nil
		}
		obj, objKey = m.value.start, m.key
	}
	return location{blocked: true}, nil // an empty path; parseMemberPath refuses it
}

// resumeHint is where the last deletion left off in its object. Edits
// tend to come in the order of the members (a 2026-07-28 result's ttlMs,
// cacheScope and _meta all follow its content, which is most of it), so
// the next edit of the same object starts reading there instead of
// skipping the content again.
type resumeHint struct {
	object int    // where the object opens
	path   string // its path, as in memberPath.objects
	at     int    // where the deleted member was: a member boundary now
}

// about reports whether h is about the object at path, which opens at
// obj.
func (h *resumeHint) about(path string, obj int) bool {
	return h != nil && h.at > obj && h.object == obj && h.path == path
}

// foundMember is what findMember found.
type foundMember struct {
	found bool
	key   int  // the opening quote of its name
	value span // its value
	// objectEnd is, when not found, the offset just after the object.
	objectEnd int
}

// findMember looks for the member named key in the object opening at
// msg[open]. A name written with escapes is decoded to be compared.
//
// resume, when after open, is a member boundary in the object (where a
// deletion left off): the members from there on are read first, and those
// before it only when the member is not among them. Without end, the end
// of the member's value is not looked for (value.end is -1): a path goes
// into a member through its start, and the end of a large one costs a
// scan.
func findMember(msg []byte, open int, key string, resume int, end bool) (foundMember, error) {
	if resume <= open {
		return scanMembers(msg, skipSpace(msg, open+1), key, len(msg), end)
	}
	i := skipSpace(msg, resume)
	if i < len(msg) && msg[i] == ',' {
		i = skipSpace(msg, i+1)
	}
	after, err := scanMembers(msg, i, key, len(msg), end)
	if err != nil || after.found {
		return after, err
	}
	before, err := scanMembers(msg, skipSpace(msg, open+1), key, resume, end)
	if err != nil || before.found {
		return before, err
	}
	return after, nil // not found; after knows where the object ends
}

// scanMembers reads members from msg[i] on, to the end of the object or
// to the first member starting at or after stop, looking for key.
func scanMembers(msg []byte, i int, key string, stop int, end bool) (foundMember, error) {
	if i < len(msg) && msg[i] == '}' {
		return foundMember{objectEnd: i + 1}, nil
	}
	for i < stop {
		if i >= len(msg) || msg[i] != '"' {
			return foundMember{}, errMalformed
		}
		keyStart := i
		keyEnd, err := stringEnd(msg, i)
		if err != nil {
			return foundMember{}, err
		}
		i = skipSpace(msg, keyEnd)
		if i >= len(msg) || msg[i] != ':' {
			return foundMember{}, errMalformed
		}
		valueStart := skipSpace(msg, i+1)
		found := nameIs(msg[keyStart:keyEnd], key)
		if found && !end {
			if valueStart >= len(msg) {
				return foundMember{}, errMalformed
			}
			return foundMember{found: true, key: keyStart, value: span{valueStart, -1}}, nil
		}
		valueEnd, err := valueEnd(msg, valueStart)
		if err != nil {
			return foundMember{}, err
		}
		if found {
			return foundMember{found: true, key: keyStart, value: span{valueStart, valueEnd}}, nil
		}
		i = skipSpace(msg, valueEnd)
		switch {
		case i >= len(msg):
			return foundMember{}, errMalformed
		case msg[i] == '}':
			return foundMember{objectEnd: i + 1}, nil
		case msg[i] != ',':
			return foundMember{}, errMalformed
		}
		i = skipSpace(msg, i+1)
	}
	if i >= len(msg) {
		return foundMember{}, errMalformed // the object never closes
	}
	return foundMember{}, nil
}

// nameIs reports whether quoted, a JSON string, is name.
func nameIs(quoted []byte, name string) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	return gjson.ParseBytes(quoted).Str == name
}

// stringEnd is the offset just after the string opening at msg[i]: after
// the first quote that an odd run of backslashes does not escape.
//
// Only quotes matter: other escapes (\n, \t) are skipped with the text.
// IndexByte goes to each quote in vector steps, which pays while quotes
// are sparse (prose); in a string dense with escaped quotes (code, JSON
// text) its calls cost more than they skip, so after a few close ones the
// rest is read eight bytes at a time.
func stringEnd(msg []byte, i int) (int, error) {
	j := i + 1
	for hits := 0; hits < 4 || j-i > hits<<6; hits++ {
		k := bytes.IndexByte(msg[j:], '"')
		if k < 0 {
			return 0, errMalformed
		}
		q := j + k
		if !escaped(msg, q) {
			return q + 1, nil
		}
		j = q + 1
	}
	for j+8 <= len(msg) {
		found := hasByte(binary.LittleEndian.Uint64(msg[j:]), '"')
		if found == 0 {
			j += 8
			continue
		}
		q := j + bits.TrailingZeros64(found)>>3
		if !escaped(msg, q) {
			return q + 1, nil
		}
		j = q + 1
	}
	for ; j < len(msg); j++ {
		if msg[j] == '"' && !escaped(msg, j) {
			return j + 1, nil
		}
	}
	return 0, errMalformed
}

// hasByte marks with its high bit each byte of x equal to b; exactly so
// for the lowest such byte, which is all stringEnd uses (a borrow may
// mark the bytes above it wrongly).
func hasByte(x uint64, b byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	v := x ^ (ones * uint64(b))
	return (v - ones) &^ v & highs
}

func escaped(msg []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && msg[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// valueEnd is the offset just after the value starting at msg[i].
func valueEnd(msg []byte, i int) (int, error) {
	if i >= len(msg) {
		return 0, errMalformed
	}
	switch msg[i] {
	case '"':
		return stringEnd(msg, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(msg); j++ {
			switch msg[j] {
			case '"':
				end, err := stringEnd(msg, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMalformed
	}
	j := i
	for j < len(msg) && !isSpace(msg[j]) && msg[j] != ',' && msg[j] != '}' && msg[j] != ']' {
		j++
	}
	if j == i {
		return 0, errMalformed
	}
	return j, nil
}

// emptyObject reports whether obj, an object, has no members.
func emptyObject(obj []byte) bool {
	i := skipSpace(obj, 1)
	return i < len(obj) && obj[i] == '}'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(msg []byte, i int) int {
	for i < len(msg) && isSpace(msg[i]) {
		i++
	}
	return i
}

func skipSpaceBack(msg []byte, i int) int {
	for i > 0 && isSpace(msg[i]) {
		i--
	}
	return i
}

// sessionValue is the raw JSON of a session field, or nil when the
// session has none.
func sessionValue(f SessionField, s Session) ([]byte, error) {
	switch f {
	case SessionClientCapabilities:
		caps, err := sessionJSON(s.ClientCapabilities)
		if err != nil {
			return nil, fmt.Errorf("session client capabilities: %w", err)
		}
		if caps == nil {
			return []byte("{}"), nil
		}
		return caps, nil
	case SessionClientInfo:
		info, err := sessionJSON(s.ClientInfo)
		if err != nil {
			return nil, fmt.Errorf("session client info: %w", err)
		}
		return info, nil
	case SessionLogLevel:
		if s.LogLevel == "" {
			return nil, nil
		}
		return quote(s.LogLevel), nil
	}
	return nil, fmt.Errorf("unknown session field %d", f)
}

// sessionJSON checks raw session JSON and puts it on one line (stdio
// framing); empty and null are nil.
func sessionJSON(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	out, err := compactJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidSession, err)
	}
	return out, nil
}

// compactJSON validates raw and removes its insignificant whitespace: line
// breaks anywhere, and the spaces around the value, which would otherwise
// be written before or after it and again on each set of the same member
// (a value is located without them).
func compactJSON(raw []byte) ([]byte, error) {
	if !gjson.ValidBytes(raw) {
		return nil, fmt.Errorf("%w: %.40q", errInvalidJSON, raw)
	}
	return jsonrpc.Compact(bytes.Trim(raw, " \t\r\n"))
}

var errInvalidJSON = errors.New("invalid JSON")

// quote is s as a JSON string; unlike json.Marshal it leaves <, > and &
// as they are.
func quote(s string) []byte {
	plain := true
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return append(append(append(make([]byte, 0, len(s)+2), '"'), s...), '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
