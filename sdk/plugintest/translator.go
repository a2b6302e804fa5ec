package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/mcphost/mcphost/sdk/translator"
)

// TranslationCase is one message for CheckTranslatorRules.
type TranslationCase struct {
	// Name names the subtest.
	Name string
	// Request is the message, as the host would send it to Translate.
	Request translator.TranslateRequest
	// NoCall requires the host to settle the message without calling
	// Translate: the rules' conditions and edits must be enough.
	NoCall bool
}

// TranslationStats counts what CheckTranslatorRules saw.
type TranslationStats struct {
	// Cases is how many cases were checked; Calls how many of them the
	// host would have sent to Translate, and Untouched how many no rule
	// matched at all.
	Cases, Calls, Untouched int
}

// CheckTranslatorRules checks that a translator's rules say the truth about
// its Translate. For every case it translates the message twice: with
// Translate alone (what a host of API minor 1 does), and as the host
// does, applying the rules' edits and calling Translate, with the edited
// message, only when a covered rule asks for it. Both must agree: the same
// error or none, the same Drop, the same extra messages, and the same
// message up to member order (compared decoded, numbers as written). A
// message on one line must stay on one line. NoCall cases must need no
// Translate call.
//
// The rules are read over gRPC (as the host reads them, through
// ServeTranslator) and must compile without error; Translate is called on
// impl directly.
func CheckTranslatorRules(t *testing.T, impl translator.Translator, cases []TranslationCase) TranslationStats {
	t.Helper()
	ctx := context.Background()
	direct, err := impl.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	remote, err := ServeTranslator(t, impl).Rules(ctx, translator.RulesRequest{})
	if err != nil {
		t.Fatalf("Rules over gRPC: %v", err)
	}
	// Printed, a nil and an empty list are the same, as they are on the
	// wire.
	if d, r := fmt.Sprintf("%+v", direct.Rules), fmt.Sprintf("%+v", remote.Rules); d != r {
		t.Fatalf("the rules changed over gRPC:\n got %s\nwant %s", r, d)
	}
	rules, err := translator.Compile(remote.Rules)
	if err != nil {
		t.Errorf("the host cannot compile the rules (it would call Translate for them): %v", err)
	}
	var stats TranslationStats
	for _, c := range cases {
		stats.Cases++
		t.Run(c.Name, func(t *testing.T) {
			req := c.Request
			want, wantErr := impl.Translate(ctx, req)
			got, called, untouched, gotErr := hostTranslate(ctx, rules, impl, req)
			if called {
				stats.Calls++
			}
			if untouched {
				stats.Untouched++
			}
			if (wantErr != nil) != (gotErr != nil) {
				t.Fatalf("Translate alone: error %v; through the rules: error %v", wantErr, gotErr)
			}
			if wantErr != nil {
				return
			}
			if c.NoCall && called {
				t.Errorf("the host had to call Translate for %s %s %s from %s to %s", req.Direction, req.Kind, req.Method, req.From, req.To)
			}
			checkSameTranslation(t, req.Message, want, got)
		})
	}
	return stats
}

// hostTranslate does with one message what the host does with one
// translator.
func hostTranslate(ctx context.Context, rules *translator.RuleSet, impl translator.Translator, req translator.TranslateRequest) (resp translator.TranslateResponse, called, untouched bool, err error) {
	plan := rules.Plan(req.From, req.To, req.Direction, req.Method, req.Kind)
	if plan == nil {
		return translator.TranslateResponse{}, false, true, nil
	}
	out, err := plan.Apply(req.Message, func() translator.Session { return req.Session })
	switch {
	case err != nil:
		return resp, false, false, err
	case out.Drop:
		return translator.TranslateResponse{Drop: true}, false, false, nil
	case !out.Translate:
		return translator.TranslateResponse{Message: out.Message}, false, false, nil
	}
	edited := req
	edited.Message = out.Message
	resp, err = impl.Translate(ctx, edited)
	if err == nil && resp.Message == nil {
		resp.Message = out.Message
	}
	return resp, true, false, err
}

func checkSameTranslation(t *testing.T, in []byte, want, got translator.TranslateResponse) {
	t.Helper()
	if got.Drop != want.Drop {
		t.Fatalf("Drop through the rules %t, Translate alone %t", got.Drop, want.Drop)
	}
	if len(got.Extra) != len(want.Extra) {
		t.Fatalf("%d extra messages through the rules, %d from Translate alone", len(got.Extra), len(want.Extra))
	}
	for i := range want.Extra {
		if !sameJSON(got.Extra[i], want.Extra[i]) {
			t.Errorf("extra message %d through the rules:\n%s\nfrom Translate alone:\n%s", i, got.Extra[i], want.Extra[i])
		}
	}
	if want.Drop {
		return
	}
	wantMsg, gotMsg := want.Message, got.Message
	if wantMsg == nil {
		wantMsg = in
	}
	if gotMsg == nil {
		gotMsg = in
	}
	if !sameJSON(gotMsg, wantMsg) {
		t.Errorf("through the rules:\n%s\nTranslate alone:\n%s", gotMsg, wantMsg)
	}
	if !bytes.ContainsAny(in, "\r\n") && bytes.ContainsAny(gotMsg, "\r\n") {
		t.Errorf("the message no longer fits on one line: %q", gotMsg)
	}
}

// sameJSON reports whether a and b are the same JSON document up to
// whitespace and member order.
func sameJSON(a, b []byte) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}
