package versions

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/translator"
)

// benchTools is a tools/list result of n 2025-11-25 tools, each with the
// fields a 2024-11-05 client does not know and a schema of realistic size.
func benchTools(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"jsonrpc":"2.0","id":42,"result":{"tools":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"tool_%d","title":"Tool %d","description":"Does thing %d to the input and returns a summary of what changed.",`+
			`"inputSchema":{"type":"object","$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"path":{"type":"string","description":"File path"},`+
			`"mode":{"type":"string","enum":["fast","slow"]},"limit":{"type":"integer","minimum":1,"maximum":100}},"required":["path"]},`+
			`"outputSchema":{"type":"object","properties":{"changed":{"type":"integer"}}},"annotations":{"readOnlyHint":false,"destructiveHint":true},`+
			`"icons":[{"src":"https://example.com/icon.png","mimeType":"image/png","sizes":["48x48"]}],"execution":{"taskSupport":"optional"},"_meta":{"com.example/k":%d}}`, i, i, i, i)
	}
	b.WriteString(`],"nextCursor":"abc"}}`)
	return []byte(b.String())
}

func BenchmarkTranslate(b *testing.B) {
	tr := New(nil)
	ctx := context.Background()
	benches := []struct {
		name string
		req  translator.TranslateRequest
	}{
		{"tools-list-50/2025-11-25→2024-11-05", translator.TranslateRequest{
			From: V20251125, To: V20241105, Direction: translator.ToClient, Kind: translator.KindResponse, Method: "tools/list",
			Message: benchTools(50),
		}},
		{"tools-call-request/2025-06-18→2026-07-28", translator.TranslateRequest{
			From: V20250618, To: V20260728, Direction: translator.ToBackend, Kind: translator.KindRequest, Method: "tools/call",
			Message: []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"query":"mcp proxy",` +
				`"limit":10,"filters":{"lang":["go","rust"],"since":"2025-01-01"}},"_meta":{"progressToken":"p-7"}}}`),
			Session: session,
		}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.req.Message)))
			for b.Loop() {
				got, err := tr.Translate(ctx, bb.req)
				if err != nil || got.Message == nil {
					b.Fatalf("Translate = %+v, %v", got, err)
				}
			}
		})
	}
}

// benchToolResult is a tools/call result of about size bytes, one text
// block of prose and code (escaped quotes and newlines, as a file's
// contents bring); modern adds the 2026-07-28 result members.
func benchToolResult(size int, modern bool) []byte {
	head := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"`
	tail := `"}],"isError":false}}`
	if modern {
		head = `{"jsonrpc":"2.0","id":7,"result":{"resultType":"complete","content":[{"type":"text","text":"`
		tail = `"}],"isError":false,"ttlMs":0,"cacheScope":"private","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}}}}`
	}
	const text = `The handler reads the request, checks its \"name\" and answers; see https://example.com/docs/a_b.\n` +
		`func (s *Server) Handle(ctx context.Context, req *Request) error {\n\tif req.Name == \"\" {\n` +
		`\t\treturn fmt.Errorf(\"missing name: %w\", ErrInvalid)\n\t}\n\treturn s.next.Handle(ctx, req)\n}\n`
	n := max(size-len(head)-len(tail), 1)
	body := strings.TrimRight(strings.Repeat(text, n/len(text)+1)[:n], `\`)
	return []byte(head + body + tail)
}

// benchEchoResult is the example server's echo result from a 2026-07-28
// backend, of about size bytes: a text and the same text as
// structuredContent.
func benchEchoResult(size int) []byte {
	text := benchToolResult(size/2, false)
	text = text[len(`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"`) : len(text)-len(`"}],"isError":false}}`)]
	return []byte(`{"jsonrpc":"2.0","id":7,"result":{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"example","version":"1.0.0"}},` +
		`"content":[{"type":"text","text":"` + string(text) + `"}],"resultType":"complete","structuredContent":{"text":"` + string(text) + `"}}}`)
}

// hostBenches are the messages of BenchmarkHostRules and
// BenchmarkTranslateOverGRPC: a plain text result between legacy
// revisions (nothing to do), a 2026-07-28 result for a legacy client (the
// host strips four members), the example server's echo from a 2026-07-28
// backend for a 2024-11-05 client (the host strips its 2026-07-28 members
// and moves its structuredContent into a text block) and a legacy
// client's request for a 2026-07-28 backend (the host adds request
// metadata).
func hostBenches() []struct {
	name string
	req  translator.TranslateRequest
} {
	type bench = struct {
		name string
		req  translator.TranslateRequest
	}
	var out []bench
	for _, size := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"100KB", 100 << 10}} {
		out = append(out,
			bench{"no-match/" + size.name, translator.TranslateRequest{From: V20251125, To: V20250618, Direction: translator.ToClient,
				Kind: translator.KindResponse, Method: "tools/call", Message: benchToolResult(size.n, false)}},
			bench{"edit/" + size.name, translator.TranslateRequest{From: V20260728, To: V20250618, Direction: translator.ToClient,
				Kind: translator.KindResponse, Method: "tools/call", Message: benchToolResult(size.n, true)}},
			bench{"structured/" + size.name, translator.TranslateRequest{From: V20260728, To: V20241105, Direction: translator.ToClient,
				Kind: translator.KindResponse, Method: "tools/call", Message: benchEchoResult(size.n)}},
		)
	}
	return append(out, bench{"request-meta", translator.TranslateRequest{From: V20250618, To: V20260728, Direction: translator.ToBackend,
		Kind: translator.KindRequest, Method: "tools/call", Session: session,
		Message: []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search","arguments":{"query":"mcp proxy"},"_meta":{"progressToken":"p-7"}}}`)}})
}

// BenchmarkHostRules measures what the host does with the versions
// translator's rules per message (plan lookup, conditions, edits), next to
// Translate alone in process (what a host of API minor 1 calls over gRPC
// for each of these messages).
func BenchmarkHostRules(b *testing.B) {
	tr := New(nil)
	rules, err := translator.Compile(tr.rules)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range hostBenches() {
		req := bb.req
		b.Run("host/"+bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Message)))
			session := func() translator.Session { return req.Session }
			for b.Loop() {
				out, err := rules.Plan(req.From, req.To, req.Direction, req.Method, req.Kind).Apply(req.Message, session)
				if err != nil || out.Translate || out.Drop {
					b.Fatalf("Apply = %+v, %v; want no plugin call", out, err)
				}
			}
		})
		b.Run("translate/"+bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Message)))
			for b.Loop() {
				if _, err := tr.Translate(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTranslateOverGRPC is the plugin call BenchmarkHostRules saves:
// Translate over real gRPC, in process (no process hop, so a floor).
func BenchmarkTranslateOverGRPC(b *testing.B) {
	c := plugintest.ServeTranslator(b, New(nil))
	for _, bb := range hostBenches() {
		req := bb.req
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Message)))
			for b.Loop() {
				if _, err := c.Translate(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
