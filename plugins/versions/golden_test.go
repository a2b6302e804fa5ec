package versions

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/mcphost/mcphost/sdk/translator"
)

// golden is one message through Translate and the bytes expected out.
type golden struct {
	name     string
	from, to string
	dir      translator.Direction
	kind     string
	method   string
	session  translator.Session
	in       string
	// want is the expected message, compared after compacting; "" means
	// unchanged (a nil Message).
	want string
	drop bool
}

const (
	toClient  = translator.ToClient
	toBackend = translator.ToBackend
	req       = translator.KindRequest
	notif     = translator.KindNotification
	resp      = translator.KindResponse
)

// runGolden translates each case in-process and checks the result. A case
// that changes the message must also be matched by a rule, or the host
// would never call Translate for it.
func runGolden(t *testing.T, cases []golden) {
	t.Helper()
	tr := New(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tr.Translate(context.Background(), tc.request())
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkGolden(t, tc, got)
			if (tc.want != "" || tc.drop) && !ruleMatches(tr.rules, tc.from, tc.to, tc.dir, tc.method) {
				t.Errorf("no rule matches %s %s from %s to %s, so the host would never translate it", tc.dir, tc.method, tc.from, tc.to)
			}
		})
	}
}

func (tc golden) request() translator.TranslateRequest {
	return translator.TranslateRequest{
		From: tc.from, To: tc.to, Direction: tc.dir, Method: tc.method, Kind: tc.kind,
		Message: []byte(tc.in), Session: tc.session,
	}
}

func checkGolden(t *testing.T, tc golden, got translator.TranslateResponse) {
	t.Helper()
	if got.Drop != tc.drop {
		t.Fatalf("Drop = %t, want %t", got.Drop, tc.drop)
	}
	if tc.drop {
		return
	}
	if tc.want == "" {
		if got.Message != nil {
			t.Fatalf("message changed to %s, want unchanged", got.Message)
		}
		return
	}
	if got.Message == nil {
		t.Fatalf("message unchanged, want %s", tc.want)
	}
	if !json.Valid(got.Message) {
		t.Fatalf("output is not valid JSON: %s", got.Message)
	}
	if g, w := compactString(t, got.Message), compactString(t, []byte(tc.want)); g != w {
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

func compactString(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %s: %v", b, err)
	}
	return buf.String()
}

func ruleMatches(rules []translator.Rule, from, to string, dir translator.Direction, method string) bool {
	for _, r := range rules {
		if r.Matches(from, to, dir, method) {
			return true
		}
	}
	return false
}

// TestTo20241105 covers what 2025-03-26 added: tool annotations, audio,
// progress messages.
func TestTo20241105(t *testing.T) {
	t.Parallel()
	runGolden(t, to20241105Cases)
}

var to20241105Cases = []golden{
	{
		name: "tool annotations stripped, schemas untouched", from: V20250326, to: V20241105, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","description":"d","inputSchema":{"type":"object","anyOf":[{"required":["x"]}],"$schema":"s"},"annotations":{"readOnlyHint":true}},{"name":"b","inputSchema":{"type":"object"}}],"nextCursor":"c"}}`,
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","description":"d","inputSchema":{"type":"object","anyOf":[{"required":["x"]}],"$schema":"s"}},{"name":"b","inputSchema":{"type":"object"}}],"nextCursor":"c"}}`,
	},
	{
		name: "every later tool field stripped, unknown ones kept", from: V20251125, to: V20241105, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"a","title":"A","inputSchema":{"type":"object"},"outputSchema":{"type":"object"},"annotations":{"title":"A"},"icons":[{"src":"https://i/a.png"}],"execution":{"taskSupport":"optional"},"_meta":{"k":1},"x-vendor":true}]}}`,
		want: `{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"a","inputSchema":{"type":"object"},"_meta":{"k":1},"x-vendor":true}]}}`,
	},
	{
		name: "pretty-printed input keeps its untouched bytes", from: V20250326, to: V20241105, dir: toClient, kind: resp, method: "tools/list",
		in:   "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[ {\"name\":\"a\", \"annotations\":{}} , {\"name\":\"b\"} ]}}",
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"a"},{"name":"b"} ]}}`,
	},
	{
		name: "audio becomes text, annotations kept", from: V20250326, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi","annotations":{"audience":["user"],"priority":0.5}},{"type":"audio","data":"AAECAw==","mimeType":"audio/wav","annotations":{"audience":["assistant"]}}],"isError":false}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi","annotations":{"audience":["user"],"priority":0.5}},{"type":"text","annotations":{"audience":["assistant"]},"text":"[audio content, mimeType audio/wav, 4 bytes omitted]"}],"isError":false}}`,
	},
	{
		name: "audio in a prompt message", from: V20250326, to: V20241105, dir: toClient, kind: resp, method: "prompts/get",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"description":"p","messages":[{"role":"user","content":{"type":"audio","data":"AAAA","mimeType":"audio/mp3"}},{"role":"assistant","content":{"type":"text","text":"ok"}}]}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"description":"p","messages":[{"role":"user","content":{"type":"text","text":"[audio content, mimeType audio/mp3, 3 bytes omitted]"}},{"role":"assistant","content":{"type":"text","text":"ok"}}]}}`,
	},
	{
		name: "progress message stripped", from: V20250618, to: V20241105, dir: toClient, kind: notif, method: "notifications/progress",
		in:   `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2,"message":"half"}}`,
		want: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2}}`,
	},
	{
		name: "progress without message unchanged", from: V20250326, to: V20241105, dir: toClient, kind: notif, method: "notifications/progress",
		in: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`,
	},
	{
		name: "structured content and a resource link", from: V20251125, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"resource_link","uri":"file:///r.md","name":"r","mimeType":"text/markdown","icons":[{"src":"x"}]}],"structuredContent":{"a":1}}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"text","text":"Resource link: r <file:///r.md> [text/markdown]"},{"type":"text","text":"{\"a\":1}"}]}}`,
	},
	{
		name: "2024-10-07 counts as 2024-11-05", from: V20250326, to: V20241007, dir: toClient, kind: notif, method: "notifications/progress",
		in:   `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1,"message":"m"}}`,
		want: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}`,
	},
	{
		name: "resources/read needs nothing", from: V20251125, to: V20241105, dir: toClient, kind: resp, method: "resources/read",
		in: `{"jsonrpc":"2.0","id":5,"result":{"contents":[{"uri":"a","text":"t","_meta":{"k":1}}]}}`,
	},
	{
		name: "error responses pass", from: V20250326, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"bad"}}`,
	},
}

// TestTo20250326 covers what 2025-06-18 added: titles, outputSchema and
// structuredContent, resource links, lastModified, completion context.
func TestTo20250326(t *testing.T) {
	t.Parallel()
	runGolden(t, to20250326Cases)
}

var to20250326Cases = []golden{
	{
		name: "outputSchema and title stripped, annotations kept", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","title":"A","inputSchema":{"type":"object"},"outputSchema":{"type":"object","properties":{"n":{"type":"number"}}},"annotations":{"title":"A","readOnlyHint":true}}]}}`,
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"},"annotations":{"title":"A","readOnlyHint":true}}]}}`,
	},
	{
		name: "structuredContent dropped when a text block already carries it", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\n  \"b\": [1, 2],\n  \"a\": \"x\"\n}"}],"structuredContent":{"a":"x","b":[1,2]}}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\n  \"b\": [1, 2],\n  \"a\": \"x\"\n}"}]}}`,
	},
	{
		name: "structuredContent without content gets a text block", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"structuredContent":{ "n" : 1 },"isError":false}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"isError":false,"content":[{"type":"text","text":"{\"n\":1}"}]}}`,
	},
	{
		name: "resource link with title and description, lastModified stripped", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"resource_link","uri":"file:///a","name":"a","title":"The A","description":"About a","size":3,"annotations":{"audience":["user"],"lastModified":"2025-01-01T00:00:00Z"},"_meta":{"k":"v"}}]}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","annotations":{"audience":["user"]},"_meta":{"k":"v"},"text":"Resource link: The A (a) <file:///a>\nAbout a"}]}}`,
	},
	{
		name: "lastModified stripped from embedded resources in prompts", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "prompts/get",
		in:   `{"jsonrpc":"2.0","id":5,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"a","text":"t"},"annotations":{"lastModified":"2025-01-01T00:00:00Z"}}}]}}`,
		want: `{"jsonrpc":"2.0","id":5,"result":{"messages":[{"role":"user","content":{"type":"resource","resource":{"uri":"a","text":"t"}}}]}}`,
	},
	{
		name: "prompt and argument titles stripped", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "prompts/list",
		in:   `{"jsonrpc":"2.0","id":6,"result":{"prompts":[{"name":"p","title":"P","arguments":[{"name":"x","title":"X","required":true},{"name":"y"}]},{"name":"q"}]}}`,
		want: `{"jsonrpc":"2.0","id":6,"result":{"prompts":[{"name":"p","arguments":[{"name":"x","required":true},{"name":"y"}]},{"name":"q"}]}}`,
	},
	{
		name: "resource title, icons and lastModified stripped", from: V20251125, to: V20250326, dir: toClient, kind: resp, method: "resources/list",
		in:   `{"jsonrpc":"2.0","id":7,"result":{"resources":[{"uri":"a","name":"a","title":"A","size":10,"icons":[{"src":"i"}],"annotations":{"lastModified":"2025-01-01T00:00:00Z"}},{"uri":"b","name":"b","annotations":{"priority":1,"lastModified":"x"}}]}}`,
		want: `{"jsonrpc":"2.0","id":7,"result":{"resources":[{"uri":"a","name":"a","size":10},{"uri":"b","name":"b","annotations":{"priority":1}}]}}`,
	},
	{
		name: "template titles stripped", from: V20250618, to: V20241105, dir: toClient, kind: resp, method: "resources/templates/list",
		in:   `{"jsonrpc":"2.0","id":8,"result":{"resourceTemplates":[{"uriTemplate":"a/{x}","name":"a","title":"A"}]}}`,
		want: `{"jsonrpc":"2.0","id":8,"result":{"resourceTemplates":[{"uriTemplate":"a/{x}","name":"a"}]}}`,
	},
	{
		name: "completion results need nothing", from: V20251125, to: V20250326, dir: toClient, kind: resp, method: "completion/complete",
		in: `{"jsonrpc":"2.0","id":9,"result":{"completion":{"values":["a"],"hasMore":false}}}`,
	},
	{
		name: "tools without new fields unchanged", from: V20250618, to: V20250326, dir: toClient, kind: resp, method: "tools/list",
		in: `{"jsonrpc":"2.0","id":10,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"}}]}}`,
	},
}

// TestStructuredContent covers structuredContent for clients that cannot
// read it: dropped, and kept as JSON text in a text block unless one
// already holds it (which the host does itself, with
// translator.EditMoveToTextBlock).
func TestStructuredContent(t *testing.T) {
	t.Parallel()
	runGolden(t, structuredCases)
}

// exampleEcho is the example server's echo result as a 2026-07-28
// backend sends it, and echoText the text block it becomes.
const (
	exampleEcho = `{"jsonrpc":"2.0","id":1,"result":{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"example","version":"1.0.0"}},` +
		`"content":[{"type":"text","text":"hi"}],"resultType":"complete","structuredContent":{"text":"hi"}}}`
	echoText = `{"type":"text","text":"{\"text\":\"hi\"}"}`
)

var structuredCases = []golden{
	{
		name: "the example server's echo from a 2026-07-28 backend", from: V20260728, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   exampleEcho,
		want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"},` + echoText + `]}}`,
	},
	{
		name: "the example server's echo from a 2025-11-25 backend", from: V20251125, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}],"structuredContent":{"text":"hi"}}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"},` + echoText + `]}}`,
	},
	{
		name: "a text block holds the structured content as written", from: V20251125, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"content":[` + echoText + `],"structuredContent":{"text":"hi"},"isError":false}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"content":[` + echoText + `],"isError":false}}`,
	},
	{
		name: "a text block holds it pretty-printed, members reordered", from: V20260728, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":4,"result":{"resultType":"complete","structuredContent":{"b":{"y":[1,2.50,"\u00e9"],"x":null},"a":"x"},` +
			`"content":[{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"text","text":"{\n  \"a\": \"x\",\n  \"b\": {\"x\": null, \"y\": [1, 2.50, \"é\"]}\n}"}]}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"image","data":"AA==","mimeType":"image/png"},` +
			`{"type":"text","text":"{\n  \"a\": \"x\",\n  \"b\": {\"x\": null, \"y\": [1, 2.50, \"é\"]}\n}"}]}}`,
	},
	{
		name: "numbers spelt otherwise are another document", from: V20251125, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"{\"n\":1.0}"}],"structuredContent":{"n":1}}}`,
		want: `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"{\"n\":1.0}"},{"type":"text","text":"{\"n\":1}"}]}}`,
	},
	{
		name: "structured content without content, after it", from: V20250618, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{\"isError\":true ,\n  \"structuredContent\" : [ ]\n}}",
		want: `{"jsonrpc":"2.0","id":6,"result":{"isError":true,"content":[{"type":"text","text":"[]"}]}}`,
	},
	{
		name: "nested and non-ASCII structured content", from: V20260728, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":7,"result":{"content":[],"structuredContent":{ "s" : "café \u00e9 ✓ <&> \"q\" \\", "deep": [{"a":{"b":[true,false,null,-0.5e-3]}}],` +
			`"\u2028":"` + "\u2028" + `"},"resultType":"complete","ttlMs":0}}`,
		want: `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"{\"s\":\"café \\u00e9 ✓ <&> \\\"q\\\" \\\\\",\"deep\":[{\"a\":{\"b\":[true,false,null,-0.5e-3]}}],` +
			`\"\\u2028\":\"\u2028\"}"}]}}`,
	},
	{
		name: "content that is not an array", from: V20251125, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":8,"result":{"content":{"type":"text","text":"x"},"structuredContent":{"a":1}}}`,
		want: `{"jsonrpc":"2.0","id":8,"result":{"content":{"type":"text","text":"x"}}}`,
	},
	{
		name: "a non-object structuredContent a text block holds", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":9,"result":{"resultType":"complete","content":[{"type":"text","text":" \"ok\" "}],"structuredContent":"ok"}}`,
		want: `{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":" \"ok\" "}]}}`,
	},
	{
		name: "a null structuredContent", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":10,"result":{"content":[{"type":"text","text":"none"}],"structuredContent":null}}`,
		want: `{"jsonrpc":"2.0","id":10,"result":{"content":[{"type":"text","text":"none"},{"type":"text","text":"null"}]}}`,
	},
	{
		name: "structured content with audio and a dated resource", from: V20251125, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":11,"result":{"content":[{"type":"audio","data":"AAAA","mimeType":"audio/wav"},` +
			`{"type":"resource","resource":{"uri":"a","text":"t"},"annotations":{"lastModified":"2025-01-01T00:00:00Z"}}],"structuredContent":{"ok":true}}}`,
		want: `{"jsonrpc":"2.0","id":11,"result":{"content":[{"type":"text","text":"[audio content, mimeType audio/wav, 3 bytes omitted]"},` +
			`{"type":"resource","resource":{"uri":"a","text":"t"}},{"type":"text","text":"{\"ok\":true}"}]}}`,
	},
}

// TestTo20250618 covers what 2025-11-25 added: icons, execution, the
// elicitation rework, URL elicitation, sampling with tools.
func TestTo20250618(t *testing.T) {
	t.Parallel()
	runGolden(t, to20250618Cases)
}

var to20250618Cases = []golden{
	{
		name: "icons and execution stripped, title and outputSchema kept", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","title":"A","icons":[{"src":"i","sizes":["48x48"]}],"inputSchema":{"type":"object"},"outputSchema":{"type":"object"},"execution":{"taskSupport":"required"}}]}}`,
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","title":"A","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}}]}}`,
	},
	{
		name: "prompt icons stripped", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "prompts/list",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"p","title":"P","icons":[]}]}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"p","title":"P"}]}}`,
	},
	{
		name: "resource link icons stripped", from: V20251125, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"resource_link","uri":"a","name":"a","icons":[{"src":"i"}],"annotations":{"lastModified":"x"}}],"structuredContent":{"a":1}}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"resource_link","uri":"a","name":"a","annotations":{"lastModified":"x"}}],"structuredContent":{"a":1}}}`,
	},
	{
		name: "titled enum becomes enumNames, defaults go but on booleans", from: V20251125, to: V20250618, dir: toClient, kind: req, method: "elicitation/create",
		in:   `{"jsonrpc":"2.0","id":4,"method":"elicitation/create","params":{"mode":"form","message":"Pick","requestedSchema":{"type":"object","properties":{"color":{"type":"string","title":"Color","oneOf":[{"const":"r","title":"Red"},{"const":"g"}],"default":"r"},"name":{"type":"string","default":"n"},"ok":{"type":"boolean","default":true},"age":{"type":"integer","default":3}},"required":["color"]}}}`,
		want: `{"jsonrpc":"2.0","id":4,"method":"elicitation/create","params":{"message":"Pick","requestedSchema":{"type":"object","properties":{"color":{"type":"string","title":"Color","enum":["r","g"],"enumNames":["Red","g"]},"name":{"type":"string"},"ok":{"type":"boolean","default":true},"age":{"type":"integer"}},"required":["color"]}}}`,
	},
	{
		name: "multi-select has no older form: the request is dropped (the host declines it)", from: V20251125, to: V20250618, dir: toClient, kind: req, method: "elicitation/create",
		in:   `{"jsonrpc":"2.0","id":8,"method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object","properties":{"tags":{"type":"array","items":{"anyOf":[{"const":"a","title":"A"}]},"default":["a"],"maxItems":2}}}}}`,
		drop: true,
	},
	{
		name: "legacy enum form unchanged", from: V20251125, to: V20250618, dir: toClient, kind: req, method: "elicitation/create",
		in: `{"jsonrpc":"2.0","id":5,"method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object","properties":{"c":{"type":"string","enum":["a"],"enumNames":["A"]}}}}}`,
	},
	{
		name: "URL mode becomes a form with the URL in its message", from: V20251125, to: V20250618, dir: toClient, kind: req, method: "elicitation/create",
		in:   `{"jsonrpc":"2.0","id":6,"method":"elicitation/create","params":{"mode":"url","message":"Sign in","url":"https://example.com/auth?x=1","elicitationId":"e1","_meta":{"k":1}}}`,
		want: `{"jsonrpc":"2.0","id":6,"method":"elicitation/create","params":{"message":"Sign in\n\nOpen this URL to continue: https://example.com/auth?x=1","_meta":{"k":1},"requestedSchema":{"type":"object","properties":{}}}}`,
	},
	{
		name: "elicitation complete dropped", from: V20251125, to: V20250618, dir: toClient, kind: notif, method: "notifications/elicitation/complete",
		in: `{"jsonrpc":"2.0","method":"notifications/elicitation/complete","params":{"elicitationId":"e1"}}`, drop: true,
	},
	{
		name: "sampling tools stripped, includeContext none", from: V20251125, to: V20250618, dir: toClient, kind: req, method: "sampling/createMessage",
		in:   `{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"includeContext":"thisServer","tools":[{"name":"t","inputSchema":{"type":"object"}}],"toolChoice":{"mode":"auto"},"maxTokens":10}}`,
		want: `{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"includeContext":"none","maxTokens":10}}`,
	},
}

// TestSamplingBetweenLegacy covers sampling requests and results, which
// change in both directions.
func TestSamplingBetweenLegacy(t *testing.T) {
	t.Parallel()
	runGolden(t, samplingBetweenLegacyCases)
}

var samplingBetweenLegacyCases = []golden{
	{
		name: "includeContext allServers toward a newer client", from: V20250618, to: V20251125, dir: toClient, kind: req, method: "sampling/createMessage",
		in:   `{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{"messages":[],"includeContext":"allServers","maxTokens":1}}`,
		want: `{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{"messages":[],"includeContext":"none","maxTokens":1}}`,
	},
	{
		name: "includeContext none unchanged", from: V20241105, to: V20250326, dir: toClient, kind: req, method: "sampling/createMessage",
		in: `{"jsonrpc":"2.0","id":2,"method":"sampling/createMessage","params":{"messages":[],"includeContext":"none","maxTokens":1}}`,
	},
	{
		name: "audio in a sampling message for a 2024-11-05 client", from: V20250326, to: V20241105, dir: toClient, kind: req, method: "sampling/createMessage",
		in:   `{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"audio","data":"AAAA","mimeType":"audio/ogg"}}],"maxTokens":1}}`,
		want: `{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"[audio content, mimeType audio/ogg, 3 bytes omitted]"}}],"maxTokens":1}}`,
	},
	{
		name: "audio in a client's sampling result for a 2024-11-05 backend", from: V20250326, to: V20241105, dir: toBackend, kind: resp, method: "sampling/createMessage",
		in:   `{"jsonrpc":"2.0","id":4,"result":{"role":"assistant","content":{"type":"audio","data":"AAAAAAAA","mimeType":"audio/wav"},"model":"m","stopReason":"endTurn"}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"role":"assistant","content":{"type":"text","text":"[audio content, mimeType audio/wav, 6 bytes omitted]"},"model":"m","stopReason":"endTurn"}}`,
	},
	{
		name: "text sampling result unchanged", from: V20251125, to: V20250618, dir: toBackend, kind: resp, method: "sampling/createMessage",
		in: `{"jsonrpc":"2.0","id":5,"result":{"role":"assistant","content":{"type":"text","text":"x"},"model":"m"}}`,
	},
}

// TestFrom20260728 covers a modern backend's messages toward legacy
// clients.
func TestFrom20260728(t *testing.T) {
	t.Parallel()
	runGolden(t, from20260728Cases)
}

var from20260728Cases = []golden{
	{
		name: "result fields stripped, non-object outputSchema dropped", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[{"name":"a","inputSchema":{"type":"object"},"outputSchema":{"type":"array","items":{"type":"string"}}},{"name":"b","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}}],"ttlMs":60000,"cacheScope":"public","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"},"com.example/k":1}}}`,
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"b","inputSchema":{"type":"object"},"outputSchema":{"type":"object"}}],"_meta":{"com.example/k":1}}}`,
	},
	{
		name: "down to 2025-03-26 strips the legacy fields too", from: V20260728, to: V20250326, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"resultType":"complete","tools":[{"name":"a","title":"A","inputSchema":{"type":"object"},"icons":[]}],"ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s"}}}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"}}]}}`,
	},
	{
		name: "non-object structuredContent kept as text", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete","content":[],"structuredContent":[1,2]}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"[1,2]"}]}}`,
	},
	{
		name: "object structuredContent kept for 2025-06-18", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":4,"result":{"resultType":"complete","content":[{"type":"text","text":"{}"}],"structuredContent":{}}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"{}"}],"structuredContent":{}}}`,
	},
	{
		name: "input_required is left for the host", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":5,"result":{"resultType":"input_required","inputRequests":{"a":{"method":"roots/list"}}}}`,
	},
	{
		name: "empty result", from: V20260728, to: V20241105, dir: toClient, kind: resp, method: "ping",
		in:   `{"jsonrpc":"2.0","id":6,"result":{"resultType":"complete"}}`,
		want: `{"jsonrpc":"2.0","id":6,"result":{}}`,
	},
	{
		name: "subscription id stripped with the empty _meta", from: V20260728, to: V20251125, dir: toClient, kind: notif, method: "notifications/resources/updated",
		in:   `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"a","_meta":{"io.modelcontextprotocol/subscriptionId":7}}}`,
		want: `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"a"}}`,
	},
	{
		name: "subscription id stripped, other keys kept", from: V20260728, to: V20250618, dir: toClient, kind: notif, method: "notifications/tools/list_changed",
		in:   `{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"traceparent":"00-a-b-01","io.modelcontextprotocol/subscriptionId":"s"}}}`,
		want: `{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"traceparent":"00-a-b-01"}}}`,
	},
	{
		name: "notification without _meta unchanged", from: V20260728, to: V20250618, dir: toClient, kind: notif, method: "notifications/message",
		in: `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}`,
	},
	{
		name: "resource not found back to -32002", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "resources/read",
		in:   `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Resource not found","data":{"uri":"a"}}}`,
		want: `{"jsonrpc":"2.0","id":7,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"a"}}}`,
	},
	{
		name: "other invalid params stays", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "resources/read",
		in: `{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"uri is required"}}`,
	},
	{
		name: "not found on another method stays", from: V20260728, to: V20251125, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"Tool not found"}}`,
	},
	{
		name: "unsupported version becomes invalid request", from: V20260728, to: V20250618, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":10,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2025-06-18"}}}`,
		want: `{"jsonrpc":"2.0","id":10,"error":{"code":-32600,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2025-06-18","originalCode":-32022}}}`,
	},
	{
		name: "missing capability without data", from: V20260728, to: V20241105, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":11,"error":{"code":-32021,"message":"Missing capability"}}`,
		want: `{"jsonrpc":"2.0","id":11,"error":{"code":-32600,"message":"Missing capability","data":{"originalCode":-32021}}}`,
	},
	{
		name: "header mismatch with non-object data", from: V20260728, to: V20250326, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":12,"error":{"code":-32020,"message":"Header mismatch","data":"Mcp-Name"}}`,
		want: `{"jsonrpc":"2.0","id":12,"error":{"code":-32600,"message":"Header mismatch","data":"Mcp-Name"}}`,
	},
}

// TestTo20260728Clients covers legacy backends' messages toward a modern
// client.
func TestTo20260728Clients(t *testing.T) {
	t.Parallel()
	runGolden(t, to20260728ClientsCases)
}

var to20260728ClientsCases = []golden{
	{
		name: "list results get resultType and cache fields", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`,
		want: `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"resultType":"complete","ttlMs":0,"cacheScope":"private"}}`,
	},
	{
		name: "tool results get resultType only", from: V20250326, to: V20260728, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"x"}]}}`,
		want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"x"}],"resultType":"complete"}}`,
	},
	{
		name: "present cache fields kept", from: V20250618, to: V20260728, dir: toClient, kind: resp, method: "resources/read",
		in:   `{"jsonrpc":"2.0","id":3,"result":{"contents":[],"ttlMs":5}}`,
		want: `{"jsonrpc":"2.0","id":3,"result":{"contents":[],"ttlMs":5,"resultType":"complete","cacheScope":"private"}}`,
	},
	{
		name: "empty result", from: V20241007, to: V20260728, dir: toClient, kind: resp, method: "ping",
		in:   `{"jsonrpc":"2.0","id":4,"result":{}}`,
		want: `{"jsonrpc":"2.0","id":4,"result":{"resultType":"complete"}}`,
	},
	{
		name: "result with a resultType unchanged", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":5,"result":{"resultType":"complete","content":[]}}`,
	},
	{
		name: "-32002 becomes -32602", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "resources/read",
		in:   `{"jsonrpc":"2.0","id":6,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"a"}}}`,
		want: `{"jsonrpc":"2.0","id":6,"error":{"code":-32602,"message":"Resource not found","data":{"uri":"a"}}}`,
	},
	{
		name: "-32042 becomes -32603", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":7,"error":{"code":-32042,"message":"URL elicitation required","data":{"elicitations":[{"mode":"url","url":"u","elicitationId":"e","message":"m"}]}}}`,
		want: `{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"URL elicitation required","data":{"elicitations":[{"mode":"url","url":"u","elicitationId":"e","message":"m"}]}}}`,
	},
	{
		name: "other errors unchanged", from: V20251125, to: V20260728, dir: toClient, kind: resp, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"nope"}}`,
	},
	{
		name: "elicitation complete dropped for a 2026-07-28 client", from: V20251125, to: V20260728, dir: toClient, kind: notif, method: "notifications/elicitation/complete",
		in: `{"jsonrpc":"2.0","method":"notifications/elicitation/complete","params":{"elicitationId":"e"}}`, drop: true,
	},
	{
		name: "log notifications unchanged", from: V20250618, to: V20260728, dir: toClient, kind: notif, method: "notifications/message",
		in: `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}`,
	},
}

// session is a legacy client's initialize data as the host keeps it.
var session = translator.Session{
	ClientCapabilities: []byte(`{"sampling":{},"roots":{"listChanged":true}}`),
	ClientInfo:         []byte("{\n  \"name\": \"c\",\n  \"version\": \"1\"\n}"),
	LogLevel:           "debug",
}

const modernMeta = `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{},"roots":{"listChanged":true}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/logLevel":"debug"`

// TestToBackend covers requests and notifications toward backends.
func TestToBackend(t *testing.T) {
	t.Parallel()
	runGolden(t, toBackendCases)
}

var toBackendCases = []golden{
	{
		name: "meta merged, progressToken kept", from: V20251125, to: V20260728, dir: toBackend, kind: req, method: "tools/call", session: session,
		in:   `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":1},"_meta":{"progressToken":"p"}}}`,
		want: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":1},"_meta":{"progressToken":"p",` + modernMeta + `}}}`,
	},
	{
		name: "params created, empty capabilities are {}", from: V20241105, to: V20260728, dir: toBackend, kind: req, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		want: `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
	},
	{
		name: "_meta created", from: V20250618, to: V20260728, dir: toBackend, kind: req, method: "resources/read", session: session,
		in:   `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"a"}}`,
		want: `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"a","_meta":{` + modernMeta + `}}}`,
	},
	{
		name: "stale owned keys replaced", from: V20250326, to: V20260728, dir: toBackend, kind: req, method: "prompts/list", session: session,
		in:   `{"jsonrpc":"2.0","id":4,"method":"prompts/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-03-26","x":1}}}`,
		want: `{"jsonrpc":"2.0","id":4,"method":"prompts/list","params":{"_meta":{"x":1,` + modernMeta + `}}}`,
	},
	{
		name: "initialized dropped", from: V20250618, to: V20260728, dir: toBackend, kind: notif, method: "notifications/initialized",
		in: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, drop: true,
	},
	{
		name: "roots list_changed dropped", from: V20250618, to: V20260728, dir: toBackend, kind: notif, method: "notifications/roots/list_changed",
		in: `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, drop: true,
	},
	{
		name: "cancellation passes", from: V20250618, to: V20260728, dir: toBackend, kind: notif, method: "notifications/cancelled",
		in: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
	},
	{
		name: "modern meta stripped for a legacy backend", from: V20260728, to: V20251125, dir: toBackend, kind: req, method: "tools/call",
		in:   `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t","_meta":{` + modernMeta + `,"progressToken":3}}}`,
		want: `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":3}}}`,
	},
	{
		name: "an emptied _meta goes", from: V20260728, to: V20250618, dir: toBackend, kind: req, method: "tools/list",
		in:   `{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":{` + modernMeta + `}}}`,
		want: `{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{}}`,
	},
	{
		name: "completion context dropped", from: V20251125, to: V20250326, dir: toBackend, kind: req, method: "completion/complete",
		in:   `{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"x"},"context":{"arguments":{"b":"y"}}}}`,
		want: `{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"x"}}}`,
	},
	{
		name: "modern completion for 2024-11-05", from: V20260728, to: V20241105, dir: toBackend, kind: req, method: "completion/complete",
		in:   `{"jsonrpc":"2.0","id":8,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"a/{x}"},"argument":{"name":"x","value":"1"},"context":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		want: `{"jsonrpc":"2.0","id":8,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"a/{x}"},"argument":{"name":"x","value":"1"}}}`,
	},
	{
		name: "completion context dropped whatever the client's version", from: V20250326, to: V20241105, dir: toBackend, kind: req, method: "completion/complete",
		in:   `{"jsonrpc":"2.0","id":10,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"x"},"context":{}}}`,
		want: `{"jsonrpc":"2.0","id":10,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"x"}}}`,
	},
	{
		name: "legacy tool calls need nothing", from: V20241105, to: V20251125, dir: toBackend, kind: req, method: "tools/call",
		in: `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t"}}`,
	},
}

func TestInvalidSession(t *testing.T) {
	t.Parallel()
	_, err := New(nil).Translate(context.Background(), translator.TranslateRequest{
		From: V20250618, To: V20260728, Direction: toBackend, Kind: req, Method: "tools/list",
		Message: []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
		Session: translator.Session{ClientCapabilities: []byte(`{"sampling":`)},
	})
	if err == nil {
		t.Fatal("Translate accepted client capabilities that are not JSON")
	}
}

// allGolden is every case above.
func allGolden() []golden {
	return slices.Concat(to20241105Cases, to20250326Cases, structuredCases, to20250618Cases, samplingBetweenLegacyCases, from20260728Cases, to20260728ClientsCases, toBackendCases, editCases)
}

// TestUntouchedBytes checks that everything but the edited member passes
// byte for byte (spacing, escapes, number spelling), and that the input
// slice is not written to.
func TestUntouchedBytes(t *testing.T) {
	t.Parallel()
	in := `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","title":"A","inputSchema":{ "type" : "object",` +
		` "properties": {"x": {"type":"number","default":1.0e3,"description":"caf\u00e9 <b>"}}}},  {"name":"b","title":"B"} ,{"name":"c"}]}}`
	want := `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{ "type" : "object",` +
		` "properties": {"x": {"type":"number","default":1.0e3,"description":"caf\u00e9 <b>"}}}},{"name":"b"},{"name":"c"}]}}`
	msg := []byte(in)
	got, err := New(nil).Translate(context.Background(), translator.TranslateRequest{
		From: V20250618, To: V20250326, Direction: toClient, Kind: resp, Method: "tools/list", Message: msg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Message) != want {
		t.Errorf("got  %s\nwant %s", got.Message, want)
	}
	if string(msg) != in {
		t.Errorf("input was modified: %s", msg)
	}
}
