package sdk

import (
	"context"
	"reflect"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
)

// onlyBase is a plugin of no kind.
type onlyBase struct{ base.Unimplemented }

func (onlyBase) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{}, nil
}

func TestKindServeConfig(t *testing.T) {
	t.Parallel()
	n := &neutral{}
	tests := []struct {
		kind string
		impl base.Plugin
		ok   bool
	}{
		{base.KindTranslator, n, true},
		{base.KindWeighting, n, true},
		{base.KindTracing, n, true},
		{base.KindTransport, n, false}, // neutral is no transport
		{base.KindWeighting, onlyBase{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			k, found := KindNamed(tt.kind)
			if !found {
				t.Fatalf("KindNamed(%q) found nothing", tt.kind)
			}
			cfg, ok := k.ServeConfig(tt.impl)
			if ok != tt.ok || k.Implements(tt.impl) != tt.ok {
				t.Fatalf("ServeConfig ok = %v, Implements = %v, want %v", ok, k.Implements(tt.impl), tt.ok)
			}
			if !ok {
				return
			}
			if got := cfg.kinds(); !reflect.DeepEqual(got, []string{tt.kind}) {
				t.Errorf("the config sets kinds %v, want [%s]", got, tt.kind)
			}
			if cfg.impl() != tt.impl {
				t.Errorf("the config serves %v, want %v", cfg.impl(), tt.impl)
			}
		})
	}
	if _, found := KindNamed("nonsense"); found {
		t.Error(`KindNamed("nonsense") found a kind`)
	}
}
