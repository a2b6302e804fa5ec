package proxy

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/pluginhost"
	pluginbase "github.com/mcphost/mcphost/sdk/base"
)

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
		spec := pluginhost.Spec{Name: pl.Name, Source: pl.Source, SHA256: pl.SHA256, Mode: mode, Fingerprint: pl.Version, PassEnv: pl.PassEnv}
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
// block sets them, or its schema has no such attribute (tracing-postgres
// keeps its store in a database, not a directory).
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
		if schemaHas(schema, "dir") && !gjson.GetBytes(raw, "dir").Exists() {
			if raw, err = sjson.SetBytes(raw, "dir", dir); err != nil {
				return nil, err
			}
		}
		if storeContent && schemaHas(schema, "store_content") && !gjson.GetBytes(raw, "store_content").Exists() {
			return sjson.SetBytes(raw, "store_content", true)
		}
		return raw, nil
	}
	return spec
}

// schemaHas reports whether a plugin's config schema has attribute name.
func schemaHas(schema pluginbase.Schema, name string) bool {
	for _, a := range schema.Attributes {
		if a.Name == name {
			return true
		}
	}
	return false
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
