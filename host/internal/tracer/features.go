package tracer

import (
	"bytes"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// Bounds on the worker's work per unit, whatever the unit's size. Only
// the content hash reads all of a result (at memory speed).
const (
	// textPrefixBytes of the content's text make its summary and the
	// content side of the lexical retrieval score.
	textPrefixBytes = 8 << 10
	// argsPrefixBytes of the text of the arguments' string values (and
	// the resource URI) make the request side of the lexical score.
	argsPrefixBytes = 8 << 10
	// walkBytes: members of a result are looked for in its first walkBytes
	// (and a _meta in its last maxMetaBytes); beyond, the token estimate
	// comes from the result's size.
	walkBytes = 256 << 10
	// maxMetaBytes bounds the result's _meta the tracing plugin gets.
	maxMetaBytes = 64 << 10
)

// features are what the worker works out of a delivered unit.
type features struct {
	contentHash     string
	meta            []byte // a copy: the unit's bytes are let go
	retrievalScore  float64
	retrievalSource string
	tokenEstimate   int64
	summary         string
}

// scratch is the worker's reusable memory for features.
type scratch struct {
	text, args, summary   []byte
	argWords, contentWord []uint64
	hit                   []bool
}

// features works out d's features from bounded prefixes of its text.
func (s *scratch) features(d *Delivery, defaultScore float64) features {
	w := walkResult(d.Method, d.Result, s.text[:0])
	s.text = w.text
	text := w.text
	var tokens int64
	switch {
	case w.texts == 0:
		// Nothing readable: the raw JSON stands for the text.
		text = d.Result[:min(len(d.Result), textPrefixBytes)]
		tokens = int64(len(d.Result)+3) / 4
	case w.textRead:
		tokens = int64(len(w.text)+3) / 4
	case w.complete:
		tokens = int64(w.textBytes+3) / 4 // escapes counted as written
	default:
		tokens = int64(len(d.Result)+3) / 4
	}
	s.summary = appendSummary(s.summary[:0], text)
	f := features{
		contentHash: tracing.ContentHash(d.Result), tokenEstimate: tokens, summary: string(s.summary),
		retrievalSource: "default", retrievalScore: defaultScore,
	}
	if len(w.meta) > 0 && len(w.meta) <= maxMetaBytes {
		f.meta = bytes.Clone(w.meta)
	}
	if score, ok := metaScore(w.meta); ok {
		f.retrievalScore, f.retrievalSource = score, "meta"
	} else if score, ok := s.lexicalScore(d.Arguments, d.URI, text); ok {
		f.retrievalScore, f.retrievalSource = score, "lexical"
	}
	return f
}

// metaKeys are where a backend gives its own retrieval score, in _meta.
var metaKeys = []string{"retrieval_score", "relevance", "score", "mcphost/retrieval_score"}

func metaScore(meta []byte) (float64, bool) {
	if len(meta) == 0 || len(meta) > maxMetaBytes {
		return 0, false
	}
	for _, k := range metaKeys {
		if v := gjson.GetBytes(meta, k); v.Type == gjson.Number && v.Num >= 0 && v.Num <= 1 {
			return v.Num, true
		}
	}
	return 0, false
}

// lexicalScore is the share of the request's words (arguments' string
// values and the URI) that the content's text contains; ok is false when
// the request has no words.
func (s *scratch) lexicalScore(args []byte, uri string, text []byte) (float64, bool) {
	s.args = argumentText(s.args[:0], args)
	s.args = append(s.args, ' ')
	s.args = append(s.args, uri[:min(len(uri), argsPrefixBytes)]...)
	s.argWords = appendWordHashes(s.argWords[:0], s.args)
	slices.Sort(s.argWords)
	s.argWords = slices.Compact(s.argWords)
	if len(s.argWords) == 0 {
		return 0, false
	}
	s.hit = slices.Grow(s.hit[:0], len(s.argWords))[:len(s.argWords)]
	clear(s.hit)
	s.contentWord = appendWordHashes(s.contentWord[:0], text)
	hits := 0
	for _, h := range s.contentWord {
		if k, found := slices.BinarySearch(s.argWords, h); found && !s.hit[k] {
			s.hit[k] = true
			hits++
		}
	}
	return float64(hits) / float64(len(s.argWords)), true
}

// resultWalk is what walkResult finds in a result.
type resultWalk struct {
	// text is a prefix of the result's text (each text followed by a
	// newline), at most textPrefixBytes.
	text []byte
	// texts is how many texts there are, textBytes their total size (raw,
	// with a newline each); textRead: text holds all of them.
	texts, textBytes int
	textRead         bool
	// meta is the result's _meta, raw.
	meta []byte
	// complete: every member of the result was looked at.
	complete bool
}

// walkResult finds a result's texts (content texts, resource texts,
// prompt message texts) and its _meta, looking at its first walkBytes. It
// crosses them once: each list is read as it is crossed, not crossed to
// find its end and then read.
func walkResult(method string, result, text []byte) resultWalk {
	w := resultWalk{text: text, textRead: true}
	list := "content"
	switch method {
	case "resources/read":
		list = "contents"
	case "prompts/get":
		list = "messages"
	}
	b := result[:min(len(result), walkBytes)]
	seenList, seenMeta := false, false
	end := jsonrpc.EachMember(b, jsonrpc.SkipSpace(b, 0), func(key []byte, v int) int {
		switch {
		case string(key) == "_meta" && !seenMeta:
			ve := jsonrpc.SkipValue(b, v)
			if ve > 0 {
				seenMeta = true
				w.meta = b[v:ve]
			}
			return ve
		case string(key) == list && !seenList && b[v] == '[':
			seenList = true
			end := w.walkList(b, v, method == "prompts/get")
			w.textRead = w.textRead && end > 0
			return end
		}
		return jsonrpc.SkipValue(b, v)
	})
	w.complete = end > 0 && len(b) == len(result)
	if !w.complete && !seenMeta {
		if key, vs, ve, ok := trailingMember(result, maxMetaBytes); ok && string(key) == "_meta" {
			w.meta = result[vs:ve]
		}
	}
	return w
}

// walkList adds the texts of the list at b[i]: the "text" of each object
// in it, or for prompt messages, of each one's "content" object. It
// returns the index after the list, or -1.
func (w *resultWalk) walkList(b []byte, i int, messages bool) int {
	return jsonrpc.EachElement(b, i, func(e int) int {
		switch {
		case b[e] != '{':
			return jsonrpc.SkipValue(b, e)
		case !messages:
			return w.textOf(b, e)
		}
		seen := false
		return jsonrpc.EachMember(b, e, func(key []byte, c int) int {
			if string(key) == "content" && b[c] == '{' && !seen {
				seen = true
				return w.textOf(b, c)
			}
			return jsonrpc.SkipValue(b, c)
		})
	})
}

// textOf adds the first "text" member of the object at b[i], if it is a
// string, and returns the index after the object, or -1.
func (w *resultWalk) textOf(b []byte, i int) int {
	seen := false
	return jsonrpc.EachMember(b, i, func(key []byte, v int) int {
		if string(key) != "text" || seen {
			return jsonrpc.SkipValue(b, v)
		}
		seen = true
		return w.addText(b, v)
	})
}

// addText adds the value at b[vs], if it is a string, and returns the
// index after it, or -1.
func (w *resultWalk) addText(b []byte, vs int) int {
	ve := jsonrpc.SkipValue(b, vs)
	if b[vs] != '"' {
		return ve
	}
	w.texts++
	if ve < 0 {
		w.textRead = false // runs past the walk: the estimate comes from the size
	} else {
		w.textBytes += ve - vs - 2 + 1
	}
	if len(w.text) < textPrefixBytes {
		w.text = append(appendStringPrefix(w.text, b, vs, textPrefixBytes), '\n')
	}
	w.textRead = w.textRead && len(w.text) < textPrefixBytes
	return ve
}

// argumentText appends the text of the string values in args, each
// followed by a space, up to argsPrefixBytes.
func argumentText(dst, args []byte) []byte {
	b := args[:min(len(args), walkBytes)]
	if i := jsonrpc.SkipSpace(b, 0); i < len(b) {
		appendValueTexts(&dst, b, i, 0)
	}
	return dst
}

// appendValueTexts appends the text of the string values in the value at
// b[i] to *dst and returns the index after it; -1 once *dst is full (what
// follows is not read, nor crossed), or if the value is malformed, runs
// past b or nests too deep.
func appendValueTexts(dst *[]byte, b []byte, i, depth int) int {
	if i >= len(b) || len(*dst) >= argsPrefixBytes || depth > maxCanonicalDepth {
		return -1
	}
	switch b[i] {
	case '"':
		*dst = append(appendStringPrefix(*dst, b, i, argsPrefixBytes), ' ')
		if len(*dst) >= argsPrefixBytes {
			return -1
		}
	case '{':
		return jsonrpc.EachMember(b, i, func(_ []byte, v int) int { return appendValueTexts(dst, b, v, depth+1) })
	case '[':
		return jsonrpc.EachElement(b, i, func(v int) int { return appendValueTexts(dst, b, v, depth+1) })
	}
	return jsonrpc.SkipValue(b, i)
}

// appendWordHashes appends a hash of each word of text: a lowercase run of
// three or more bytes of letters and digits.
func appendWordHashes(dst []uint64, text []byte) []uint64 {
	const offset, prime = 14695981039346656037, 1099511628211 // FNV-1a
	h, n := uint64(offset), 0
	end := func() {
		if n >= 3 {
			dst = append(dst, h)
		}
		h, n = offset, 0
	}
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			default:
				end()
				continue
			}
			h = (h ^ uint64(c)) * prime
			n++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		i += size
		if r = unicode.ToLower(r); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			end()
			continue
		}
		var enc [utf8.UTFMax]byte
		for _, c := range enc[:utf8.EncodeRune(enc[:], r)] {
			h = (h ^ uint64(c)) * prime
			n++
		}
	}
	end()
	return dst
}

// summaryRunes bounds a unit's summary.
const summaryRunes = 240

// appendSummary appends text with runs of white space made one space, cut
// to summaryRunes runes (the cut marked with "…"). It reads only as much
// of text as the summary needs.
func appendSummary(out, text []byte) []byte {
	base := len(out)
	runes, cut := 0, 0
	space := false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRune(text[i:])
		i += size
		if unicode.IsSpace(r) {
			space = runes > 0
			continue
		}
		if add := 1 + btoi(space); runes+add > summaryRunes {
			return append(out[:base+cut], "…"...)
		}
		if space {
			out = append(out, ' ')
			if runes++; runes == summaryRunes-1 {
				cut = len(out) - base
			}
			space = false
		}
		out = utf8.AppendRune(out, r)
		if runes++; runes == summaryRunes-1 {
			cut = len(out) - base
		}
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
