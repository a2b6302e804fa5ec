package main

import (
	"context"
	"reflect"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/translator"
)

func TestInfoAndRules(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeTranslator(t, &Translator{})
	ctx := context.Background()
	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Name != "meta-stamp" || info.Kind != base.KindTranslator || info.APIMinor != translator.APIMinor {
		t.Errorf("Info = %+v", info)
	}
	got, err := c.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	if !reflect.DeepEqual(got.Rules, rules) {
		t.Errorf("Rules = %+v, want %+v", got.Rules, rules)
	}
	r := got.Rules[0]
	if !r.Matches("2026-07-28", "2024-11-05", translator.ToClient, "tools/call") || r.Matches("2025-06-18", "2025-03-26", translator.ToBackend, "tools/call") {
		t.Errorf("rule %+v should match tools/call toward clients only", r)
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	c := plugintest.ServeTranslator(t, &Translator{})
	tests := []struct {
		name string
		kind string
		in   string
		want string // "" means unchanged
	}{
		{
			name: "result without _meta",
			kind: translator.KindResponse,
			in:   `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"_meta":{"com.example/translated":"2025-06-18->2025-03-26"}}}`,
		},
		{
			name: "existing _meta keys kept",
			kind: translator.KindResponse,
			in:   `{"jsonrpc":"2.0","id":2,"result":{"content":[],"_meta":{"progressToken":1}}}`,
			want: `{"jsonrpc":"2.0","id":2,"result":{"content":[],"_meta":{"progressToken":1,"com.example/translated":"2025-06-18->2025-03-26"}}}`,
		},
		{
			name: "an earlier stamp is replaced",
			kind: translator.KindResponse,
			in:   `{"jsonrpc":"2.0","id":3,"result":{"content":[],"_meta":{"com.example/translated":"old"}}}`,
			want: `{"jsonrpc":"2.0","id":3,"result":{"content":[],"_meta":{"com.example/translated":"2025-06-18->2025-03-26"}}}`,
		},
		{
			name: "error responses unchanged",
			kind: translator.KindResponse,
			in:   `{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"bad"}}`,
		},
		{
			name: "non-object _meta unchanged",
			kind: translator.KindResponse,
			in:   `{"jsonrpc":"2.0","id":5,"result":{"content":[],"_meta":null}}`,
		},
		{
			name: "requests unchanged",
			kind: translator.KindRequest,
			in:   `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"t"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Translate(context.Background(), translator.TranslateRequest{
				From: "2025-06-18", To: "2025-03-26", Direction: translator.ToClient,
				Method: "tools/call", Kind: tt.kind, Message: []byte(tt.in),
			})
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if got.Drop || len(got.Extra) > 0 {
				t.Fatalf("Translate = %+v, want only a message", got)
			}
			switch {
			case tt.want == "" && got.Message != nil:
				t.Errorf("message changed to %s, want unchanged", got.Message)
			case tt.want != "" && string(got.Message) != tt.want:
				t.Errorf("got  %s\nwant %s", got.Message, tt.want)
			}
		})
	}
}

// TestRulesAgreeWithTranslate checks that the rules' kinds and condition
// keep from the plugin only messages its Translate leaves alone.
func TestRulesAgreeWithTranslate(t *testing.T) {
	t.Parallel()
	var cases []plugintest.TranslationCase
	for _, c := range []struct {
		name, kind, in string
		noCall         bool
	}{
		{"result", translator.KindResponse, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, false},
		{"error", translator.KindResponse, `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"bad"}}`, true},
		{"null result", translator.KindResponse, `{"jsonrpc":"2.0","id":3,"result":null}`, true},
		{"non-object _meta", translator.KindResponse, `{"jsonrpc":"2.0","id":4,"result":{"_meta":[]}}`, false},
		{"request", translator.KindRequest, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t"}}`, true},
	} {
		cases = append(cases, plugintest.TranslationCase{
			Name: c.name, NoCall: c.noCall,
			Request: translator.TranslateRequest{From: "2025-11-25", To: "2025-06-18", Direction: translator.ToClient,
				Method: "tools/call", Kind: c.kind, Message: []byte(c.in)},
		})
	}
	plugintest.CheckTranslatorRules(t, &Translator{}, cases)
}
