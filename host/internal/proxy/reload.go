package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/admin"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/router"
)

// ReloadResult says what a reload did, or why it did nothing.
type ReloadResult struct {
	// Applied is false when the new config was refused; Diagnostics say why.
	Applied                            bool
	Added, Removed, Changed, Unchanged []string
	Plugins                            []string // plugins whose settings changed
	Diagnostics                        []string
	// Details are the Diagnostics as the admin API reports them.
	Details []admin.Diagnostic
	// Partial are the parts of an applied config that were not applied
	// (servers whose new settings failed, translators), with reasons.
	Partial []admin.ReloadPartial
	// Warnings name changes that need a restart of mcphost to take effect.
	Warnings []string
}

// serverFingerprint identifies everything about a server a reload can
// change: equal fingerprints mean the running backend can stay.
func serverFingerprint(s config.Server, transportConfig json.RawMessage) string {
	out, _ := json.Marshal(struct {
		Enabled, Prefix  bool
		Timeout          string
		Protocol, Plugin string
		Restart          config.Restart
		Health           config.Health
		Transport        json.RawMessage
	}{s.Enabled, s.Prefix, s.RequestTimeout.String(), s.ProtocolVersion, s.Transport.Plugin, s.Restart, s.Health, transportConfig})
	return string(out)
}

// Reload reads the config file again and applies the difference: added
// servers start, removed ones stop, changed ones (or ones whose transport
// plugin changed) restart, and changed plugins are swapped; sessions and
// servers the change does not touch keep working. A config with errors is
// refused with its diagnostics and the running one stays. Otherwise it
// plans the change (planReload) and applies it (applyPlan): a step that
// cannot be taken leaves its server as it was and is reported in Partial;
// the result lists exactly what was applied. Every reload is counted in
// mcphost_reloads_total by its result, whoever asked for it.
func (p *Proxy) Reload(ctx context.Context) (ReloadResult, error) {
	res, err := p.reload(ctx)
	if err == nil {
		p.metrics.ReloadFinished(res.Applied)
	}
	return res, err
}

func (p *Proxy) reload(ctx context.Context) (ReloadResult, error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.mu.Lock()
	old := p.cfg
	p.mu.Unlock()
	loader := config.NewLoader()
	next, diags := loader.Load(old.Filename, config.LoadOptions{Executable: p.opts.Executable})
	if diags.HasErrors() {
		return refused(diags, loader.Files()), nil
	}
	// Check everything the new config names before touching what runs.
	check, diags := Build(ctx, next, Options{Executable: p.opts.Executable, Logger: hclog.NewNullLogger(), CheckOnly: true})
	if check != nil {
		check.plugins.Close(ctx)
	}
	if diags.HasErrors() {
		return refused(diags, next.Files), nil
	}

	res := ReloadResult{Applied: true, Warnings: restartWarnings(old, next)}
	res.Plugins = p.plugins.Update(ctx, p.pluginSpecs(next))

	// Prepare every server, plan, then apply: a step that fails is
	// reported and leaves its server as it was.
	prepared := make(map[string]preparedServer, len(next.Servers))
	nextSpecs := make(map[string]router.BackendSpec, len(next.Servers))
	planned := make([]plannedServer, 0, len(next.Servers))
	var failed hcl.Diagnostics
	failedBy := map[string]hcl.Diagnostics{}
	for _, s := range next.Servers {
		ps, d := p.backendSpec(ctx, next, s)
		if d.HasErrors() {
			failed = append(failed, d...)
			failedBy[s.Name] = d
			planned = append(planned, plannedServer{Name: s.Name, Plugin: s.Transport.Plugin})
			continue
		}
		prepared[s.Name], nextSpecs[s.Name] = ps, ps.spec
		planned = append(planned, plannedServer{Name: s.Name, Fingerprint: ps.fingerprint, Plugin: s.Transport.Plugin})
	}
	p.mu.Lock()
	running := maps.Clone(p.fingerprints)
	previous := maps.Clone(p.specs)
	p.mu.Unlock()
	plan := planReload(running, planned, res.Plugins, old.Proxy.Translators, next.Proxy.Translators)
	for _, name := range plan.Failed {
		_, existed := running[name]
		res.Partial = append(res.Partial, serverPartial(name, existed, failedBy[name]))
	}
	applied := applyPlan(p.router, plan, nextSpecs, previous)
	res.Partial = append(res.Partial, p.applyFilters(plan.Keep, prepared, previous)...)
	for name, now := range applied.Runs {
		switch now {
		case runsNew:
			ps := prepared[name]
			p.runServer(name, &ps)
		case runsNothing:
			p.runServer(name, nil)
		}
	}
	res.Added, res.Changed, res.Removed, res.Unchanged = applied.Added, applied.Changed, applied.Removed, plan.Keep
	res.Partial = append(res.Partial, applied.Partial...)
	p.mu.Lock()
	p.cfg = next
	p.mu.Unlock()
	p.applyProfiles(next)

	if w := p.reloadTelemetry(ctx, old.Telemetry, next.Telemetry); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	if pa := p.reloadActivity(next); pa != nil {
		res.Partial = append(res.Partial, *pa)
	}
	if plan.Translators {
		refs, d := p.translators(ctx)
		failed = append(failed, d...)
		if d.HasErrors() {
			res.Partial = append(res.Partial, admin.ReloadPartial{Kind: admin.PartialTranslators, Reason: reasonOf(d)})
		}
		p.router.SetTranslators(refs)
	}
	if old.Proxy.ToolMode != next.Proxy.ToolMode || !slices.Equal(old.Proxy.PinnedTools, next.Proxy.PinnedTools) {
		p.router.SetToolMode(next.Proxy.ToolMode, next.Proxy.PinnedTools)
		if p.toolQuality != nil {
			p.toolQuality.Poke() // search mode may have just begun: learn the quality now
		}
	}
	// Checked beforehand, so a failure here is the environment changing
	// under the reload (a plugin binary replaced meanwhile).
	res.Diagnostics, res.Details = formatDiagnostics(failed, next.Files), diagnosticsOf(failed)
	p.log.Info("config reloaded", "added", res.Added, "removed", res.Removed, "changed", res.Changed,
		"plugins", res.Plugins, "warnings", len(res.Warnings))
	for _, w := range res.Warnings {
		p.log.Warn("reload: " + w)
	}
	ar := adminReload(res)
	p.events.publish(admin.Event{Type: admin.EventReload, ReloadResult: &ar})
	return res, nil
}

// applyFilters gives the servers a reload keeps running their new filters,
// if those changed: filters are not in the fingerprint, so changing only
// them rebuilds the catalog (and tells the sessions) without a restart.
func (p *Proxy) applyFilters(kept []string, prepared map[string]preparedServer, previous map[string]router.BackendSpec) []admin.ReloadPartial {
	var out []admin.ReloadPartial
	for _, name := range kept {
		ps := prepared[name]
		if reflect.DeepEqual(ps.spec.Filters, previous[name].Filters) {
			continue
		}
		if err := p.router.SetFilters(name, ps.spec.Filters); err != nil {
			out = append(out, admin.ReloadPartial{Kind: admin.PartialServer, Name: name,
				Reason: "new filters not applied; it keeps its previous ones: " + err.Error()})
			continue
		}
		p.runServer(name, &ps)
	}
	return out
}

// restartWarnings lists what changed that a reload does not apply.
func restartWarnings(old, next *config.Config) []string {
	var out []string
	o, n := old.Proxy, next.Proxy
	if o.ToolNameTemplate != n.ToolNameTemplate || o.PromptNameTemplate != n.PromptNameTemplate ||
		o.ResourceURITemplate != n.ResourceURITemplate || o.NameBudget != n.NameBudget || o.ClientPrefix != n.ClientPrefix {
		out = append(out, "name templates, name_budget or client_prefix changed; restart mcphost to apply them")
	}
	if o.MaxMessageBytes != n.MaxMessageBytes || o.RequestTimeout != n.RequestTimeout || o.ShutdownTimeout != n.ShutdownTimeout {
		out = append(out, "max_message_bytes, request_timeout or shutdown_timeout changed; restart mcphost to apply them")
	}
	if o.LogLevel != n.LogLevel || o.LogFormat != n.LogFormat {
		out = append(out, "logging settings changed; restart mcphost to apply them")
	}
	ot, nt := old.Tracing, next.Tracing
	if ot.Enabled != nt.Enabled || ot.Plugin != nt.Plugin || ot.StoreDir != nt.StoreDir || ot.IdleGap != nt.IdleGap ||
		ot.MaxUnits != nt.MaxUnits || ot.Queue != nt.Queue || ot.QueueBytes != nt.QueueBytes || ot.Batch != nt.Batch {
		out = append(out, "tracing settings other than weighting changed; restart mcphost to apply them")
	}
	oldL, _ := json.Marshal(old.Listeners)
	newL, _ := json.Marshal(next.Listeners)
	if !bytes.Equal(oldL, newL) {
		out = append(out, "listeners changed; restart mcphost to apply them")
	}
	return out
}

// formatDiagnostics renders diagnostics as file:line:col text lines.
func formatDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) []string {
	var out []string
	for _, d := range diags {
		var buf bytes.Buffer
		_ = config.WriteDiagnostics(&buf, hcl.Diagnostics{d}, files)
		out = append(out, string(bytes.TrimSpace(buf.Bytes())))
	}
	return out
}

// WatchConfig reloads whenever the config file's size or modification
// time changes, checking every interval until ctx ends. Polling needs no
// platform support and catches editors that replace the file.
//
// since is the file's stamp (ConfigStamp) from before it was loaded, so that
// a change saved while the proxy was starting is not taken as the baseline.
func (p *Proxy) WatchConfig(ctx context.Context, interval time.Duration, since string) {
	p.mu.Lock()
	path := p.cfg.Filename
	p.mu.Unlock()
	stamp := func() string { return ConfigStamp(path) }
	last := since
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamp()
		if now == last || now == "" {
			continue
		}
		last = now
		res, err := p.Reload(ctx)
		switch {
		case err != nil:
			p.log.Error("reload after a config change failed", "error", err)
		case !res.Applied:
			p.log.Error("config file changed but has errors; the running config stays",
				"diagnostics", strings.Join(res.Diagnostics, "\n"))
		}
	}
}

// ConfigStamp is what WatchConfig compares to notice that the file at path
// changed: its size and modification time, or "" when it cannot be read.
func ConfigStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}
