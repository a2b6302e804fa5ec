package jsonrpc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// The fast lookups must answer exactly as gjson and sjson do for the paths
// they handle.

var scanDocs = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a \"quoted\" \\ text","n":[1,2,{"x":"y"}]},"_meta":{"progressToken":"t-1","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":"s","result":{"content":[{"type":"text","text":"` + strings.Repeat("long text, ", 2000) + `"},{"type":"resource_link","uri":"file:///x"}],"structuredContent":{"a":{"b":[true,false,null]}}}}`,
	` { "a" : { "b" : [ 1 , 2 , 3 ] , "c" : "\u0041\\\"" } , "d\"e" : 5 , "f" : -1.5e3 } `,
	`{"dup":1,"dup":2,"esc\u0061ped":3,"":4}`,
	`[{"a":1},{"a":2}]`,
	`{"a":[[],[[]],{}],"b":{},"c":[]}`,
	`"just a string"`,
	`{"x":"\\\\","y":"\\"}`,
}

var scanPaths = []string{
	"jsonrpc", "id", "method", "params", "params.name", "params.arguments", "params.arguments.text", "params.arguments.n",
	"params.arguments.n.2", "params.arguments.n.2.x", "params.arguments.n.5", "params._meta.progressToken",
	`params._meta.io\.modelcontextprotocol/protocolVersion`, "result", "result.content", "result.content.0.text",
	"result.content.1.uri", "result.structuredContent.a.b.2", "a", "a.b", "a.b.1", "a.c", `d"e`, "f", "dup", "escaped",
	"0", "0.a", "1.a", "a.0", "x", "y", "missing", "params.missing.deeper", "c",
}

func TestLookupMatchesGjson(t *testing.T) {
	t.Parallel()
	for _, doc := range scanDocs {
		msg := []byte(doc)
		for _, path := range scanPaths {
			want := gjson.GetBytes(msg, path)
			got := Get(msg, path)
			if want.Exists() != (got != nil) || (got != nil && string(got) != want.Raw) {
				t.Errorf("Get(%.40q, %q) = %q, gjson %q (exists %t)", doc, path, got, want.Raw, want.Exists())
			}
			s, ok := GetString(msg, path)
			if ok != (want.Type == gjson.String) || s != map[bool]string{true: want.Str}[ok] {
				t.Errorf("GetString(%.40q, %q) = %q %t, gjson %q %v", doc, path, s, ok, want.Str, want.Type)
			}
		}
	}
}

func TestSetMatchesSjson(t *testing.T) {
	t.Parallel()
	for _, doc := range scanDocs {
		msg := []byte(doc)
		orig := bytes.Clone(msg)
		for _, path := range append(scanPaths, "params._meta.new", "result._meta.mcphost/trace", "brand.new.path", "a.new", "params.arguments.n.new", ":", ":1", "a.:b", "a.0.new") {
			want, werr := sjson.SetRawBytes(bytes.Clone(msg), path, []byte(`{"new":true}`))
			got, err := Set(msg, path, []byte(`{"new":true}`))
			if (err != nil) != (werr != nil) || (err == nil && !sameJSON(got, want)) {
				t.Errorf("Set(%.40q, %q) = %s, %v; sjson %s, %v", doc, path, got, err, want, werr)
			}
		}
		if !bytes.Equal(msg, orig) {
			t.Fatalf("Set changed its input: %s", msg)
		}
	}
}

// sameJSON compares two documents as values (sjson and Set may lay out an
// added member differently).
func sameJSON(a, b []byte) bool {
	// Numbers as written (json.Number): 1e700 is valid JSON that no
	// float64 holds, and must compare equal to itself whatever the spaces.
	decode := func(data []byte) (any, error) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		err := dec.Decode(&v)
		return v, err
	}
	x, errX := decode(a)
	y, errY := decode(b)
	if errX != nil || errY != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func FuzzLookupMatchesGjson(f *testing.F) {
	for _, doc := range scanDocs {
		for _, path := range scanPaths[:8] {
			f.Add(doc, path)
		}
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		msg := []byte(doc)
		if !gjson.ValidBytes(msg) || !gjson.ParseBytes(msg).IsObject() {
			return // gjson reads into scalars oddly (`"[0"` has a "0"); messages are objects
		}
		if !simplePath(path) {
			return
		}
		want := gjson.GetBytes(msg, path)
		got := Get(msg, path)
		if want.Exists() != (got != nil) || (got != nil && string(got) != want.Raw) {
			t.Fatalf("Get(%q, %q) = %q, gjson %q (exists %t)", doc, path, got, want.Raw, want.Exists())
		}
	})
}

func BenchmarkPeek(b *testing.B) {
	small := []byte(`{"jsonrpc":"2.0","id":12345,"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", 100) + `"}]}}`)
	large := []byte(`{"jsonrpc":"2.0","id":12345,"result":{"content":[{"type":"text","text":"` + strings.Repeat("abcdefghij", 10000) + `"}]}}`)
	for _, bb := range []struct {
		name string
		msg  []byte
	}{{"100B", small}, {"100KB", large}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Peek(bb.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bb.name+"/set-id", func(b *testing.B) {
			b.SetBytes(int64(len(bb.msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Set(bb.msg, "id", []byte(`"client-7"`)); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What the router does to tag a traced result.
		b.Run(bb.name+"/set-trace", func(b *testing.B) {
			tag := []byte(`{"response_id":"resp_0123456789abcdef01234567","context_id":"ctx_0123456789abcdef01234567"}`)
			b.SetBytes(int64(len(bb.msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Set(bb.msg, "result._meta.mcphost/trace", tag); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// hugeIndex says whether path has a numeric segment of more than three
// digits: setting it makes sjson (and so Set, which hands such paths to
// it) pad an array with that many nulls. The router's paths are constants
// without one.
func hugeIndex(path string) bool {
	for _, seg := range strings.Split(path, ".") {
		if len(seg) > 3 && allDigits(seg) {
			return true
		}
	}
	return false
}

func FuzzSetMatchesSjson(f *testing.F) {
	for _, doc := range scanDocs {
		for _, path := range []string{"id", "result._meta.mcphost/trace", "params._meta.progressToken", "a.b", "new"} {
			f.Add(doc, path)
		}
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		msg := []byte(doc)
		if !gjson.ValidBytes(msg) || !gjson.ParseBytes(msg).IsObject() || !simplePath(path) || hugeIndex(path) {
			return
		}
		want, werr := sjson.SetRawBytes(bytes.Clone(msg), path, []byte(`[1,"x"]`))
		got, err := Set(msg, path, []byte(`[1,"x"]`))
		if werr != nil {
			return // sjson refuses; Set may refuse too or add
		}
		if err != nil || !sameJSON(got, want) {
			t.Fatalf("Set(%q, %q) = %s, %v; sjson %s", doc, path, got, err, want)
		}
	})
}
