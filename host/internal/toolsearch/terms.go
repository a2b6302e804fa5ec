package toolsearch

import (
	"strings"
	"unicode"
)

// stopWords carry no meaning about what a tool does.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "by": true,
	"can": true, "do": true, "each": true, "for": true, "from": true, "how": true, "i": true, "if": true,
	"in": true, "into": true, "is": true, "it": true, "its": true, "me": true, "my": true, "of": true,
	"on": true, "one": true, "or": true, "so": true, "that": true, "the": true, "their": true, "them": true,
	"then": true, "there": true, "these": true, "this": true, "to": true, "use": true, "was": true,
	"what": true, "when": true, "which": true, "will": true, "with": true, "you": true, "your": true,
}

// Terms splits text into index terms: words split at anything that is
// not a letter or digit and at lower-to-upper case changes (so snake_case,
// kebab-case and camelCase names come apart), lower-cased, without stop
// words, and with plural and verb endings folded (stem).
func Terms(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) == 0 {
			return
		}
		w := strings.ToLower(string(cur))
		cur = cur[:0]
		if stopWords[w] {
			return
		}
		out = append(out, stem(w))
	}
	var prev rune
	for _, r := range text {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}

// stem folds the common English endings so that "files" meets "file" and
// "listing" meets "list". It is deliberately light: a wrong fold costs
// more than a missed one.
func stem(w string) string {
	w = stripEnding(w)
	if len(w) > 3 && w[len(w)-1] == 'e' {
		w = w[:len(w)-1] // "create" and "creating" meet at "creat"
	}
	return w
}

func stripEnding(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && strings.HasSuffix(w, "sses"):
		return w[:len(w)-2]
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		return trimDouble(w[:len(w)-3])
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		return trimDouble(w[:len(w)-2])
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// trimDouble undoes a doubled final consonant ("running" → "run").
func trimDouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}
