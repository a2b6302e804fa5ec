package versions

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// errNotFound reports a value whose position in the message is not where
// gjson says; with the plain paths used here it does not happen.
var errNotFound = errors.New("value has no position in the message")

// view looks path up in msg without copying msg: the result's Raw aliases
// it. That is safe because msg is never modified in place; every edit below
// builds a new slice.
func view(msg []byte, path string) gjson.Result {
	return gjson.Get(unsafe.String(unsafe.SliceData(msg), len(msg)), path)
}

// isObject reports whether msg's first significant byte opens an object.
func isObject(msg []byte) bool {
	msg = bytes.TrimLeft(msg, " \t\r\n")
	return len(msg) > 0 && msg[0] == '{'
}

// located reports whether r, found by view in msg, really sits at r.Index;
// splicing at a wrong offset would corrupt the message.
func located(msg []byte, r gjson.Result) bool {
	n := len(r.Raw)
	return n > 0 && r.Index >= 0 && r.Index+n <= len(msg) &&
		msg[r.Index] == r.Raw[0] && msg[r.Index+n-1] == r.Raw[n-1]
}

// root is msg itself as a gjson value, positioned like the values view
// returns.
func root(msg []byte) gjson.Result {
	s := unsafe.String(unsafe.SliceData(msg), len(msg))
	trimmed := strings.TrimLeft(s, " \t\r\n")
	r := gjson.Parse(strings.TrimRight(trimmed, " \t\r\n"))
	r.Index = len(s) - len(trimmed)
	return r
}

// replace returns a copy of msg with r, a value view found in msg, replaced
// by raw.
func replace(msg []byte, r gjson.Result, raw []byte) ([]byte, error) {
	if !located(msg, r) {
		return nil, errNotFound
	}
	out := make([]byte, 0, len(msg)-len(r.Raw)+len(raw))
	out = append(out, msg[:r.Index]...)
	out = append(out, raw...)
	return append(out, msg[r.Index+len(r.Raw):]...), nil
}

// appendMembers returns a copy of msg with members (`"k":v,...`) added at
// the end of obj, an object view found in msg.
func appendMembers(msg []byte, obj gjson.Result, members []byte) ([]byte, error) {
	if !located(msg, obj) {
		return nil, errNotFound
	}
	end := obj.Index + len(obj.Raw) - 1 // the closing brace
	out := make([]byte, 0, len(msg)+len(members)+1)
	out = append(out, msg[:end]...)
	if !emptyObject(obj) {
		out = append(out, ',')
	}
	out = append(out, members...)
	return append(out, msg[end:]...), nil
}

// emptyObject reports whether obj, an object, has no members.
func emptyObject(obj gjson.Result) bool {
	empty := true
	obj.ForEach(func(_, _ gjson.Result) bool {
		empty = false
		return false
	})
	return empty
}

// member is one `"key":value` pair; key is the raw, quoted key.
func member(key string, value []byte) []byte {
	b := make([]byte, 0, len(key)+1+len(value))
	b = append(b, key...)
	b = append(b, ':')
	return append(b, value...)
}

// builder rebuilds a JSON container (src) element by element. Nothing is
// copied until the first change: a container whose elements all stay
// costs one parse and no allocation.
type builder struct {
	src string
	out []byte
	n   int // elements in out, or that would be
}

// begin starts the copy with src up to offset upto (the start of the first
// changed element), minus the separator in front of that element.
func (b *builder) begin(upto int) {
	if b.out != nil {
		return
	}
	p := strings.TrimRight(b.src[:upto], " \t\r\n")
	p = strings.TrimSuffix(p, ",")
	b.out = append(make([]byte, 0, len(b.src)+64), p...)
}

// keep counts an unchanged element spanning src[start:end].
func (b *builder) keep(start, end int) {
	if b.out != nil {
		b.add(b.src[start:end])
		return
	}
	b.n++
}

// put records the outcome for the element spanning src[start:end]:
// dropped, replaced by repl, or kept (repl nil).
func (b *builder) put(start, end int, repl []byte, drop bool) {
	switch {
	case drop:
		b.begin(start)
	case repl != nil:
		b.begin(start)
		b.add(unsafe.String(unsafe.SliceData(repl), len(repl)))
	default:
		b.keep(start, end)
	}
}

// add appends one element.
func (b *builder) add(elem string) {
	if b.n > 0 {
		b.out = append(b.out, ',')
	}
	b.out = append(b.out, elem...)
	b.n++
}

// finish appends extra (when non-nil) and closes the container; it
// returns nil when nothing changed.
func (b *builder) finish(extra []byte, closer byte) []byte {
	if b.out == nil && extra == nil {
		return nil
	}
	b.begin(len(b.src) - 1)
	if extra != nil {
		b.add(unsafe.String(unsafe.SliceData(extra), len(extra)))
	}
	return append(b.out, closer)
}

// offset is r's position inside the container c, or an error when r is
// not where gjson says (which would make the copy corrupt the message).
func offset(c, r gjson.Result) (int, error) {
	off := r.Index - c.Index
	if off <= 0 || off+len(r.Raw) > len(c.Raw) || c.Raw[off:off+len(r.Raw)] != r.Raw {
		return 0, errNotFound
	}
	return off, nil
}

// memberFunc decides the fate of one member of an object: a nil result
// keeps it as it is, drop removes it, and non-nil members (one or more
// `"k":v` pairs, comma-separated) take its place.
type memberFunc func(key, value gjson.Result) (members []byte, drop bool, err error)

// rewriteObject applies fn to each member of obj and returns the new raw
// object, or nil when fn changed nothing. extra members, when non-nil, are
// appended (and count as a change).
func rewriteObject(obj gjson.Result, fn memberFunc, extra []byte) ([]byte, error) {
	b := builder{src: obj.Raw}
	var err error
	obj.ForEach(func(key, value gjson.Result) bool {
		var start, vstart int
		if start, err = offset(obj, key); err != nil {
			return false
		}
		if vstart, err = offset(obj, value); err != nil {
			return false
		}
		var repl []byte
		var drop bool
		if repl, drop, err = fn(key, value); err != nil {
			return false
		}
		b.put(start, vstart+len(value.Raw), repl, drop)
		return true
	})
	if err != nil {
		return nil, err
	}
	return b.finish(extra, '}'), nil
}

// elemFunc rewrites one array element: nil keeps it, drop removes it.
type elemFunc func(elem gjson.Result) (repl []byte, drop bool, err error)

// rewriteArray applies fn to each element of arr and returns the new raw
// array, or nil when fn changed nothing. extra elements, when non-nil, are
// appended.
func rewriteArray(arr gjson.Result, fn elemFunc, extra []byte) ([]byte, error) {
	b := builder{src: arr.Raw}
	var err error
	arr.ForEach(func(_, elem gjson.Result) bool {
		var start int
		if start, err = offset(arr, elem); err != nil {
			return false
		}
		var repl []byte
		var drop bool
		if repl, drop, err = fn(elem); err != nil {
			return false
		}
		b.put(start, start+len(elem.Raw), repl, drop)
		return true
	})
	if err != nil {
		return nil, err
	}
	return b.finish(extra, ']'), nil
}

// dropKeys is a memberFunc that removes the named members.
func dropKeys(names ...string) memberFunc {
	return func(key, _ gjson.Result) ([]byte, bool, error) {
		for _, n := range names {
			if key.Str == n {
				return nil, true, nil
			}
		}
		return nil, false, nil
	}
}

// rewriteAt rewrites the object at path in msg with fn, appending extra
// members when non-nil; it returns msg itself and false when the value is
// absent, not an object, or unchanged.
func rewriteAt(msg []byte, path string, fn memberFunc, extra []byte) ([]byte, bool, error) {
	obj := view(msg, path)
	if !obj.IsObject() {
		return msg, false, nil
	}
	raw, err := rewriteObject(obj, fn, extra)
	if err != nil || raw == nil {
		return msg, false, err
	}
	out, err := replace(msg, obj, raw)
	if err != nil {
		return msg, false, err
	}
	return out, true, nil
}

// keepAll is a memberFunc that changes nothing, for appending members.
func keepAll(gjson.Result, gjson.Result) ([]byte, bool, error) { return nil, false, nil }

// mapArrayAt rewrites each element of the array at path with fn.
func mapArrayAt(msg []byte, path string, fn elemFunc) ([]byte, bool, error) {
	arr := view(msg, path)
	if !arr.IsArray() {
		return msg, false, nil
	}
	raw, err := rewriteArray(arr, fn, nil)
	if err != nil || raw == nil {
		return msg, false, err
	}
	out, err := replace(msg, arr, raw)
	if err != nil {
		return msg, false, err
	}
	return out, true, nil
}

// eachObject applies fn to each element of an array that is an object;
// other elements are left alone.
func eachObject(fn memberFunc) elemFunc {
	return func(elem gjson.Result) ([]byte, bool, error) {
		if !elem.IsObject() {
			return nil, false, nil
		}
		raw, err := rewriteObject(elem, fn, nil)
		return raw, false, err
	}
}

// compact returns raw without insignificant whitespace.
func compact(raw string) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return []byte(raw)
	}
	return buf.Bytes()
}

// sameJSON reports whether text is the JSON document raw, up to
// whitespace and member order. It decodes both only when the cheap byte
// comparison fails and text is JSON, and only to compare: nothing decoded
// here is ever re-encoded into a message.
func sameJSON(text, raw string) bool {
	if bytes.Equal(compact(text), compact(raw)) {
		return true
	}
	if !gjson.Valid(text) {
		return false
	}
	a, errA := decodeNumbers(text)
	b, errB := decodeNumbers(raw)
	return errA == nil && errB == nil && reflect.DeepEqual(a, b)
}

func decodeNumbers(s string) (any, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// str is s as a JSON string. Unlike json.Marshal it leaves <, > and &
// alone: text meant for a model or a user should read as it was written.
func str(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
