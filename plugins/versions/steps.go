package versions

import (
	"slices"

	"github.com/mcphost/mcphost/sdk/translator"
)

// edit is one message on its way through the steps.
type edit struct {
	from, to     string // normalized
	kind, method string
	session      translator.Session
	msg          []byte
	changed      bool
	drop         bool
}

// update records the outcome of one rewrite of the message.
func (e *edit) update(msg []byte, changed bool, err error) error {
	if err != nil {
		return err
	}
	if changed {
		e.msg, e.changed = msg, true
	}
	return nil
}

// Kinds a step applies to, as a bit set.
type kinds uint8

const (
	request kinds = 1 << iota
	notification
	response
)

func kindOf(k string) kinds {
	switch k {
	case translator.KindRequest:
		return request
	case translator.KindNotification:
		return notification
	case translator.KindResponse:
		return response
	}
	return 0
}

// step is one rewrite: which messages it applies to and what it does.
// Rules are derived from the same table, so the host sees the rules of
// exactly the steps that apply, and calls Translate only for the messages
// their conditions say a step may change.
type step struct {
	dir   translator.Direction
	kinds kinds
	// methods are exact method names, or translator.Wildcard.
	methods []string
	// when says whether the step applies from one (normalized) version to
	// another.
	when  func(from, to string) bool
	apply func(e *edit) error
	// host, when set, says what the host can test and do itself for the
	// step between two (normalized) versions: rules without From, To and
	// Direction, and without Methods and Kinds when they are the step's.
	// It returns no rule when nothing can need the step. Unset: one rule
	// that sends every message the step applies to to Translate.
	host func(from, to string) []translator.Rule
}

func (s *step) applies(dir translator.Direction, e *edit) bool {
	if s.dir != dir || s.kinds&kindOf(e.kind) == 0 || !s.when(e.from, e.to) {
		return false
	}
	return slices.Contains(s.methods, translator.Wildcard) || slices.Contains(s.methods, e.method)
}

// before reports whether v is older than feature, the revision that
// introduced something.
func before(v, feature string) bool { return Compare(v, feature) < 0 }

// down is true when the message's version has the feature and the target's
// does not: the feature must be stripped or rewritten.
func down(feature string) func(from, to string) bool {
	return func(from, to string) bool { return !before(from, feature) && before(to, feature) }
}

// up is true when the target has the feature and the message's version
// does not: it must be added.
func up(feature string) func(from, to string) bool {
	return func(from, to string) bool { return before(from, feature) && !before(to, feature) }
}

// anyDown is down for any of the features.
func anyDown(features ...string) func(from, to string) bool {
	return func(from, to string) bool {
		for _, f := range features {
			if down(f)(from, to) {
				return true
			}
		}
		return false
	}
}

// toOlder is true for any message going to a version without the
// feature, whatever its own version says it can hold: a client may send a
// field from a revision newer than the one it negotiated.
func toOlder(feature string) func(from, to string) bool {
	return func(from, to string) bool { return from != to && before(to, feature) }
}

// legacyPair is true between two different legacy revisions.
func legacyPair(from, to string) bool {
	return from != to && !IsModern(from) && !IsModern(to)
}

// onlyIn is true for a message written in v (the one revision with the
// feature) going to any other revision.
func onlyIn(v string) func(from, to string) bool {
	return func(from, to string) bool { return from == v && to != v }
}

// drop drops the message.
func drop(e *edit) error {
	e.drop = true
	return nil
}

// steps is the whole translation, in the order it runs. Each entry names
// the revision that brought the change it undoes (or adds).
var steps = []step{
	// 2026-07-28 backend → legacy client.
	{translator.ToClient, response, allMethods, down(V20260728), stripModernResult, stripModernResultRules},
	{translator.ToClient, notification, allMethods, down(V20260728), stripSubscriptionID, stripSubscriptionIDRules},
	// Legacy backend → 2026-07-28 client.
	{translator.ToClient, response, allMethods, up(V20260728), completeLegacyResult, completeLegacyResultRules},
	{translator.ToClient, notification, []string{"notifications/elicitation/complete"}, onlyIn(V20251125), drop, dropRules},

	// Legacy downgrades toward older clients.
	{translator.ToClient, response, []string{"tools/list"}, anyDown(V20250326, V20250618, V20251125, V20260728), downgradeTools, nil},
	{translator.ToClient, response, []string{"tools/call"}, anyDown(V20250326, V20250618, V20251125, V20260728), downgradeToolResult, toolResultRules},
	{translator.ToClient, response, []string{"prompts/list"}, anyDown(V20250618, V20251125), downgradePrompts, nil},
	{translator.ToClient, response, []string{"prompts/get"}, anyDown(V20250326, V20250618, V20251125), downgradePromptMessages, promptMessagesRules},
	{translator.ToClient, response, []string{"resources/list"}, anyDown(V20250618, V20251125), downgradeResources("resources"), nil},
	{translator.ToClient, response, []string{"resources/templates/list"}, anyDown(V20250618, V20251125), downgradeResources("resourceTemplates"), nil},
	{translator.ToClient, notification, []string{"notifications/progress"}, down(V20250326), stripProgressMessage, deleteRules("params.message")},
	{translator.ToClient, request, []string{"elicitation/create"}, down(V20251125), downgradeElicitation, nil},
	{translator.ToClient, request, []string{"sampling/createMessage"}, legacyPair, downgradeSampling, nil},

	// Client → 2026-07-28 backend.
	{translator.ToBackend, request, allMethods, up(V20260728), addRequestMeta, addRequestMetaRules},
	{translator.ToBackend, notification, []string{"notifications/initialized", "notifications/roots/list_changed"}, up(V20260728), drop, dropRules},
	// 2026-07-28 client → legacy backend.
	{translator.ToBackend, request | notification, allMethods, down(V20260728), stripRequestMeta, stripRequestMetaRules},
	{translator.ToBackend, request, []string{"completion/complete"}, toOlder(V20250618), dropCompletionContext, deleteRules("params.context")},
	{translator.ToBackend, response, []string{"sampling/createMessage"}, anyDown(V20250326, V20250618), downgradeSamplingResult, nil},
}

// allMethods matches every method.
var allMethods = []string{translator.Wildcard}

// ruleVersions are the version strings rules are declared for: the
// revisions and the alias a client or backend may still announce.
var ruleVersions = append(slices.Clone(Supported), V20241007)

// buildRules derives the rules from steps: for each ordered pair of
// distinct revisions and each direction, the rules of each step that
// applies, in the steps' order (the order the host applies their edits
// in, as Translate runs the steps).
func buildRules() []translator.Rule {
	var rules []translator.Rule
	for _, from := range ruleVersions {
		for _, to := range ruleVersions {
			if Compare(from, to) == 0 {
				continue
			}
			for _, dir := range []translator.Direction{translator.ToClient, translator.ToBackend} {
				for _, s := range steps {
					if s.dir == dir && s.when(Normalize(from), Normalize(to)) {
						rules = append(rules, s.rulesFor(from, to)...)
					}
				}
			}
		}
	}
	return rules
}

// rulesFor is the step's rules between two versions, as declared.
func (s *step) rulesFor(from, to string) []translator.Rule {
	rules := []translator.Rule{{}}
	if s.host != nil {
		rules = s.host(Normalize(from), Normalize(to))
	}
	for i := range rules {
		r := &rules[i]
		r.From, r.To, r.Direction = from, to, s.dir
		if r.Methods == nil {
			r.Methods = s.methods
		}
		if r.Kinds == nil {
			r.Kinds = s.kinds.names()
		}
	}
	return rules
}

// names are the translator kinds in k.
func (k kinds) names() []string {
	var out []string
	for _, kn := range []struct {
		bit  kinds
		name string
	}{{request, translator.KindRequest}, {notification, translator.KindNotification}, {response, translator.KindResponse}} {
		if k&kn.bit != 0 {
			out = append(out, kn.name)
		}
	}
	return out
}
