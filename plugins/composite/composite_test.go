package composite

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// now is the response time of the fixed cases.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano()

func unit(typ string, retrieval float64, created, tokens int64) weighting.Unit {
	return weighting.Unit{ID: typ, Type: typ, RetrievalScore: retrieval, CreatedUnixNano: created, TokenEstimate: tokens, SizeBytes: 4 * tokens, Source: "test"}
}

func newQuiet() *Composite { return New(hclog.NewNullLogger()) }

// configure applies config to c and fails the test on any diagnostic.
func configure(t *testing.T, c weighting.Weighting, config string) {
	t.Helper()
	resp, err := c.Configure(context.Background(), base.ConfigureRequest{Config: json.RawMessage(config)})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("Configure(%s) = %+v, %v", config, resp.Diagnostics, err)
	}
}

// TestGolden pins the weights of fixed requests. The expected values were
// computed independently from the formula in the package doc (in float64,
// with exp(−ln2·age/half_life) and a plain sum), not by this code.
func TestGolden(t *testing.T) {
	t.Parallel()
	minute := int64(time.Minute)
	hour := int64(time.Hour)
	tests := []struct {
		name   string
		config string
		units  []weighting.Unit
		want   []float64
	}{
		{
			name:   "defaults, every feature",
			config: `{}`,
			units: []weighting.Unit{
				unit(weighting.TypeSystem, 0.8, now-10*minute, 100),
				unit(weighting.TypeUser, 0.5, now, 300),
				unit(weighting.TypeExternal, 1.2, now-20*minute, 600), // retrieval clamps to 1
				unit(weighting.TypeModelState, -0.3, now+minute, 0),   // retrieval clamps to 0, future is now
				unit("note", 0.25, now-5*minute, 0),                   // unknown type is 0.5
			},
			want: []float64{0.2293951032204675, 0.2537248868953655, 0.2346086282936599, 0.13902733528513178, 0.1432440463053752},
		},
		{
			name:   "no token estimates give a uniform length",
			config: `null`,
			units:  []weighting.Unit{unit(weighting.TypeUser, 0.6, now, 0), unit(weighting.TypeExternal, 0.6, now, 0)},
			want:   []float64{0.79 / 1.52, 0.73 / 1.52},
		},
		{
			name: "configured",
			config: `{"retrieval_weight": 0.25, "recency_weight": 0.25, "type_weight": 0.25, "length_weight": 0.25,
				"recency_half_life": "1h", "type_values": {"user": 0.2, "memory": 0.8}}`,
			units: []weighting.Unit{
				unit(weighting.TypeUser, 0.5, now-hour, 50),
				unit("memory", 0.5, now-2*hour, 150),
				unit(weighting.TypeSystem, math.NaN(), now, -5), // NaN retrieval and negative tokens count as 0
			},
			want: []float64{0.2566371681415929, 0.4070796460176991, 0.33628318584070793},
		},
		{
			name:   "ancient units have no recency left",
			config: ``,
			units: []weighting.Unit{
				unit(weighting.TypeExternal, 0.5, 0, 10),
				unit(weighting.TypeExternal, 0.5, math.MinInt64, 10),
				unit(weighting.TypeExternal, 0.5, now-minute, 10),
			},
			want: []float64{0.26668383015966407, 0.26668383015966407, 0.4666323396806719},
		},
		{
			name:   "retrieval only",
			config: `{"retrieval_weight": 1, "recency_weight": 0, "type_weight": 0, "length_weight": 0}`,
			units: []weighting.Unit{
				unit(weighting.TypeUser, 0.2, now, 1),
				unit(weighting.TypeSystem, 0.6, now-hour, 2),
				unit(weighting.TypeExternal, 0.2, 0, 3),
			},
			want: []float64{0.2, 0.6, 0.2},
		},
		{
			name:   "nothing scores gives uniform weights",
			config: `{"retrieval_weight": 1, "recency_weight": 0, "type_weight": 0, "length_weight": 0}`,
			units: []weighting.Unit{
				unit(weighting.TypeUser, 0, now, 1),
				unit(weighting.TypeSystem, -1, now, 2),
				unit(weighting.TypeExternal, math.NaN(), now, 3),
			},
			want: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3},
		},
		{
			name:   "one unit takes everything",
			config: `{}`,
			units:  []weighting.Unit{unit(weighting.TypeModelState, 0, math.MinInt64, 0)},
			want:   []float64{1},
		},
		{
			name:   "no units",
			config: `{}`,
			want:   []float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newQuiet()
			configure(t, c, tt.config)
			resp, err := c.Weigh(context.Background(), weighting.WeighRequest{NowUnixNano: now, Units: tt.units})
			if err != nil {
				t.Fatalf("Weigh: %v", err)
			}
			if len(resp.Weights) != len(tt.want) {
				t.Fatalf("weights = %v, want %v", resp.Weights, tt.want)
			}
			for i := range tt.want {
				if math.Abs(resp.Weights[i]-tt.want[i]) > 1e-9 {
					t.Fatalf("weights = %v, want %v", resp.Weights, tt.want)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	type diag struct{ attribute, summary string }
	tests := []struct {
		name   string
		config string
		want   []diag
	}{
		{"empty", ``, nil},
		{"null", `null`, nil},
		{"defaults", `{}`, nil},
		{"all set", `{"retrieval_weight": 0.25, "recency_weight": 0.25, "type_weight": 0.25, "length_weight": 0.25, "recency_half_life": "90s", "type_values": {"user": 0, "tool": 1}}`, nil},
		// 0.1 + 0.2 + 0.3 + 0.4 is not exactly 1 in binary.
		{"rounding is tolerated", `{"retrieval_weight": 0.1, "recency_weight": 0.2, "type_weight": 0.3, "length_weight": 0.4}`, nil},
		{"a default completes the sum", `{"retrieval_weight": 0.5, "recency_weight": 0.2}`, nil},
		{"one weight breaks the sum", `{"retrieval_weight": 0.5}`, []diag{{"retrieval_weight", "Factor weights do not sum to 1"}}},
		{"sum points at the first set weight", `{"length_weight": 0, "type_weight": 0.1}`, []diag{{"type_weight", "Factor weights do not sum to 1"}}},
		{"near miss", `{"retrieval_weight": 0.401}`, []diag{{"retrieval_weight", "Factor weights do not sum to 1"}}},
		{"negative weight", `{"recency_weight": -0.1, "retrieval_weight": 0.8}`, []diag{{"recency_weight", "Invalid factor weight"}}},
		{"weight over 1", `{"length_weight": 1.5}`, []diag{{"length_weight", "Invalid factor weight"}}},
		{"half-life not a duration", `{"recency_half_life": "soon"}`, []diag{{"recency_half_life", "Invalid duration"}}},
		{"half-life zero", `{"recency_half_life": "0s"}`, []diag{{"recency_half_life", "Invalid duration"}}},
		{"half-life negative", `{"recency_half_life": "-1m"}`, []diag{{"recency_half_life", "Invalid duration"}}},
		{"type values out of range", `{"type_values": {"user": 1.2, "system": -1, "tool": 0.3}}`, []diag{
			{"type_values.system", "Invalid type value"},
			{"type_values.user", "Invalid type value"},
		}},
		// Problems of type come first (DecodeConfig), then those of range.
		{"several problems", `{"type_weight": 2, "recency_half_life": "x"}`, []diag{
			{"recency_half_life", "Invalid duration"},
			{"type_weight", "Invalid factor weight"},
		}},
		{"unknown attribute", `{"half_life": "1m"}`, []diag{{"half_life", "Unsupported attribute"}}},
		{"wrong type", `{"retrieval_weight": "high"}`, []diag{{"retrieval_weight", "Invalid value"}}},
		{"not an object", `[1]`, []diag{{"", "Invalid config block"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newQuiet()
			resp, err := c.Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tt.config)})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			var got []diag
			for _, d := range resp.Diagnostics {
				if d.Severity != base.SeverityError || d.Detail == "" {
					t.Errorf("diagnostic %+v: want an error with a detail", d)
				}
				got = append(got, diag{d.Attribute, d.Summary})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("diagnostics = %+v, want %+v", resp.Diagnostics, tt.want)
			}
			// Configure reports the same problems, and applies the config
			// only when there are none.
			cresp, err := c.Configure(context.Background(), base.ConfigureRequest{Config: json.RawMessage(tt.config)})
			if err != nil || !reflect.DeepEqual(cresp.Diagnostics, resp.Diagnostics) {
				t.Fatalf("Configure = %+v, %v; Validate gave %+v", cresp.Diagnostics, err, resp.Diagnostics)
			}
			if len(tt.want) > 0 && !reflect.DeepEqual(c.params.Load(), defaultParams()) {
				t.Errorf("a rejected config was applied: %+v", c.params.Load())
			}
		})
	}
}

func TestSumDetail(t *testing.T) {
	t.Parallel()
	_, diags := configBlock.Decode(json.RawMessage(`{"retrieval_weight": 0.5}`))
	if len(diags) != 1 {
		t.Fatalf("diagnostics = %+v", diags)
	}
	// The detail shows the defaults that took part, or the user cannot
	// tell why a single attribute broke the sum.
	for _, s := range []string{"retrieval_weight = 0.5", "recency_weight = 0.3", "type_weight = 0.2", "length_weight = 0.1", "sum to 1.1"} {
		if !strings.Contains(diags[0].Detail, s) {
			t.Errorf("detail %q does not mention %q", diags[0].Detail, s)
		}
	}
}

// TestConfigureKeepsLast checks that a rejected config leaves the last
// good one in place and that an empty config goes back to the defaults.
func TestConfigureKeepsLast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		configs []string
		want    *params
	}{
		{"rejected after good", []string{`{"recency_half_life": "1h"}`, `{"recency_half_life": "-1h"}`}, &params{
			retrieval: 0.4, recency: 0.3, typ: 0.2, length: 0.1, halfLife: time.Hour, typeValues: DefaultTypeValues(),
		}},
		{"empty resets", []string{`{"recency_half_life": "1h", "type_values": {"user": 0.1}}`, ``}, defaultParams()},
		{"type values merge", []string{`{"type_values": {"user": 0.1, "memory": 0.6}}`}, &params{
			retrieval: 0.4, recency: 0.3, typ: 0.2, length: 0.1, halfLife: DefaultHalfLife,
			typeValues: map[string]float64{"system": 0.9, "user": 0.1, "external": 0.7, "model_state": 0.5, "memory": 0.6},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newQuiet()
			for _, config := range tt.configs {
				if _, err := c.Configure(context.Background(), base.ConfigureRequest{Config: json.RawMessage(config)}); err != nil {
					t.Fatalf("Configure(%s): %v", config, err)
				}
			}
			if got := c.params.Load(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("params = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSchemaAsHostDecodes builds a config the way the host does (each
// attribute converted to the cty type the schema declares, the object
// marshalled by ctyjson) and checks that Configure takes it.
func TestSchemaAsHostDecodes(t *testing.T) {
	t.Parallel()
	schema, err := newQuiet().Schema(context.Background(), base.SchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	hcl := map[string]cty.Value{
		attrRetrievalWeight: cty.NumberIntVal(0),
		attrRecencyWeight:   cty.NumberFloatVal(0.5),
		attrTypeWeight:      cty.StringVal("0.25"), // HCL converts strings to numbers too
		attrLengthWeight:    cty.NumberFloatVal(0.25),
		attrHalfLife:        cty.StringVal("2m"),
		attrTypeValues:      cty.ObjectVal(map[string]cty.Value{"user": cty.NumberFloatVal(0.75), "tool": cty.NumberIntVal(1)}),
	}
	if len(schema.Plugin.Attributes) != len(hcl) || len(schema.Instance.Attributes) != 0 {
		t.Fatalf("schema = %+v", schema)
	}
	vals := map[string]cty.Value{}
	for _, a := range schema.Plugin.Attributes {
		ty, err := ctyjson.UnmarshalType(a.Type)
		if err != nil {
			t.Fatalf("attribute %s: type %s: %v", a.Name, a.Type, err)
		}
		if a.Required || a.Sensitive || a.Description == "" {
			t.Errorf("attribute %+v: want optional, not sensitive, described", a)
		}
		v, err := convert.Convert(hcl[a.Name], ty)
		if err != nil {
			t.Fatalf("attribute %s: %v", a.Name, err)
		}
		vals[a.Name] = v
	}
	obj := cty.ObjectVal(vals)
	raw, err := ctyjson.Marshal(obj, obj.Type())
	if err != nil {
		t.Fatal(err)
	}
	c := newQuiet()
	configure(t, c, string(raw))
	want := &params{
		retrieval: 0, recency: 0.5, typ: 0.25, length: 0.25, halfLife: 2 * time.Minute,
		typeValues: map[string]float64{"system": 0.9, "user": 0.75, "external": 0.7, "model_state": 0.5, "tool": 1},
	}
	if got := c.params.Load(); !reflect.DeepEqual(got, want) {
		t.Fatalf("params = %+v, want %+v", got, want)
	}
}

// TestOverGRPC runs the plugin behind the same gRPC server a plugin binary
// runs and checks that every call arrives intact.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	impl := newQuiet()
	c := plugintest.ServeWeighting(t, impl)
	ctx := context.Background()

	info, err := c.Info(ctx, base.InfoRequest{})
	if err != nil || info.Name != "composite" || info.Kind != base.KindWeighting || info.Version != "0.1.0" || info.APIMinor != weighting.APIMinor {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	schema, err := c.Schema(ctx, base.SchemaRequest{})
	direct, _ := impl.Schema(ctx, base.SchemaRequest{})
	if err != nil || len(schema.Plugin.Attributes) != len(direct.Plugin.Attributes) {
		t.Fatalf("Schema = %+v, %v", schema, err)
	}
	for i, a := range schema.Plugin.Attributes {
		if d := direct.Plugin.Attributes[i]; a.Name != d.Name || string(a.Type) != string(d.Type) || string(a.Default) != string(d.Default) {
			t.Errorf("attribute %d = %s %s default %s over gRPC, want %s %s default %s", i, a.Name, a.Type, a.Default, d.Name, d.Type, d.Default)
		}
	}
	v, err := c.Validate(ctx, base.ValidateRequest{Config: json.RawMessage(`{"length_weight": 0.2}`)})
	if err != nil || len(v.Diagnostics) != 1 || v.Diagnostics[0].Attribute != attrLengthWeight {
		t.Fatalf("Validate = %+v, %v", v, err)
	}
	configure(t, c, `{"retrieval_weight": 0.1, "recency_weight": 0.6, "type_weight": 0.2, "length_weight": 0.1, "recency_half_life": "1m"}`)

	req := weighting.WeighRequest{NowUnixNano: now, Units: []weighting.Unit{
		unit(weighting.TypeUser, 0.3, now-int64(time.Minute), 40),
		unit(weighting.TypeExternal, 0.9, now-int64(3*time.Minute), 900),
		unit(weighting.TypeSystem, 0.1, now-int64(time.Hour), 120),
	}}
	got, err := c.Weigh(ctx, req)
	if err != nil {
		t.Fatalf("Weigh: %v", err)
	}
	want := impl.params.Load().weigh(req)
	if len(got.Weights) != len(want) {
		t.Fatalf("weights = %v, want %v", got.Weights, want)
	}
	for i := range want {
		if math.Float64bits(got.Weights[i]) != math.Float64bits(want[i]) {
			t.Fatalf("weights = %v over gRPC, %v directly", got.Weights, want)
		}
	}
	if _, err := c.Weigh(ctx, weighting.WeighRequest{NowUnixNano: now}); err != nil {
		t.Fatalf("Weigh with no units: %v", err)
	}

	m, err := c.Metrics(ctx, base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"mcphost_composite_responses_weighed_total 2", "mcphost_composite_units_weighed_total 3"} {
		if !strings.Contains(m.PrometheusText, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, m.PrometheusText)
		}
	}
}
