package jsonrpc

import "testing"

func TestGetSharesButNeverGrowsIntoTheMessage(t *testing.T) {
	t.Parallel()
	msg := []byte(`{"jsonrpc":"2.0","id":1,"params":{"a":[1,2]},"x":"y"}`)
	tests := []struct{ path, want string }{
		{"params", `{"a":[1,2]}`},
		{"params.a", `[1,2]`},
		{"id", `1`},
		{"x", `"y"`},
		{"missing", ``},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			if got := string(Get(msg, tt.path)); got != tt.want {
				t.Errorf("Get(%q) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
	params := Get(msg, "params")
	_ = append(params, '!')
	if string(msg) != `{"jsonrpc":"2.0","id":1,"params":{"a":[1,2]},"x":"y"}` {
		t.Fatalf("appending to a Get result changed the message: %s", msg)
	}
}
