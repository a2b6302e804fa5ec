package proxy

import (
	"encoding/json"
	"testing"

	pluginbase "github.com/mcphost/mcphost/sdk/base"

	"github.com/mcphost/mcphost/host/internal/pluginhost"
)

// The tracing block's store_dir and store_content reach a tracing plugin
// only as attributes its schema has: tracing-postgres, whose store is a
// database, would refuse a "dir".
func TestWithStoreDirFollowsSchema(t *testing.T) {
	t.Parallel()
	attrs := func(names ...string) pluginbase.Schema {
		var s pluginbase.Schema
		for _, n := range names {
			s.Attributes = append(s.Attributes, pluginbase.Attribute{Name: n})
		}
		return s
	}
	tests := []struct {
		name   string
		config string
		schema pluginbase.Schema
		want   string
	}{
		{"badger gets both", `{}`, attrs("dir", "store_content"), `{"dir":"/trace","store_content":true}`},
		{"its own dir wins", `{"dir":"/own"}`, attrs("dir", "store_content"), `{"dir":"/own","store_content":true}`},
		{"postgres gets store_content only", `{"dsn":"x"}`, attrs("dsn", "store_content"), `{"dsn":"x","store_content":true}`},
		{"neither", `{"dsn":"x"}`, attrs("dsn"), `{"dsn":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := withStoreDir(pluginhost.Spec{Config: json.RawMessage(tc.config)}, "/trace", true)
			got, err := spec.DecodeConfig(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal([]byte(tc.want), &w)
			if gb, wb := mustMarshal(t, g), mustMarshal(t, w); gb != wb {
				t.Errorf("config %s, want %s", gb, wb)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
