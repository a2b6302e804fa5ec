package main

import (
	"context"
	"fmt"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/translator"
)

// MetaKey is the _meta key the plugin sets. Custom _meta keys take a
// reverse-DNS prefix; io.modelcontextprotocol/ and the like are reserved
// for the spec.
const MetaKey = "com.example/translated"

// rules asks for tools/call responses toward clients, for every pair of
// versions; the host still calls only when the two differ. Kinds and the
// condition (API minor 2) let the host keep requests and error responses,
// which Translate leaves alone, from reaching the plugin; a host of minor
// 1 ignores them and calls for every tools/call message.
var rules = []translator.Rule{{
	From: translator.Wildcard, To: translator.Wildcard, Direction: translator.ToClient, Methods: []string{"tools/call"},
	Kinds: []string{translator.KindResponse},
	When:  []translator.Condition{{Path: "result", Is: []string{translator.TypeObject}}},
}}

// Translator stamps tools/call results.
type Translator struct {
	base.Unimplemented
}

var _ translator.Translator = (*Translator)(nil)

func (*Translator) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name: "meta-stamp", Kind: base.KindTranslator, Version: "0.1.0", APIMinor: translator.APIMinor,
		Description: `Marks tools/call results with result._meta["` + MetaKey + `"] = "<from>-><to>".`,
	}, nil
}

func (*Translator) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{Rules: rules}, nil
}

// Translate sets the stamp with one targeted edit, so every other byte of
// the result passes unchanged. Requests, error responses and results whose
// _meta is not an object are left alone (a nil Message).
func (*Translator) Translate(_ context.Context, req translator.TranslateRequest) (translator.TranslateResponse, error) {
	if req.Kind != translator.KindResponse || req.Method != "tools/call" {
		return translator.TranslateResponse{}, nil
	}
	result := gjson.GetBytes(req.Message, "result")
	if !result.IsObject() {
		return translator.TranslateResponse{}, nil
	}
	if meta := result.Get("_meta"); meta.Exists() && !meta.IsObject() {
		return translator.TranslateResponse{}, nil
	}
	// sjson, unlike json.Marshal, writes the ">" of the stamp as is.
	out, err := sjson.SetBytes(req.Message, "result._meta."+jsonrpc.EscapePath(MetaKey), req.From+"->"+req.To)
	if err != nil {
		return translator.TranslateResponse{}, fmt.Errorf("meta-stamp: %w", err)
	}
	return translator.TranslateResponse{Message: out}, nil
}
