package oauth

import (
	"net/http"
	"strings"
)

// challenge is one WWW-Authenticate challenge (RFC 9110 §11.6.1): a scheme
// and its auth-params, names lowercased.
type challenge struct {
	scheme string
	params map[string]string
}

// bearerChallenge returns the Bearer challenge of a response, if any.
func bearerChallenge(h http.Header) (challenge, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		for _, c := range parseChallenges(v) {
			if strings.EqualFold(c.scheme, "Bearer") {
				return c, true
			}
		}
	}
	return challenge{}, false
}

// scopes returns the challenge's scope parameter, split.
func (c challenge) scopes() []string { return strings.Fields(c.params["scope"]) }

// parseChallenges parses a WWW-Authenticate value, which may hold several
// challenges separated by commas: `Bearer realm="a, b", scope="x y", Basic
// realm=z`. A token68 (`Negotiate abc==`) is kept as the param "".
func parseChallenges(v string) []challenge {
	var out []challenge
	p := &headerParser{s: v}
	for {
		p.skipSpaceAndCommas()
		scheme := p.token()
		if scheme == "" {
			if p.done() {
				return out
			}
			p.i++ // skip a stray character
			continue
		}
		c := challenge{scheme: scheme, params: map[string]string{}}
		for {
			p.skipSpace()
			if len(c.params) == 0 && p.token68Follows() {
				c.params[""] = p.token68()
				break
			}
			start := p.i
			name := p.token()
			p.skipSpace()
			if name == "" || !p.peek('=') {
				// Not a param: the next challenge's scheme.
				p.i = start
				break
			}
			p.i++ // '='
			p.skipSpace()
			var value string
			if p.peek('"') {
				value = p.quoted()
			} else {
				value = p.token()
			}
			c.params[strings.ToLower(name)] = value
			p.skipSpace()
			if !p.peek(',') {
				break
			}
			p.i++
		}
		out = append(out, c)
	}
}

type headerParser struct {
	s string
	i int
}

func (p *headerParser) done() bool       { return p.i >= len(p.s) }
func (p *headerParser) peek(b byte) bool { return p.i < len(p.s) && p.s[p.i] == b }

func (p *headerParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *headerParser) skipSpaceAndCommas() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

// isTokenChar reports whether b is a tchar (RFC 9110 §5.6.2).
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

func (p *headerParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// token68Follows reports whether a token68 (RFC 9110 §11.2) starts here:
// a token (possibly with / and trailing =) not followed by '='.
func (p *headerParser) token68Follows() bool {
	j := p.i
	for j < len(p.s) && (isTokenChar(p.s[j]) || p.s[j] == '/') {
		j++
	}
	if j == p.i {
		return false
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	return j == len(p.s) || p.s[j] == ','
}

func (p *headerParser) token68() string {
	start := p.i
	for p.i < len(p.s) && (isTokenChar(p.s[p.i]) || p.s[p.i] == '/' || p.s[p.i] == '=') {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string, unescaping quoted-pairs; p is at the
// opening quote. An unterminated string runs to the end.
func (p *headerParser) quoted() string {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
