package versions

import (
	"slices"
	"strings"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// What each step tells the host it can test and do itself. A rule's
// conditions must hold for every message its step could change (they may
// hold for more: that only costs a Translate call), and HostOnly edits
// must do exactly what the step does. plugintest.CheckTranslatorRules, run
// on every golden case between every pair of versions, holds them to it.
//
// Contains guards come first wherever the thing looked for has a fixed
// spelling: a substring search is far cheaper than a parse, and it is what
// a message with nothing to translate costs. A quoted name or value
// (`"audio"`) only matches a whole JSON string, never text inside one,
// whose quotes are escaped.

// stripModernResultRules: the host strips resultType "complete", the cache
// fields and the serverInfo _meta from results; errors go to Translate,
// whose codes need mapping.
func stripModernResultRules(_, _ string) []translator.Rule {
	serverInfo := "result._meta." + jsonrpc.EscapePath(metaServerInfo)
	return []translator.Rule{
		{When: present("error")},
		hostDelete(`"resultType"`, translator.Edit{Op: translator.EditDelete, Path: "result.resultType", IfEquals: `"complete"`}),
		hostDelete(`"ttlMs"`, translator.Edit{Op: translator.EditDelete, Path: "result.ttlMs"}),
		hostDelete(`"cacheScope"`, translator.Edit{Op: translator.EditDelete, Path: "result.cacheScope"}),
		hostDelete(quoted(metaServerInfo), translator.Edit{Op: translator.EditDelete, Path: serverInfo, Prune: true}),
	}
}

// stripSubscriptionIDRules: the host drops the listen stream's tag.
func stripSubscriptionIDRules(_, _ string) []translator.Rule {
	path := "params._meta." + jsonrpc.EscapePath(metaSubscriptionID)
	return []translator.Rule{
		hostDelete(quoted(metaSubscriptionID), translator.Edit{Op: translator.EditDelete, Path: path, Prune: true}),
	}
}

// completeLegacyResultRules: the host adds resultType, and the cache
// fields to cacheable results; errors go to Translate.
func completeLegacyResultRules(_, _ string) []translator.Rule {
	isResult := []translator.Condition{{Path: "result", Is: []string{translator.TypeObject}}}
	return []translator.Rule{
		{When: present("error")},
		{When: isResult, HostOnly: true, Edits: []translator.Edit{
			{Op: translator.EditAdd, Path: "result.resultType", Value: `"complete"`},
		}},
		{Methods: cacheableMethods, When: isResult, HostOnly: true, Edits: []translator.Edit{
			{Op: translator.EditAdd, Path: "result.ttlMs", Value: `0`},
			{Op: translator.EditAdd, Path: "result.cacheScope", Value: `"private"`},
		}},
	}
}

// cacheableMethods are the keys of cacheable, in order.
var cacheableMethods = func() []string {
	var m []string
	for k := range cacheable {
		m = append(m, k)
	}
	slices.Sort(m)
	return m
}()

// dropRules: the host drops the message.
func dropRules(_, _ string) []translator.Rule {
	return []translator.Rule{{HostOnly: true, Edits: []translator.Edit{{Op: translator.EditDrop}}}}
}

// deleteRules: the host deletes the member at path, which must be a
// plain path, when the message names it.
func deleteRules(path string) func(_, _ string) []translator.Rule {
	name := path[strings.LastIndexByte(path, '.')+1:]
	return func(_, _ string) []translator.Rule {
		return []translator.Rule{hostDelete(quoted(name), translator.Edit{Op: translator.EditDelete, Path: path})}
	}
}

// addRequestMetaRules: the host sets the four request _meta keys, taking
// the client's from the session; a _meta that is not an object, which
// Translate replaces, is left to it.
func addRequestMetaRules(_, _ string) []translator.Rule {
	meta := func(key string) string { return "params._meta." + jsonrpc.EscapePath(key) }
	return []translator.Rule{
		{HostOnly: true, Edits: []translator.Edit{
			{Op: translator.EditSet, Path: meta(metaProtocolVersion), Value: `"` + V20260728 + `"`},
			{Op: translator.EditSet, Path: meta(metaClientCaps), FromSession: translator.SessionClientCapabilities},
			{Op: translator.EditSet, Path: meta(metaClientInfo), FromSession: translator.SessionClientInfo},
			{Op: translator.EditSet, Path: meta(metaLogLevel), FromSession: translator.SessionLogLevel},
		}},
		{When: []translator.Condition{{Path: "params._meta", IsNot: []string{translator.TypeObject}}}},
	}
}

// stripRequestMetaRules: the host deletes the four request _meta keys a
// 2026-07-28 client sends; any other key under the reserved prefix left
// after that goes to Translate.
func stripRequestMetaRules(_, _ string) []translator.Rule {
	var edits []translator.Edit
	for _, k := range []string{metaProtocolVersion, metaClientCaps, metaClientInfo, metaLogLevel} {
		edits = append(edits, translator.Edit{Op: translator.EditDelete, Path: "params._meta." + jsonrpc.EscapePath(k), Prune: true})
	}
	prefix := []translator.Condition{{Contains: metaPrefix}}
	return []translator.Rule{
		{When: prefix, HostOnly: true, Edits: edits},
		{When: prefix},
	}
}

// toolResultRules: the host moves a structuredContent the client cannot
// read into a text block itself (translator.EditMoveToTextBlock is what
// downgradeToolResult does with it: drop it, and keep it as JSON text
// unless a text block already holds it); that is one before 2025-06-18,
// and from a 2026-07-28 backend one that is not an object. A tools/call
// result goes to Translate only when it holds something else the client's
// revision lacks (see downgradeBlock): audio before 2025-03-26; a resource
// link before 2025-06-18, or one with icons before 2025-11-25; lastModified
// before 2025-06-18; or a structuredContent next to a content that is not
// an array, which the move leaves alone.
func toolResultRules(from, to string) []translator.Rule {
	var when []translator.Condition
	if before(to, V20250326) {
		when = append(when, translator.Condition{Contains: `"audio"`, Path: `result.content.#(type=="audio")`})
	}
	link := `result.content.#(type=="resource_link")`
	structured := translator.Condition{Contains: `"structuredContent"`, Path: "result.structuredContent"}
	switch {
	case before(to, V20250618):
		when = append(when,
			translator.Condition{Contains: `"resource_link"`, Path: link},
			translator.Condition{Contains: `"lastModified"`})
	case before(to, V20251125):
		// A link with icons: the links' icons, of which the first exists.
		when = append(when, translator.Condition{Contains: `"resource_link"`, Path: link + `#.icons|0`})
	}
	if !before(to, V20250618) {
		if !IsModern(from) {
			return translateWhen(when)
		}
		structured.IsNot = []string{translator.TypeObject}
	}
	when = append(when, translator.Condition{Contains: `"structuredContent"`, Path: "result.content", IsNot: []string{translator.TypeArray}})
	return append(translateWhen(when), translator.Rule{
		When: []translator.Condition{structured}, HostOnly: true,
		Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"}},
	})
}

// promptMessagesRules: a prompts/get result goes to Translate only when
// its messages may hold what the client's revision lacks, as for tool
// results. Message content may be one block or an array, so the tests are
// on the bytes only.
func promptMessagesRules(_, to string) []translator.Rule {
	var when []translator.Condition
	if before(to, V20250326) {
		when = append(when, translator.Condition{Contains: `"audio"`})
	}
	switch {
	case before(to, V20250618):
		when = append(when, translator.Condition{Contains: `"resource_link"`}, translator.Condition{Contains: `"lastModified"`})
	case before(to, V20251125):
		when = append(when, translator.Condition{Contains: `"resource_link"`})
	}
	return translateWhen(when)
}

// translateWhen is one rule calling Translate when any of the conditions
// holds, or none when there are none: an empty When would cover every
// message.
func translateWhen(when []translator.Condition) []translator.Rule {
	if len(when) == 0 {
		return nil
	}
	return []translator.Rule{{When: when}}
}

// hostDelete is a HostOnly rule making edit when the message contains
// guard.
func hostDelete(guard string, edit translator.Edit) translator.Rule {
	return translator.Rule{When: []translator.Condition{{Contains: guard}}, HostOnly: true, Edits: []translator.Edit{edit}}
}

// present is a condition on a top-level member, guarded by its quoted
// name.
func present(name string) []translator.Condition {
	return []translator.Condition{{Contains: quoted(name), Path: name}}
}

func quoted(s string) string { return `"` + s + `"` }
