package translator

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// This file is EditMoveToTextBlock: moving a member (a tool result's
// structuredContent) into a text block of a content array, on the raw
// bytes. The edit copies the message at most once, and the block not at
// all: it is written straight into the gap opened for it, from the
// member's bytes, which are deleted afterwards.

// errTextLength reports a text block that came out longer or shorter than
// it was counted; it does not happen, as one walk does both.
var errTextLength = errors.New("text block length miscounted")

func compileMove(e Edit) (edit, error) {
	out := edit{op: EditMoveToTextBlock}
	if e.Value != "" || e.IfEquals != "" || e.Prune || e.FromSession != NoSessionField {
		return out, errors.New("a move takes only From and Path")
	}
	var err error
	if out.from, err = parseMemberPath(e.From); err != nil {
		return out, fmt.Errorf("from: %w", err)
	}
	if out.path, err = parseMemberPath(e.Path); err != nil {
		return out, err
	}
	if leadsTo(out.from.keys, out.path.keys) || leadsTo(out.path.keys, out.from.keys) {
		return out, errors.New("its From and Path lead into one another")
	}
	return out, nil
}

// leadsTo reports whether the names a are b or lead into it.
func leadsTo(a, b []string) bool {
	return len(a) <= len(b) && slices.Equal(a, b[:len(a)])
}

// textBlockOpen starts every block the edit writes.
const textBlockOpen = `{"type":"text","text":`

// insertion is where a text block goes and what goes around it.
type insertion struct {
	at int // before the array's ']', or before the '}' of the object the array is created in
	// before and after are written around the block: a comma, or the
	// names of the members created for the array and its brackets.
	before, after []byte
}

// moveToTextBlock makes an EditMoveToTextBlock on m.
func (e *edit) moveToTextBlock(m *buffer) error {
	from, err := locate(m.b, &e.from, &m.hint)
	if err != nil || !from.found {
		return err
	}
	// The array's end is found by reading its elements.
	to, err := locateMember(m.b, &e.path, &m.hint, false)
	if err != nil || to.blocked {
		return err
	}
	value := m.b[from.value.start:from.value.end]
	var ins insertion
	switch {
	case !to.found:
		ins = e.newArray(m.b, to)
	case m.b[to.value.start] != '[':
		return nil // not an array: left to the plugin
	default:
		closing, err := holdsJSON(m.b, to.value.start, value)
		switch {
		case err != nil:
			return err
		case closing < 0:
			removeMember(m, &e.from, from)
			return nil
		}
		ins.at = closing
		if !emptyArray(m.b[to.value.start:]) {
			ins.before = []byte{','}
		}
	}
	return e.insert(m, ins, from)
}

// newArray is the insertion that creates the array at the edit's path,
// which to, its location, says is absent, with the objects missing on
// the way.
func (e *edit) newArray(msg []byte, to location) insertion {
	names, closers := newMember(e.path.quoted[to.depth:], !emptyObject(msg[to.parent.start:to.parent.end]), len("[]"))
	names = append(names, '[')
	mark := len(names)
	names = appendBraces(append(names, ']'), closers)
	return insertion{at: to.parent.end - 1, before: names[:mark], after: names[mark:]}
}

// insert writes the text block of the member at from (its location in
// m) at ins, then deletes the member.
func (e *edit) insert(m *buffer, ins insertion, from location) error {
	value := m.b[from.value.start:from.value.end]
	n := len(ins.before) + len(textBlockOpen) + jsonTextLen(value) + 1 + len(ins.after)
	m.open(ins.at, n)
	from = from.shifted(ins.at, n)
	value = m.b[from.value.start:from.value.end] // outside the gap
	w := m.b[ins.at:ins.at:len(m.b)]
	w = append(w, ins.before...)
	w = append(w, textBlockOpen...)
	w = appendJSONText(w, value)
	w = append(w, '}')
	w = append(w, ins.after...)
	if len(w) != n {
		return errTextLength // Apply then drops the buffer, whatever was written
	}
	removeMember(m, &e.from, from)
	return nil
}

// shifted is l after n bytes were inserted at offset at, which is not
// inside the member l locates.
func (l location) shifted(at, n int) location {
	shift := func(p int) int {
		if p >= at {
			return p + n
		}
		return p
	}
	l.key = shift(l.key)
	l.value.start = shift(l.value.start)
	l.value.end = shift(l.value.end-1) + 1 // an end is just after the value's last byte
	l.parent.start = shift(l.parent.start)
	return l
}

// open makes a gap of n bytes at offset at, for the caller to fill: the
// bytes from at on move n further. Like splice, it copies the message
// only when the buffer does not own it or lacks room.
func (m *buffer) open(at, n int) {
	m.hint = resumeHint{}
	old := len(m.b)
	if m.owned && old+n <= cap(m.b) {
		m.b = m.b[:old+n]
		copy(m.b[at+n:], m.b[at:old])
		return
	}
	out := make([]byte, 0, old+n+editSlack)
	out = append(out, m.b[:at]...)
	out = out[:at+n]
	m.b, m.owned = append(out, m.b[at:]...), true
}

func emptyArray(arr []byte) bool {
	i := skipSpace(arr, 1)
	return i < len(arr) && arr[i] == ']'
}

// holdsJSON reports whether a text block of the array opening at msg[open]
// holds the JSON value, as EditMoveToTextBlock defines it: closing is -1
// when one does, else where the array's closing bracket is.
func holdsJSON(msg []byte, open int, value []byte) (closing int, err error) {
	i := skipSpace(msg, open+1)
	if i < len(msg) && msg[i] == ']' {
		return i, nil
	}
	for i < len(msg) {
		var end int
		if msg[i] == '{' {
			text, isText, objEnd, err := readTextBlock(msg, i)
			if err != nil {
				return 0, err
			}
			if isText && sameJSON(msg[text.start:text.end], value) {
				return -1, nil
			}
			end = objEnd
		} else if end, err = valueEnd(msg, i); err != nil {
			return 0, err
		}
		switch i = skipSpace(msg, end); {
		case i >= len(msg):
			return 0, errMalformed
		case msg[i] == ']':
			return i, nil
		case msg[i] != ',':
			return 0, errMalformed
		}
		i = skipSpace(msg, i+1)
	}
	return 0, errMalformed
}

// readTextBlock reads the object opening at msg[open] in one pass: when
// its "type" is the string "text" and its "text" a string, isText is set
// and text is that string; end is just after the object. A name given
// twice counts the first time, as in a gjson lookup.
func readTextBlock(msg []byte, open int) (text span, isText bool, end int, err error) {
	i := skipSpace(msg, open+1)
	if i < len(msg) && msg[i] == '}' {
		return span{}, false, i + 1, nil
	}
	var sawType, sawText, typeText, textString bool
	for {
		if i >= len(msg) || msg[i] != '"' {
			return span{}, false, 0, errMalformed
		}
		keyEnd, err := stringEnd(msg, i)
		if err != nil {
			return span{}, false, 0, err
		}
		name := msg[i:keyEnd]
		if i = skipSpace(msg, keyEnd); i >= len(msg) || msg[i] != ':' {
			return span{}, false, 0, errMalformed
		}
		vs := skipSpace(msg, i+1)
		ve, err := valueEnd(msg, vs)
		if err != nil {
			return span{}, false, 0, err
		}
		isString := msg[vs] == '"'
		switch {
		case !sawType && nameIs(name, "type"):
			sawType, typeText = true, isString && nameIs(msg[vs:ve], "text")
		case !sawText && nameIs(name, "text"):
			sawText, textString, text = true, isString, span{vs, ve}
		}
		switch i = skipSpace(msg, ve); {
		case i >= len(msg):
			return span{}, false, 0, errMalformed
		case msg[i] == '}':
			return text, typeText && textString, i + 1, nil
		case msg[i] != ',':
			return span{}, false, 0, errMalformed
		}
		i = skipSpace(msg, i+1)
	}
}

// sameJSON reports whether the JSON string quoted holds, as its text, a
// JSON document equal to value, a JSON value: the same tokens, or the
// same value decoded (numbers by their spelling). It decodes only when
// the text starts as value does, and only to compare.
func sameJSON(quoted, value []byte) bool {
	if c, ok := firstTextByte(quoted); ok && c != value[0] {
		return false // every JSON value equal to value starts with its first byte
	}
	s := gjson.Parse(view(quoted)).Str
	text := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	if sameTokens(text, value) {
		return true
	}
	if !gjson.ValidBytes(text) {
		return false
	}
	a, errA := decodeNumbers(text)
	b, errB := decodeNumbers(value)
	return errA == nil && errB == nil && reflect.DeepEqual(a, b)
}

func decodeNumbers(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// firstTextByte is the first byte of the text of the JSON string quoted
// after JSON whitespace, spelt plainly or as \n, \r or \t; ok is false
// when it is hidden in a \u escape (or there is none).
func firstTextByte(quoted []byte) (c byte, ok bool) {
	s := quoted[1 : len(quoted)-1]
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			continue
		case '\\':
			if i+1 == len(s) {
				return 0, false
			}
			switch i++; s[i] {
			case 'n', 'r', 't':
				continue
			case 'u':
				return 0, false
			case 'b':
				return '\b', true
			case 'f':
				return '\f', true
			}
			return s[i], true // ", \ or /
		}
		return s[i], true
	}
	return 0, true // only whitespace: no JSON document
}

// sameTokens reports whether the JSON text a is the JSON value b up to
// whitespace between tokens: compacted, they would be the same bytes.
// Whitespace in a that splits a number or literal (1 2, tr ue) is not
// between tokens: a would not be JSON.
func sameTokens(a, b []byte) bool {
	i, j := 0, 0
	var last byte // the last byte compared outside a string
	for {
		skipped := i
		i, j = skipSpace(a, i), skipSpace(b, j)
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if a[i] != b[j] || i > skipped && scalarByte(last) && scalarByte(a[i]) {
			return false
		}
		if a[i] != '"' {
			last = a[i]
			i, j = i+1, j+1
			continue
		}
		// A string: the same bytes up to the same closing quote.
		ea, err := stringEnd(a, i)
		if err != nil || ea-i > len(b)-j || !bytes.Equal(a[i:ea], b[j:j+ea-i]) {
			return false
		}
		i, j, last = ea, j+ea-i, '"'
	}
}

// scalarByte reports whether c can be part of a number or a literal.
func scalarByte(c byte) bool {
	return c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// jsonTextLen is the length appendJSONText would append.
func jsonTextLen(raw []byte) int {
	n := len(`""`)
	s := textScan{raw: raw}
	for {
		run, esc, more := s.next()
		n += len(run) + len(esc)
		if !more {
			return n
		}
	}
}

// appendJSONText appends raw, a JSON value, to dst as a JSON string
// holding its compact text (EditMoveToTextBlock's T).
func appendJSONText(dst, raw []byte) []byte {
	dst = append(dst, '"')
	s := textScan{raw: raw}
	for {
		run, esc, more := s.next()
		dst = append(append(dst, run...), esc...)
		if !more {
			return append(dst, '"')
		}
	}
}

// textScan walks a JSON value for T: it hands out the runs of bytes that
// go into T as they are and what replaces the byte after each, so that
// counting T and writing it cannot disagree.
type textScan struct {
	raw      []byte
	i        int
	inString bool
}

// next returns the next run and the escape that follows it ("" for
// whitespace between tokens, which goes); more is false at the end.
func (s *textScan) next() (run []byte, esc string, more bool) {
	start, j := s.i, s.plainRun(s.i)
	if j == len(s.raw) {
		s.i = j
		return s.raw[start:], "", false
	}
	size := 1
	switch c := s.raw[j]; {
	case c == '"':
		esc, s.inString = `\"`, !s.inString
	case c == '\\':
		// An escape in a string: its backslash is escaped, and so is the
		// byte after it when that is a quote (which must not end the
		// string) or a backslash (which must not start another escape).
		esc = `\\`
		if j+1 < len(s.raw) {
			switch s.raw[j+1] {
			case '"':
				esc, size = `\\\"`, 2
			case '\\':
				esc, size = `\\\\`, 2
			}
		}
	case c == ' ' || isSpace(c) && !s.inString:
		// whitespace between tokens goes
	case c < 0x20:
		esc = controlEscapes[c]
	default:
		var r rune
		r, size = utf8.DecodeRune(s.raw[j:])
		switch r {
		case '\u2028':
			esc = `\u2028`
		case '\u2029':
			esc = `\u2029`
		default:
			esc = `\ufffd`
		}
	}
	s.i = j + size
	return s.raw[start:j], esc, true
}

// plainRun is where the run of bytes T takes as they are ends, from i
// on: printable ASCII, DEL and UTF-8 but for quotes, backslashes, U+2028
// and U+2029, and outside a string spaces.
func (s *textScan) plainRun(i int) int {
	plain := &plainOutside
	if s.inString {
		plain = &plainInString
		i = plainWords(s.raw, i)
	}
	for i < len(s.raw) {
		c := s.raw[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, size := utf8.DecodeRune(s.raw[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return i
		}
		i += size
	}
	return i
}

// plainWords skips, eight bytes at a time, the bytes of a string from i
// on that T takes as they are and that are ASCII: strings are the bulk of
// a large value.
func plainWords(raw []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(raw) {
		x := binary.LittleEndian.Uint64(raw[i:])
		// High bits mark quotes, backslashes, control bytes (below 0x20)
		// and non-ASCII; false marks come only above a true one.
		if hasByte(x, '"')|hasByte(x, '\\')|(x-ones*0x20)&^x&highs|x&highs != 0 {
			break
		}
		i += 8
	}
	return i
}

// plainInString and plainOutside are the ASCII bytes T takes as they
// are, in a string and outside one, as encoding/json writes a string
// without HTML escaping: printable ones and DEL, but for quotes,
// backslashes, and outside a string spaces.
var plainInString, plainOutside = func() (in, out [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		in[c] = c != '"' && c != '\\'
		out[c] = in[c] && c != ' '
	}
	return in, out
}()

// controlEscapes are encoding/json's escapes of the control bytes, which
// valid JSON holds only as escapes, so T rarely needs them.
var controlEscapes = func() (e [0x20]string) {
	const hex = "0123456789abcdef"
	for c := range e {
		e[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	e['\b'], e['\f'], e['\n'], e['\r'], e['\t'] = `\b`, `\f`, `\n`, `\r`, `\t`
	return e
}()
