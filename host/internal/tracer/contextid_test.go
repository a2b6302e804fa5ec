package tracer

import (
	"bytes"
	"strings"
	"testing"
)

// canonicalCases are arguments whose canonical form canonicalInto must
// compute exactly as the encoding/json round trip did (context ids must
// not change), including the odd corners of that round trip.
var canonicalCases = []string{
	``, `{}`, `{ }`, `[]`, `null`, `true`, `"x"`, `1`, ` {"a":1} `,
	`{"q":"golang plugins"}`, `{"q":"x"}`, `{"b":1,"a":[1,2]}`, `{ "a": [1,2], "b": 1 }`, `{"a":[2,1],"b":1}`,
	`{"message":"lorem ipsum dolor"}`, `{"a":{"d":1,"c":2},"b":[{"z":1,"y":2}]}`,
	`{"a":1,"a":2}`, `{"b":1,"a":1,"b":{"x":[]}}`, `{"a":1,"b":2,"a":3}`,
	`{"a":1.0}`, `{"a":1.0,"b":2}`, `{"a":1e2,"b":-0}`, `{"b":-0.0,"a":123456789012345678}`,
	`{"a":1e400,"b":1}`, `{"a":1E-7,"b":0.000001}`, `{"a":100000000000000000000000,"b":1}`,
	`{"a":"<b>&amp;</b>","b":1}`, `{"a":"<b>"}`, `{"a":"\u0041\/\n\t\"","b":"é\u00e9"}`,
	`{"a":"line\u2028sep","b":1}`, `{"a":"\ud83d\ude00 \ud800 x","b":1}`, "{\"a\":\"bad \xff utf8\",\"b\":1}",
	"{\"b\xff\":1,\"a\":2}", `{"\u0062":1,"a":2}`, `{"é":1,"e":2,"z":3}`,
	`{"a":tru}`, `{"a":1,}`, `{"a" 1}`, `[1,2,]`, `{"a":01}`, `{"a":.5}`, `{"a":1.}`, `{"a":-}`, "{\"a\":\"x\ty\"}",
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":1}x`, `{"a":[1,2}`, `{"a":"unterminated}`, "\ufeff{}",
	`[{"b":1,"a":2},{"d":[3,{"f":1,"e":2}]}]`, `{"n":[1,2.5,-3e3,true,false,null,"s"]}`,
	strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70),
	strings.Repeat(`{"b":0,"a":`, 70) + `1` + strings.Repeat(`}`, 70),
	`{"message":"` + strings.Repeat("lorem ipsum ", 10000) + `"}`,
}

func TestCanonicalMatchesTheEncodingJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, raw := range canonicalCases {
		got, want := canonical([]byte(raw)), legacyCanonical([]byte(raw))
		if !bytes.Equal(got, want) {
			t.Errorf("canonical(%.80q) = %.80q, want %.80q", raw, got, want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, raw := range canonicalCases {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := canonical(raw), legacyCanonical(raw); !bytes.Equal(got, want) {
			t.Fatalf("canonical(%q) = %q, want %q", raw, got, want)
		}
	})
}

func TestContextIDIsCanonical(t *testing.T) {
	t.Parallel()
	a := ContextID("s", "tools/call", "t", "", []byte(`{"b":1,"a":[1,2]}`))
	b := ContextID("s", "tools/call", "t", "", []byte(`{ "a": [1,2], "b": 1 }`))
	c := ContextID("s", "tools/call", "t", "", []byte(`{"a":[2,1],"b":1}`))
	if a != b || a == c {
		t.Fatalf("ContextID: %s %s %s", a, b, c)
	}
}

// Context ids are stored: the function must not change. These were
// computed by the release before canonicalization was rewritten.
func TestContextIDIsStable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		server, method, name, uri, args, want string
	}{
		{"srv", "tools/call", "search", "", `{"q":"golang plugins"}`, "ctx_a1225bb2889697ddf242ebab"},
		{"fe", "tools/call", "echo", "", `{"message":"lorem ipsum"}`, "ctx_484aaabd0e25d477c5ba2397"},
		{"files", "resources/read", "", "file:///a.txt", ``, "ctx_870dcd2ad9884dc4aa443395"},
		{"srv", "tools/call", "x", "", `{"b":[1,{"d":2,"c":"<"}],"a":1.50}`, "ctx_bda19571e5c883635800b68f"},
	}
	for _, tc := range tests {
		if got := ContextID(tc.server, tc.method, tc.name, tc.uri, []byte(tc.args)); got != tc.want {
			t.Errorf("ContextID(%s %s %s %s %s) = %s, want %s", tc.server, tc.method, tc.name, tc.uri, tc.args, got, tc.want)
		}
	}
}

func TestContextIDLeavesArgumentsAlone(t *testing.T) {
	t.Parallel()
	args := []byte(`{ "b": 1, "a": "x" }`)
	before := bytes.Clone(args)
	for range 3 {
		ContextID("s", "tools/call", "t", "", args[:len(args):len(args)])
	}
	if !bytes.Equal(args, before) {
		t.Fatalf("arguments changed: %s", args)
	}
}

// plainRun stops at the first byte a string cannot hold as it is, at any
// offset from the eight-byte steps.
func TestPlainRun(t *testing.T) {
	t.Parallel()
	for _, stop := range []byte{'"', '\\', '<', '>', '&', 0x00, 0x1f, 0x80, 0xff} {
		for at := range 20 {
			b := append(bytes.Repeat([]byte("a~ "), 10)[:at], stop)
			b = append(b, "tail\""...)
			if got := plainRun(b, 0); got != at {
				t.Errorf("stop %#x at %d: plainRun = %d", stop, at, got)
			}
		}
	}
	if got := plainRun([]byte("plain text, no end"), 0); got != len("plain text, no end") {
		t.Errorf("unterminated: %d", got)
	}
}
