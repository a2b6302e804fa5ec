package jsonrpc

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// depthOf is the reference: the deepest nesting encoding/json's tokenizer
// sees.
func depthOf(t *testing.T, msg string) int {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(msg))
	depth, deepest := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

func TestDeeperThan(t *testing.T) {
	t.Parallel()
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		msg  string
	}{
		{"flat", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}`},
		{"brackets in strings do not count", `{"a":"[[[[[[[[[[{{{{{{{{{{","b":"\"[[[[[[[[[["}`},
		{"many siblings, shallow", `{"a":[` + strings.Repeat(`[],{},`, 50) + `[]]}`},
		{"at the limit", `{"a":` + nested(7) + `}`},
		{"one past the limit", `{"a":` + nested(8) + `}`},
		{"deep", `{"params":{"arguments":` + nested(5000) + `}}`},
		{"deep objects", strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat(`}`, 20)},
		{"escaped quote then brackets", `{"s":"\\","t":[[[[[[[[[[]]]]]]]]]]}`},
	}
	for _, tt := range tests {
		want := depthOf(t, tt.msg)
		for _, limit := range []int{0, 1, 7, 8, 9, 100} {
			if got := DeeperThan([]byte(tt.msg), limit); got != (want > limit) {
				t.Errorf("%s: DeeperThan(limit %d) = %v; the depth is %d", tt.name, limit, got, want)
			}
		}
	}
}

func FuzzDeeperThan(f *testing.F) {
	f.Add(`{"a":[[{"b":"[["}]]}`, 2)
	f.Add(`[[[[[]]]]]`, 3)
	f.Fuzz(func(t *testing.T, msg string, limit int) {
		if limit < 0 || limit > 1000 || !json.Valid([]byte(msg)) {
			return
		}
		if got, want := DeeperThan([]byte(msg), limit), depthOf(t, msg) > limit; got != want {
			t.Fatalf("DeeperThan(%q, %d) = %v, want %v", msg, limit, got, want)
		}
	})
}

func BenchmarkDeeperThan(b *testing.B) {
	for _, size := range []int{100, 100 << 10} {
		msg := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"` +
			strings.Repeat("x", size) + `"}],"isError":false}}`)
		b.Run(byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if DeeperThan(msg, 128) {
					b.Fatal("deep")
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KB"
	}
	return strconv.Itoa(n) + "B"
}
