package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

var peekSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`,
	`{"jsonrpc":"2.0","id":"a-1","method":"initialize","params":{"protocolVersion":"2025-06-18"}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":7,"result":{"tools":[]}}`,
	`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`,
	`{"jsonrpc":"2.0","id":{"x":1},"method":"m"}`,
	`{"jsonrpc":"1.0","id":1,"method":"m"}`,
	`{"id":1,"method":"m"}`,
	`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
	` {"jsonrpc":"2.0","method":"m","jsonrpc":"2.0","method":5} `,
	`{"jsonrpc":"2.0","id":-1.5e3,"method":"m\u0041"}`,
	`{"json\u0072pc":"2.0","id":1,"result":null}`,
	`"2.0"`, `null`, `{`, ``, "\v{}",
}

// FuzzPeek: Peek never panics, refuses what encoding/json refuses as
// ErrParse, and otherwise reads the envelope encoding/json reads.
func FuzzPeek(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		env, err := Peek(msg)
		if !bytes.Equal(msg, orig) {
			t.Fatalf("Peek changed its input")
		}
		if !json.Valid(msg) {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("Peek(%q) = %+v, %v; encoding/json says invalid", msg, env, err)
			}
			return
		}
		if errors.Is(err, ErrParse) {
			t.Fatalf("Peek(%q) = parse error; encoding/json says valid", msg)
		}
		trimmed := bytes.TrimLeft(msg, " \t\r\n")
		if trimmed[0] == '[' {
			if err != nil || env.Kind != KindBatch {
				t.Fatalf("Peek(%q) = %+v, %v; want a batch", msg, env, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(msg, &m) != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Peek(%q) = %+v, %v; not an object, want ErrInvalid", msg, env, err)
			}
			return
		}
		var want Kind
		version, _ := m["jsonrpc"]
		id, hasID := m["id"]
		var method string
		methodRaw, hasMethod := m["method"]
		if hasMethod {
			hasMethod = json.Unmarshal(methodRaw, &method) == nil && methodRaw[0] == '"'
		}
		_, hasResult := m["result"]
		_, hasError := m["error"]
		idOK := !hasID || id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9') || string(id) == "null"
		switch {
		case string(version) != `"2.0"` || !idOK:
			want = KindInvalid
		case hasMethod && hasID:
			want = KindRequest
		case hasMethod:
			want = KindNotification
		case (hasResult || hasError) && hasID:
			want = KindResponse
		default:
			want = KindInvalid
		}
		if want == KindInvalid {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Peek(%q) = %+v, %v; want ErrInvalid", msg, env, err)
			}
			return
		}
		if err != nil || env.Kind != want {
			t.Fatalf("Peek(%q) = %+v, %v; want kind %v", msg, env, err, want)
		}
		if !bytes.Equal(env.ID, id) {
			t.Fatalf("Peek(%q).ID = %s, encoding/json %s", msg, env.ID, id)
		}
		if hasMethod && env.Method != method && !strings.ContainsRune(method, '\uFFFD') {
			t.Fatalf("Peek(%q).Method = %q, encoding/json %q", msg, env.Method, method)
		}
		if want == KindResponse && env.IsError != hasError {
			t.Fatalf("Peek(%q).IsError = %t", msg, env.IsError)
		}
	})
}

// FuzzPathEdits: Get, Set and Delete never panic on any document and path;
// on a valid object, what Set writes is what Get then reads, Set and Delete
// keep the document valid JSON, and Delete removes what it names.
func FuzzPathEdits(f *testing.F) {
	for _, doc := range scanDocs {
		for _, path := range []string{"id", "params.name", "params._meta.progressToken", "result._meta.mcphost/trace", "a.b.1", `d"e`, "x.y.z", "params.arguments.n.2.x"} {
			f.Add(doc, path, `"v"`)
		}
	}
	f.Add(`{"a":1}`, "a|b", `{"k":[1,2]}`)
	f.Add(`{"a":1}`, "#", `1`)
	f.Add(`{"a":{"b":2}}`, "a.@this", `null`)
	f.Fuzz(func(t *testing.T, doc, path, value string) {
		if hugeIndex(path) {
			return // sjson pads an array to the index: see hugeIndex
		}
		msg := []byte(doc)
		orig := bytes.Clone(msg)
		_ = Get(msg, path)
		_, _ = GetString(msg, path)
		_, _, _ = Locate(msg, path)
		set, serr := Set(msg, path, []byte(value))
		del, derr := Delete(msg, path)
		if !bytes.Equal(msg, orig) {
			t.Fatalf("an edit changed its input")
		}
		if !json.Valid(msg) || msg[0] != '{' || !json.Valid([]byte(value)) || !simplePath(path) {
			return
		}
		if serr == nil {
			if !json.Valid(set) {
				t.Fatalf("Set(%q, %q, %q) = %q: not JSON", doc, path, value, set)
			}
			if got := Get(set, path); got != nil && !sameJSON(got, []byte(value)) {
				t.Fatalf("Set(%q, %q, %q) then Get = %q", doc, path, value, got)
			}
		}
		if derr == nil {
			if !json.Valid(del) {
				t.Fatalf("Delete(%q, %q) = %q: not JSON", doc, path, del)
			}
		}
	})
}

// FuzzLineReader: every line up to the limit comes back whole and in
// order, every longer one as a TooLargeError with its size, whatever the
// read sizes.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\n"), 4, uint8(1))
	f.Add([]byte("a\n\n  \r\nb"), 10, uint8(3))
	f.Add([]byte("abcd\r\nabcde\n"), 4, uint8(2))
	f.Add([]byte("{\"jsonrpc\":\"2.0\"}\r\n\r\n{}\n"), 64, uint8(0))
	f.Add([]byte(strings.Repeat("x", 300)+"\nok\n"), 100, uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, limit int, chunk uint8) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		// What the lines are, by a plain split.
		var want []string
		rest := in
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			var line []byte
			if i < 0 {
				line, rest = rest, nil
			} else {
				line, rest = rest[:i], rest[i+1:]
			}
			size := len(line)
			if i >= 0 {
				size++
			}
			line = bytes.TrimSuffix(line, []byte{'\r'})
			switch {
			case len(line) > limit:
				want = append(want, "!"+strconv.Itoa(size))
			case len(bytes.TrimSpace(line)) > 0:
				want = append(want, string(line))
			}
		}
		r := NewLineReader(&chunkReader{data: in, n: int(chunk)}, limit)
		var got []string
		for range len(in) + 2 {
			line, err := r.Next()
			var tooLarge *TooLargeError
			if errors.As(err, &tooLarge) {
				if !errors.Is(err, ErrTooLarge) || tooLarge.Limit != limit {
					t.Fatalf("bad TooLargeError %v", err)
				}
				got = append(got, "!"+strconv.Itoa(tooLarge.Size))
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(line))
		}
		if strings.Join(got, "\x00|") != strings.Join(want, "\x00|") {
			t.Fatalf("limit %d, chunk %d, %q:\n got %q\nwant %q", limit, chunk, in, got, want)
		}
	})
}

// chunkReader returns at most n bytes a Read (n of 0: everything).
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.n > 0 && len(p) > c.n {
		p = p[:c.n]
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}
