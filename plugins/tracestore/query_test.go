package tracestore

import "testing"

func TestShownSession(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, want string }{
		{"", ""},
		{"1", "1"},
		{"0123456789abcd", "0123456789abcd"},
		{"0123456789abcdefghijklmnopqrstuv0123", "0123456789abcd"},
		{"node-1.0123456789abcdefghijklmnopqrstuv0123", "node-1.0123456789abcd"},
		{"node-1.0123", "node-1.0123"},
	}
	for _, tc := range tests {
		if got := shownSession(tc.id); got != tc.want {
			t.Errorf("shownSession(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
