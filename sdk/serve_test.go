package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// neutral is a plugin of every kind but transport that changes nothing: it
// translates nothing, weighs uniformly and only counts what it is asked to
// record.
type neutral struct {
	base.Unimplemented
	recorded atomic.Int64
}

func (*neutral) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{Name: "neutral", Version: "1.0.0"}, nil
}

func (*neutral) Rules(context.Context, translator.RulesRequest) (translator.RulesResponse, error) {
	return translator.RulesResponse{}, nil
}

func (*neutral) Translate(context.Context, translator.TranslateRequest) (translator.TranslateResponse, error) {
	return translator.TranslateResponse{}, nil
}

func (*neutral) Weigh(_ context.Context, req weighting.WeighRequest) (weighting.WeighResponse, error) {
	return weighting.WeighResponse{Weights: weighting.Normalize(make([]float64, len(req.Units)))}, nil
}

func (n *neutral) Record(_ context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	n.recorded.Add(int64(len(req.Events)))
	return tracing.RecordResponse{}, nil
}

func (*neutral) ListTools(context.Context, tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return tracing.ListToolsResponse{}, nil
}

func (*neutral) CallTool(_ context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	return tracing.CallToolResponse{}, fmt.Errorf("unknown tool %q", req.Name)
}

func (*neutral) ListResources(context.Context, tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	return tracing.ListResourcesResponse{}, nil
}

func (*neutral) ReadResource(_ context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	return tracing.ReadResourceResponse{}, fmt.Errorf("unknown resource %q", req.URI)
}

func TestServeConfigKinds(t *testing.T) {
	t.Parallel()
	n := &neutral{}
	tests := []struct {
		name  string
		cfg   ServeConfig
		kinds []string
		err   string
	}{
		{"none", ServeConfig{}, nil, "sets no plugin kind"},
		{"translator", ServeConfig{Translator: n}, []string{base.KindTranslator}, ""},
		{"weighting", ServeConfig{Weighting: n}, []string{base.KindWeighting}, ""},
		{"tracing", ServeConfig{Tracing: n}, []string{base.KindTracing}, ""},
		{"two", ServeConfig{Weighting: n, Tracing: n}, []string{base.KindWeighting, base.KindTracing}, "sets 2 plugin kinds [weighting tracing]"},
		{"three", ServeConfig{Translator: n, Weighting: n, Tracing: n}, []string{base.KindTranslator, base.KindWeighting, base.KindTracing}, "sets 3 plugin kinds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.check()
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("check() = %v, want an error containing %q", err, tt.err)
			}
			if got := tt.cfg.kinds(); !reflect.DeepEqual(got, tt.kinds) {
				t.Errorf("kinds() = %v, want %v", got, tt.kinds)
			}
			set := PluginSet(tt.cfg)
			keys := make([]string, 0, len(set))
			for k := range set {
				keys = append(keys, k)
			}
			want := slices.Clone(tt.kinds)
			slices.Sort(keys)
			slices.Sort(want)
			if len(keys) != len(want) || (len(want) > 0 && !reflect.DeepEqual(keys, want)) {
				t.Errorf("PluginSet keys = %v, want %v", keys, want)
			}
			impl := tt.cfg.impl()
			if (impl == nil) != (len(tt.kinds) == 0) {
				t.Errorf("impl() = %v with kinds %v", impl, tt.kinds)
			}
			if impl != nil && impl != base.Plugin(n) {
				t.Errorf("impl() = %v, want the configured plugin", impl)
			}
		})
	}
}

func TestHostPluginSet(t *testing.T) {
	t.Parallel()
	set := HostPluginSet()[ProtocolVersion]
	for _, kind := range []string{base.KindTransport, base.KindTranslator, base.KindWeighting, base.KindTracing} {
		p, ok := set[kind]
		if !ok {
			t.Errorf("HostPluginSet lacks %s", kind)
			continue
		}
		if _, ok := p.(plugin.GRPCPlugin); !ok {
			t.Errorf("HostPluginSet[%s] = %T, not a GRPCPlugin", kind, p)
		}
	}
	if len(set) != 4 {
		t.Errorf("HostPluginSet has %d kinds, want 4", len(set))
	}
}

// envServeHelper makes the test binary call Serve with a bad config.
const envServeHelper = "MCPHOST_SDK_TEST_SERVE"

func TestServeRefusesBadConfig(t *testing.T) {
	if mode := os.Getenv(envServeHelper); mode != "" {
		n := &neutral{}
		cfg := ServeConfig{}
		if mode == "two" {
			cfg = ServeConfig{Translator: n, Tracing: n}
		}
		Serve(cfg)
		t.Fatal("Serve returned")
	}
	t.Parallel()
	for mode, want := range map[string]string{"none": "sets no plugin kind", "two": "sets 2 plugin kinds"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestServeRefusesBadConfig$")
			cmd.Env = append(os.Environ(), envServeHelper+"="+mode)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("Serve exited with %v, want status 1; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}
