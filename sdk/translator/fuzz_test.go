package translator_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mcphost/mcphost/sdk/translator"
)

// FuzzApply: a rule of any shape the host accepts (one condition, one
// edit of any op), applied to any message, never panics, never writes to
// the message it is given, turns valid JSON into valid JSON, and a set,
// an add or a move applied again changes nothing more.
func FuzzApply(f *testing.F) {
	const text = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"structuredContent":{"a":[1,2]}}}`
	f.Add([]byte(text), `"text"`, "result.content", "", uint8(translator.EditMoveToTextBlock), "result.content", "result.structuredContent", "", uint8(0), false)
	f.Add([]byte(text), "", "result.structuredContent", "object", uint8(translator.EditDelete), "result.structuredContent", "", "", uint8(0), true)
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`), "", "", "", uint8(translator.EditSet), "params._meta.io\\.modelcontextprotocol/clientCapabilities", "", "", uint8(translator.SessionClientCapabilities), false)
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","ttlMs":0}}`), `"resultType"`, "result.resultType", "", uint8(translator.EditDelete), "result.resultType", "", "", uint8(0), false)
	f.Add([]byte(`{"a":{"b":{}},"a":1}`), "", "a.b", "", uint8(translator.EditAdd), "a.b.c", "", ` { "x" : [ 1 , 2 ] } `, uint8(0), false)
	f.Add([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}}`), "", "", "", uint8(translator.EditDrop), "", "", "", uint8(0), false)
	f.Add([]byte(`{"x":"\u0041","y":[{"a":1}]}`), "", "x", "string", uint8(translator.EditSet), "y.0.a", "", `"v"`, uint8(translator.SessionLogLevel), false)
	f.Fuzz(func(t *testing.T, msg []byte, contains, condPath, is string, op uint8, path, from, value string, session uint8, prune bool) {
		var when []translator.Condition
		if contains != "" || condPath != "" {
			c := translator.Condition{Contains: contains, Path: condPath}
			if is != "" && condPath != "" {
				c.Is = []string{is}
			}
			when = []translator.Condition{c}
		}
		edit := translator.Edit{Op: translator.EditOp(op%6 + 1), Path: path, From: from, Value: value, Prune: prune}
		if edit.Op == translator.EditSet {
			edit.FromSession = translator.SessionField(session % 4)
		}
		if edit.Op > translator.EditMoveToTextBlock {
			edit.Op = translator.EditSet
		}
		rs, err := translator.Compile([]translator.Rule{{
			From: translator.Wildcard, To: translator.Wildcard, Methods: []string{translator.Wildcard},
			When: when, Edits: []translator.Edit{edit}, HostOnly: true,
		}})
		if err != nil {
			return
		}
		plan := rs.Plan("2025-06-18", "2025-11-25", translator.ToClient, "tools/call", translator.KindResponse)
		sess := func() translator.Session {
			return translator.Session{ClientCapabilities: []byte(`{"sampling":{}}`), ClientInfo: []byte(`{"name":"c"}`), LogLevel: "info"}
		}
		orig := bytes.Clone(msg)
		out, err := plan.Apply(msg, sess)
		if !bytes.Equal(msg, orig) {
			t.Fatalf("Apply wrote to its input")
		}
		if err != nil || out.Drop || !json.Valid(msg) {
			return
		}
		if !json.Valid(out.Message) {
			t.Fatalf("%+v on %q = %q: not JSON", edit, msg, out.Message)
		}
		switch edit.Op {
		case translator.EditSet, translator.EditAdd, translator.EditMoveToTextBlock:
			again, err := plan.Apply(out.Message, sess)
			if err != nil || !bytes.Equal(again.Message, out.Message) {
				t.Fatalf("%+v on %q = %q, then %q (%v)", edit, msg, out.Message, again.Message, err)
			}
		}
	})
}
