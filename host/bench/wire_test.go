package bench

import (
	"bytes"
	"errors"
	"strconv"
)

// The harness reads and writes JSON-RPC as raw bytes, like the proxy: the
// load clients and the echo backend must cost next to nothing, and the
// same for every target, so that what a measurement shows is the proxy.
// These helpers walk a message's structure without decoding it; a long
// string is skipped with one IndexByte per quote, so a 100 KB payload
// costs a memchr, not a byte loop. They are the harness's own (not
// sdk/jsonrpc) so that the yardstick does not change with the code it
// measures.

var errMalformed = errors.New("malformed JSON")

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string whose opening quote is at
// b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue returns the index after the value starting at b[i] (after
// whitespace), or -1.
func skipValue(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// eachMember calls fn with the raw key (quotes included) and raw value of
// each member of the object obj, until fn returns false.
func eachMember(obj []byte, fn func(key, value []byte) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errMalformed
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return errMalformed
		}
		kEnd := skipString(obj, i)
		if kEnd < 0 {
			return errMalformed
		}
		key := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return errMalformed
		}
		vStart := skipSpace(obj, i+1)
		vEnd := skipValue(obj, vStart)
		if vEnd < 0 {
			return errMalformed
		}
		if !fn(key, obj[vStart:vEnd]) {
			return nil
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
			continue
		}
		if i < len(obj) && obj[i] == '}' {
			return nil
		}
		return errMalformed
	}
	return errMalformed
}

// member returns the raw value of obj's member key, or nil. Keys are
// compared as written: the harness only looks up plain ASCII keys.
func member(obj []byte, key string) []byte {
	var out []byte
	_ = eachMember(obj, func(k, v []byte) bool {
		if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key {
			out = v
			return false
		}
		return true
	})
	return out
}

// envelope is the top level of a JSON-RPC message, every member raw.
type envelope struct {
	id, method, params, result, err []byte
}

func parseEnvelope(msg []byte) (envelope, error) {
	var e envelope
	err := eachMember(msg, func(k, v []byte) bool {
		switch string(k) {
		case `"id"`:
			e.id = v
		case `"method"`:
			e.method = v
		case `"params"`:
			e.params = v
		case `"result"`:
			e.result = v
		case `"error"`:
			e.err = v
		}
		return true
	})
	return e, err
}

// isResponse says whether e answers a request (it has no method).
func (e envelope) isResponse() bool { return e.method == nil && e.id != nil }

// callSpec is what one tools/call of a cell sends: the tool, the name of
// its string argument, the payload, and for a 2026-07-28 client the
// request metadata that stands in for initialize.
type callSpec struct {
	tool    string
	argKey  string // "message" for the echo backend, "text" for the example server
	payload []byte // plain ASCII, nothing to escape
	modern  bool
	quoted  []byte // the payload as a JSON string, what a result must carry
}

func newCallSpec(tool, argKey string, payload []byte, modern bool) *callSpec {
	quoted := make([]byte, 0, len(payload)+2)
	quoted = append(append(append(quoted, '"'), payload...), '"')
	return &callSpec{tool: tool, argKey: argKey, payload: payload, modern: modern, quoted: quoted}
}

// modernMeta is the _meta every 2026-07-28 request carries.
const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
	`"io.modelcontextprotocol/clientCapabilities":{},` +
	`"io.modelcontextprotocol/clientInfo":{"name":"mcphost-bench","version":"1"}}`

// appendCall appends the tools/call request with id to buf.
func (c *callSpec) appendCall(buf []byte, id int64) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = strconv.AppendInt(buf, id, 10)
	buf = append(buf, `,"method":"tools/call","params":{"name":"`...)
	buf = append(buf, c.tool...)
	buf = append(buf, `","arguments":{"`...)
	buf = append(buf, c.argKey...)
	buf = append(buf, `":"`...)
	buf = append(buf, c.payload...)
	buf = append(buf, `"}`...)
	if c.modern {
		buf = append(append(buf, ','), modernMeta...)
	}
	return append(buf, `}}`...)
}

// checkResult says whether resp is a successful answer to request id whose
// result carries the payload as a JSON string. The payload is searched
// with its opening quote, which occurs only a few times in a message, so
// bytes.Index checks a handful of candidates with one memcmp each.
func (c *callSpec) checkResult(resp []byte, id int64) error {
	e, err := parseEnvelope(resp)
	if err != nil {
		return err
	}
	if !e.isResponse() || string(e.id) != strconv.FormatInt(id, 10) {
		return errors.New("not the response to request " + strconv.FormatInt(id, 10) + ": " + clip(resp))
	}
	if e.err != nil {
		return errors.New("JSON-RPC error: " + clip(e.err))
	}
	if e.result == nil {
		return errors.New("response without result: " + clip(resp))
	}
	if !bytes.Contains(e.result, c.quoted) {
		return errors.New("the result does not carry the payload: " + clip(e.result))
	}
	return nil
}

// clip shortens a message for an error text.
func clip(b []byte) string {
	const n = 300
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…(" + strconv.Itoa(len(b)) + " bytes)"
}

// payloadOf returns n bytes of plain ASCII to echo.
func payloadOf(n int) []byte {
	const pattern = "0123456789abcdefghijklmnopqrstuvwxyz"
	p := make([]byte, n)
	for i := range p {
		p[i] = pattern[i%len(pattern)]
	}
	return p
}

// sseEvents calls fn with the data of each event in an SSE stream (data
// lines joined with newlines) until fn returns false.
func sseEvents(stream []byte, fn func(data []byte) bool) {
	var cur []byte
	have, owned := false, false
	for len(stream) > 0 {
		line := stream
		if i := bytes.IndexByte(stream, '\n'); i >= 0 {
			line, stream = stream[:i], stream[i+1:]
		} else {
			stream = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			if have && !fn(cur) {
				return
			}
			cur, have, owned = nil, false, false
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			v = bytes.TrimPrefix(v, []byte{' '})
			switch {
			case !have:
				// Most events have one data line: keep it without a copy.
				cur, have = v, true
			case !owned:
				// cur points into stream: appending to it would overwrite
				// what follows.
				cur = append(append(bytes.Clone(cur), '\n'), v...)
				owned = true
			default:
				cur = append(append(cur, '\n'), v...)
			}
		}
	}
	if have {
		fn(cur)
	}
}
