// Package versions is the built-in translator between MCP protocol
// revisions: it rewrites raw JSON-RPC messages between any two of
// 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28, in both
// directions.
//
// Toward an older client it strips or rewrites what that client's revision
// does not have (tool annotations, audio, structured content, resource
// links, titles, icons, the 2025-11-25 elicitation forms, the 2026-07-28
// result fields and error codes). Toward a 2026-07-28 backend it stamps every
// request with the per-request _meta that replaced the initialize handshake,
// and toward a legacy backend it strips that _meta again. Stateful bridging
// (initialize, subscriptions, MRTR input requests, tasks) belongs to the host
// and is not done here.
//
// Every edit is a targeted rewrite of raw bytes: members the translator does
// not touch, schemas and unknown fields included, pass through byte for
// byte.
//
// The translation is a table of steps (steps.go), and the plugin's rules
// are derived from it: for each ordered pair of revisions and each
// direction, the rules of every step that applies, in order. Each step
// tells the host what it can settle without a call into the plugin
// (hostrules.go): the fixed edits (resultType, the cache fields and
// serverInfo stripped from a 2026-07-28 result, resultType and the cache
// fields added for a 2026-07-28 client, the request _meta added or
// stripped, a progress message or completion context deleted, the
// notifications that have no counterpart dropped) are host edits, and so
// is a tool result's structuredContent for a client that cannot read it
// (before 2025-06-18, or not an object from a 2026-07-28 backend), moved
// into a text block of its JSON unless one already holds it
// (translator.EditMoveToTextBlock). The rewrites that need code (content
// blocks, error codes, lists, elicitation, sampling) go to Translate only
// when the raw message holds what the client's revision lacks, such as an
// "audio" or "resource_link" block. So a plain text tool result between
// 2025-11-25 and 2025-06-18, or from a 2026-07-28 backend to a 2025-06-18
// client, and a result with text and structured content (the example
// server's echo) for a 2024-11-05 or 2025-03-26 client, cost no plugin
// call.
//
// Translate on its own still does the whole translation, and doing it
// again on a message the host already edited changes nothing more: a host
// of translator API minor 1 calls it for every message the rules name,
// and the host calls it with the edited message when some rule asks.
// TestHostRulesAgreeWithTranslate checks both on every golden case between
// every pair of revisions.
package versions

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/translator"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// The published MCP revisions, oldest first. 2026-07-28 is the only
// "modern" (stateless) one; the others are the initialize-based "legacy"
// era.
const (
	V20241105 = "2024-11-05"
	V20250326 = "2025-03-26"
	V20250618 = "2025-06-18"
	V20251125 = "2025-11-25"
	V20260728 = "2026-07-28"
)

// V20241007 is a pre-release version string that TypeScript SDK 1.x
// clients still send; on the wire it is 2024-11-05.
const V20241007 = "2024-10-07"

// Supported lists the revisions the plugin translates between, oldest
// first.
var Supported = []string{V20241105, V20250326, V20250618, V20251125, V20260728}

// Normalize maps a version alias to the revision it stands for
// (2024-10-07 to 2024-11-05); other strings are returned unchanged.
func Normalize(v string) string {
	if v == V20241007 {
		return V20241105
	}
	return v
}

// Compare orders two protocol versions after normalizing them: negative
// when a is older than b, zero when they are the same revision, positive
// when a is newer. Revisions are dates in ISO form, so an unknown (future)
// version still sorts where its date puts it.
func Compare(a, b string) int {
	return strings.Compare(Normalize(a), Normalize(b))
}

// IsModern reports whether v is 2026-07-28 or later, the era without the
// initialize handshake.
func IsModern(v string) bool {
	return Compare(v, V20260728) >= 0
}

// Translator is the versions translator. It is stateless and safe for
// concurrent use.
type Translator struct {
	base.Unimplemented
	logger hclog.Logger
	rules  []translator.Rule
}

var _ translator.Translator = (*Translator)(nil)

// New returns the translator. A nil logger logs JSON to stderr, which is
// what the host collects from a plugin process.
func New(logger hclog.Logger) *Translator {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "versions", Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	return &Translator{logger: logger, rules: buildRules()}
}

func (t *Translator) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name:                "versions",
		Kind:                base.KindTranslator,
		Version:             Version,
		APIMinor:            translator.APIMinor,
		MCPProtocolVersions: slices.Clone(Supported),
		Description:         "Rewrites JSON-RPC messages between the MCP revisions 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28.",
	}, nil
}

// Rules declares, for every ordered pair of revisions and each direction,
// exactly the methods some step of the translation can change.
func (t *Translator) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{Rules: slices.Clone(t.rules)}, nil
}

// Translate runs every step that applies to the message, in order, on one
// working copy. It returns a nil Message when no step changed anything.
func (t *Translator) Translate(_ context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	e := &edit{
		from: Normalize(req.From), to: Normalize(req.To),
		kind: req.Kind, method: req.Method, session: req.Session,
		msg: req.Message,
	}
	if !isObject(e.msg) {
		// Batches are split by the host before translation; anything else
		// that is not an object is not a message we can rewrite.
		return translator.TranslateResponse{}, nil
	}
	for i := range steps {
		s := &steps[i]
		if !s.applies(req.Direction, e) {
			continue
		}
		if err := s.apply(e); err != nil {
			return translator.TranslateResponse{}, fmt.Errorf("versions: %s %s %s from %s to %s: %w",
				req.Direction, req.Kind, req.Method, req.From, req.To, err)
		}
		if e.drop {
			t.logger.Debug("dropped message", "method", req.Method, "kind", req.Kind, "from", req.From, "to", req.To)
			return translator.TranslateResponse{Drop: true}, nil
		}
	}
	if !e.changed {
		return translator.TranslateResponse{}, nil
	}
	return translator.TranslateResponse{Message: e.msg}, nil
}
