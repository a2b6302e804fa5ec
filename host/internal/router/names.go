package router

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// maxNameLen is Claude's (and OpenAI's) limit on a tool name, and the
// default name budget.
const maxNameLen = 64

// minNameRoom is the least length a shortened name is cut to: its start,
// '_' and an 8-digit hash (the config refuses a budget that leaves less).
const minNameRoom = 16

// exposedName fills a name template ("mcp__proxy__{server}__{tool}") and
// makes the result match ^[a-zA-Z0-9_-]{1,limit}$: other characters become
// '_', and a name too long is cut and given a stable hash of its source so
// that two long names never shorten to the same one.
func exposedName(template, placeholder, server, name string, limit int) string {
	s := strings.NewReplacer("{server}", server, placeholder, name).Replace(template)
	b := make([]byte, 0, len(s))
	for _, r := range s { // one '_' per character, not per UTF-8 byte
		if r < utf8.RuneSelf && validNameByte(byte(r)) {
			b = append(b, byte(r))
		} else {
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		b = []byte("_")
	}
	if len(b) > limit {
		b = append(b[:limit-9], '_')
		b = append(b, shortHash(server, name)...)
	}
	return string(b)
}

func validNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// uriPrefix is the part of a resource URI template before {uri}, for one
// server: "mcp+proxy://{server}/{uri}" gives "mcp+proxy://NAME/".
func uriPrefix(template, server string) string {
	i := strings.Index(template, "{uri}")
	if i < 0 {
		return ""
	}
	return strings.ReplaceAll(template[:i], "{server}", server)
}
