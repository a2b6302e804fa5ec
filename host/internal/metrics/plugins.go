package metrics

import (
	"context"

	"github.com/mcphost/mcphost/host/internal/pluginhost"
	"github.com/mcphost/mcphost/sdk/base"
)

// ManagerPlugins adapts a plugin manager: only plugins whose process is
// running are asked, so that a scrape never starts one.
func ManagerPlugins(m *pluginhost.Manager) Plugins { return managerPlugins{m} }

type managerPlugins struct{ m *pluginhost.Manager }

func (p managerPlugins) Running(ctx context.Context) []string {
	var out []string
	for _, st := range p.m.List(ctx) {
		if st.Running {
			out = append(out, st.Name)
		}
	}
	return out
}

func (p managerPlugins) Metrics(ctx context.Context, name string) (string, error) {
	tr, err := p.m.Transport(ctx, name)
	if err != nil {
		return "", err
	}
	r, err := tr.Metrics(ctx, base.MetricsRequest{})
	if err != nil {
		return "", err
	}
	return r.PrometheusText, nil
}
