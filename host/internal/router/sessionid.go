package router

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// Session ids. One scheme names a client session everywhere: the router,
// the Mcp-Session-Id of streamable HTTP and the sessionId of legacy
// HTTP+SSE (the listeners use the router's id, not one of their own), the
// tracing store (a session's `latest` response is keyed by it), the admin
// API, and logs. It must be unique across copies of mcphost, instances and
// restarts, because several of them share one tracing store, and it must
// be unguessable, because on HTTP knowing a session's id is what lets a
// request into that session.
//
// An id is 22 bytes written in lowercase base32hex without padding (36
// characters of 0-9a-v, safe in headers, URLs and file names): 6 bytes of
// the creation time in milliseconds since the Unix epoch, big-endian, then
// 16 bytes (128 bits) from crypto/rand. The time prefix makes ids sort by
// creation (base32hex keeps the bytes' order), which helps reading logs and
// stores; the 128 random bits make them unique and unguessable on their
// own. Nothing may read an id as a number.
const (
	sessionIDTimeBytes   = 6
	sessionIDRandomBytes = 16
	// SessionIDLen is the length of a session id.
	SessionIDLen = (8*(sessionIDTimeBytes+sessionIDRandomBytes) + 4) / 5
)

var sessionIDEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewSessionID returns a new session id (see above). It panics only if
// the system's random source fails, as crypto/rand itself does.
func NewSessionID() string {
	return newSessionIDAt(time.Now())
}

func newSessionIDAt(now time.Time) string {
	var b [sessionIDTimeBytes + sessionIDRandomBytes]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:sessionIDTimeBytes], ms[8-sessionIDTimeBytes:])
	_, _ = rand.Read(b[sessionIDTimeBytes:]) // never fails (Go 1.24+: it crashes the program instead)
	return sessionIDEncoding.EncodeToString(b[:])
}

// InstanceSeparator ends the instance id that prefixes a client session's
// id when the router has one (Options.InstanceID): "<instance>.<id>". The
// dot is in neither part's alphabet, so the prefix is where it is.
const InstanceSeparator = "."

// MaxInstanceIDLen bounds an instance id: [a-z0-9-]{1,MaxInstanceIDLen}.
const MaxInstanceIDLen = 32

// ValidInstanceID reports whether s may be an instance id.
func ValidInstanceID(s string) bool {
	if s == "" || len(s) > MaxInstanceIDLen {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ValidSessionID reports whether id has the form of a session id, with
// or without an instance id before it.
func ValidSessionID(id string) bool {
	if i := strings.LastIndex(id, InstanceSeparator); i >= 0 {
		if !ValidInstanceID(id[:i]) {
			return false
		}
		id = id[i+len(InstanceSeparator):]
	}
	if len(id) != SessionIDLen {
		return false
	}
	_, err := sessionIDEncoding.DecodeString(id)
	return err == nil
}
