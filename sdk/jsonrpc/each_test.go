package jsonrpc

import (
	"strings"
	"testing"
)

// spans lists what EachMember or EachElement saw: key=value for members,
// the value alone for elements.
type spans []string

func TestEachMember(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		stopAt    string // key at which fn stops
		want      spans
		end       int // EachMember's result; -2: len(doc)
	}{
		{"empty", ` { } `, "", nil, 4},
		{"members", `{"a":1, "b" : [1,{"c":"}"}] ,"d":"x\"y"}`, "", spans{`a=1`, `b=[1,{"c":"}"}]`, `d="x\"y"`}, -2},
		{"raw keys", `{"e\u0061":true,"\\":null}`, "", spans{`e\u0061=true`, `\\=null`}, -2},
		{"stopped", `{"a":1,"b":2,"c":3}`, "b", spans{`a=1`, `b=2`}, -1},
		{"cut in a value", `{"a":1,"b":"xy`, "", spans{`a=1`}, -1},
		{"cut in a number", `{"a":1,"b":12`, "", spans{`a=1`, `b=12`}, -1},
		{"cut after a comma", `{"a":1,`, "", spans{`a=1`}, -1},
		{"not an object", `[1]`, "", nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := []byte(tc.doc)
			var got spans
			end := EachMember(doc, SkipSpace(doc, 0), func(key []byte, v int) int {
				e := SkipValue(doc, v)
				if e < 0 {
					return -1
				}
				got = append(got, string(key)+"="+string(doc[v:e]))
				if string(key) == tc.stopAt {
					return -1
				}
				return e
			})
			if tc.end == -2 {
				tc.end = len(strings.TrimRight(tc.doc, " "))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || end != tc.end {
				t.Errorf("saw %q, ended at %d; want %q, %d", got, end, tc.want, tc.end)
			}
		})
	}
}

func TestEachElement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      spans
		end       int
	}{
		{"empty", `[ ]`, nil, 3},
		{"elements", `[1, "a]" ,{"b":[2]}, [ ] ]`, spans{`1`, `"a]"`, `{"b":[2]}`, `[ ]`}, 26},
		{"cut", `["a","b`, spans{`"a"`}, -1},
		{"not an array", `{"a":1}`, nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := []byte(tc.doc)
			var got spans
			end := EachElement(doc, 0, func(v int) int {
				e := SkipValue(doc, v)
				if e >= 0 {
					got = append(got, string(doc[v:e]))
				}
				return e
			})
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || end != tc.end {
				t.Errorf("saw %q, ended at %d; want %q, %d", got, end, tc.want, tc.end)
			}
		})
	}
}

// A caller that reads into a value returns where its reading ended, and
// EachMember goes on from there.
func TestEachMemberGoesOnFromWhereFnEnded(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"list":[{"text":"a"},{"text":"b"}],"after":true}`)
	var texts []string
	after := false
	end := EachMember(doc, 0, func(key []byte, v int) int {
		switch string(key) {
		case "list":
			return EachElement(doc, v, func(e int) int {
				return EachMember(doc, e, func(_ []byte, s int) int {
					end := SkipValue(doc, s)
					texts = append(texts, string(doc[s:end]))
					return end
				})
			})
		case "after":
			after = true
		}
		return SkipValue(doc, v)
	})
	if strings.Join(texts, ",") != `"a","b"` || !after || end != len(doc) {
		t.Fatalf("texts %q, after %t, end %d", texts, after, end)
	}
}

func TestSkipValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		doc string
		end int
	}{
		{`"a\"b" `, 6},
		{`"a\\" `, 5},
		{`{"a":["}",{}]} `, 14},
		{`-1.5e3,`, 6},
		{`true`, 4},
		{`"open`, -1},
		{`{"a":[1`, -1},
		{``, -1},
	}
	for _, tc := range tests {
		if got := SkipValue([]byte(tc.doc), 0); got != tc.end {
			t.Errorf("SkipValue(%q) = %d, want %d", tc.doc, got, tc.end)
		}
	}
}
