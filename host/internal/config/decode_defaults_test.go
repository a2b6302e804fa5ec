package config

import (
	"encoding/json"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

// TestDecodeBodyFillsDefaults checks that the host gives a plugin a complete
// config: every absent or null attribute with a schema Default has it.
func TestDecodeBodyFillsDefaults(t *testing.T) {
	t.Parallel()
	schema := base.Schema{Attributes: []base.Attribute{
		{Name: "command", Type: base.TypeString, Required: true},
		{Name: "timeout", Type: base.TypeString, Default: json.RawMessage(`"30s"`)},
		{Name: "inherit", Type: base.TypeBool, Default: json.RawMessage(`true`)},
		{Name: "weight", Type: base.TypeNumber, Default: json.RawMessage(`0.25`)},
		{Name: "args", Type: base.TypeListString, Default: json.RawMessage(`["-v"]`)},
		{Name: "extra", Default: json.RawMessage(`{"x":[1,true]}`)},
		{Name: "cwd", Type: base.TypeString},
	}}
	tests := []struct {
		name, src, want string
	}{
		{"absent", "command = \"srv\"\n",
			`{"args":["-v"],"command":"srv","extra":{"x":[1,true]},"inherit":true,"timeout":"30s","weight":0.25}`},
		{"null", "command = \"srv\"\ntimeout = null\ninherit = null\n",
			`{"args":["-v"],"command":"srv","extra":{"x":[1,true]},"inherit":true,"timeout":"30s","weight":0.25}`},
		{"set", "command = \"srv\"\ntimeout = \"1m\"\ninherit = false\nweight = 0\nargs = []\nextra = 1\ncwd = \"/\"\n",
			`{"args":[],"command":"srv","cwd":"/","extra":1,"inherit":false,"timeout":"1m","weight":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, diags := DecodeBody(parseBody(t, tt.src), schema, nil)
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			if string(raw) != tt.want {
				t.Errorf("got  %s\nwant %s", raw, tt.want)
			}
		})
	}
}

func TestDecodeBodyRejectsBadDefaults(t *testing.T) {
	t.Parallel()
	for _, a := range []base.Attribute{
		{Name: "a", Type: base.TypeBool, Default: json.RawMessage(`"yes"`)},
		{Name: "a", Type: base.TypeNumber, Default: json.RawMessage(`[1]`)},
		{Name: "a", Type: base.TypeString, Default: json.RawMessage(`null`)},
		{Name: "a", Type: base.TypeString, Default: json.RawMessage(`{`)},
	} {
		_, diags := DecodeBody(nil, base.Schema{Attributes: []base.Attribute{a}}, nil)
		if !diags.HasErrors() || diags[0].Summary != "Invalid plugin schema" {
			t.Errorf("default %s of %s: %s", a.Default, a.Type, diagString(diags))
		}
	}
}
