package tracer

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// The worker reads results and arguments with sdk/jsonrpc's scanner
// (jsonrpc.EachMember and friends), not a JSON library: it needs only a
// few members, the text of a few strings up to a bound, and the sizes of
// others, and it must not decode or copy what it skips (a 50 MB result is
// skipped at memchr speed). Callers bound their work by passing a prefix:
// a value that runs past it counts as malformed. What is here decodes a
// string's prefix, and finds a member from the end of an object.

// escapedQuote says whether the quote at b[q] is escaped: preceded by an
// odd number of backslashes (none before b[from] counts).
func escapedQuote(b []byte, q, from int) bool {
	n := 0
	for k := q - 1; k >= from && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

func endsScalar(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// appendStringPrefix appends the decoded text of the string at b[i] to dst
// until dst holds limit bytes; a rune cut at the limit is dropped.
func appendStringPrefix(dst, b []byte, i, limit int) []byte {
	j := i + 1
	for j < len(b) && len(dst) < limit {
		window := b[j:min(len(b), j+limit-len(dst))]
		run := len(window)
		if k := bytes.IndexByte(window, '"'); k >= 0 {
			run = k
		}
		if k := bytes.IndexByte(window[:run], '\\'); k >= 0 {
			run = k
		}
		dst = append(dst, window[:run]...)
		j += run
		if j >= len(b) || len(dst) >= limit || b[j] == '"' {
			break
		}
		r, n := decodeEscape(b[j:])
		if n == 0 {
			break
		}
		dst = utf8.AppendRune(dst, r)
		j += n
	}
	if len(dst) > limit {
		dst = dst[:limit]
	}
	return trimPartialRune(dst)
}

// decodeEscape decodes the escape sequence at the start of b (a surrogate
// pair as one rune); n is 0 if it is malformed.
func decodeEscape(b []byte) (r rune, n int) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r1, ok := hex4(b[2:])
		if !ok {
			return 0, 0
		}
		if utf16.IsSurrogate(r1) {
			if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
				if r2, ok := hex4(b[8:]); ok {
					if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
						return r, 12
					}
				}
			}
			return utf8.RuneError, 6
		}
		return r1, 6
	}
	return 0, 0
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < utf8.RuneSelf {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k]
			}
			return b
		}
	}
	return b
}

// trailingMember finds the last member of the object b, when its value
// starts within the last window bytes: its raw key and value span. It
// looks backwards, so that a result too large to walk still yields a
// _meta written after its content.
func trailingMember(b []byte, window int) (key []byte, vs, ve int, ok bool) {
	lo := max(0, len(b)-window)
	e := skipWSBack(b, len(b))
	if e == 0 || b[e-1] != '}' {
		return nil, 0, 0, false
	}
	ve = skipWSBack(b, e-1)
	if ve <= lo {
		return nil, 0, 0, false
	}
	switch c := b[ve-1]; c {
	case '}', ']':
		vs = openingBracket(b, ve-1, lo)
	case '"':
		vs = openingQuote(b, ve-1, lo)
	default:
		vs = ve - 1
		for vs > lo && b[vs-1] != ':' && !endsScalar(b[vs-1]) {
			vs--
		}
	}
	if vs <= lo {
		return nil, 0, 0, false
	}
	k := skipWSBack(b, vs)
	if k == 0 || b[k-1] != ':' {
		return nil, 0, 0, false
	}
	k = skipWSBack(b, k-1)
	if k == 0 || b[k-1] != '"' {
		return nil, 0, 0, false
	}
	ks := openingQuote(b, k-1, lo)
	if ks < 0 {
		return nil, 0, 0, false
	}
	if p := skipWSBack(b, ks); p == 0 || (b[p-1] != ',' && b[p-1] != '{') {
		return nil, 0, 0, false
	}
	return b[ks+1 : k-1], vs, ve, true
}

func skipWSBack(b []byte, e int) int {
	for e > 0 && (b[e-1] == ' ' || b[e-1] == '\t' || b[e-1] == '\n' || b[e-1] == '\r') {
		e--
	}
	return e
}

// openingQuote returns the index of the quote opening the string whose
// closing quote is at b[q], looking no lower than lo; -1 if not found.
func openingQuote(b []byte, q, lo int) int {
	for j := q; j > lo; {
		p := bytes.LastIndexByte(b[lo:j], '"')
		if p < 0 {
			return -1
		}
		p += lo
		if !escapedQuote(b, p, 0) {
			return p
		}
		j = p
	}
	return -1
}

// openingBracket returns the index of the bracket that the one at b[c]
// closes, looking no lower than lo; -1 if not found.
func openingBracket(b []byte, c, lo int) int {
	depth := 0
	for j := c; j >= lo; j-- {
		switch b[j] {
		case '}', ']':
			depth++
		case '{', '[':
			if depth--; depth == 0 {
				return j
			}
		case '"': // outside strings, a quote met going backwards closes one
			if j = openingQuote(b, j, lo); j < 0 {
				return -1
			}
		}
	}
	return -1
}
