package traceparent

import "testing"

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		ok       bool
		out      string // String() of the result, when ok
	}{
		{"valid sampled", valid, true, valid},
		{"valid not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
		{"future version with more fields", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", true, valid},
		{"future version, exact length", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, valid},
		{"future version, no dash after flags", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, ""},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, ""},
		{"version 00 with trailing data", valid + "-00", false, ""},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, ""},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, ""},
		{"upper-case hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", false, ""},
		{"non-hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false, ""},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false, ""},
		{"wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, ""},
		{"empty", "", false, ""},
		{"garbage", "hello", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Parse(tc.in)
			if ok != tc.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
			if ok && got.String() != tc.out {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got.String(), tc.out)
			}
			if !ok && got != (TraceParent{}) {
				t.Errorf("Parse(%q) refused but returned %+v", tc.in, got)
			}
		})
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	tp, ok := Parse(valid)
	if !ok {
		t.Fatal("valid refused")
	}
	if tp.TraceID[0] != 0x4b || tp.TraceID[15] != 0x36 || tp.SpanID[0] != 0x00 || tp.SpanID[7] != 0xb7 || !tp.Sampled() {
		t.Errorf("fields = %+v", tp)
	}
}

func TestFromParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params string
		ok           bool
	}{
		{"present", `{"name":"echo","_meta":{"traceparent":"` + valid + `","tracestate":"a=b"}}`, true},
		{"absent", `{"name":"echo","arguments":{"traceparent":"` + valid + `"}}`, false},
		{"no params", ``, false},
		{"not a string", `{"_meta":{"traceparent":42}}`, false},
		{"invalid value", `{"_meta":{"traceparent":"00-xyz"}}`, false},
		{"meta not an object", `{"_meta":"traceparent"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := FromParams([]byte(tc.params))
			if ok != tc.ok {
				t.Fatalf("FromParams(%s) ok = %v, want %v", tc.params, ok, tc.ok)
			}
			if ok && got.String() != valid {
				t.Errorf("FromParams = %q", got.String())
			}
		})
	}
}
