package traceparent

import (
	"strings"
	"testing"
)

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, str string
		sampled       bool
	}{
		{"spec example", valid, valid, true},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false},
		{"later version, extra field", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-holds",
			"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true},
		{"later version, exact", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
			"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, ok := Parse(tc.in)
			if !ok {
				t.Fatalf("Parse(%q) not ok", tc.in)
			}
			if got := tp.String(); got != tc.str {
				t.Errorf("String() = %q, want %q", got, tc.str)
			}
			if tp.Sampled() != tc.sampled {
				t.Errorf("Sampled() = %v, want %v", tp.Sampled(), tc.sampled)
			}
			if got := tp.TraceIDString(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("TraceIDString() = %q", got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"short", valid[:54]},
		{"version 00 with more", valid + "-00"},
		{"version 00 with trailing char", valid + "x"},
		{"later version, no dash after flags", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"version not hex", "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"uppercase trace id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{"uppercase parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"},
		{"uppercase flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{"zero parent id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{"wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"},
		{"non-hex in trace id", "00-4bf92f3577b34da6a3ce929d0e0e47z6-00f067aa0ba902b7-01"},
		{"spaces", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"},
		{"non-ASCII", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tp, ok := Parse(tc.in); ok {
				t.Fatalf("Parse(%q) = %v, true; want invalid", tc.in, tp)
			}
		})
	}
}

func TestFromParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params string
		ok           bool
	}{
		{"present", `{"name":"x","arguments":{"q":"a"},"_meta":{"traceparent":"` + valid + `","tracestate":"a=b"}}`, true},
		{"meta first, escaped", `{"_meta":{"progressToken":1,"traceparent":"` + strings.ReplaceAll(valid, "-", `\u002d`) + `"},"name":"x"}`, true},
		{"none", `{"name":"x","arguments":{"traceparent":"` + valid + `"}}`, false},
		{"empty params", ``, false},
		{"no _meta", `{"name":"x"}`, false},
		{"not a string", `{"_meta":{"traceparent":123}}`, false},
		{"invalid value", `{"_meta":{"traceparent":"00-xyz"}}`, false},
		{"_meta not an object", `{"_meta":"traceparent"}`, false},
		{"broken JSON", `{"_meta":{"traceparent":"` + valid, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, ok := FromParams([]byte(tc.params))
			if ok != tc.ok {
				t.Fatalf("FromParams(%s) ok = %v, want %v", tc.params, ok, tc.ok)
			}
			if ok && tp.String() != valid {
				t.Errorf("String() = %q, want %q", tp.String(), valid)
			}
		})
	}
}

func BenchmarkFromParams(b *testing.B) {
	params := []byte(`{"name":"search","arguments":{"query":"` + strings.Repeat("word ", 200) + `"},"_meta":{"progressToken":7,"traceparent":"` + valid + `"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := FromParams(params); !ok {
			b.Fatal("not found")
		}
	}
}
