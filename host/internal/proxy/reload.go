package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/pluginhost"
	pluginbase "github.com/mcphost/mcphost/sdk/base"
)

// ReloadResult says what a reload did, or why it did nothing.
type ReloadResult struct {
	// Applied is false when the new config was refused; Diagnostics say why.
	Applied                            bool
	Added, Removed, Changed, Unchanged []string
	Plugins                            []string // plugins whose settings changed
	Diagnostics                        []string
	// Warnings name changes that need a restart of mcphost to take effect.
	Warnings []string
}

// pluginSpecs are cfg's plugin blocks for the plugin manager. The tracing
// plugin's store directory defaults to the tracing block's store_dir.
func (p *Proxy) pluginSpecs(cfg *config.Config) []pluginhost.Spec {
	var specs []pluginhost.Spec
	tracingDeclared := false
	for _, pl := range cfg.Plugins {
		mode := pl.Mode
		if p.opts.CheckOnly && pl.Builtin() {
			mode = pluginhost.ModeInProcess
		}
		spec := pluginhost.Spec{Name: pl.Name, Source: pl.Source, SHA256: pl.SHA256, Mode: mode, Fingerprint: pl.Version}
		if pl.Config != nil {
			spec.DecodeConfig = p.configDecoder(pl)
			spec.Fingerprint += "\n" + string(blockText(cfg, pl.Config))
		}
		if cfg.Tracing.Enabled && pl.Name == cfg.Tracing.Plugin {
			tracingDeclared = true
			spec = withStoreDir(spec, cfg.Tracing.StoreDir, cfg.Tracing.StoreContent)
			spec.Host = hostServices{p}
		}
		specs = append(specs, spec)
	}
	if cfg.Tracing.Enabled && !tracingDeclared && pluginhost.IsBuiltin(cfg.Tracing.Plugin) {
		mode := pluginhost.ModeSubprocess
		if p.opts.CheckOnly {
			mode = pluginhost.ModeInProcess
		}
		spec := withStoreDir(pluginhost.Spec{Name: cfg.Tracing.Plugin, Source: pluginhost.SourceBuiltin, Mode: mode},
			cfg.Tracing.StoreDir, cfg.Tracing.StoreContent)
		spec.Host = hostServices{p}
		specs = append(specs, spec)
	}
	return specs
}

// withStoreDir gives the tracing plugin the tracing block's store_dir and
// store_content as its "dir" and "store_content" unless its own config
// block sets them.
func withStoreDir(spec pluginhost.Spec, dir string, storeContent bool) pluginhost.Spec {
	spec.Fingerprint += fmt.Sprintf("\ndir=%s\ncontent=%t", dir, storeContent)
	decode := spec.DecodeConfig
	base := spec.Config
	spec.DecodeConfig = func(schema pluginbase.Schema) (json.RawMessage, error) {
		raw := base
		if decode != nil {
			var err error
			if raw, err = decode(schema); err != nil {
				return nil, err
			}
		}
		if len(raw) == 0 || string(raw) == "null" {
			raw = json.RawMessage(`{}`)
		}
		var err error
		if !gjson.GetBytes(raw, "dir").Exists() {
			if raw, err = sjson.SetBytes(raw, "dir", dir); err != nil {
				return nil, err
			}
		}
		if storeContent && !gjson.GetBytes(raw, "store_content").Exists() {
			return sjson.SetBytes(raw, "store_content", true)
		}
		return raw, nil
	}
	return spec
}

// blockText is the source of a block body: what tells a plugin's config
// changed (its schema, needed to evaluate it, is the plugin's own).
func blockText(cfg *config.Config, body hcl.Body) []byte {
	b, ok := body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	f := cfg.Files[b.SrcRange.Filename]
	if f == nil || b.SrcRange.End.Byte > len(f.Bytes) {
		return nil
	}
	return f.Bytes[b.SrcRange.Start.Byte:b.SrcRange.End.Byte]
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
// refused with its diagnostics and the running one stays.
func (p *Proxy) Reload(ctx context.Context) (ReloadResult, error) {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.mu.Lock()
	old := p.cfg
	p.mu.Unlock()
	loader := config.NewLoader()
	next, diags := loader.Load(old.Filename, config.LoadOptions{Executable: p.opts.Executable})
	if diags.HasErrors() {
		return ReloadResult{Diagnostics: formatDiagnostics(diags, loader.Files())}, nil
	}
	// Check everything the new config names before touching what runs.
	check, diags := Build(ctx, next, Options{Executable: p.opts.Executable, Logger: hclog.NewNullLogger(), CheckOnly: true})
	if check != nil {
		check.plugins.Close(ctx)
	}
	if diags.HasErrors() {
		return ReloadResult{Diagnostics: formatDiagnostics(diags, next.Files)}, nil
	}

	res := ReloadResult{Applied: true, Warnings: restartWarnings(old, next)}
	res.Plugins = p.plugins.Update(ctx, p.pluginSpecs(next))
	p.mu.Lock()
	p.cfg = next
	p.mu.Unlock()

	seen := map[string]bool{}
	var failed hcl.Diagnostics
	for _, s := range next.Servers {
		seen[s.Name] = true
		spec, fingerprint, d := p.backendSpec(ctx, next, s)
		if d.HasErrors() {
			failed = append(failed, d...)
			continue
		}
		before, existed := p.fingerprints[s.Name]
		switch {
		case !existed:
			if err := p.router.AddBackend(spec); err != nil {
				return res, fmt.Errorf("add server %q: %w", s.Name, err)
			}
			res.Added = append(res.Added, s.Name)
		case before != fingerprint || slices.Contains(res.Plugins, s.Transport.Plugin):
			if err := p.router.RemoveBackend(s.Name); err != nil {
				return res, fmt.Errorf("restart server %q: %w", s.Name, err)
			}
			if err := p.router.AddBackend(spec); err != nil {
				return res, fmt.Errorf("restart server %q: %w", s.Name, err)
			}
			res.Changed = append(res.Changed, s.Name)
		default:
			res.Unchanged = append(res.Unchanged, s.Name)
		}
		p.fingerprints[s.Name] = fingerprint
	}
	for name := range p.fingerprints {
		if seen[name] {
			continue
		}
		if err := p.router.RemoveBackend(name); err != nil {
			return res, fmt.Errorf("remove server %q: %w", name, err)
		}
		delete(p.fingerprints, name)
		p.mu.Lock()
		delete(p.transportConfigs, name)
		p.mu.Unlock()
		res.Removed = append(res.Removed, name)
	}
	sort.Strings(res.Removed)

	translatorsChanged := !slices.Equal(old.Proxy.Translators, next.Proxy.Translators)
	for _, name := range next.Proxy.Translators {
		translatorsChanged = translatorsChanged || slices.Contains(res.Plugins, name)
	}
	if translatorsChanged {
		refs, d := p.translators(ctx)
		failed = append(failed, d...)
		p.router.SetTranslators(refs)
	}
	// Checked beforehand, so a failure here is the environment changing
	// under the reload (a plugin binary replaced meanwhile).
	res.Diagnostics = formatDiagnostics(failed, next.Files)
	p.log.Info("config reloaded", "added", res.Added, "removed", res.Removed, "changed", res.Changed,
		"plugins", res.Plugins, "warnings", len(res.Warnings))
	for _, w := range res.Warnings {
		p.log.Warn("reload: " + w)
	}
	p.events.publish(Event{Type: EventReload, Reload: &res})
	return res, nil
}

// restartWarnings lists what changed that a reload does not apply.
func restartWarnings(old, next *config.Config) []string {
	var out []string
	o, n := old.Proxy, next.Proxy
	if o.ToolNameTemplate != n.ToolNameTemplate || o.PromptNameTemplate != n.PromptNameTemplate ||
		o.ResourceURITemplate != n.ResourceURITemplate {
		out = append(out, "name templates changed; restart mcphost to apply them")
	}
	if o.MaxMessageBytes != n.MaxMessageBytes || o.RequestTimeout != n.RequestTimeout || o.ShutdownTimeout != n.ShutdownTimeout {
		out = append(out, "max_message_bytes, request_timeout or shutdown_timeout changed; restart mcphost to apply them")
	}
	if o.LogLevel != n.LogLevel || o.LogFormat != n.LogFormat {
		out = append(out, "logging settings changed; restart mcphost to apply them")
	}
	ot, nt := old.Tracing, next.Tracing
	if ot.Enabled != nt.Enabled || ot.Plugin != nt.Plugin || ot.StoreDir != nt.StoreDir || ot.IdleGap != nt.IdleGap ||
		ot.MaxUnits != nt.MaxUnits || ot.Queue != nt.Queue {
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
func (p *Proxy) WatchConfig(ctx context.Context, interval time.Duration) {
	p.mu.Lock()
	path := p.cfg.Filename
	p.mu.Unlock()
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	last := stamp()
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
