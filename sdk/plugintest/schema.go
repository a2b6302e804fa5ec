package plugintest

import (
	"slices"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

// SchemaWant is a config block as a plugin means to declare it: every
// attribute's name, in order, and exactly which of them are required and
// which sensitive (secrets the host never shows), in any order.
type SchemaWant struct {
	Attributes, Required, Sensitive []string
}

// CheckSchema fails t unless block, the Instance or Plugin block of what
// the plugin's Schema answers, is as want says. A secret left unmarked is
// the mistake it exists to catch: the host would show its value.
func CheckSchema(t testing.TB, block base.Schema, want SchemaWant) {
	t.Helper()
	var names, required, sensitive []string
	for _, a := range block.Attributes {
		names = append(names, a.Name)
		if a.Required {
			required = append(required, a.Name)
		}
		if a.Sensitive {
			sensitive = append(sensitive, a.Name)
		}
	}
	check := func(what string, got, want []string, ordered bool) {
		t.Helper()
		if !ordered {
			got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("attributes", names, want.Attributes, true)
	check("required attributes", required, want.Required, false)
	check("sensitive attributes", sensitive, want.Sensitive, false)
}
