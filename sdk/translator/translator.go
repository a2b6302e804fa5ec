// Package translator is the plugin kind that rewrites JSON-RPC messages
// between two MCP protocol versions.
//
// # How the host uses a translator
//
// The host asks a translator for its [Rule]s once, compiles them
// ([Compile]) and, for every message whose client and backend versions
// differ, looks up the [Plan] for the message's versions, direction, method
// and kind. A plan that covers nothing costs a map lookup. Otherwise the
// host, not the plugin, tests the rules' [Condition]s on the raw bytes and
// applies their declarative [Edit]s; it calls [Translator.Translate] once,
// with the edited message, only when a covered rule is not HostOnly.
//
// Messages stay raw JSON: a translator edits the bytes it is given (for
// example with targeted deletes) rather than decoding them into structs and
// re-encoding them, which would lose fields it does not know.
//
// # Why conditions and edits
//
// A translator runs as a subprocess, so each Translate is a gRPC round
// trip (about 300 µs, twice the message on the wire), yet most messages
// between two revisions need nothing, or only a fixed member deleted or
// set. Rules that say "only when the message contains X" and "delete Y"
// let the host settle those cases on the bytes it already holds, while the
// translator stays a replaceable process that owns the knowledge of what
// changed between revisions: it declares that knowledge up front instead of
// being asked about every message. Whatever needs code (rewriting content
// blocks, mapping error codes) still goes to Translate. The alternatives
// were worse: running translators in the host would run third-party code
// there, and a rule language rich enough for every rewrite would be a
// second implementation of each translator, in a language of its own.
// Conditions and edits stay small: substring and member tests; delete,
// set, add and drop of one member; and one compound edit, moving a member
// into a text content block ([EditMoveToTextBlock]), because that is how
// every tool result with structured content reaches a client that
// predates it. The host runs them on the raw bytes with no decoding.
//
// The declarative parts are an optimization, never a requirement: a host of
// API minor 1 ignores them, and a host that cannot compile a rule uses it
// the same way, calling Translate for every message the rule matches. So
// Translate must produce the whole translation on its own, and, because the
// host calls it with a message its edits already changed, it must be
// idempotent: doing again what the edits did changes nothing.
// [plugintest.CheckTranslatorRules] checks both for a set of cases.
//
// [plugintest.CheckTranslatorRules]: https://pkg.go.dev/github.com/mcphost/mcphost/sdk/plugintest#CheckTranslatorRules
package translator

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/mcphost/mcphost/sdk/base"
)

// APIMinor is the minor version of this API; bump it when adding optional
// fields or capabilities. 2 added Rule.Kinds, When, Edits and HostOnly; 3
// added EditMoveToTextBlock and Edit.From.
//
// A host compiles what it knows: one of minor 2 cannot compile a rule with
// an operation it does not know and keeps that rule as minor 1 reads it
// ([Compile]), calling Translate for every message the rule matches, its
// Kinds and When ignored. The translation stays right, only slower; so
// give such an edit a rule of its own, which costs no more than calling
// Translate for the messages its From, To, Direction and Methods match.
const APIMinor = 3

// Translator rewrites messages between MCP protocol versions.
type Translator interface {
	base.Plugin
	// Rules declares which messages the translator wants to see, and what
	// the host can do about them itself. The host asks once, after
	// Configure, and again when the plugin was restarted after a failure.
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

// RulesResponse lists the translator's rules, in the order the host
// applies them.
type RulesResponse struct {
	Rules []Rule
}

// Rule declares a set of messages the translator handles and, optionally,
// what the host can decide and do about them without calling the plugin.
//
// A message is covered by a rule when From, To, Direction and Methods match
// it ([Rule.Matches]), Kinds includes its kind, and When holds for it. For
// each message the host goes through the rules in order and applies every
// covered rule's Edits, so a later rule's conditions see the message as the
// earlier rules' edits left it. If an edit drops the message, nothing is
// sent and the plugin is not called. Otherwise, if any covered rule is not
// HostOnly, the host calls Translate once, after all the edits, with the
// edited message; its answer then counts as usual (a nil Message keeps the
// edited message).
//
// The zero values of Kinds, When, Edits and HostOnly (all that a plugin of
// API minor 1 sends) make a rule cover every message it matches, with no
// edits and a Translate call: the behaviour of API minor 1.
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
	// Kinds limits the rule to messages of these kinds (KindRequest,
	// KindNotification, KindResponse); empty: every kind.
	Kinds []string
	// When, if not empty, limits the rule to messages that meet at least
	// one of the conditions. Empty: every message the rule matches.
	When []Condition
	// Edits are applied by the host, in order, to each message the rule
	// covers.
	Edits []Edit
	// HostOnly says that Edits are the whole translation of a covered
	// message: the host does not call Translate because of this rule.
	// false (the zero value) calls Translate too, after the edits.
	HostOnly bool
}

// Matches reports whether r covers a message of method travelling in dir
// from protocol version from to version to, before Kinds and When are
// considered.
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

// MatchesKind reports whether r's Kinds admit a message of kind.
func (r Rule) MatchesKind(kind string) bool {
	return len(r.Kinds) == 0 || slices.Contains(r.Kinds, kind)
}

// JSON types, as named in Condition.Is and IsNot.
const (
	TypeObject  = "object"
	TypeArray   = "array"
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeNull    = "null"
)

// Condition is a test the host runs on a raw message. It holds when every
// part that is set holds:
//
//   - Contains: the message's bytes contain these bytes. It is the cheap
//     test (a substring search, no parsing), so put it first whenever the
//     thing you look for has a fixed spelling, such as a quoted member
//     name or string value: `"audio"`. Bytes are bytes: a name or value
//     written with \u escapes is not found by it.
//   - Path: a member exists at this gjson path
//     (github.com/tidwall/gjson syntax, as in sdk/jsonrpc: "params._meta",
//     `result.content.#(type=="audio")`; escape literal dots and other
//     special characters in names with jsonrpc.EscapePath). A query that
//     returns every match (`#(...)#`) always exists; use `#(...)`.
//   - Is: the member at Path is of one of these JSON types (TypeObject,
//     TypeArray, TypeString, TypeNumber, TypeBoolean, TypeNull).
//   - IsNot: the member at Path is of none of these types.
//   - Equals: the member at Path is this JSON value: a string compares by
//     its text (escapes do not matter), anything else byte for byte.
//
// Is, IsNot and Equals need Path; a condition needs Contains or Path.
type Condition struct {
	Contains  string
	Path      string
	Is, IsNot []string
	Equals    string
}

// EditOp is what an Edit does.
type EditOp int

const (
	// EditDelete deletes the member at Path, if there is one.
	EditDelete EditOp = iota + 1
	// EditSet sets the member at Path, replacing its value in place or
	// adding it at the end of its object.
	EditSet
	// EditAdd is EditSet only when no member is at Path.
	EditAdd
	// EditDrop drops the whole message: nothing is sent in its place, and
	// no later edit or rule, nor Translate, runs.
	EditDrop
	// EditMoveToTextBlock moves the member at From into a text block of
	// the content array at Path: it deletes the member and, unless a text
	// block of the array already holds the same JSON, appends
	// {"type":"text","text":T} to the array, T being the member's value as
	// compact JSON text, in a JSON string. With no member at Path, it
	// creates the array there holding the block, as EditAdd creates a
	// member (API minor 3).
	//
	// It exists for MCP's structured tool output: a tool that returns
	// structuredContent should also return it serialized in a text block,
	// so a client whose revision has no structuredContent (before
	// 2025-06-18) is given that text instead. The edit is that downgrade,
	// settled by the host without a plugin call:
	//
	//	{Op: EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"}
	//
	// Exactly:
	//
	//   - It changes nothing when no member is at From, when the member at
	//     Path exists but is not an array, or when one on the way to Path
	//     is not an object. Such a message is left whole for the plugin: if
	//     its Translate rewrites it, a rule that calls Translate must cover
	//     it.
	//   - A text block is an element of the array that is an object whose
	//     "type" member is the string "text" and whose "text" member is a
	//     string. It holds the same JSON when that string's text is a JSON
	//     document equal to the value: the same once the whitespace between
	//     tokens is removed, or decoding to the same value, with member
	//     order ignored, a name given twice counting with its last value,
	//     strings compared by their text and numbers by their spelling (1
	//     and 1.0 differ).
	//   - T is the value with the whitespace between its tokens removed,
	//     and every other byte as written (escapes in its strings stay
	//     escapes), as a JSON string the way encoding/json writes one
	//     without HTML escaping: quotes and backslashes escaped, invalid
	//     UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
	//   - The block goes after the array's last element. The deleted
	//     member's place closes up as with EditDelete.
	//
	// From and Path are member paths as Path is for the other operations,
	// and neither may lead into the other. Value, IfEquals, Prune and
	// FromSession are not used.
	EditMoveToTextBlock
)

func (o EditOp) String() string {
	switch o {
	case EditDelete:
		return "delete"
	case EditSet:
		return "set"
	case EditAdd:
		return "add"
	case EditDrop:
		return "drop"
	case EditMoveToTextBlock:
		return "move-to-text-block"
	}
	return "EditOp(" + strconv.Itoa(int(o)) + ")"
}

// SessionField names session data an EditSet can take its value from.
type SessionField int

const (
	// NoSessionField: the edit's value is Edit.Value.
	NoSessionField SessionField = iota
	// SessionClientCapabilities: the client's capabilities object, {}
	// when it declared none.
	SessionClientCapabilities
	// SessionClientInfo: the client's info object; when the session has
	// none, the member is deleted instead.
	SessionClientInfo
	// SessionLogLevel: the log level the client set, as a JSON string;
	// when it set none, the member is deleted instead.
	SessionLogLevel
)

// Edit is one change the host makes to a raw message. Path names an
// object member with a plain gjson/sjson path: names separated by dots,
// with "\" escaping a literal dot or other special character
// (jsonrpc.EscapePath); wildcards, queries and modifiers are refused.
// Every name on the path is an object member name, digits included: edits
// do not index arrays.
//
// EditSet, EditAdd and EditMoveToTextBlock create the objects missing on
// the way to Path, and do nothing when a member on the way exists but is
// not an object. From, for EditMoveToTextBlock, is a path of the same kind. Values
// are compacted to one line, those from the session included. A name
// that occurs twice in one object is edited where gjson finds it, the
// first time.
type Edit struct {
	Op EditOp
	// Path is the member; ignored for EditDrop. For EditMoveToTextBlock,
	// the content array.
	Path string
	// From is the member an EditMoveToTextBlock moves; only for it.
	From string
	// Value is the raw JSON EditSet and EditAdd put at Path.
	Value string
	// FromSession makes an EditSet take its value from the session of the
	// message instead of Value (the data of TranslateRequest.Session).
	FromSession SessionField
	// IfEquals limits an EditDelete to a member that is this JSON value,
	// compared as in Condition.Equals.
	IfEquals string
	// Prune makes an EditDelete that deleted a member also delete the
	// object holding it when that object is left empty (not the message).
	Prune bool
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
