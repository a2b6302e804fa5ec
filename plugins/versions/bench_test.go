package versions

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
