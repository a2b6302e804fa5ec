package jsonrpc

import (
	"errors"
	"testing"
)

// Found by FuzzPeek: Peek trimmed with bytes.TrimSpace, so a message led or
// followed by \v, \f or a Unicode space (not JSON whitespace) was read as a
// valid request, and forwarded as bytes no JSON parser accepts.
func TestPeekTrimsOnlyJSONSpace(t *testing.T) {
	t.Parallel()
	const req = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, msg := range []string{"\v" + req, req + "\f", "\u00a0" + req, req + "\u0085", "\u2028" + req} {
		if _, err := Peek([]byte(msg)); !errors.Is(err, ErrParse) {
			t.Errorf("Peek(%q) = %v, want ErrParse", msg, err)
		}
	}
	for _, msg := range []string{" \t\r\n" + req + "\r\n ", req} {
		if env, err := Peek([]byte(msg)); err != nil || env.Kind != KindRequest {
			t.Errorf("Peek(%q) = %+v, %v, want a request", msg, env, err)
		}
	}
}

// An invalid request is answered with its id when the id is usable, and with
// null when it is not, whatever else is wrong with the message.
func TestPeekKeepsOnlyAUsableIDOfAnInvalidRequest(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, msg, wantID string }{
		{"wrong version, number id", `{"jsonrpc":"1.0","id":7,"method":"ping"}`, "7"},
		{"wrong version, string id", `{"jsonrpc":"1.0","id":"a","method":"ping"}`, `"a"`},
		{"no version, object id", `{"zsonrpc":"2.0","id":{},"method":"ping"}`, ""},
		{"wrong version, array id", `{"jsonrpc":"1.0","id":[1],"method":"ping"}`, ""},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, ""},
		{"bool id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := Peek([]byte(tt.msg))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Peek(%s) error = %v, want ErrInvalid", tt.msg, err)
			}
			if string(env.ID) != tt.wantID {
				t.Errorf("Peek(%s) ID = %q, want %q", tt.msg, env.ID, tt.wantID)
			}
		})
	}
}
