package router

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// The requestState the proxy gives a 2026-07-28 client for a parked call
// is
//
//	ms1.<owner instance id>.<base64url payload>.<base64url HMAC-SHA256>
//
// The owner is in clear so that any instance can send the retry to it; the
// MAC (over everything before it) makes the token unforgeable; the payload
// holds the parked call's id, an expiry and a hash binding the token to
// the request it answered, so that it is useless for any other.

// requestStatePrefix starts every requestState the proxy issues; other
// states are a 2026-07-28 backend's own, passed through.
const requestStatePrefix = "ms1."

// requestStateMAC separates the MACs of tokens from the other uses of the
// key (peer calls).
const requestStateMAC = "mcphost request state v1\n"

// RequestStateKeyBytes is the size of the random key a router makes when
// given none.
const RequestStateKeyBytes = 32

// CodeRequestStateLost answers the retry of a parked call that no instance
// can resume (its owner is gone, or has no such call) and that is not safe
// to run again: the client must start the call again. It is in JSON-RPC's
// implementation-defined server error range.
const CodeRequestStateLost = -32050

// stateClaims are a token's payload.
type stateClaims struct {
	// Call is the parked call's id on its owner.
	Call string `json:"c"`
	// Expires is when the token stops being accepted (Unix seconds).
	Expires int64 `json:"e"`
	// Binding is requestBinding of the request the token answered.
	Binding string `json:"b"`
}

var (
	errStateMalformed = errors.New("requestState is malformed")
	errStateMAC       = errors.New("requestState failed authentication (not issued by this proxy, altered, or issued under another request_state_key)")
	errStateExpired   = errors.New("requestState has expired")
	errStateBinding   = errors.New("requestState belongs to another request (method, name or arguments differ)")
)

// isProxyState says whether a requestState is one the proxy issued.
func isProxyState(state string) bool { return strings.HasPrefix(state, requestStatePrefix) }

// NewRequestStateKey is a random key, for one instance that is given none.
func NewRequestStateKey() []byte {
	key := make([]byte, RequestStateKeyBytes)
	_, _ = rand.Read(key)
	return key
}

// newParkedCallID is a random id for a parked call.
func newParkedCallID() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// sealState makes the token for owner's parked call.
func sealState(key []byte, owner string, c stateClaims) string {
	payload, _ := json.Marshal(c) // cannot fail: strings and an int
	signed := requestStatePrefix + owner + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(stateMAC(key, signed))
}

func stateMAC(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(requestStateMAC))
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// openState checks a token's MAC and expiry and returns its owner and
// claims.
func openState(key []byte, token string, now time.Time) (string, stateClaims, error) {
	rest, ok := strings.CutPrefix(token, requestStatePrefix)
	if !ok {
		return "", stateClaims{}, errStateMalformed
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return "", stateClaims{}, errStateMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", stateClaims{}, errStateMalformed
	}
	signed := token[:len(token)-len(parts[2])-1]
	if !hmac.Equal(mac, stateMAC(key, signed)) {
		return "", stateClaims{}, errStateMAC
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c stateClaims
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Call == "" {
		return "", stateClaims{}, errStateMalformed
	}
	if now.Unix() >= c.Expires {
		return "", stateClaims{}, errStateExpired
	}
	return parts[0], c, nil
}

// requestBinding identifies a request up to its retry members: the method,
// the tool or prompt name or resource URI, and the arguments in a
// canonical form (keys sorted, numbers as written), hashed.
func requestBinding(method string, params []byte) string {
	target := "name"
	if method == "resources/read" {
		target = "uri"
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(gjson.GetBytes(params, target).Str))
	h.Write([]byte{0})
	h.Write(canonicalJSON(gjson.GetBytes(params, "arguments").Raw))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// canonicalJSON is raw re-encoded with object keys sorted (as
// encoding/json writes maps) and numbers kept as written; "" for absent.
func canonicalJSON(raw string) []byte {
	if raw == "" {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return []byte(raw)
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if e.Encode(v) != nil {
		return []byte(raw)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
