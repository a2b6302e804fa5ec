package plugintest

import (
	"context"
	"slices"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

// SchemaWant is the schema a plugin means to declare: its `plugin "NAME"`
// config block and the block of each use (a transport's in each server);
// a kind without one leaves it empty.
type SchemaWant struct {
	Plugin, Instance BlockWant
}

// BlockWant is one config block: every attribute's name, in order, and
// exactly which of them are required and which sensitive (secrets the host
// never shows), in any order.
type BlockWant struct {
	Attributes, Required, Sensitive []string
}

// CheckSchema fails t unless p's Schema answers what want says. A secret
// left unmarked is the mistake it exists to catch: the host would show its
// value.
func CheckSchema(t testing.TB, p base.Plugin, want SchemaWant) {
	t.Helper()
	s, err := p.Schema(context.Background(), base.SchemaRequest{})
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	checkBlock(t, "plugin", s.Plugin, want.Plugin)
	checkBlock(t, "instance", s.Instance, want.Instance)
}

func checkBlock(t testing.TB, name string, block base.Schema, want BlockWant) {
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
			t.Errorf("%s block: %s = %q, want %q", name, what, got, want)
		}
	}
	check("attributes", names, want.Attributes, true)
	check("required attributes", required, want.Required, false)
	check("sensitive attributes", sensitive, want.Sensitive, false)
}
