// Package translator is the plugin kind that rewrites JSON-RPC messages
// between two MCP protocol versions. The host asks a translator for its
// rules once, and then calls Translate only when a client and its backend
// speak different versions, and only for the messages a rule matches, so a
// translator pays for nothing it does not declare.
//
// Messages stay raw JSON: a translator edits the bytes it is given (for
// example with targeted deletes) rather than decoding them into structs and
// re-encoding them, which would lose fields it does not know.
package translator

import (
	"context"
	"strconv"
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities.
const APIMinor = 1

// Translator rewrites messages between MCP protocol versions.
type Translator interface {
	base.Plugin
	// Rules declares which messages the translator wants to see. The host
	// asks once, after Configure.
	Rules(ctx context.Context, req RulesRequest) (RulesResponse, error)
	// Translate rewrites one message. It is called concurrently, for
	// messages of many sessions.
	Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error)
}

// Direction is which way a message travels through the host.
type Direction int

const (
	// AnyDirection, the zero value, matches both directions in a Rule. The
	// host never sends it in a TranslateRequest.
	AnyDirection Direction = iota
	// ToBackend: from a client towards a backend.
	ToBackend
	// ToClient: from a backend towards a client.
	ToClient
)

func (d Direction) String() string {
	switch d {
	case AnyDirection:
		return "any"
	case ToBackend:
		return "to_backend"
	case ToClient:
		return "to_client"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Kinds of message, as in TranslateRequest.Kind.
const (
	KindRequest      = "request"
	KindNotification = "notification"
	KindResponse     = "response"
)

// Wildcard matches any version in Rule.From and Rule.To, and any method in
// Rule.Methods.
const Wildcard = "*"

// RulesRequest asks for the translator's rules.
type RulesRequest struct{}

// RulesResponse lists the translator's rules. A message is translated when
// any rule matches it.
type RulesResponse struct {
	Rules []Rule
}

// Rule declares a set of messages the translator handles.
type Rule struct {
	// From is the protocol version a message is written in (the client's
	// version for ToBackend, the backend's for ToClient) and To the version
	// it must leave the host in. Either may be Wildcard.
	From, To string
	// Direction is ToBackend, ToClient or AnyDirection.
	Direction Direction
	// Methods are JSON-RPC method names ("tools/list",
	// "notifications/progress"), prefixes ending in "/*"
	// ("notifications/*"), or Wildcard. A response is matched by the method
	// of the request it answers. No methods match nothing.
	Methods []string
}

// Matches reports whether r covers a message of method travelling in dir
// from protocol version from to version to.
func (r Rule) Matches(from, to string, dir Direction, method string) bool {
	if r.From != Wildcard && r.From != from {
		return false
	}
	if r.To != Wildcard && r.To != to {
		return false
	}
	if r.Direction != AnyDirection && r.Direction != dir {
		return false
	}
	for _, m := range r.Methods {
		switch {
		case m == Wildcard || m == method:
			return true
		case strings.HasSuffix(m, "/*") && strings.HasPrefix(method, m[:len(m)-1]):
			return true
		}
	}
	return false
}

// TranslateRequest is one message to translate.
type TranslateRequest struct {
	// From and To are the protocol versions the message is in and must be
	// put in; Direction is ToBackend or ToClient.
	From, To  string
	Direction Direction
	// Method is the message's method; for a response, the method of the
	// request it answers.
	Method string
	// Kind is KindRequest, KindNotification or KindResponse.
	Kind string
	// Message is one complete raw JSON-RPC message.
	Message []byte
	// Session is the client side of the message: what a translator needs
	// to build a 2026-07-28 request's _meta for a legacy session.
	Session Session
}

// Session is what the host knows of the client session a message belongs
// to. Fields are empty when the client declared nothing.
type Session struct {
	// ClientCapabilities and ClientInfo are raw JSON objects.
	ClientCapabilities []byte
	ClientInfo         []byte
	// LogLevel is the level the client set ("" when none).
	LogLevel string
}

// TranslateResponse says what to send in place of the message.
type TranslateResponse struct {
	// Message replaces the message; nil leaves it unchanged. A non-nil
	// empty Message is a replacement too (and not valid JSON-RPC).
	Message []byte
	// Drop forwards nothing in place of the message; Message is ignored.
	Drop bool
	// Extra are further complete JSON-RPC messages, sent after the message
	// (or in its place when Drop is set) in the same direction.
	Extra [][]byte
}
