package translator

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// randomJSON writes a random JSON value, spaced at random, with the
// spellings that matter to EditMoveToTextBlock: escapes, non-ASCII and
// U+2028 in strings, names given twice, numbers written several ways.
func randomJSON(r *rand.Rand, b *strings.Builder, depth int) {
	space := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n  ", "\t", "\r\n"}[r.IntN(4)])
		}
	}
	space()
	switch k := r.IntN(8); {
	case k < 2 && depth < 4:
		b.WriteByte('{')
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			space()
			b.WriteString([]string{`"a"`, `"b"`, `"\u0061"`, `"ü"`, `"a b"`}[r.IntN(5)])
			space()
			b.WriteByte(':')
			randomJSON(r, b, depth+1)
		}
		space()
		b.WriteByte('}')
	case k < 4 && depth < 4:
		b.WriteByte('[')
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomJSON(r, b, depth+1)
		}
		space()
		b.WriteByte(']')
	case k < 6:
		b.WriteString([]string{`"hi"`, `""`, `"caf\u00e9"`, `"café"`, `"q\"\\/\n\t"`, "\"\u2028\u2029\"", `"{\"a\":1}"`, `"\ud83d\ude00"`, "\"😀 <&>\""}[r.IntN(9)])
	default:
		b.WriteString([]string{"1", "1.0", "-0", "1e2", "100", "true", "false", "null", "12345678901234567890"}[r.IntN(9)])
	}
	space()
}

// compactOrSelf is what the versions plugin compares first: the compact
// document, or the text itself when it is not JSON.
func compactOrSelf(s []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, s); err != nil {
		return string(s)
	}
	return buf.String()
}

// referenceSameJSON is EditMoveToTextBlock's "holds the same JSON" the
// plain way: compacted alike, or decoded alike.
func referenceSameJSON(text, value []byte) bool {
	if compactOrSelf(text) == compactOrSelf(value) {
		return true
	}
	if !gjson.ValidBytes(text) {
		return false
	}
	a, errA := decodeNumbers(text)
	b, errB := decodeNumbers(value)
	return errA == nil && errB == nil && reflect.DeepEqual(a, b)
}

// variants are texts a block may carry for value: itself, compacted,
// indented, re-encoded (member order and escapes change), cut, with a
// token split, and another value.
func variants(r *rand.Rand, value string) []string {
	out := []string{value, compactOrSelf([]byte(value)), "", " ", "x" + value, value + "x"}
	var indented bytes.Buffer
	if json.Indent(&indented, []byte(value), "", "  ") == nil {
		out = append(out, indented.String())
	}
	if v, err := decodeNumbers([]byte(value)); err == nil {
		if re, err := json.Marshal(v); err == nil {
			out = append(out, string(re))
		}
	}
	if i := strings.IndexAny(value, "0123456789elu"); i > 0 {
		out = append(out, value[:i]+" "+value[i:], value[:i])
	}
	var other strings.Builder
	randomJSON(r, &other, 0)
	return append(out, other.String())
}

// TestSameJSON checks the one-pass comparison against the plain one on
// random values and the texts a block may carry for them.
func TestSameJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		randomJSON(r, &b, 0)
		value := strings.TrimSpace(b.String())
		for _, text := range variants(r, value) {
			quoted := quote(text)
			if got, want := sameJSON(quoted, []byte(value)), referenceSameJSON([]byte(text), []byte(value)); got != want {
				t.Errorf("text %q, value %q: same %t, want %t", text, value, got, want)
			}
		}
	}
}

// TestJSONText checks T against the plain way of writing it: the compact
// document (encoding/json) as a string (quote, which is encoding/json's
// encoder), and the count against the writing.
func TestJSONText(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	values := []string{"\"\xff\xfe <a&b> \x7f\"", "\"\u2028\"", `"\ud800"`, ` [ 1 , "a b" ] `, `{}`}
	for range 3000 {
		var b strings.Builder
		randomJSON(r, &b, 0)
		values = append(values, strings.TrimSpace(b.String()))
	}
	for _, v := range values {
		want := string(quote(compactOrSelf([]byte(v))))
		got := appendJSONText([]byte("x"), []byte(v))
		if string(got[1:]) != want {
			t.Errorf("T of %q = %s, want %s", v, got[1:], want)
		}
		if n := jsonTextLen([]byte(v)); n != len(want) {
			t.Errorf("T of %q counted %d bytes, is %d", v, n, len(want))
		}
	}
}

// TestMoveToTextBlockAgreesWithDecoding moves the structuredContent of
// random tool results, spaced and ordered at random, sometimes after an
// edit that made the buffer the engine's own, and checks the outcome
// against the edit done on the decoded result.
func TestMoveToTextBlockAgreesWithDecoding(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	move := Edit{Op: EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"}
	for range 3000 {
		msg, value := randomResult(r)
		edits := []Edit{move}
		deleteX := r.IntN(2) == 0
		if deleteX {
			edits = []Edit{{Op: EditDelete, Path: "result.x"}, move}
		}
		rs, err := Compile([]Rule{{From: "*", To: "*", Methods: []string{"*"}, HostOnly: true, Edits: edits}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := rs.Plan("a", "b", ToClient, "tools/call", KindResponse).Apply([]byte(msg), nil)
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		got, errGot := decodeNumbers(out.Message)
		want := movedByDecoding(t, msg, value, deleteX)
		if errGot != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("moved %s\n got %s\nwant %v", msg, out.Message, want)
		}
	}
}

// randomResult is a tools/call response whose result has, in a random
// order, maybe a content array (with text blocks holding value's JSON
// text, other JSON or prose, and other blocks), maybe a structuredContent
// (value), and other members.
func randomResult(r *rand.Rand) (msg string, value string) {
	var v strings.Builder
	randomJSON(r, &v, 0)
	value = v.String()
	var members []string
	if r.IntN(5) > 0 {
		members = append(members, `"structuredContent":`+value)
	}
	if r.IntN(5) > 0 {
		var blocks []string
		for range r.IntN(4) {
			text := []string{"hi", value, compactOrSelf([]byte(value)), "[1]", `{"a":1}`}[r.IntN(5)]
			blocks = append(blocks, []string{
				` {"type":"text", "text":` + string(quote(text)) + `} `,
				`{"text":` + string(quote(text)) + `,"type":"text","annotations":{"priority":1}}`,
				`{"type":"image","data":"AA==","text":` + string(quote(text)) + `}`,
				`"text"`,
			}[r.IntN(4)])
		}
		members = append(members, "\"content\" :\n ["+strings.Join(blocks, ",")+"]")
	}
	if r.IntN(2) == 0 {
		members = append(members, `"x":1`)
	}
	if r.IntN(2) == 0 {
		members = append(members, `"isError":false`)
	}
	r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return `{"jsonrpc":"2.0","id":1,"result":{ ` + strings.Join(members, " , ") + ` }}`, value
}

// movedByDecoding is EditMoveToTextBlock done on msg decoded, with the
// plain comparison, after deleting result.x if deleteX; value is the
// structuredContent as written.
func movedByDecoding(t *testing.T, msg, value string, deleteX bool) any {
	t.Helper()
	v, err := decodeNumbers([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	result := v.(map[string]any)["result"].(map[string]any)
	if deleteX {
		delete(result, "x")
	}
	if _, ok := result["structuredContent"]; !ok {
		return v
	}
	content, exists := result["content"]
	blocks, isArray := content.([]any)
	if exists && !isArray {
		return v
	}
	delete(result, "structuredContent")
	for _, b := range blocks {
		block, _ := b.(map[string]any)
		text, isString := block["text"].(string)
		if block["type"] == "text" && isString && referenceSameJSON([]byte(text), []byte(strings.TrimSpace(value))) {
			return v
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(value)); err != nil {
		t.Fatal(err)
	}
	result["content"] = append(blocks, map[string]any{"type": "text", "text": compact.String()})
	return v
}
