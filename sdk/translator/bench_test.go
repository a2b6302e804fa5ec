package translator_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/translator"
)

// toolResult is a 2026-07-28 tools/call result of about size bytes: one
// text block of prose and code (with the escaped quotes and newlines a
// file's contents bring), and the members a legacy client does not know.
func toolResult(size int) []byte {
	const head = `{"jsonrpc":"2.0","id":7,"result":{"resultType":"complete","content":[{"type":"text","text":"`
	const tail = `"}],"isError":false,"ttlMs":0,"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}}}}`
	const text = `The handler reads the request, checks its \"name\" and answers; see https://example.com/docs/a_b.\n` +
		`func (s *Server) Handle(ctx context.Context, req *Request) error {\n\tif req.Name == \"\" {\n` +
		`\t\treturn fmt.Errorf(\"missing name: %w\", ErrInvalid)\n\t}\n\treturn s.next.Handle(ctx, req)\n}\n`
	n := max(size-len(head)-len(tail), 1)
	body := strings.Repeat(text, n/len(text)+1)[:n]
	body = strings.TrimRight(body, "\\") // do not escape the closing quote
	return []byte(head + body + tail)
}

// benchRules are the shape of the versions translator's rules for a
// 2026-07-28 backend's tools/call result toward a 2025-06-18 client.
var benchRules = []translator.Rule{
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"*"}, Kinds: []string{translator.KindResponse},
		When: []translator.Condition{{Contains: `"error"`, Path: "error"}}},
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"*"}, Kinds: []string{translator.KindResponse}, HostOnly: true,
		When:  []translator.Condition{{Contains: `"resultType"`}},
		Edits: []translator.Edit{{Op: translator.EditDelete, Path: "result.resultType", IfEquals: `"complete"`}}},
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"*"}, Kinds: []string{translator.KindResponse}, HostOnly: true,
		When:  []translator.Condition{{Contains: `"ttlMs"`}},
		Edits: []translator.Edit{{Op: translator.EditDelete, Path: "result.ttlMs"}}},
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"*"}, Kinds: []string{translator.KindResponse}, HostOnly: true,
		When:  []translator.Condition{{Contains: `"cacheScope"`}},
		Edits: []translator.Edit{{Op: translator.EditDelete, Path: "result.cacheScope"}}},
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"*"}, Kinds: []string{translator.KindResponse}, HostOnly: true,
		When:  []translator.Condition{{Contains: `"io.modelcontextprotocol/serverInfo"`}},
		Edits: []translator.Edit{{Op: translator.EditDelete, Path: `result._meta.io\.modelcontextprotocol/serverInfo`, Prune: true}}},
	{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"tools/call"}, Kinds: []string{translator.KindResponse},
		When: []translator.Condition{
			{Contains: `"resource_link"`, Path: `result.content.#(type=="resource_link")`},
			{Contains: `"structuredContent"`, Path: "result.structuredContent", IsNot: []string{translator.TypeObject}},
		}},
}

// BenchmarkApply measures the engine on a tools/call result: "no-match"
// when its conditions miss (only the Contains guards run), "edit" when the
// host strips the 2026-07-28 members itself.
func BenchmarkApply(b *testing.B) {
	noMatch, err := translator.Compile(benchRules[len(benchRules)-1:])
	if err != nil {
		b.Fatal(err)
	}
	edit, err := translator.Compile(benchRules)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"100KB", 100 << 10}} {
		msg := toolResult(size.n)
		for _, c := range []struct {
			name     string
			rs       *translator.RuleSet
			unedited bool
		}{{"no-match", noMatch, true}, {"edit", edit, false}} {
			b.Run(c.name+"/"+size.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					out, err := c.rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse).Apply(msg, nil)
					if err != nil || out.Translate || (len(out.Message) == len(msg)) != c.unedited {
						b.Fatalf("Apply = %+v, %v", out.Translate, err)
					}
				}
			})
		}
	}
}

// structuredResult is a tools/call result of about size bytes shaped as
// the example server's echo: a text block and the same text in
// structuredContent ("append": the block holds the text, not the JSON), or
// a text block holding structuredContent as JSON, as the spec recommends
// ("held"; "held-reordered" with its members in another order, which
// takes a decoding to compare).
func structuredResult(size int, shape string) []byte {
	body := string(toolResult(size / 2))
	body = body[strings.Index(body, `"text":"`)+8 : strings.Index(body, `"}],`)]
	structured := `{"text":"` + body + `","n":1}`
	text := body
	switch shape {
	case "held":
		text = strings.Trim(strconv.Quote(structured), `"`)
	case "held-reordered":
		text = strings.Trim(strconv.Quote(`{"n":1,"text":"`+body+`"}`), `"`)
	}
	return []byte(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"` + text + `"}],"structuredContent":` + structured + `,"isError":false}}`)
}

// BenchmarkMoveToTextBlock measures EditMoveToTextBlock as the versions
// translator uses it for a client before 2025-06-18.
func BenchmarkMoveToTextBlock(b *testing.B) {
	rs, err := translator.Compile([]translator.Rule{{
		From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"tools/call"}, Kinds: []string{translator.KindResponse}, HostOnly: true,
		When:  []translator.Condition{{Contains: `"structuredContent"`, Path: "result.structuredContent"}},
		Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	plan := rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse)
	for _, shape := range []string{"append", "held", "held-reordered"} {
		for _, size := range []struct {
			name string
			n    int
		}{{"100B", 100}, {"100KB", 100 << 10}} {
			msg := structuredResult(size.n, shape)
			b.Run(shape+"/"+size.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					out, err := plan.Apply(msg, nil)
					if err != nil || out.Translate || len(out.Message) == len(msg) {
						b.Fatalf("Apply = %+v, %v", out.Translate, err)
					}
				}
			})
		}
	}
}
