package proxy

import (
	"context"
	"io"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/listen"
	"github.com/mcphost/mcphost/host/internal/router"
)

// routerProfiles are cfg's profiles as the router limits sessions by them.
func routerProfiles(cfg *config.Config) []router.Profile {
	out := make([]router.Profile, 0, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		out = append(out, router.Profile{Name: p.Name, Servers: p.Servers, Tools: p.Tools})
	}
	return out
}

// listenerProfiles are cfg's profiles as an HTTP listener admits to them.
func listenerProfiles(cfg *config.Config) map[string]listen.ProfileAccess {
	out := make(map[string]listen.ProfileAccess, len(cfg.Profiles))
	for _, p := range cfg.Profiles {
		out[p.Name] = listen.ProfileAccess{Token: p.Token, Scopes: p.Scopes}
	}
	return out
}

// applyProfiles gives the router and every HTTP listener cfg's profiles:
// at start, and on a reload, where a removed profile's sessions close and
// a changed one's are sent list_changed.
func (p *Proxy) applyProfiles(cfg *config.Config) {
	p.router.SetProfiles(routerProfiles(cfg))
	access := listenerProfiles(cfg)
	p.mu.Lock()
	hs := p.http
	p.mu.Unlock()
	for _, h := range hs {
		h.SetProfiles(access)
	}
}

// ServeStdioProfile is ServeStdio for one profile's subset.
func (p *Proxy) ServeStdioProfile(ctx context.Context, profile string, in io.Reader, out io.Writer) error {
	return p.serveStdio(ctx, profile, in, out)
}
