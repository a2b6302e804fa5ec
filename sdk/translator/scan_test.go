package translator

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestStringEnd checks the fast string scan against a plain reading, on
// strings dense and sparse with escapes, so that both of its phases and
// the eight-byte steps across an escape are exercised.
func TestStringEnd(t *testing.T) {
	t.Parallel()
	pieces := []string{`a`, `bc`, ` `, `\"`, `\\`, `\\\"`, `\n`, `\u0022`, `é`, strings.Repeat("x", 70), `\\\\`}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		var b strings.Builder
		b.WriteByte('"')
		for range rng.IntN(200) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		b.WriteString(`"`)
		want := b.Len()
		b.WriteString(`,"next":"\"x\""}`)
		msg := []byte(b.String())
		got, err := stringEnd(msg, 0)
		if err != nil || got != want {
			t.Fatalf("case %d: stringEnd(%s) = %d, %v; want %d", n, msg, got, err, want)
		}
	}
	for _, bad := range []string{`"abc`, `"abc\"`, `"` + strings.Repeat(`\"`, 40)} {
		if _, err := stringEnd([]byte(bad), 0); err == nil {
			t.Errorf("stringEnd(%s) found an end", bad)
		}
	}
}

// TestLocateAgreesWithGJSON checks that locate finds members where gjson
// does, through nesting, escapes and whitespace.
func TestLocateAgreesWithGJSON(t *testing.T) {
	t.Parallel()
	msg := []byte(" {\"a\" : {\"b\\\"c\": [1, {\"x\":\"}\"}], \"d\" :{ \"e\":\"\\\\\", \"f\" : null , \"a.b\":{\"0\":true}} },\n\"z\":-1.5e3 } ")
	for _, path := range []string{`a`, `a.b"c`, `a.d`, `a.d.e`, `a.d.f`, `a.d.a\.b`, `a.d.a\.b.0`, `z`, `a.x`, `a.d.e.x`, `a.b"c.0`} {
		p, err := parseMemberPath(path)
		if err != nil {
			t.Fatal(err)
		}
		at, err := locate(msg, &p, nil)
		if err != nil {
			t.Fatalf("locate(%s): %v", path, err)
		}
		want := gjson.GetBytes(msg, strings.ReplaceAll(path, `"`, `\"`))
		if path == `a.b"c.0` { // gjson indexes the array; an edit does not
			want = gjson.Result{}
		}
		switch {
		case at.found != want.Exists():
			t.Errorf("locate(%s) found %t, gjson %t", path, at.found, want.Exists())
		case at.found && string(msg[at.value.start:at.value.end]) != want.Raw:
			t.Errorf("locate(%s) = %s, gjson %s", path, msg[at.value.start:at.value.end], want.Raw)
		}
	}
}

// TestNeedle checks the rare-byte search against bytes.Contains, for
// needles searched both ways, on texts where the rare byte is rare and
// where it is everywhere.
func TestNeedle(t *testing.T) {
	t.Parallel()
	texts := []string{
		`{"a":"x"}`,
		strings.Repeat(`_C"resource_lin \"resource_link\"`, 40) + `"resource_link"`,
		strings.Repeat(`Content "structuredConten `, 50),
		strings.Repeat("error errors \"error\" ", 30) + `"error"`,
		`"resource_link`, `esource_link"`, "",
	}
	for _, n := range []string{`"resource_link"`, `"structuredContent"`, `"error"`, `_`, `"`, ``, `io.modelcontextprotocol/`} {
		nd := newNeedle(n)
		for i, text := range texts {
			if got, want := nd.in([]byte(text)), strings.Contains(text, n); got != want {
				t.Errorf("needle %q in text %d: %t, want %t", n, i, got, want)
			}
		}
	}
	if newNeedle(`"error"`).rare >= 0 || newNeedle(`"resource_link"`).rare < 0 {
		t.Error("needles of common bytes should go to bytes.Index, and only those")
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`debug`: `"debug"`, `<a&b>`: `"<a&b>"`, "a\"\\é\n": `"a\"\\é\n"`, ``: `""`} {
		if got := string(quote(in)); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
