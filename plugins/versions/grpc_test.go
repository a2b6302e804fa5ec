package versions

import (
	"context"
	"reflect"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/translator"
)

// TestOverGRPC serves the plugin as the host runs it (real gRPC, in
// process) and checks that its info, rules and a few translations,
// session data included, survive the trip.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	impl := New(nil)
	c := plugintest.ServeTranslator(t, impl)
	ctx := context.Background()

	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if want, _ := impl.Info(ctx, base.InfoRequest{}); !reflect.DeepEqual(info, want) {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	rules, err := c.Rules(ctx, translator.RulesRequest{})
	if err != nil {
		t.Fatalf("Rules: %v", err)
	}
	if !reflect.DeepEqual(rules.Rules, impl.rules) {
		t.Errorf("Rules over gRPC differ from the plugin's: %d vs %d", len(rules.Rules), len(impl.rules))
	}

	for _, name := range []string{
		"meta merged, progressToken kept",              // session data crosses gRPC
		"elicitation complete dropped",                 // Drop
		"tool annotations stripped, schemas untouched", // a rewrite
		"unsupported version becomes invalid request",  // an error response
		"legacy tool calls need nothing",               // nil stays nil, not empty
	} {
		tc := goldenNamed(t, name)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Translate(ctx, tc.request())
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkGolden(t, tc, got)
		})
	}
}

// goldenNamed finds a golden case by name.
func goldenNamed(t *testing.T, name string) golden {
	t.Helper()
	for _, tc := range allGolden() {
		if tc.name == name {
			return tc
		}
	}
	t.Fatalf("no golden case %q", name)
	return golden{}
}
