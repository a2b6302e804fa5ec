package transport

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
)

// HeaderRules are the rules by which a transport that speaks HTTP (the http
// transport, the WebSocket handshake) checks the `headers` and
// `bearer_token` attributes of its config, so that every such transport
// accepts and refuses the same headers. Only the headers a transport sets
// itself differ.
type HeaderRules struct {
	// Transport names the transport in diagnostics.
	Transport string
	// Reserved reports whether the transport sets a header itself, given
	// its canonical name (http.CanonicalHeaderKey); such a header cannot be
	// configured.
	Reserved func(canonical string) bool
}

// ConfigHeaders are a config's checked headers.
type ConfigHeaders struct {
	// Header is what to send with each request, canonical names, with
	// Authorization set from the bearer token.
	Header http.Header
	// Host is a configured Host header, which Go's HTTP client takes from
	// the request's Host field rather than from its header; "" for none.
	Host string
}

// Check checks headers (the `headers` attribute) and bearerToken (the
// `bearer_token` attribute). A header name must be an RFC 9110 token, given
// once whatever its case, and not reserved; a value and the token may hold
// no control character (but a tab in a value); the token has no spaces; and
// a bearer token cannot be combined with an Authorization header.
// Diagnostics name the header, never its value, which may be a secret. They
// come in the order of the sorted names, the same every time.
func (r HeaderRules) Check(headers map[string]string, bearerToken string) (ConfigHeaders, []base.Diagnostic) {
	out := ConfigHeaders{Header: http.Header{}}
	var diags []base.Diagnostic
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		value := headers[name]
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !IsToken(name):
			diags = append(diags, base.Error("headers", "Invalid header name", fmt.Sprintf("%q is not a valid HTTP header name.", name)))
		case seen[canon]:
			diags = append(diags, base.Error("headers", "Duplicate header", fmt.Sprintf("Header %q is given more than once (names are case-insensitive).", canon)))
		case !validHeaderValue(value):
			diags = append(diags, base.Error("headers", "Invalid header value", fmt.Sprintf("The value of header %q contains a line break or another control character.", name)))
		case r.Reserved != nil && r.Reserved(canon):
			diags = append(diags, base.Error("headers", "Reserved header", fmt.Sprintf("Header %q is set by the %s transport and cannot be configured.", name, r.Transport)))
		case canon == "Authorization" && bearerToken != "":
			diags = append(diags, base.Error("headers", "Conflicting Authorization", "Set either bearer_token or an Authorization header, not both."))
		case canon == "Host":
			out.Host = value
		default:
			out.Header.Set(canon, value)
		}
		seen[canon] = true
	}
	if bearerToken != "" {
		if !validHeaderValue(bearerToken) || strings.ContainsAny(bearerToken, " \t") {
			diags = append(diags, base.Error("bearer_token", "Invalid bearer token", "The token must not contain spaces or control characters."))
		} else {
			out.Header.Set("Authorization", "Bearer "+bearerToken)
		}
	}
	return out, diags
}

// IsToken reports whether s is an RFC 9110 token: what a header name, or a
// WebSocket subprotocol, must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s has no control character but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
