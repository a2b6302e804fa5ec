package translator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/translator"
)

// titles is a real translator for tests. Toward clients older than
// 2025-06-18 it strips "title" from the tools and prompts of list results
// and drops notifications/elicitation/complete; toward backends newer than
// 2025-03-26 it splits a client's JSON-RPC batch into single messages.
type titles struct {
	base.Unimplemented
}

var titleRules = []translator.Rule{
	{From: translator.Wildcard, To: "2025-03-26", Direction: translator.ToClient, Methods: []string{"tools/list", "prompts/list"}},
	{From: translator.Wildcard, To: "2025-06-18", Direction: translator.ToClient, Methods: []string{"notifications/elicitation/complete"}},
	{From: "2025-03-26", To: translator.Wildcard, Direction: translator.ToBackend, Methods: []string{translator.Wildcard}},
}

func (titles) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name: "titles", Kind: base.KindTranslator, Version: "1.2.3", APIMinor: translator.APIMinor,
		Capabilities: []string{"strip-title", "split-batch"}, MCPProtocolVersions: []string{"2025-03-26", "2025-06-18", "2025-11-25"},
		Description: "strips titles for 2025-03-26 clients",
	}, nil
}

func (titles) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{Rules: titleRules}, nil
}

func (titles) Translate(_ context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	matched := false
	for _, r := range titleRules {
		matched = matched || r.Matches(req.From, req.To, req.Direction, req.Method)
	}
	if !matched {
		return translator.TranslateResponse{}, fmt.Errorf("no rule for %s %s from %s to %s", req.Direction, req.Method, req.From, req.To)
	}
	switch {
	case req.Direction == translator.ToBackend:
		return splitBatch(req.Message)
	case req.Method == "notifications/elicitation/complete":
		return translator.TranslateResponse{Drop: true}, nil
	case req.Kind == translator.KindResponse:
		return stripTitles(req.Message, strings.TrimSuffix(req.Method, "/list"))
	}
	return translator.TranslateResponse{}, nil
}

// splitBatch sends the first message of a batch in its place and the others
// as extras; an empty batch is dropped. A single message is left alone.
func splitBatch(msg []byte) (translator.TranslateResponse, error) {
	if len(msg) == 0 || msg[0] != '[' {
		return translator.TranslateResponse{}, nil
	}
	n, err := strconv.Atoi(string(jsonrpc.Get(msg, "#")))
	if err != nil {
		return translator.TranslateResponse{}, fmt.Errorf("batch length: %w", err)
	}
	if n == 0 {
		return translator.TranslateResponse{Drop: true}, nil
	}
	out := translator.TranslateResponse{Message: jsonrpc.Get(msg, "0")}
	for i := 1; i < n; i++ {
		out.Extra = append(out.Extra, jsonrpc.Get(msg, strconv.Itoa(i)))
	}
	return out, nil
}

// stripTitles deletes result.<list>[*].title; nil Message when none had one.
func stripTitles(msg []byte, list string) (translator.TranslateResponse, error) {
	n, err := strconv.Atoi(string(jsonrpc.Get(msg, "result."+list+".#")))
	if err != nil {
		return translator.TranslateResponse{}, nil // an error response: nothing to strip
	}
	var out []byte
	for i := range n {
		path := "result." + list + "." + strconv.Itoa(i) + ".title"
		if jsonrpc.Get(msg, path) == nil {
			continue
		}
		if out == nil {
			out = msg
		}
		if out, err = jsonrpc.Delete(out, path); err != nil {
			return translator.TranslateResponse{}, err
		}
	}
	return translator.TranslateResponse{Message: out}, nil
}

// scripted answers with canned responses, by method, and echoes the request
// for method "echo", so that the adapters can be checked field by field.
type scripted struct {
	base.Unimplemented
	responses map[string]translator.TranslateResponse
	rules     []translator.Rule
}

func (scripted) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "scripted", Kind: base.KindTranslator, Version: "0.0.1"}, nil
}

func (s scripted) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{Rules: s.rules}, nil
}

func (s scripted) Translate(_ context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	if req.Method == "echo" {
		fields := fmt.Sprintf(`{"from":%q,"to":%q,"direction":%d,"kind":%q,"nil":%t}`, req.From, req.To, req.Direction, req.Kind, req.Message == nil)
		return translator.TranslateResponse{Message: req.Message, Extra: [][]byte{[]byte(fields)}}, nil
	}
	r, ok := s.responses[req.Method]
	if !ok {
		return translator.TranslateResponse{}, fmt.Errorf("scripted: no response for %q", req.Method)
	}
	return r, nil
}

func TestRuleMatches(t *testing.T) {
	t.Parallel()
	exact := translator.Rule{From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient, Methods: []string{"tools/list", "notifications/*"}}
	wild := translator.Rule{From: "*", To: "*", Methods: []string{"*"}}
	tests := []struct {
		name     string
		rule     translator.Rule
		from, to string
		dir      translator.Direction
		method   string
		want     bool
	}{
		{"exact", exact, "2025-06-18", "2025-03-26", translator.ToClient, "tools/list", true},
		{"prefix", exact, "2025-06-18", "2025-03-26", translator.ToClient, "notifications/progress", true},
		{"prefix needs the slash", exact, "2025-06-18", "2025-03-26", translator.ToClient, "notifications", false},
		{"prefix is not a substring", exact, "2025-06-18", "2025-03-26", translator.ToClient, "xnotifications/progress", false},
		{"other method", exact, "2025-06-18", "2025-03-26", translator.ToClient, "tools/call", false},
		{"method prefix of a name", exact, "2025-06-18", "2025-03-26", translator.ToClient, "tools/list2", false},
		{"other from", exact, "2025-11-25", "2025-03-26", translator.ToClient, "tools/list", false},
		{"other to", exact, "2025-06-18", "2024-11-05", translator.ToClient, "tools/list", false},
		{"versions swapped", exact, "2025-03-26", "2025-06-18", translator.ToClient, "tools/list", false},
		{"other direction", exact, "2025-06-18", "2025-03-26", translator.ToBackend, "tools/list", false},
		{"wildcards", wild, "2024-11-05", "2026-07-28", translator.ToBackend, "ping", true},
		{"wildcard method matches empty", wild, "a", "b", translator.ToClient, "", true},
		{"any direction", translator.Rule{From: "a", To: "b", Methods: []string{"m"}}, "a", "b", translator.ToBackend, "m", true},
		{"wildcard from only", translator.Rule{From: "*", To: "b", Direction: translator.ToBackend, Methods: []string{"m"}}, "zzz", "b", translator.ToBackend, "m", true},
		{"wildcard to only", translator.Rule{From: "a", To: "*", Direction: translator.ToBackend, Methods: []string{"m"}}, "a", "zzz", translator.ToBackend, "m", true},
		{"no methods match nothing", translator.Rule{From: "*", To: "*"}, "a", "b", translator.ToClient, "m", false},
		{"empty version is exact", translator.Rule{From: "", To: "b", Methods: []string{"m"}}, "", "b", translator.ToClient, "m", true},
		{"empty version is not a wildcard", translator.Rule{From: "", To: "b", Methods: []string{"m"}}, "a", "b", translator.ToClient, "m", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.rule.Matches(tt.from, tt.to, tt.dir, tt.method); got != tt.want {
				t.Errorf("%+v.Matches(%q, %q, %v, %q) = %t, want %t", tt.rule, tt.from, tt.to, tt.dir, tt.method, got, tt.want)
			}
		})
	}
}

func TestDirectionString(t *testing.T) {
	t.Parallel()
	for d, want := range map[translator.Direction]string{
		translator.AnyDirection: "any", translator.ToBackend: "to_backend", translator.ToClient: "to_client", 7: "Direction(7)",
	} {
		if got := d.String(); got != want {
			t.Errorf("Direction(%d).String() = %q, want %q", int(d), got, want)
		}
	}
}

func TestInfoAndRules(t *testing.T) {
	t.Parallel()
	impl := titles{}
	c := plugintest.ServeTranslator(t, impl)
	ctx := context.Background()
	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	wantInfo, _ := impl.Info(ctx, base.InfoRequest{})
	if !reflect.DeepEqual(info, wantInfo) {
		t.Errorf("Info = %+v, want %+v", info, wantInfo)
	}
	rules, err := c.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	if !reflect.DeepEqual(rules.Rules, titleRules) {
		t.Errorf("Rules = %+v, want %+v", rules.Rules, titleRules)
	}

	// Every direction and an empty method list survive the trip; no rules
	// come back as none.
	odd := []translator.Rule{
		{From: "a", To: "b", Direction: translator.AnyDirection, Methods: []string{"x", "y/*"}},
		{From: "", To: "", Direction: translator.ToBackend},
		// Every field of API minor 3, with bytes that are not UTF-8.
		{
			From: "*", To: "2025-06-18", Direction: translator.ToClient, Methods: []string{"*"},
			Kinds: []string{translator.KindResponse, translator.KindNotification},
			When: []translator.Condition{
				{Contains: "\xff\"audio\""},
				{Path: `result.content.#(type=="audio")`, Is: []string{"object"}, IsNot: []string{"null", "array"}, Equals: `{"type":"audio"}`},
			},
			Edits: []translator.Edit{
				{Op: translator.EditDelete, Path: `result._meta.io\.x/y`, IfEquals: `"complete"`, Prune: true},
				{Op: translator.EditSet, Path: "params._meta.caps", FromSession: translator.SessionClientCapabilities},
				{Op: translator.EditAdd, Path: "result.ttlMs", Value: "0"},
				{Op: translator.EditDrop},
				{Op: translator.EditMoveToTextBlock, From: "result.structuredContent", Path: "result.content"},
			},
			HostOnly: true,
		},
		// An operation this SDK does not know crosses as it is, for
		// Compile to refuse and the host to call Translate instead.
		{From: "*", To: "*", Methods: []string{"*"}, Edits: []translator.Edit{{Op: 99, Path: "x", From: "y"}}},
	}
	for _, tt := range []struct {
		name  string
		rules []translator.Rule
	}{{"odd", odd}, {"none", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := plugintest.ServeTranslator(t, scripted{rules: tt.rules}).Rules(ctx, translator.RulesRequest{})
			if err != nil {
				t.Fatalf("Rules: %v", err)
			}
			if !reflect.DeepEqual(got.Rules, tt.rules) {
				t.Errorf("Rules = %#v, want %#v", got.Rules, tt.rules)
			}
		})
	}
}

func TestTitles(t *testing.T) {
	t.Parallel()
	impl := titles{}
	c := plugintest.ServeTranslator(t, impl)
	bigDescription := strings.Repeat("0123456789abcdef", (1<<20)/16)
	var bigTools, bigStripped []string
	for i := range 10 {
		bigTools = append(bigTools, fmt.Sprintf(`{"name":"t%d","title":"T %d","description":"%s"}`, i, i, bigDescription))
		bigStripped = append(bigStripped, fmt.Sprintf(`{"name":"t%d","description":"%s"}`, i, bigDescription))
	}
	tests := []struct {
		name string
		req  translator.TranslateRequest
		want translator.TranslateResponse
	}{
		{
			name: "tools list loses titles",
			req: translator.TranslateRequest{From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient, Method: "tools/list", Kind: translator.KindResponse,
				Message: []byte(`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a","title":"Ä tool","inputSchema":{"type":"object","$defs":{"x":{}}}},{"name":"b"},{"name":"c","title":"C","_meta":{"title":"kept"}}]}}`)},
			want: translator.TranslateResponse{Message: []byte(`{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"a","inputSchema":{"type":"object","$defs":{"x":{}}}},{"name":"b"},{"name":"c","_meta":{"title":"kept"}}]}}`)},
		},
		{
			name: "prompts list loses titles",
			req: translator.TranslateRequest{From: "2025-11-25", To: "2025-03-26", Direction: translator.ToClient, Method: "prompts/list", Kind: translator.KindResponse,
				Message: []byte(`{"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"p","title":"P"}],"nextCursor":"c"}}`)},
			want: translator.TranslateResponse{Message: []byte(`{"jsonrpc":"2.0","id":"p","result":{"prompts":[{"name":"p"}],"nextCursor":"c"}}`)},
		},
		{
			name: "nothing to strip is unchanged",
			req: translator.TranslateRequest{From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient, Method: "tools/list", Kind: translator.KindResponse,
				Message: []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}`)},
			want: translator.TranslateResponse{},
		},
		{
			name: "error response is unchanged",
			req: translator.TranslateRequest{From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient, Method: "tools/list", Kind: translator.KindResponse,
				Message: jsonrpc.Error([]byte("1"), jsonrpc.CodeInternalError, "boom", nil)},
			want: translator.TranslateResponse{},
		},
		{
			name: "large list",
			req: translator.TranslateRequest{From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient, Method: "tools/list", Kind: translator.KindResponse,
				Message: []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[` + strings.Join(bigTools, ",") + `]}}`)},
			want: translator.TranslateResponse{Message: []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[` + strings.Join(bigStripped, ",") + `]}}`)},
		},
		{
			name: "elicitation complete is dropped",
			req: translator.TranslateRequest{From: "2025-11-25", To: "2025-06-18", Direction: translator.ToClient, Method: "notifications/elicitation/complete", Kind: translator.KindNotification,
				Message: jsonrpc.Notification("notifications/elicitation/complete", []byte(`{"elicitationId":"e"}`))},
			want: translator.TranslateResponse{Drop: true},
		},
		{
			name: "batch is split",
			req: translator.TranslateRequest{From: "2025-03-26", To: "2025-06-18", Direction: translator.ToBackend, Kind: translator.KindRequest,
				Message: []byte(`[{"jsonrpc":"2.0","id":1,"method":"ping"}, {"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"x","method":"tools/list","params":{ }}]`)},
			want: translator.TranslateResponse{
				Message: []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`),
				Extra:   [][]byte{[]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), []byte(`{"jsonrpc":"2.0","id":"x","method":"tools/list","params":{ }}`)},
			},
		},
		{
			name: "empty batch is dropped",
			req:  translator.TranslateRequest{From: "2025-03-26", To: "2025-11-25", Direction: translator.ToBackend, Kind: translator.KindRequest, Message: []byte(`[]`)},
			want: translator.TranslateResponse{Drop: true},
		},
		{
			name: "single request is unchanged",
			req: translator.TranslateRequest{From: "2025-03-26", To: "2025-11-25", Direction: translator.ToBackend, Method: "tools/call", Kind: translator.KindRequest,
				Message: jsonrpc.Request([]byte("3"), "tools/call", []byte(`{"name":"a"}`))},
			want: translator.TranslateResponse{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			direct, err := impl.Translate(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("direct Translate: %v", err)
			}
			checkResponse(t, "direct", direct, tt.want)
			got, err := c.Translate(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkResponse(t, "gRPC", got, tt.want)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	impl := scripted{responses: map[string]translator.TranslateResponse{
		"unchanged":     {},
		"empty":         {Message: []byte{}},
		"replaced":      {Message: []byte(` {"jsonrpc": "2.0",` + "\n" + `"method":"x","params":{"s":"é\u00e9"}} `)},
		"drop":          {Drop: true},
		"drop and keep": {Drop: true, Message: []byte(`{"ignored":true}`), Extra: [][]byte{[]byte(`{"a":1}`)}},
		"extras":        {Message: []byte(`1`), Extra: [][]byte{[]byte(`{"a":1}`), []byte(`  [ ]  `), []byte(`"\u2028"`)}},
		"empty extra":   {Extra: [][]byte{{}}},
	}}
	c := plugintest.ServeTranslator(t, impl)
	for method := range impl.responses {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			req := translator.TranslateRequest{From: "f", To: "t", Direction: translator.ToClient, Method: method, Kind: translator.KindNotification, Message: []byte(`{}`)}
			got, err := c.Translate(context.Background(), req)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkResponse(t, "gRPC", got, impl.responses[method])
		})
	}

	echoes := []translator.TranslateRequest{
		{From: "2025-03-26", To: "2025-06-18", Direction: translator.ToBackend, Kind: translator.KindRequest, Message: []byte("{\"jsonrpc\":\"2.0\",\n \"id\":1,\"method\":\"ping\"}")},
		{From: "*", To: "", Direction: translator.ToClient, Kind: translator.KindResponse, Message: []byte(`{"x":"\ud83d\ude00 😀"}`)},
		{Direction: translator.AnyDirection, Kind: "", Message: nil},
	}
	for i, req := range echoes {
		t.Run(fmt.Sprintf("echo %d", i), func(t *testing.T) {
			t.Parallel()
			req.Method = "echo"
			got, err := c.Translate(context.Background(), req)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			// An absent request message arrives as nil, and comes back as
			// "unchanged".
			fields := fmt.Sprintf(`{"from":%q,"to":%q,"direction":%d,"kind":%q,"nil":%t}`, req.From, req.To, req.Direction, req.Kind, len(req.Message) == 0)
			checkResponse(t, "echo", got, translator.TranslateResponse{Message: req.Message, Extra: [][]byte{[]byte(fields)}})
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeTranslator(t, titles{})
	_, err := c.Translate(context.Background(), translator.TranslateRequest{
		From: "2025-06-18", To: "2025-11-25", Direction: translator.ToClient, Method: "tools/call", Kind: translator.KindResponse, Message: []byte(`{}`),
	})
	if err == nil {
		t.Fatal("Translate without a matching rule succeeded")
	}
	if !strings.Contains(err.Error(), "translate response tools/call") || !strings.Contains(err.Error(), "no rule for to_client tools/call") {
		t.Errorf("error = %q, want the method and the plugin's message", err)
	}
	if code := status.Code(errors.Unwrap(err)); code != codes.Unknown {
		t.Errorf("wrapped status code = %v, want %v", code, codes.Unknown)
	}
}

// checkResponse compares two responses exactly: Message's nil-ness and
// bytes, Drop, and every Extra message's bytes.
func checkResponse(t *testing.T, what string, got, want translator.TranslateResponse) {
	t.Helper()
	if (got.Message == nil) != (want.Message == nil) || !bytes.Equal(got.Message, want.Message) {
		t.Errorf("%s: Message = %q (nil %t), want %q (nil %t)", what, trim(got.Message), got.Message == nil, trim(want.Message), want.Message == nil)
	}
	if got.Drop != want.Drop {
		t.Errorf("%s: Drop = %t, want %t", what, got.Drop, want.Drop)
	}
	if len(got.Extra) != len(want.Extra) {
		t.Fatalf("%s: %d extra messages, want %d", what, len(got.Extra), len(want.Extra))
	}
	for i := range got.Extra {
		if !bytes.Equal(got.Extra[i], want.Extra[i]) {
			t.Errorf("%s: Extra[%d] = %q, want %q", what, i, trim(got.Extra[i]), trim(want.Extra[i]))
		}
	}
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
