package base

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

type blockConfig struct {
	Name  string `json:"name" config:"required"`
	Count int    `json:"count" default:"2"`
}

// checkBlockConfig refuses an odd count and doubles it, so that a test can
// tell the check ran and its result is what Decode returns.
func checkBlockConfig(c blockConfig) (int, []Diagnostic) {
	if c.Count%2 != 0 {
		return 0, []Diagnostic{Error("count", "Odd count", "count must be even.")}
	}
	return 2 * c.Count, nil
}

var testBlock = NewBlock(checkBlockConfig)

func TestBlockDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		want      int
		summaries []string
	}{
		{name: "defaults", raw: `{"name":"a"}`, want: 4},
		{name: "set", raw: `{"name":"a","count":4}`, want: 8},
		{name: "check fails", raw: `{"name":"a","count":3}`, summaries: []string{"Odd count"}},
		{name: "decoder first, then check", raw: `{"count":3}`, summaries: []string{"Missing required attribute", "Odd count"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, diags := testBlock.Decode(json.RawMessage(tt.raw))
			var summaries []string
			for _, d := range diags {
				summaries = append(summaries, d.Summary)
			}
			if !reflect.DeepEqual(summaries, tt.summaries) {
				t.Errorf("diagnostics = %q, want %q", summaries, tt.summaries)
			}
			if !reflect.DeepEqual(testBlock.Diagnose(json.RawMessage(tt.raw)), diags) {
				t.Errorf("Diagnose differs from Decode's diagnostics")
			}
			if len(tt.summaries) == 0 && got != tt.want {
				t.Errorf("Decode = %d, want %d", got, tt.want)
			}
		})
	}
	if !reflect.DeepEqual(testBlock.Schema(), SchemaFor[blockConfig]()) {
		t.Errorf("Schema = %+v, want SchemaFor's", testBlock.Schema())
	}
}

func TestNoCheck(t *testing.T) {
	t.Parallel()
	got, diags := NewBlock(NoCheck[blockConfig]).Decode(json.RawMessage(`{"name":"a"}`))
	if want := (blockConfig{Name: "a", Count: 2}); got != want || diags != nil {
		t.Errorf("Decode = %+v, %v; want %+v and no diagnostics", got, diags, want)
	}
}

func TestDescribed(t *testing.T) {
	t.Parallel()
	info := InfoResponse{Name: "p", Kind: KindWeighting, Version: "1.0.0", Capabilities: []string{"c"}}
	bad := ValidateRequest{Config: json.RawMessage(`{"name":"a","count":1}`)}
	schema := SchemaFor[blockConfig]()
	tests := []struct {
		name       string
		described  Described
		wantSchema SchemaResponse
		wantDiags  int
	}{
		{name: "instance", described: DescribeInstance(info, testBlock), wantSchema: SchemaResponse{Instance: schema}, wantDiags: 1},
		{name: "plugin", described: DescribePlugin(info, testBlock), wantSchema: SchemaResponse{Plugin: schema}, wantDiags: 1},
		{name: "no block", described: DescribePlugin(info, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			got, _ := tt.described.Info(ctx, InfoRequest{})
			if !reflect.DeepEqual(got, info) {
				t.Errorf("Info = %+v, want %+v", got, info)
			}
			got.Capabilities[0] = "changed"
			if again, _ := tt.described.Info(ctx, InfoRequest{}); again.Capabilities[0] != "c" {
				t.Errorf("a caller's change to Info's capabilities reached the next call")
			}
			if s, _ := tt.described.Schema(ctx, SchemaRequest{}); !reflect.DeepEqual(s, tt.wantSchema) {
				t.Errorf("Schema = %+v, want %+v", s, tt.wantSchema)
			}
			if v, _ := tt.described.Validate(ctx, bad); len(v.Diagnostics) != tt.wantDiags {
				t.Errorf("Validate = %+v, want %d diagnostics", v.Diagnostics, tt.wantDiags)
			}
		})
	}
}
