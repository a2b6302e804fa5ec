package base

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	URL      string            `json:"url" config:"required" doc:"Where to connect."`
	Token    string            `json:"token" config:"sensitive"`
	Timeout  Duration          `json:"timeout" config:"positive" default:"10s" doc:"How long to wait."`
	Interval Duration          `json:"interval" default:"30s"`
	Inherit  bool              `json:"inherit" default:"true"`
	Weight   float64           `json:"weight" default:"0.5"`
	Retries  int               `json:"retries"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Extra    json.RawMessage   `json:"extra"`
	Ignored  string            `json:"-"`
}

func defaultTestConfig() testConfig {
	return testConfig{Timeout: Duration(10 * time.Second), Interval: Duration(30 * time.Second), Inherit: true, Weight: 0.5}
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	type diag struct{ attribute, summary string }
	withURL := defaultTestConfig()
	withURL.URL = "ws://h"
	full := testConfig{URL: "ws://h", Token: "t", Timeout: Duration(time.Second), Interval: 0, Inherit: false, Weight: 0,
		Retries: 3, Args: []string{"-v"}, Env: map[string]string{"K": "V"}, Extra: json.RawMessage(`{"x":1}`)}
	tests := []struct {
		name  string
		raw   string
		want  testConfig
		diags []diag
	}{
		{"minimal", `{"url":"ws://h"}`, withURL, nil},
		{"nulls take defaults", `{"url":"ws://h","timeout":null,"inherit":null,"weight":null,"args":null}`, withURL, nil},
		{"all set", `{"url":"ws://h","token":"t","timeout":"1s","interval":"0","inherit":false,"weight":0,"retries":3,"args":["-v"],"env":{"K":"V"},"extra":{"x":1}}`, full, nil},
		{"empty strings take defaults", `{"url":"ws://h","timeout":"","interval":"","token":""}`, withURL, nil},
		{"spaces around a duration", `{"url":"ws://h","timeout":" 10s "}`, withURL, nil},
		{"empty raw", ``, defaultTestConfig(), []diag{{"url", "Missing required attribute"}}},
		{"null raw", `null`, defaultTestConfig(), []diag{{"url", "Missing required attribute"}}},
		{"blank required", `{"url":"  "}`, testConfig{URL: "  ", Timeout: Duration(10 * time.Second), Interval: Duration(30 * time.Second), Inherit: true, Weight: 0.5},
			[]diag{{"url", "Missing required attribute"}}},
		{"unknown attributes, sorted", `{"url":"ws://h","zz":1,"Ignored":"x","private":"y"}`, withURL,
			[]diag{{"Ignored", "Unsupported attribute"}, {"private", "Unsupported attribute"}, {"zz", "Unsupported attribute"}}},
		{"bad duration keeps the default", `{"url":"ws://h","timeout":"soon"}`, withURL, []diag{{"timeout", "Invalid duration"}}},
		{"negative duration", `{"url":"ws://h","interval":"-1s"}`, withURL, []diag{{"interval", "Invalid duration"}}},
		{"duration not a string", `{"url":"ws://h","interval":30}`, withURL, []diag{{"interval", "Invalid duration"}}},
		{"zero positive duration", `{"url":"ws://h","timeout":"0s"}`, withURL, []diag{{"timeout", "Invalid duration"}}},
		{"wrong types, in field order", `{"url":1,"inherit":"yes","retries":1.5,"args":"a"}`, defaultTestConfig(), []diag{
			{"url", "Invalid value"}, {"inherit", "Invalid value"},
			{"retries", "Invalid value"}, {"args", "Invalid value"},
		}},
		{"not an object", `[1]`, defaultTestConfig(), []diag{{"", "Invalid config block"}}},
		{"not JSON", `{`, defaultTestConfig(), []diag{{"", "Invalid config block"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, diags := DecodeConfig[testConfig](json.RawMessage(tt.raw))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", got, tt.want)
			}
			var gotDiags []diag
			for _, d := range diags {
				if d.Severity != SeverityError || d.Detail == "" {
					t.Errorf("diagnostic %+v: want an error with a detail", d)
				}
				if d.Attribute != "" && !strings.Contains(d.Detail, d.Attribute) {
					t.Errorf("diagnostic %+v: the detail does not name the attribute", d)
				}
				gotDiags = append(gotDiags, diag{d.Attribute, d.Summary})
			}
			if !reflect.DeepEqual(gotDiags, tt.diags) {
				t.Errorf("diagnostics = %+v\nwant %+v", diags, tt.diags)
			}
		})
	}
}

func TestDecodeConfigNeverEchoesValues(t *testing.T) {
	t.Parallel()
	_, diags := DecodeConfig[testConfig](json.RawMessage(`{"url":"ws://h","token":["s3cret"],"env":"s3cret","s3cret":1}`))
	if len(diags) != 3 {
		t.Fatalf("diagnostics = %+v, want three", diags)
	}
	for _, d := range diags {
		if d.Attribute != "s3cret" && strings.Contains(d.Summary+d.Detail, "s3cret") {
			t.Errorf("diagnostic leaks a value: %+v", d)
		}
	}
}

func TestSchemaFor(t *testing.T) {
	t.Parallel()
	s := SchemaFor[testConfig]()
	var got []string
	for _, a := range s.Attributes {
		got = append(got, fmt.Sprintf("%s %s req=%v sens=%v def=%s doc=%q", a.Name, a.Type, a.Required, a.Sensitive, a.Default, a.Description))
	}
	want := []string{
		`url "string" req=true sens=false def= doc="Where to connect."`,
		`token "string" req=false sens=true def= doc=""`,
		`timeout "string" req=false sens=false def="10s" doc="How long to wait."`,
		`interval "string" req=false sens=false def="30s" doc=""`,
		`inherit "bool" req=false sens=false def=true doc=""`,
		`weight "number" req=false sens=false def=0.5 doc=""`,
		`retries "number" req=false sens=false def= doc=""`,
		`args ["list","string"] req=false sens=false def= doc=""`,
		`env ["map","string"] req=false sens=false def= doc=""`,
		`extra  req=false sens=false def= doc=""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("schema:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// SharedSettings stands for attributes several plugins' configs share by
// embedding one struct.
type SharedSettings struct {
	Mode   string   `json:"shared_mode" default:"auto" doc:"Shared."`
	Secret string   `json:"shared_secret" config:"sensitive"`
	Scopes []string `json:"shared_scopes"`
}

type embeddingConfig struct {
	URL string `json:"url" config:"required"`
	SharedSettings
	Port int `json:"port"`
}

func TestEmbeddedStructIsFlattened(t *testing.T) {
	t.Parallel()
	var got []string
	for _, a := range SchemaFor[embeddingConfig]().Attributes {
		got = append(got, fmt.Sprintf("%s sens=%v def=%s", a.Name, a.Sensitive, a.Default))
	}
	want := []string{`url sens=false def=`, `shared_mode sens=false def="auto"`, `shared_secret sens=true def=`,
		`shared_scopes sens=false def=`, `port sens=false def=`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("schema:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	tests := []struct {
		name  string
		raw   string
		want  embeddingConfig
		diags []string
	}{
		{"defaults", `{"url":"u"}`, embeddingConfig{URL: "u", SharedSettings: SharedSettings{Mode: "auto"}}, nil},
		{"flat attributes", `{"url":"u","shared_mode":"off","shared_secret":"s","shared_scopes":["a"],"port":1}`,
			embeddingConfig{URL: "u", SharedSettings: SharedSettings{Mode: "off", Secret: "s", Scopes: []string{"a"}}, Port: 1}, nil},
		{"no nested block", `{"url":"u","SharedSettings":{}}`,
			embeddingConfig{URL: "u", SharedSettings: SharedSettings{Mode: "auto"}}, []string{"SharedSettings"}},
		{"wrong type named", `{"url":"u","shared_scopes":"a"}`,
			embeddingConfig{URL: "u", SharedSettings: SharedSettings{Mode: "auto"}}, []string{"shared_scopes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := DecodeConfig[embeddingConfig](json.RawMessage(tt.raw))
			var attrs []string
			for _, d := range diags {
				attrs = append(attrs, d.Attribute)
			}
			if !reflect.DeepEqual(cfg, tt.want) || !reflect.DeepEqual(attrs, tt.diags) {
				t.Errorf("DecodeConfig(%s) = %+v, diagnostics on %v; want %+v, %v", tt.raw, cfg, attrs, tt.want, tt.diags)
			}
		})
	}
}

func TestSchemaForRejectsBadTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema func() Schema
	}{
		{"no json name", SchemaFor[struct {
			A string
		}]},
		{"unknown flag", SchemaFor[struct {
			A string `json:"a" config:"optional"`
		}]},
		{"bad default", SchemaFor[struct {
			A bool `json:"a" default:"yes"`
		}]},
		{"bad duration default", SchemaFor[struct {
			A Duration `json:"a" default:"soon"`
		}]},
		{"default not positive", SchemaFor[struct {
			A Duration `json:"a" config:"positive" default:"0s"`
		}]},
		{"no cty type", SchemaFor[struct {
			A struct{} `json:"a"`
		}]},
		{"not a struct", SchemaFor[string]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("SchemaFor did not panic")
				}
			}()
			tt.schema()
		})
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"30s"`, 30 * time.Second, true},
		{`"1h30m"`, 90 * time.Minute, true},
		{`"0"`, 0, true},
		{`"-1s"`, 0, false},
		{`"soon"`, 0, false},
		{`30`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err == nil) != tt.ok || d.D() != tt.want {
				t.Fatalf("Unmarshal(%s) = %v, %v; want %v, ok %v", tt.in, d, err, tt.want, tt.ok)
			}
			if !tt.ok {
				return
			}
			out, err := json.Marshal(d)
			var back Duration
			if err != nil || json.Unmarshal(out, &back) != nil || back != d {
				t.Errorf("round trip of %v: %s, %v", d, out, err)
			}
		})
	}
}
