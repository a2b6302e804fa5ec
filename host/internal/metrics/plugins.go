package metrics

import (
	"context"
	"fmt"
	"sort"

	"github.com/mcphost/mcphost/host/internal/pluginhost"
	"github.com/mcphost/mcphost/sdk/base"
)

// ManagerPlugins adapts a plugin manager: only plugins whose process is
// running are asked, so that a scrape never starts one.
func ManagerPlugins(m *pluginhost.Manager) Plugins { return managerPlugins{m} }

type managerPlugins struct{ m *pluginhost.Manager }

func (p managerPlugins) Running(context.Context) []string {
	var out []string
	for name := range p.m.Running() {
		out = append(out, name)
	}
	sort.Strings(out) // a stable order from one scrape to the next
	return out
}

func (p managerPlugins) States() []PluginState {
	var out []PluginState
	for _, st := range p.m.Started() {
		out = append(out, PluginState{Name: st.Name, Running: st.Running, Restarts: st.Restarts})
	}
	return out
}

func (p managerPlugins) Metrics(ctx context.Context, name string) (string, error) {
	pl, ok := p.m.Running()[name]
	if !ok {
		return "", fmt.Errorf("plugin %q is not running", name)
	}
	r, err := pl.Metrics(ctx, base.MetricsRequest{})
	if err != nil {
		return "", err
	}
	return r.PrometheusText, nil
}
