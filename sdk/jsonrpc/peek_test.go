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
