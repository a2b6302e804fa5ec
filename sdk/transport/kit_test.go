package transport

import (
	"context"
	"reflect"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

type kitConfig struct {
	URL string `json:"url" config:"required"`
}

var kitBlock = base.NewBlock(base.NoCheck[kitConfig])

func TestNewKitDescribesATransport(t *testing.T) {
	t.Parallel()
	kit := NewKit[*slowConn](base.InfoResponse{Name: "demo", Version: "1.2.3"}, kitBlock, nil)
	ctx := context.Background()
	info, _ := kit.Info(ctx, base.InfoRequest{})
	if want := (base.InfoResponse{Name: "demo", Kind: base.KindTransport, Version: "1.2.3", APIMinor: APIMinor}); !reflect.DeepEqual(info, want) {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	if s, _ := kit.Schema(ctx, base.SchemaRequest{}); len(s.Instance.Attributes) != 1 || len(s.Plugin.Attributes) != 0 {
		t.Errorf("Schema = %+v, want the block as the instance schema", s)
	}
	if v, _ := kit.Validate(ctx, base.ValidateRequest{Config: []byte(`{}`)}); len(v.Diagnostics) != 1 {
		t.Errorf("Validate({}) = %+v, want url missing", v.Diagnostics)
	}
}

func TestKitConfigError(t *testing.T) {
	t.Parallel()
	kit := NewKit[*slowConn](base.InfoResponse{Name: "demo"}, kitBlock, nil)
	warning := base.Diagnostic{Severity: base.SeverityWarning, Summary: "Careful", Detail: "just so."}
	tests := []struct {
		name  string
		diags []base.Diagnostic
		want  string // "" for no error
	}{
		{name: "none"},
		{name: "warning only", diags: []base.Diagnostic{warning}},
		{name: "first error", diags: []base.Diagnostic{warning, base.Error("url", "Bad url", "no host."), base.Error("x", "Other", "later.")},
			want: "demo srv: Bad url: no host."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			if err := kit.ConfigError("srv", tt.diags); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ConfigError = %q, want %q", got, tt.want)
			}
		})
	}
}
