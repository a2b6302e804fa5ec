package versions

import (
	"fmt"
	"testing"

	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/translator"
)

// TestEditCases covers what the host now does itself, in the spellings
// and orders a peer may use.
func TestEditCases(t *testing.T) {
	t.Parallel()
	runGolden(t, editCases)
}

var bareSession = translator.Session{ClientInfo: []byte("null")}

var editCases = []golden{
	{
		name: "plain text result between legacy revisions", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"use \"resource_link\" and \"audio\" blocks"}],"isError":false}}`,
	},
	{
		name: "plain text result from a 2026-07-28 backend", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}],"resultType":"complete","ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s"},"k":1}}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}],"_meta":{"k":1}}}`,
	},
	{
		name: "pretty-printed modern result, _meta first", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in:   "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 3,\n  \"result\": {\n    \"_meta\": { \"io.modelcontextprotocol/serverInfo\" : {\"name\": \"s\"} },\n    \"content\": [],\n    \"structuredContent\": {\"a\": [1, 2]},\n    \"resultType\" : \"complete\"\n  }\n}",
		want: `{"jsonrpc":"2.0","id":3,"result":{"content":[],"structuredContent":{"a":[1,2]}}}`,
	},
	{
		name: "resultType spelt with an escape", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "resources/read",
		in:   `{"jsonrpc":"2.0","id":4,"result":{"contents":[],"resultType":"compl\u0065te"}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"contents":[]}}`,
	},
	{
		name: "input_required keeps its resultType, loses the cache fields", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":5,"result":{"resultType":"input_required","inputRequests":{},"ttlMs":5}}`,
		want: `{"jsonrpc":"2.0","id":5,"result":{"resultType":"input_required","inputRequests":{}}}`,
	},
	{
		name: "a _meta that is not an object stays", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "prompts/get",
		in:   `{"jsonrpc":"2.0","id":6,"result":{"messages":[],"_meta":"io.modelcontextprotocol/serverInfo","resultType":"complete"}}`,
		want: `{"jsonrpc":"2.0","id":6,"result":{"messages":[],"_meta":"io.modelcontextprotocol/serverInfo"}}`,
	},
	{
		name: "a result that is not an object", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "ping",
		in: `{"jsonrpc":"2.0","id":7,"result":["resultType","ttlMs"]}`,
	},
	{
		name: "a link's icons only matter to 2025-06-18 and older", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":8,"result":{"resultType":"complete","content":[{"type":"resource_link","uri":"a","name":"a","icons":[]}]}}`,
		want: `{"jsonrpc":"2.0","id":8,"result":{"content":[{"type":"resource_link","uri":"a","name":"a","icons":[]}]}}`,
	},
	{
		name: "a link without icons is fine for 2025-06-18", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"resource_link","uri":"a","name":"a"}],"icons":"not a link's"}}`,
	},
	{
		name: "a legacy result gets resultType wherever its members are", from: V20250618, to: V20260728, dir: toClient, kind: resp, method: "resources/templates/list",
		in:   "{\"result\" : { \"resourceTemplates\" : [ ] , \"cacheScope\":\"public\" } ,\"jsonrpc\":\"2.0\",\"id\":10}",
		want: `{"result":{"resourceTemplates":[],"cacheScope":"public","resultType":"complete","ttlMs":0},"jsonrpc":"2.0","id":10}`,
	},
	{
		name: "an empty legacy result", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":11,"result":{ }}`,
		want: `{"jsonrpc":"2.0","id":11,"result":{"resultType":"complete","ttlMs":0,"cacheScope":"private"}}`,
	},
	{
		name: "a legacy result that is not an object", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":12,"result":null}`,
	},
	{
		name: "request meta without a session", from: V20250618, to: V20260728, dir: toBackend, kind: req, method: "tools/call", session: bareSession,
		in:   `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"stale"},"io.modelcontextprotocol/logLevel":"info","progressToken":1},"name":"t"}}`,
		want: `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"_meta":{"progressToken":1,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}},"name":"t"}}`,
	},
	{
		name: "request meta when _meta is null", from: V20250618, to: V20260728, dir: toBackend, kind: req, method: "tools/call", session: session,
		in:   `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"t","_meta":null}}`,
		want: `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"t","_meta":{` + modernMeta + `}}}`,
	},
	{
		name: "request meta cannot go into params that are not an object", from: V20250618, to: V20260728, dir: toBackend, kind: req, method: "x/y", session: session,
		in: `{"jsonrpc":"2.0","id":15,"method":"x/y","params":[1,{"_meta":{}}]}`,
	},
	{
		name: "request meta into a pretty-printed request", from: V20241007, to: V20260728, dir: toBackend, kind: req, method: "ping", session: session,
		in:   "{\n \"jsonrpc\": \"2.0\",\n \"id\": 16,\n \"method\": \"ping\",\n \"params\": {\n }\n}",
		want: `{"jsonrpc":"2.0","id":16,"method":"ping","params":{"_meta":{` + modernMeta + `}}}`,
	},
	{
		name: "a key of the reserved prefix the host does not know goes to Translate", from: V20260728, to: V20250618, dir: toBackend, kind: req, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"t","_meta":{` + modernMeta + `,"io.modelcontextprotocol/future":true,"progressToken":2}}}`,
		want: `{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":2}}}`,
	},
	{
		name: "a modern notification for a legacy backend", from: V20260728, to: V20251125, dir: toBackend, kind: notif, method: "notifications/cancelled",
		in:   `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		want: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
	},
	{
		name: "a modern request naming the prefix only in its arguments", from: V20260728, to: V20251125, dir: toBackend, kind: req, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"t","arguments":{"q":"io.modelcontextprotocol/x"}}}`,
	},
	{
		name: "progress between 2025-06-18 and 2025-11-25", from: V20251125, to: V20250618, dir: toClient, kind: notif, method: "notifications/progress",
		in: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"message":"half"}}`,
	},
	{
		name: "a progress message in a pretty notification", from: V20250326, to: V20241105, dir: toClient, kind: notif, method: "notifications/progress",
		in:   "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\n\"message\" : \"m\",\n\"progress\":1}}",
		want: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}`,
	},
	{
		name: "a prompt link with icons for 2025-06-18", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "prompts/get",
		in:   `{"jsonrpc":"2.0","id":19,"result":{"messages":[{"role":"user","content":{"type":"resource_link","uri":"a","name":"a","icons":[{"src":"i"}]}}]}}`,
		want: `{"jsonrpc":"2.0","id":19,"result":{"messages":[{"role":"user","content":{"type":"resource_link","uri":"a","name":"a"}}]}}`,
	},
}

// noCall names the cases the host must settle without calling the
// plugin, with the pairs and directions they must be settled in.
var noCall = []struct {
	name     string
	from, to string
	dir      translator.Direction
}{
	{"plain text result between legacy revisions", V20251125, V20250618, toClient},
	{"plain text result between legacy revisions", V20250618, V20251125, toClient},
	{"legacy tool calls need nothing", V20251125, V20250618, toBackend},
	{"legacy tool calls need nothing", V20250618, V20251125, toBackend},
	{"plain text result from a 2026-07-28 backend", V20260728, V20250618, toClient},
	{"plain text result from a 2026-07-28 backend", V20260728, V20251125, toClient},
	{"object structuredContent kept for 2025-06-18", V20260728, V20250618, toClient},
	{"object structuredContent kept for 2025-06-18", V20260728, V20251125, toClient},
	{"pretty-printed modern result, _meta first", V20260728, V20251125, toClient},
	{"input_required keeps its resultType, loses the cache fields", V20260728, V20251125, toClient},
	{"meta merged, progressToken kept", V20251125, V20260728, toBackend},
	{"params created, empty capabilities are {}", V20241105, V20260728, toBackend},
	{"_meta created", V20250618, V20260728, toBackend},
	{"stale owned keys replaced", V20250326, V20260728, toBackend},
	{"request meta without a session", V20250618, V20260728, toBackend},
	{"request meta into a pretty-printed request", V20241007, V20260728, toBackend},
	{"modern meta stripped for a legacy backend", V20260728, V20251125, toBackend},
	{"an emptied _meta goes", V20260728, V20250618, toBackend},
	{"a modern notification for a legacy backend", V20260728, V20251125, toBackend},
	{"a link without icons is fine for 2025-06-18", V20251125, V20250618, toClient},
	{"progress between 2025-06-18 and 2025-11-25", V20251125, V20250618, toClient},
	{"progress between 2025-06-18 and 2025-11-25", V20250618, V20251125, toClient},
	{"progress message stripped", V20250618, V20241105, toClient},
	{"subscription id stripped with the empty _meta", V20260728, V20251125, toClient},
	{"list results get resultType and cache fields", V20251125, V20260728, toClient},
	{"tool results get resultType only", V20250326, V20260728, toClient},
	{"initialized dropped", V20250618, V20260728, toBackend},
	{"elicitation complete dropped", V20251125, V20250618, toClient},
	{"completion context dropped", V20251125, V20250326, toBackend},
	// Structured content for clients before 2025-06-18, and a
	// non-object one from a 2026-07-28 backend, moved by the host.
	{"the example server's echo from a 2026-07-28 backend", V20260728, V20241105, toClient},
	{"the example server's echo from a 2026-07-28 backend", V20260728, V20250326, toClient},
	{"the example server's echo from a 2026-07-28 backend", V20260728, V20241007, toClient},
	{"the example server's echo from a 2025-11-25 backend", V20251125, V20241105, toClient},
	{"the example server's echo from a 2025-11-25 backend", V20251125, V20250326, toClient},
	{"the example server's echo from a 2025-11-25 backend", V20250618, V20241105, toClient},
	{"a text block holds the structured content as written", V20251125, V20241105, toClient},
	{"a text block holds it pretty-printed, members reordered", V20260728, V20250326, toClient},
	{"numbers spelt otherwise are another document", V20251125, V20250326, toClient},
	{"structured content without content, after it", V20250618, V20241105, toClient},
	{"nested and non-ASCII structured content", V20260728, V20241105, toClient},
	{"a non-object structuredContent a text block holds", V20260728, V20251125, toClient},
	{"a null structuredContent", V20260728, V20250618, toClient},
	{"non-object structuredContent kept as text", V20260728, V20251125, toClient},
	{"structuredContent without content gets a text block", V20250618, V20250326, toClient},
	{"structuredContent dropped when a text block already carries it", V20250618, V20250326, toClient},
}

// TestHostRulesAgreeWithTranslate runs every golden message between every
// pair of versions, both ways: with Translate alone, and as the host does,
// with the rules' conditions and edits and Translate only when they ask for
// it. The results must be the same, and the cases in noCall must need no
// Translate call.
func TestHostRulesAgreeWithTranslate(t *testing.T) {
	t.Parallel()
	var cases []plugintest.TranslationCase
	found := map[int]bool{}
	for _, tc := range allGolden() {
		for _, from := range ruleVersions {
			for _, to := range ruleVersions {
				if Compare(from, to) == 0 {
					continue // the host translates nothing between equal versions
				}
				for _, dir := range []translator.Direction{toClient, toBackend} {
					r := tc.request()
					r.From, r.To, r.Direction = from, to, dir
					c := plugintest.TranslationCase{Name: fmt.Sprintf("%s/%s→%s/%s", tc.name, from, to, dir), Request: r}
					for i, n := range noCall {
						if n.name == tc.name && n.from == from && n.to == to && n.dir == dir {
							c.NoCall, found[i] = true, true
						}
					}
					cases = append(cases, c)
				}
			}
		}
	}
	for i, n := range noCall {
		if !found[i] {
			t.Errorf("no golden case %q", n.name)
		}
	}
	stats := plugintest.CheckTranslatorRules(t, New(nil), cases)
	t.Logf("%d cases: %d call Translate, %d match no rule, %d are settled by the host", stats.Cases, stats.Calls, stats.Untouched, stats.Cases-stats.Calls-stats.Untouched)
}
