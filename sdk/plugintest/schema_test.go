package plugintest

import (
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

// recorder is a testing.TB that keeps its failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

// described is a plugin whose instance block is config.
type described struct{ base.Described }

func TestCheckSchema(t *testing.T) {
	t.Parallel()
	type config struct {
		URL   string `json:"url" config:"required"`
		Token string `json:"token" config:"sensitive"`
		Mode  string `json:"mode"`
	}
	p := described{base.DescribeInstance(base.InfoResponse{Name: "p"}, base.NewBlock(base.NoCheck[config]))}
	tests := []struct {
		name     string
		want     SchemaWant
		wantFail bool
	}{
		{name: "as declared", want: SchemaWant{Instance: BlockWant{Attributes: []string{"url", "token", "mode"}, Required: []string{"url"}, Sensitive: []string{"token"}}}},
		{name: "order of attributes matters", want: SchemaWant{Instance: BlockWant{Attributes: []string{"token", "url", "mode"}, Required: []string{"url"}, Sensitive: []string{"token"}}}, wantFail: true},
		{name: "an unmarked secret", want: SchemaWant{Instance: BlockWant{Attributes: []string{"url", "token", "mode"}, Required: []string{"url"}, Sensitive: []string{"token", "mode"}}}, wantFail: true},
		{name: "the plugin block instead", want: SchemaWant{Plugin: BlockWant{Attributes: []string{"url", "token", "mode"}, Required: []string{"url"}, Sensitive: []string{"token"}}}, wantFail: true},
		{name: "a required attribute missed", want: SchemaWant{Instance: BlockWant{Attributes: []string{"url", "token", "mode"}, Sensitive: []string{"token"}}}, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{TB: t}
			CheckSchema(r, p, tt.want)
			if r.failed != tt.wantFail {
				t.Errorf("CheckSchema failed = %v, want %v", r.failed, tt.wantFail)
			}
		})
	}
}
