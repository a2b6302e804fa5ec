package versions

import (
	"context"
	"slices"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/translator"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{V20241105, V20250326, -1},
		{V20260728, V20251125, 1},
		{V20241007, V20241105, 0},
		{V20241007, V20250326, -1},
		{V20250618, V20250618, 0},
		{"2027-01-01", V20260728, 1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if !slices.IsSortedFunc(Supported, Compare) {
		t.Errorf("Supported %v is not oldest first", Supported)
	}
	if Normalize(V20241007) != V20241105 || Normalize(V20250326) != V20250326 {
		t.Error("Normalize maps the wrong versions")
	}
	if IsModern(V20251125) || !IsModern(V20260728) {
		t.Error("IsModern draws the era line in the wrong place")
	}
}

func TestInfo(t *testing.T) {
	t.Parallel()
	info, err := New(nil).Info(context.Background(), base.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "versions" || info.Kind != base.KindTranslator || info.Version != Version || info.APIMinor != translator.APIMinor {
		t.Errorf("Info = %+v", info)
	}
	if !slices.Equal(info.MCPProtocolVersions, Supported) {
		t.Errorf("MCPProtocolVersions = %v, want %v", info.MCPProtocolVersions, Supported)
	}
	schema, err := New(nil).Schema(context.Background(), base.SchemaRequest{})
	if err != nil || len(schema.Plugin.Attributes)+len(schema.Instance.Attributes) != 0 {
		t.Errorf("Schema = %+v, %v; want no attributes", schema, err)
	}
}

// legacyToolCallPairs are legacy version pairs between which a tools/call
// request needs no change.
var legacyToolCallPairs = [][2]string{
	{V20241105, V20250326}, {V20250326, V20241105}, {V20241105, V20251125}, {V20251125, V20241105},
	{V20250618, V20251125}, {V20251125, V20250618}, {V20241007, V20250618}, {V20250326, V20250618},
}

// TestNoCallForUntouchedMethods checks that no rule makes the host call the
// plugin for a tools/call request between legacy revisions, which the
// plugin would return unchanged.
func TestNoCallForUntouchedMethods(t *testing.T) {
	t.Parallel()
	tr := New(nil)
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":1},"_meta":{"progressToken":1}}}`)
	for _, p := range legacyToolCallPairs {
		if ruleMatches(tr.rules, p[0], p[1], translator.ToBackend, "tools/call") {
			t.Errorf("a rule matches tools/call requests from %s to %s", p[0], p[1])
		}
		got, err := tr.Translate(context.Background(), translator.TranslateRequest{
			From: p[0], To: p[1], Direction: translator.ToBackend, Kind: translator.KindRequest, Method: "tools/call", Message: msg,
		})
		if err != nil || got.Message != nil || got.Drop {
			t.Errorf("Translate from %s to %s = %+v, %v; want unchanged", p[0], p[1], got, err)
		}
	}
	// Upward, toward a newer legacy client, tool results need nothing
	// either.
	for _, p := range [][2]string{{V20241105, V20251125}, {V20250326, V20250618}} {
		if ruleMatches(tr.rules, p[0], p[1], translator.ToClient, "tools/call") {
			t.Errorf("a rule matches tools/call results from %s up to %s", p[0], p[1])
		}
	}
}

// TestRulesShape spot-checks the rules derived from the steps: which
// methods each pair's rules name at all. What the conditions and edits do
// is checked against Translate by TestHostRulesAgreeWithTranslate.
func TestRulesShape(t *testing.T) {
	t.Parallel()
	rules := New(nil).rules
	// find lists the methods the rules of one pair and direction name, in
	// order, or the wildcard when one names every method.
	find := func(from, to string, dir translator.Direction) []string {
		var methods []string
		for _, r := range rules {
			if r.From != from || r.To != to || r.Direction != dir {
				continue
			}
			if slices.Contains(r.Methods, translator.Wildcard) {
				return []string{translator.Wildcard}
			}
			for _, m := range r.Methods {
				if !slices.Contains(methods, m) {
					methods = append(methods, m)
				}
			}
		}
		return methods
	}
	tests := []struct {
		from, to string
		dir      translator.Direction
		want     []string
	}{
		{V20241105, V20260728, translator.ToBackend, []string{"*"}},
		{V20260728, V20250618, translator.ToBackend, []string{"*"}},
		{V20260728, V20241105, translator.ToClient, []string{"*"}},
		{V20250326, V20260728, translator.ToClient, []string{"*"}},
		{V20250618, V20241105, translator.ToBackend, []string{"completion/complete", "sampling/createMessage"}},
		{V20250326, V20241105, translator.ToBackend, []string{"completion/complete", "sampling/createMessage"}},
		{V20241105, V20250326, translator.ToBackend, []string{"completion/complete"}},
		{V20251125, V20250618, translator.ToBackend, nil},
		{V20250326, V20241105, translator.ToClient, []string{"tools/list", "tools/call", "prompts/get", "notifications/progress", "sampling/createMessage"}},
		{V20251125, V20250618, translator.ToClient, []string{"notifications/elicitation/complete", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/templates/list", "elicitation/create", "sampling/createMessage"}},
		{V20241105, V20251125, translator.ToClient, []string{"sampling/createMessage"}},
		{V20251125, V20260728, translator.ToClient, []string{"*"}},
		{V20241007, V20241105, translator.ToClient, nil},
	}
	for _, tt := range tests {
		if got := find(tt.from, tt.to, tt.dir); !slices.Equal(got, tt.want) {
			t.Errorf("rule %s → %s %s: methods %q, want %q", tt.from, tt.to, tt.dir, got, tt.want)
		}
	}
	for _, r := range rules {
		if r.From == translator.Wildcard || r.To == translator.Wildcard || r.Direction == translator.AnyDirection || Compare(r.From, r.To) == 0 {
			t.Errorf("rule %+v is wider than one version pair and direction", r)
		}
	}
}
