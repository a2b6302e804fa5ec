package translator_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mcphost/mcphost/sdk/translator"
)

const (
	v1 = "2025-06-18"
	v2 = "2025-11-25"
)

// planFor compiles rules, which must compile, and returns the plan for a
// tools/call response going from v2 to v1 toward a client.
func planFor(t testing.TB, rules ...translator.Rule) *translator.Plan {
	t.Helper()
	rs, err := translator.Compile(rules)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse)
}

// rule is a rule for tools/call toward clients, any versions.
func rule(hostOnly bool, when []translator.Condition, edits ...translator.Edit) translator.Rule {
	return translator.Rule{
		From: translator.Wildcard, To: translator.Wildcard, Direction: translator.ToClient, Methods: []string{"tools/call"},
		When: when, Edits: edits, HostOnly: hostOnly,
	}
}

func del(path string) translator.Edit { return translator.Edit{Op: translator.EditDelete, Path: path} }

func set(path, value string) translator.Edit {
	return translator.Edit{Op: translator.EditSet, Path: path, Value: value}
}

func when(c ...translator.Condition) []translator.Condition { return c }

func TestApply(t *testing.T) {
	t.Parallel()
	const text = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}`
	tests := []struct {
		name    string
		rules   []translator.Rule
		session translator.Session
		in      string
		// want is the message after the edits; "" means the very input.
		want      string
		drop      bool
		translate bool
	}{
		{
			name:      "a rule of API minor 1 calls Translate",
			rules:     []translator.Rule{rule(false, nil)},
			in:        text,
			translate: true,
		},
		{
			name:  "contains misses",
			rules: []translator.Rule{rule(false, when(translator.Condition{Contains: `"audio"`}))},
			in:    text,
		},
		{
			name:      "contains hits",
			rules:     []translator.Rule{rule(false, when(translator.Condition{Contains: `"text"`}))},
			in:        text,
			translate: true,
		},
		{
			name:  "contains and path must both hold",
			rules: []translator.Rule{rule(false, when(translator.Condition{Contains: `"text"`, Path: `result.content.#(type=="audio")`}))},
			in:    text,
		},
		{
			name: "any condition will do",
			rules: []translator.Rule{rule(false, when(
				translator.Condition{Path: `result.content.#(type=="audio")`},
				translator.Condition{Path: `result.content.#(type=="text")`},
			))},
			in:        text,
			translate: true,
		},
		{
			name:  "is",
			rules: []translator.Rule{rule(false, when(translator.Condition{Path: "result.content", Is: []string{translator.TypeObject, translator.TypeString}}))},
			in:    text,
		},
		{
			name:      "is not",
			rules:     []translator.Rule{rule(false, when(translator.Condition{Path: "result.content", IsNot: []string{translator.TypeObject}}))},
			in:        text,
			translate: true,
		},
		{
			name:      "equals compares a string's text",
			rules:     []translator.Rule{rule(false, when(translator.Condition{Path: "result.content.0.text", Equals: `"h\u0069"`}))},
			in:        text,
			translate: true,
		},
		{
			name:  "equals compares other values byte for byte",
			rules: []translator.Rule{rule(false, when(translator.Condition{Path: "id", Equals: `1.0`}))},
			in:    text,
		},
		{
			name: "later conditions see earlier edits",
			rules: []translator.Rule{
				rule(true, nil, del("result.content")),
				rule(false, when(translator.Condition{Contains: `"text"`})),
			},
			in:   text,
			want: `{"jsonrpc":"2.0","id":1,"result":{}}`,
		},
		{
			name: "edits apply before the one Translate call",
			rules: []translator.Rule{
				rule(false, nil, set("result.isError", "false")),
				rule(false, nil, set("result.x", "1")),
			},
			in:        text,
			want:      `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false,"x":1}}`,
			translate: true,
		},
		{
			name: "drop wins over Translate",
			rules: []translator.Rule{
				rule(false, nil),
				rule(true, when(translator.Condition{Contains: "hi"}), translator.Edit{Op: translator.EditDrop}, set("never", "1")),
			},
			in:   text,
			drop: true,
		},
		{
			name:  "rules for other kinds are ignored",
			rules: []translator.Rule{{From: "*", To: "*", Methods: []string{"*"}, Kinds: []string{translator.KindRequest, translator.KindNotification}}},
			in:    text,
		},
		{
			name:  "delete the first member",
			rules: []translator.Rule{rule(true, nil, del("jsonrpc"))},
			in:    `{ "jsonrpc" : "2.0" , "id":1}`,
			want:  `{  "id":1}`,
		},
		{
			name:  "delete the last member",
			rules: []translator.Rule{rule(true, nil, del("id"))},
			in:    "{\"jsonrpc\":\"2.0\",\n  \"id\" :\t1\n}",
			want:  "{\"jsonrpc\":\"2.0\"\n}",
		},
		{
			name:  "delete the only member",
			rules: []translator.Rule{rule(true, nil, del("result.x"))},
			in:    `{"id":1,"result":{ "x":[1,{"y":"}"}] }}`,
			want:  `{"id":1,"result":{  }}`,
		},
		{
			name:  "delete a name with escapes",
			rules: []translator.Rule{rule(true, nil, del(`a\.b.c"d`))},
			in:    `{"a.b":{"x":1,"c\"d":2,"e":3}}`,
			want:  `{"a.b":{"x":1,"e":3}}`,
		},
		{
			name:  "delete a name with a trailing escaped backslash",
			rules: []translator.Rule{rule(true, nil, del(`k\\`))},
			in:    `{"a":"\\","k\\":1}`,
			want:  `{"a":"\\"}`,
		},
		{
			name:  "delete something absent",
			rules: []translator.Rule{rule(true, nil, del("result.nothing"), del("nothing.at.all"), del("id.x"))},
			in:    text,
		},
		{
			name: "delete if equal",
			rules: []translator.Rule{rule(true, nil,
				translator.Edit{Op: translator.EditDelete, Path: "result.a", IfEquals: `"complete"`},
				translator.Edit{Op: translator.EditDelete, Path: "result.b", IfEquals: `"complete"`},
			)},
			in:   `{"result":{"a":"compl\u0065te","b":"input_required"}}`,
			want: `{"result":{"b":"input_required"}}`,
		},
		{
			name: "prune an emptied object",
			rules: []translator.Rule{rule(true, nil,
				translator.Edit{Op: translator.EditDelete, Path: `result._meta.k\.1`, Prune: true},
				translator.Edit{Op: translator.EditDelete, Path: `result._meta.k\.2`, Prune: true},
			)},
			in:   `{"result":{"content":[],"_meta":{"k.1":1,"k.2":2}}}`,
			want: `{"result":{"content":[]}}`,
		},
		{
			name:  "prune keeps an object with members left",
			rules: []translator.Rule{rule(true, nil, translator.Edit{Op: translator.EditDelete, Path: "result._meta.a", Prune: true})},
			in:    `{"result":{"_meta":{"a":1,"b":2}}}`,
			want:  `{"result":{"_meta":{"b":2}}}`,
		},
		{
			name:  "prune needs a deletion",
			rules: []translator.Rule{rule(true, nil, translator.Edit{Op: translator.EditDelete, Path: "result._meta.a", Prune: true})},
			in:    `{"result":{"_meta":{}}}`,
		},
		{
			name:  "set replaces in place",
			rules: []translator.Rule{rule(true, nil, set("result.content", `"x"`))},
			in:    text,
			want:  `{"jsonrpc":"2.0","id":1,"result":{"content":"x"}}`,
		},
		{
			name:  "set creates the missing objects",
			rules: []translator.Rule{rule(true, nil, set(`params._meta.io\.x/y`, "{\n \"a\": 1\n}"))},
			in:    `{"jsonrpc":"2.0","id":1,"method":"m"}`,
			want:  `{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":{"io.x/y":{"a":1}}}}`,
		},
		{
			name:  "set into an empty object",
			rules: []translator.Rule{rule(true, nil, set(`params.0`, "1"))},
			in:    `{"params":{ }}`,
			want:  `{"params":{ "0":1}}`,
		},
		{
			name:  "set under a member that is not an object does nothing",
			rules: []translator.Rule{rule(true, nil, set("params._meta.k", "1"), set("list.0.k", "1"), set("s.k", "1"))},
			in:    `{"params":[],"list":[{"k":0}],"s":"x"}`,
		},
		{
			name:  "nothing is set in a message that is not an object",
			rules: []translator.Rule{rule(true, nil, set("k", "1"))},
			in:    `[{"k":0}]`,
		},
		{
			name: "add only when absent",
			rules: []translator.Rule{rule(true, nil,
				translator.Edit{Op: translator.EditAdd, Path: "result.resultType", Value: `"complete"`},
				translator.Edit{Op: translator.EditAdd, Path: "id", Value: `2`},
			)},
			in:   text,
			want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"resultType":"complete"}}`,
		},
		{
			name: "values from the session",
			rules: []translator.Rule{rule(true, nil,
				translator.Edit{Op: translator.EditSet, Path: "p.caps", FromSession: translator.SessionClientCapabilities},
				translator.Edit{Op: translator.EditSet, Path: "p.info", FromSession: translator.SessionClientInfo},
				translator.Edit{Op: translator.EditSet, Path: "p.level", FromSession: translator.SessionLogLevel},
			)},
			session: translator.Session{ClientCapabilities: []byte("{\n\"roots\": {}\n}"), ClientInfo: []byte(` {"name":"c"} `), LogLevel: "<info>"},
			in:      `{"p":{"level":"debug"}}`,
			want:    `{"p":{"level":"<info>","caps":{"roots":{}},"info":{"name":"c"}}}`,
		},
		{
			name: "a session without data",
			rules: []translator.Rule{rule(true, nil,
				translator.Edit{Op: translator.EditSet, Path: "p.caps", FromSession: translator.SessionClientCapabilities},
				translator.Edit{Op: translator.EditSet, Path: "p.info", FromSession: translator.SessionClientInfo},
				translator.Edit{Op: translator.EditSet, Path: "p.level", FromSession: translator.SessionLogLevel},
			)},
			session: translator.Session{ClientInfo: []byte("null")},
			in:      `{"p":{"level":"debug","info":{}}}`,
			want:    `{"p":{"caps":{}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.in)
			got, err := planFor(t, tt.rules...).Apply(in, func() translator.Session { return tt.session })
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if string(in) != tt.in {
				t.Fatalf("the input was written to: %s", in)
			}
			if got.Drop != tt.drop || got.Translate != tt.translate {
				t.Fatalf("Drop %t, Translate %t; want %t, %t", got.Drop, got.Translate, tt.drop, tt.translate)
			}
			switch {
			case tt.drop:
				if got.Message != nil {
					t.Errorf("a dropped message came back: %s", got.Message)
				}
			case tt.want == "":
				if &got.Message[0] != &in[0] || len(got.Message) != len(in) {
					t.Errorf("message changed to %s, want the input itself", got.Message)
				}
			case string(got.Message) != tt.want:
				t.Errorf("got  %s\nwant %s", got.Message, tt.want)
			}
		})
	}
}

func TestApplyFetchesTheSessionOnlyForIt(t *testing.T) {
	t.Parallel()
	fromSession := translator.Edit{Op: translator.EditSet, Path: "p.info", FromSession: translator.SessionClientInfo}
	tests := []struct {
		name  string
		rules []translator.Rule
		want  int
	}{
		{"edits without session values", []translator.Rule{rule(true, nil, set("p.x", "1"), del("p.y"))}, 0},
		{"a Translate call is not the engine's business", []translator.Rule{rule(false, nil)}, 0},
		{"two session values, one fetch", []translator.Rule{rule(true, nil, fromSession), rule(true, nil, fromSession)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			_, err := planFor(t, tt.rules...).Apply([]byte(`{"p":{}}`), func() translator.Session {
				calls++
				return translator.Session{ClientInfo: []byte(`{}`)}
			})
			if err != nil || calls != tt.want {
				t.Errorf("Apply: %v, %d session fetches; want %d", err, calls, tt.want)
			}
		})
	}
}

func TestApplyRefusesSessionDataThatIsNotJSON(t *testing.T) {
	t.Parallel()
	p := planFor(t, rule(true, nil, set("a", "1"), translator.Edit{Op: translator.EditSet, Path: "p.caps", FromSession: translator.SessionClientCapabilities}))
	in := []byte(`{"p":{}}`)
	got, err := p.Apply(in, func() translator.Session { return translator.Session{ClientCapabilities: []byte(`{"sampling":`)} })
	if err == nil || !strings.Contains(err.Error(), "client capabilities") {
		t.Fatalf("Apply = %v, want an error about the client capabilities", err)
	}
	if !bytes.Equal(got.Message, in) || got.Translate || got.Drop {
		t.Errorf("Apply after an error = %+v, want the message as given", got)
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	rs, err := translator.Compile([]translator.Rule{
		{From: v2, To: v1, Direction: translator.ToClient, Methods: []string{"tools/call"}, Kinds: []string{translator.KindResponse}},
		{From: "*", To: v1, Direction: translator.ToBackend, Methods: []string{"notifications/*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to string
		dir      translator.Direction
		method   string
		kind     string
		want     bool
	}{
		{v2, v1, translator.ToClient, "tools/call", translator.KindResponse, true},
		{v2, v1, translator.ToClient, "tools/call", translator.KindRequest, false},
		{v1, v2, translator.ToClient, "tools/call", translator.KindResponse, false},
		{v2, v1, translator.ToBackend, "tools/call", translator.KindResponse, false},
		{"x", v1, translator.ToBackend, "notifications/progress", translator.KindNotification, true},
		{"x", v1, translator.ToBackend, "notificationsX", translator.KindNotification, false},
	}
	for _, tt := range tests {
		p := rs.Plan(tt.from, tt.to, tt.dir, tt.method, tt.kind)
		if (p != nil) != tt.want {
			t.Errorf("Plan(%s, %s, %s, %s, %s) = %v, want a plan: %t", tt.from, tt.to, tt.dir, tt.method, tt.kind, p, tt.want)
		}
		if again := rs.Plan(tt.from, tt.to, tt.dir, tt.method, tt.kind); again != p {
			t.Errorf("Plan(%s, %s, %s, %s, %s) was not cached", tt.from, tt.to, tt.dir, tt.method, tt.kind)
		}
	}
	var none *translator.RuleSet
	if none.Plan(v1, v2, translator.ToClient, "m", translator.KindRequest) != nil {
		t.Error("a nil RuleSet has a plan")
	}
	out, err := (*translator.Plan)(nil).Apply([]byte(`{}`), nil)
	if err != nil || out.Translate || out.Drop || string(out.Message) != `{}` {
		t.Errorf("nil Plan.Apply = %+v, %v", out, err)
	}
}

// TestCompileDegradesWhatItCannotRead checks that a rule the host cannot
// compile is refused with a reason and used as API minor 1 would: Translate
// for every message it matches, no edits.
func TestCompileDegradesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bad  translator.Rule
		want string
	}{
		{"unknown kind", translator.Rule{Kinds: []string{"reply"}}, `unknown kind "reply"`},
		{"empty condition", translator.Rule{When: when(translator.Condition{})}, "neither Contains nor Path"},
		{"is without a path", translator.Rule{When: when(translator.Condition{Contains: "x", Is: []string{"object"}})}, "needs a Path"},
		{"unknown type", translator.Rule{When: when(translator.Condition{Path: "x", IsNot: []string{"map"}})}, `unknown JSON type "map"`},
		{"equals is not JSON", translator.Rule{When: when(translator.Condition{Path: "x", Equals: `complete`})}, "equals: invalid JSON"},
		{"unknown operation", translator.Rule{Edits: []translator.Edit{{Op: 9, Path: "x"}}}, "unknown operation 9"},
		{"no operation", translator.Rule{Edits: []translator.Edit{{Path: "x"}}}, "unknown operation 0"},
		{"wildcard path", translator.Rule{Edits: []translator.Edit{del("result.*")}}, "pattern, a query or a modifier"},
		{"query path", translator.Rule{Edits: []translator.Edit{del(`result.content.#(type=="text")`)}}, "pattern, a query or a modifier"},
		{"empty name", translator.Rule{Edits: []translator.Edit{del("result..x")}}, "empty name"},
		{"empty path", translator.Rule{Edits: []translator.Edit{del("")}}, "empty path"},
		{"path not UTF-8", translator.Rule{Edits: []translator.Edit{{Op: translator.EditAdd, Path: "\xf9", Value: `""`}}}, "not valid UTF-8"},
		{"trailing escape", translator.Rule{Edits: []translator.Edit{del(`a\`)}}, "ends with an escape"},
		{"sjson key marker", translator.Rule{Edits: []translator.Edit{del("users.:1")}}, "cannot start with"},
		{"value is not JSON", translator.Rule{Edits: []translator.Edit{set("x", "{")}}, "value: invalid JSON"},
		{"set without a value", translator.Rule{Edits: []translator.Edit{set("x", "")}}, "value: invalid JSON"},
		{"value and session", translator.Rule{Edits: []translator.Edit{{Op: translator.EditSet, Path: "x", Value: "1", FromSession: translator.SessionLogLevel}}}, "both Value and FromSession"},
		{"unknown session field", translator.Rule{Edits: []translator.Edit{{Op: translator.EditSet, Path: "x", FromSession: 7}}}, "unknown session field 7"},
		{"session value added", translator.Rule{Edits: []translator.Edit{{Op: translator.EditAdd, Path: "x", FromSession: translator.SessionClientInfo}}}, "FromSession is for sets"},
		{"prune on a set", translator.Rule{Edits: []translator.Edit{{Op: translator.EditSet, Path: "x", Value: "1", Prune: true}}}, "for deletes"},
		{"delete with a value", translator.Rule{Edits: []translator.Edit{{Op: translator.EditDelete, Path: "x", Value: "1"}}}, "a delete has no Value"},
		{"unknown direction", translator.Rule{Direction: 5}, "unknown direction 5"},
		{"move without From", translator.Rule{Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, Path: "result.content"}}}, "from: empty path"},
		{"move with a query", translator.Rule{Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content.#"}}}, "pattern, a query or a modifier"},
		{"move into itself", translator.Rule{Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "result", Path: "result.content"}}}, "lead into one another"},
		{"move out of its target", translator.Rule{Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "result.content.x", Path: "result.content"}}}, "lead into one another"},
		{"move with a value", translator.Rule{Edits: []translator.Edit{{Op: translator.EditMoveToTextBlock, From: "a", Path: "b", Value: "1"}}}, "only From and Path"},
		{"From on a delete", translator.Rule{Edits: []translator.Edit{{Op: translator.EditDelete, Path: "a", From: "b"}}}, "only a move takes a From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := tt.bad
			bad.From, bad.To, bad.Methods, bad.HostOnly = "*", "*", []string{"tools/call"}, true
			if bad.Direction == translator.AnyDirection {
				bad.Direction = translator.ToClient
			}
			good := rule(true, nil, set("result.ok", "true"))
			rs, err := translator.Compile([]translator.Rule{good, bad})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rule 1 ") {
				t.Fatalf("Compile error = %v, want one about rule 1: %s", err, tt.want)
			}
			if bad.Direction != translator.ToClient {
				return // it matches nothing the host sends
			}
			got, err := rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse).Apply([]byte(`{"result":{}}`), nil)
			if err != nil || !got.Translate || string(got.Message) != `{"result":{"ok":true}}` {
				t.Errorf("Apply = %+v (%s), %v; want the good rule's edit and a Translate call", got, got.Message, err)
			}
		})
	}
}

func TestEditOpString(t *testing.T) {
	t.Parallel()
	for op, want := range map[translator.EditOp]string{
		translator.EditDelete: "delete", translator.EditSet: "set", translator.EditAdd: "add", translator.EditDrop: "drop",
		translator.EditMoveToTextBlock: "move-to-text-block", 0: "EditOp(0)",
	} {
		if got := op.String(); got != want {
			t.Errorf("EditOp(%d).String() = %q, want %q", int(op), got, want)
		}
	}
}

// TestNoAllocationWhenNothingMatches checks the host's common case: a
// cached plan lookup that finds nothing, and a plan whose conditions all
// miss, cost no allocation.
func TestNoAllocationWhenNothingMatches(t *testing.T) {
	rs, err := translator.Compile([]translator.Rule{
		rule(false, when(
			translator.Condition{Contains: `"audio"`, Path: `result.content.#(type=="audio")`},
			translator.Condition{Contains: `"structuredContent"`, Path: "result.structuredContent", IsNot: []string{translator.TypeObject}},
		)),
		rule(true, when(translator.Condition{Path: "result.content", Is: []string{translator.TypeString}}), del("result.x")),
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := toolResult(100)
	rs.Plan(v2, v1, translator.ToBackend, "tools/call", translator.KindResponse) // cache both
	rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse)
	if n := testing.AllocsPerRun(100, func() {
		if rs.Plan(v2, v1, translator.ToBackend, "tools/call", translator.KindResponse) != nil {
			t.Fatal("unexpected plan")
		}
	}); n != 0 {
		t.Errorf("a plan lookup that finds nothing allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		out, err := rs.Plan(v2, v1, translator.ToClient, "tools/call", translator.KindResponse).Apply(msg, nil)
		if err != nil || out.Translate || len(out.Message) != len(msg) {
			t.Fatalf("Apply = %+v, %v", out, err)
		}
	}); n != 0 {
		t.Errorf("Apply with every condition missing allocates %.0f times", n)
	}
}

func TestCompileNamesEveryBadRule(t *testing.T) {
	t.Parallel()
	// Two bad rules, both named, and the good one still works.
	_, err := translator.Compile([]translator.Rule{
		{Kinds: []string{"x"}}, rule(true, nil), {When: when(translator.Condition{})},
	})
	if err == nil || !strings.Contains(err.Error(), "rule 0 ") || !strings.Contains(err.Error(), "rule 2 ") {
		t.Errorf("Compile error = %v, want rules 0 and 2 named", err)
	}
}

// TestEditsInAnyOrder applies the same deletes (and a set) in every order:
// each edit reads the object where the previous deletion left off first,
// so the members before and after that point must both be found.
func TestEditsInAnyOrder(t *testing.T) {
	t.Parallel()
	const in = `{"a":1, "big":"` + `x\"y` + `", "b":[2,{"b":3}],"c":{"x":1},"d":"d"}`
	const want = `{ "big":"x\"y","e":{"f":true}}`
	edits := []translator.Edit{
		del("a"), del("b"), del("d"),
		{Op: translator.EditDelete, Path: "c.x", Prune: true},
		set("e.f", "true"),
	}
	var permute func(k int)
	permute = func(k int) {
		if k == len(edits) {
			order := make([]string, len(edits))
			for i, e := range edits {
				order[i] = e.Path
			}
			got, err := planFor(t, rule(true, nil, edits...)).Apply([]byte(in), nil)
			if err != nil || string(got.Message) != want {
				t.Errorf("edits %v: %s, %v; want %s", order, got.Message, err, want)
			}
			return
		}
		for i := k; i < len(edits); i++ {
			edits[k], edits[i] = edits[i], edits[k]
			permute(k + 1)
			edits[k], edits[i] = edits[i], edits[k]
		}
	}
	permute(0)
}

// TestPlansConcurrently shares one RuleSet between goroutines, as the
// host does between sessions, past the plan cache's bound: every plan must
// still be right.
func TestPlansConcurrently(t *testing.T) {
	t.Parallel()
	rs, err := translator.Compile([]translator.Rule{
		{From: "*", To: "*", Direction: translator.ToClient, Methods: []string{"*"}, HostOnly: true,
			When: when(translator.Condition{Contains: `"x"`}), Edits: []translator.Edit{del("x")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 400 {
				method := "m/" + strconv.Itoa(g) + "/" + strconv.Itoa(i)
				out, err := rs.Plan(v1, v2, translator.ToClient, method, translator.KindNotification).Apply([]byte(`{"x":1,"y":2}`), nil)
				if err == nil && string(out.Message) != `{"y":2}` {
					err = fmt.Errorf("%s: %s", method, out.Message)
				}
				if err == nil && rs.Plan(v1, v2, translator.ToBackend, method, translator.KindNotification) != nil {
					err = fmt.Errorf("%s: a plan toward the backend", method)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestMoveToTextBlock covers EditMoveToTextBlock as its documentation
// defines it, on a tool result's structuredContent and content.
func TestMoveToTextBlock(t *testing.T) {
	t.Parallel()
	move := translator.Edit{Op: translator.EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"}
	tests := []struct {
		name string
		in   string
		// want is the message after the edit; "" means the very input.
		want  string
		edits []translator.Edit // before the move
	}{
		{
			name: "the example server's echo",
			in:   `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"structuredContent":{"text":"hi"}}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"},{"type":"text","text":"{\"text\":\"hi\"}"}]}}`,
		},
		{
			name: "a text block holds it already",
			in:   `{"id":1,"result":{"content":[{"type":"text","text":"{\"text\":\"hi\"}"}],"structuredContent":{"text":"hi"},"isError":false}}`,
			want: `{"id":1,"result":{"content":[{"type":"text","text":"{\"text\":\"hi\"}"}],"isError":false}}`,
		},
		{
			name: "held with other whitespace and member order",
			in:   `{"result":{"content":[{"type":"image","data":"AA=="},{"type":"text","text":"{\n  \"b\": [1, 2],\n  \"a\": \"x\"\n}"}],"structuredContent":{"a":"x","b":[1,2]}}}`,
			want: `{"result":{"content":[{"type":"image","data":"AA=="},{"type":"text","text":"{\n  \"b\": [1, 2],\n  \"a\": \"x\"\n}"}]}}`,
		},
		{
			name: "held, pretty-printed on both sides",
			in:   "{\"result\":{\"structuredContent\" : { \"a\" : [ 1 , { \"b\" : null } ] } , \"content\":[{\"type\":\"text\",\"text\":\"\\t{\\\"a\\\":[1,{\\\"b\\\":null}]}\\n\"}]}}",
			want: `{"result":{ "content":[{"type":"text","text":"\t{\"a\":[1,{\"b\":null}]}\n"}]}}`,
		},
		{
			name: "held by a block whose names and type are escaped",
			in:   `{"result":{"content":[{"t\u0079pe":"te\u0078t","\u0074ext":"[1]"}],"structuredContent":[1]}}`,
			want: `{"result":{"content":[{"t\u0079pe":"te\u0078t","\u0074ext":"[1]"}]}}`,
		},
		{
			name: "a name given twice: the last value counts in the text",
			in:   `{"result":{"content":[{"type":"text","text":"{\"a\":1,\"a\":2}"}],"structuredContent":{"a":2}}}`,
			want: `{"result":{"content":[{"type":"text","text":"{\"a\":1,\"a\":2}"}]}}`,
		},
		{
			name: "numbers by their spelling",
			in:   `{"result":{"content":[{"type":"text","text":"{\"n\":1.0}"}],"structuredContent":{"n":1}}}`,
			want: `{"result":{"content":[{"type":"text","text":"{\"n\":1.0}"},{"type":"text","text":"{\"n\":1}"}]}}`,
		},
		{
			name: "space inside a literal is no JSON",
			in:   `{"result":{"content":[{"type":"text","text":"[tr ue]"}],"structuredContent":[true]}}`,
			want: `{"result":{"content":[{"type":"text","text":"[tr ue]"},{"type":"text","text":"[true]"}]}}`,
		},
		{
			name: "only a text block counts",
			in:   `{"result":{"content":["[1]",{"type":"texts","text":"[1]"},{"text":"[1]"},{"type":"text","text":["[1]"]},{"type":"image","type":"text","text":"[1]"}],"structuredContent":[1]}}`,
			want: `{"result":{"content":["[1]",{"type":"texts","text":"[1]"},{"text":"[1]"},{"type":"text","text":["[1]"]},{"type":"image","type":"text","text":"[1]"},{"type":"text","text":"[1]"}]}}`,
		},
		{
			name: "a string value is held as JSON text",
			in:   `{"result":{"content":[{"type":"text","text":"hi"},{"type":"text","text":" \"hi\""}],"structuredContent":"hi"}}`,
			want: `{"result":{"content":[{"type":"text","text":"hi"},{"type":"text","text":" \"hi\""}]}}`,
		},
		{
			name: "no content: the array is created",
			in:   `{"result":{"structuredContent":{ "n" : 1 },"isError":false}}`,
			want: `{"result":{"isError":false,"content":[{"type":"text","text":"{\"n\":1}"}]}}`,
		},
		{
			name: "the only member",
			in:   `{"result":{"structuredContent":[1, 2]}}`,
			want: `{"result":{"content":[{"type":"text","text":"[1,2]"}]}}`,
		},
		{
			name: "before its content, spaced",
			in:   `{"result":{ "structuredContent" : 5 , "content" : [ ] }}`,
			want: `{"result":{  "content" : [ {"type":"text","text":"5"}] }}`,
		},
		{
			name: "after its content, spaced",
			in:   `{"result":{ "content" : [ ] , "structuredContent" : null }}`,
			want: `{"result":{ "content" : [ {"type":"text","text":"null"}]  }}`,
		},
		{
			name: "nested, escaped and non-ASCII values",
			in:   `{"result":{"content":[],"structuredContent":{"s":"café \u00e9 \"q\" \\ ` + "\u2028" + ` \n","a":[{"b":{"c":[]}}, -1.5e3]}}}`,
			want: `{"result":{"content":[{"type":"text","text":"{\"s\":\"café \\u00e9 \\\"q\\\" \\\\ \u2028 \\n\",\"a\":[{\"b\":{\"c\":[]}},-1.5e3]}"}]}}`,
		},
		{
			name: "invalid UTF-8 is written as encoding/json writes it",
			in:   "{\"result\":{\"content\":[],\"structuredContent\":\"\xff<&>\"}}",
			want: `{"result":{"content":[{"type":"text","text":"\"\ufffd<&>\""}]}}`,
		},
		{
			name: "nothing to move",
			in:   `{"result":{"content":[{"type":"text","text":"hi"}]}}`,
		},
		{
			name: "content that is not an array is left to the plugin",
			in:   `{"result":{"content":{"type":"text","text":"1"},"structuredContent":1}}`,
		},
		{
			name: "a result that is not an object",
			in:   `{"result":[{"structuredContent":1}]}`,
		},
		{
			name:  "after edits that copied the message, member first",
			edits: []translator.Edit{del("result.resultType"), del("result.ttlMs")},
			in:    `{"result":{"resultType":"complete","structuredContent":{"k":"v"},"content":[{"type":"text","text":"x"}],"ttlMs":0}}`,
			want:  `{"result":{"content":[{"type":"text","text":"x"},{"type":"text","text":"{\"k\":\"v\"}"}]}}`,
		},
		{
			name:  "after edits that copied the message, member last",
			edits: []translator.Edit{del("result.resultType")},
			in:    `{"result":{"resultType":"complete","content":[{"type":"text","text":"x"}],"structuredContent":{"k":"v"},"_meta":{}}}`,
			want:  `{"result":{"content":[{"type":"text","text":"x"},{"type":"text","text":"{\"k\":\"v\"}"}],"_meta":{}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.in)
			got, err := planFor(t, rule(true, nil, append(tt.edits, move)...)).Apply(in, nil)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if string(in) != tt.in {
				t.Fatalf("the input was written to: %s", in)
			}
			if tt.want == "" {
				if &got.Message[0] != &in[0] || len(got.Message) != len(in) {
					t.Errorf("message changed to %s, want the input itself", got.Message)
				}
				return
			}
			if string(got.Message) != tt.want {
				t.Errorf("got  %s\nwant %s", got.Message, tt.want)
			}
		})
	}
}

// TestMoveToTextBlockPaths moves between other paths than a tool
// result's: the array and the objects on the way are created, and a
// member on the way that is not an object stops the edit.
func TestMoveToTextBlockPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, path, in, want string
	}{
		{"a", "b.c.content", `{"a":1,"b":{}}`, `{"b":{"c":{"content":[{"type":"text","text":"1"}]}}}`},
		{"a", "b.c.content", `{"a":1,"b":{"x":2}}`, `{"b":{"x":2,"c":{"content":[{"type":"text","text":"1"}]}}}`},
		{`x\.y`, "list", `{"list":[],"x.y":true}`, `{"list":[{"type":"text","text":"true"}]}`},
		{"a", "b.content", `{"a":1,"b":"x"}`, ""},
		{"a.b", "c", `{"a":[{"b":1}],"c":[]}`, ""},
	}
	for _, tt := range tests {
		in := []byte(tt.in)
		got, err := planFor(t, rule(true, nil, translator.Edit{Op: translator.EditMoveToTextBlock, From: tt.from, Path: tt.path})).Apply(in, nil)
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if err != nil || string(got.Message) != want {
			t.Errorf("move %s to %s in %s: %s, %v; want %s", tt.from, tt.path, tt.in, got.Message, err, want)
		}
	}
}
