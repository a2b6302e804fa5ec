package tracer

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/tracing"
)

func toolResult(text string) string {
	return `{"content":[{"type":"text","text":"` + text + `"}]}`
}

// Features of a large unit come from bounded prefixes of its text and
// arguments; only the content hash reads it all.
func TestLargeUnitFeaturesUseBoundedPrefixes(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("haystack ", 2000) // 18 KB, past textPrefixBytes
	huge := strings.Repeat("y", walkBytes)      // past what is walked
	tests := []struct {
		name, method, args, result string
		score                      float64
		source                     string
		tokens                     int64 // -1: from the result's size
		summaryPrefix              string
	}{
		{"content word past the prefix is not seen", "tools/call", `{"q":"haystack needle"}`,
			toolResult(filler + "needle"), 0.5, "lexical", int64(len(filler)+len("needle")+1+3) / 4, "haystack haystack"},
		{"argument word past the prefix is not seen", "tools/call", `{"a":"` + strings.Repeat("xx ", 3000) + `zebra"}`,
			toolResult("zebra"), 0.5, "default", 2, "zebra"},
		{"meta after large content", "tools/call", `{"q":"x"}`,
			`{"content":[{"type":"text","text":"` + filler + `"}],"_meta":{"relevance":0.75}}`, 0.75, "meta", int64(len(filler)+1+3) / 4, "haystack"},
		{"trailing meta past the walk", "tools/call", `{"q":"yyy"}`,
			`{"content":[{"type":"text","text":"` + huge + `"}],"_meta":{"score":0.25}}`, 0.25, "meta", -1, "yyyy"},
		{"token estimate from size past the walk", "tools/call", `{"q":"zzz"}`,
			`{"content":[{"type":"text","text":"` + huge + `"}],"structuredContent":{}}`, 0, "lexical", -1, "yyyy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s scratch
			d := &Delivery{Method: tc.method, Arguments: []byte(tc.args), Result: []byte(tc.result)}
			f := s.features(d, 0.5)
			if f.retrievalScore != tc.score || f.retrievalSource != tc.source {
				t.Errorf("score %v %s, want %v %s", f.retrievalScore, f.retrievalSource, tc.score, tc.source)
			}
			if tc.tokens < 0 {
				tc.tokens = int64(len(tc.result)+3) / 4
			}
			if f.tokenEstimate != tc.tokens {
				t.Errorf("token estimate %d, want %d", f.tokenEstimate, tc.tokens)
			}
			if !strings.HasPrefix(f.summary, tc.summaryPrefix) || len([]rune(f.summary)) > summaryRunes {
				t.Errorf("summary %q", f.summary)
			}
			if len(s.text) > textPrefixBytes+1 || len(s.args) > argsPrefixBytes+2 {
				t.Errorf("read %d bytes of text and %d of arguments", len(s.text), len(s.args))
			}
			if f.contentHash != tracing.ContentHash(d.Result) {
				t.Errorf("content hash %s", f.contentHash)
			}
		})
	}
}

func TestContentHashCoversAllOfTheContent(t *testing.T) {
	t.Parallel()
	a := []byte(toolResult(strings.Repeat("a", 100000)))
	b := []byte(toolResult(strings.Repeat("a", 99999) + "b"))
	var s scratch
	ha := s.features(&Delivery{Method: "tools/call", Result: a}, 0).contentHash
	hb := s.features(&Delivery{Method: "tools/call", Result: b}, 0).contentHash
	if ha == hb || !strings.HasPrefix(ha, tracing.ContentHashPrefix) || len(ha) != len(tracing.ContentHashPrefix)+16 {
		t.Fatalf("hashes %s %s", ha, hb)
	}
}

// For units within the bounds, features are what the tracer computed
// before the bounds: the reference below is that code.
func TestSmallUnitFeaturesAreUnchanged(t *testing.T) {
	t.Parallel()
	tests := []struct{ method, uri, args, result string }{
		{"tools/call", "", `{"q":"golang plugins"}`, toolResult(`Plugins for Golang,\n\t\"the\" best \u00e9t\u00e9 \ud83d\ude00 two  spaces`)},
		{"tools/call", "", `{"q":["alpha",{"b":"beta gamma"}],"n":1}`, `{"content":[{"type":"text","text":"ALPHA"},{"type":"image","data":"x"},{"type":"text","text":"gamma delta"}]}`},
		{"tools/call", "", `{"q":"nothing readable"}`, `{"content":[{"type":"image","data":"nothing"}],"isError":false}`},
		{"resources/read", "file:///notes/golang.md", ``, `{"contents":[{"uri":"file:///notes/golang.md","text":"# Notes\n\ngolang notes"},{"uri":"b","blob":"AAAA"}]}`},
		{"prompts/get", "", `{"topic":"review code"}`, `{"messages":[{"role":"user","content":{"type":"text","text":"Please review this code"}},{"role":"assistant","content":{"type":"text","text":"ok"}}]}`},
		{"tools/call", "", `{"q":"Ünïcödé wörds"}`, toolResult(strings.Repeat("wörds ünïcödé ", 30))},
		{"tools/call", "", `{"q":"x"}`, toolResult(strings.Repeat("a ", 300))},
		{"tools/call", "", `{"q":"score"}`, `{"_meta":{"mcphost/retrieval_score":0.4},"content":[{"type":"text","text":"score"}]}`},
	}
	for _, tc := range tests {
		var s scratch
		f := s.features(&Delivery{Method: tc.method, URI: tc.uri, Arguments: []byte(tc.args), Result: []byte(tc.result)}, 0.5)
		text := refResultText(tc.method, []byte(tc.result))
		score, source := refRetrievalScore([]byte(tc.result), []byte(tc.args), tc.uri, text, 0.5)
		if f.summary != refSummarize(text) || f.tokenEstimate != int64((len(text)+3)/4) || f.retrievalScore != score || f.retrievalSource != source {
			t.Errorf("%s %s:\n got %q %d %v %s\nwant %q %d %v %s", tc.method, tc.result,
				f.summary, f.tokenEstimate, f.retrievalScore, f.retrievalSource, refSummarize(text), (len(text)+3)/4, score, source)
		}
	}
}

// Any small unit, of any method, with any text and arguments, has the
// features the reference gives it.
func FuzzSmallUnitFeaturesMatchTheReference(f *testing.F) {
	f.Add(0, "Plugins for Golang, the best été 😀", "golang plugins", "", "x")
	f.Add(1, "# Notes\n\ngolang NOTES", "", "file:///notes/Golang.md", "")
	f.Add(2, "Please review this code", "review CODE", "", "ok")
	f.Add(0, strings.Repeat("abcdefgh", 40), strings.Repeat("abcdefgh", 40)+" ABCDEFGH", "", "İstanbul ǅ ß")
	f.Fuzz(func(t *testing.T, kind int, text, arg, uri, other string) {
		if len(text)+len(arg)+len(uri)+len(other) > 2000 {
			return
		}
		method := [...]string{"tools/call", "resources/read", "prompts/get"}[uint(kind)%3]
		var result any
		switch method {
		case "tools/call":
			result = map[string]any{"content": []any{map[string]any{"type": "text", "text": text}, map[string]any{"type": "text", "text": other}}}
		case "resources/read":
			result = map[string]any{"contents": []any{map[string]any{"uri": uri, "text": text}, map[string]any{"text": 1}}}
		default:
			result = map[string]any{"messages": []any{map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": text}},
				map[string]any{"content": other}}}
		}
		raw, err := json.Marshal(result)
		if err != nil {
			t.Skip()
		}
		args, _ := json.Marshal(map[string]any{"q": arg, "n": []any{1, map[string]any{"o": other}}})
		var s scratch
		got := s.features(&Delivery{Method: method, URI: uri, Arguments: args, Result: raw}, 0.5)
		ref := refResultText(method, raw)
		score, source := refRetrievalScore(raw, args, uri, ref, 0.5)
		if got.summary != refSummarize(ref) || got.tokenEstimate != int64((len(ref)+3)/4) ||
			got.retrievalScore != score || got.retrievalSource != source {
			t.Fatalf("%s %s %s:\n got %q %d %v %s\nwant %q %d %v %s", method, raw, args,
				got.summary, got.tokenEstimate, got.retrievalScore, got.retrievalSource, refSummarize(ref), (len(ref)+3)/4, score, source)
		}
	})
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab ", 200)
	tests := []struct{ text, want string }{
		{"", ""},
		{"  one \n\t two  ", "one two"},
		{strings.Repeat("x", summaryRunes), strings.Repeat("x", summaryRunes)},
		{strings.Repeat("x", summaryRunes+1), strings.Repeat("x", summaryRunes-1) + "…"},
		{long, refSummarize(long)},
		{strings.Repeat("é", 300), strings.Repeat("é", summaryRunes-1) + "…"},
	}
	for _, tc := range tests {
		if got := string(appendSummary(nil, []byte(tc.text))); got != tc.want {
			t.Errorf("summarize(%.40q) = %.60q, want %.60q", tc.text, got, tc.want)
		}
	}
}

func TestTrailingMember(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json, key, value string
	}{
		{`{"a":1,"_meta":{"x":"}"}}`, "_meta", `{"x":"}"}`},
		{`{"a":1, "_meta" : {"x":"\"{"} }  `, "_meta", `{"x":"\"{"}`},
		{`{"_meta":[1,{"y":"]"}]}`, "_meta", `[1,{"y":"]"}]`},
		{`{"a":"x","b":"q\\"}`, "b", `"q\\"`},
		{`{"a":{"b":1},"c":true}`, "c", `true`},
		{`{"a":1,"b":2`, "", ``},
		{`[1,2]`, "", ``},
	}
	for _, tc := range tests {
		key, vs, ve, ok := trailingMember([]byte(tc.json), 1<<10)
		if string(key) != tc.key || (ok && tc.json[vs:ve] != tc.value) || ok != (tc.key != "") {
			t.Errorf("trailingMember(%s) = %q %v", tc.json, key, ok)
		}
	}
}

// The reference: the tracer's feature code before prefixes bounded it.

func refResultText(method string, result []byte) string {
	var b strings.Builder
	add := func(v gjson.Result) bool {
		if s := v.Get("text"); s.Type == gjson.String {
			b.WriteString(s.Str)
			b.WriteByte('\n')
		}
		return true
	}
	r := gjson.ParseBytes(result)
	switch method {
	case "resources/read":
		r.Get("contents").ForEach(func(_, c gjson.Result) bool { return add(c) })
	case "prompts/get":
		r.Get("messages").ForEach(func(_, m gjson.Result) bool { return add(m.Get("content")) })
	default:
		r.Get("content").ForEach(func(_, c gjson.Result) bool { return add(c) })
	}
	if b.Len() == 0 {
		return string(result)
	}
	return b.String()
}

func refSummarize(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > summaryRunes {
		return string(r[:summaryRunes-1]) + "…"
	}
	return text
}

func refRetrievalScore(result, args []byte, uri, text string, def float64) (float64, string) {
	meta := gjson.GetBytes(result, "_meta")
	for _, k := range metaKeys {
		if v := meta.Get(k); v.Type == gjson.Number && v.Num >= 0 && v.Num <= 1 {
			return v.Num, "meta"
		}
	}
	var argText []byte
	var walk func(v gjson.Result)
	walk = func(v gjson.Result) {
		switch {
		case v.Type == gjson.String:
			argText = append(append(argText, v.Str...), ' ')
		case v.IsObject() || v.IsArray():
			v.ForEach(func(_, c gjson.Result) bool { walk(c); return true })
		}
	}
	walk(gjson.ParseBytes(args))
	words := refWords(string(argText) + " " + uri)
	if len(words) == 0 {
		return def, "default"
	}
	have := map[string]bool{}
	for _, w := range refWords(text) {
		have[w] = true
	}
	hits := 0
	for _, w := range words {
		if have[w] {
			hits++
		}
	}
	return float64(hits) / float64(len(words)), "lexical"
}

func refWords(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) >= 3 && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
