package base

import (
	"context"
	"encoding/json"
	"slices"
)

// Block is a config block declared as the struct C (see [SchemaFor]),
// with check adding what C's tags cannot say and turning the decoded C into
// O, what the plugin runs with. One Block gives a plugin its schema, the
// diagnostics Validate reports and the decoder Open or Configure uses, so
// the three cannot drift apart.
//
// Build it once, in a package variable: NewBlock builds the schema, so a
// malformed tag panics when the plugin starts, not on a call.
type Block[C, O any] struct {
	schema Schema
	check  func(C) (O, []Diagnostic)
}

// NewBlock returns the block of config struct C checked by check. check
// sees C as [DecodeConfig] left it, errors or not, and adds its own
// diagnostics; [NoCheck] is the check of a block whose tags say it all.
func NewBlock[C, O any](check func(C) (O, []Diagnostic)) *Block[C, O] {
	return &Block[C, O]{schema: SchemaFor[C](), check: check}
}

// NoCheck is the check of a block its tags describe fully: the decoded
// config is what the plugin runs with.
func NoCheck[C any](c C) (C, []Diagnostic) { return c, nil }

// Schema is the block's schema. It is shared: do not modify it.
func (b *Block[C, O]) Schema() Schema { return b.schema }

// Decode decodes raw strictly ([DecodeConfig]) and checks it: the
// diagnostics of both, the decoder's first. O is meaningful only when none
// is an error.
func (b *Block[C, O]) Decode(raw json.RawMessage) (O, []Diagnostic) {
	c, diags := DecodeConfig[C](raw)
	o, more := b.check(c)
	return o, append(diags, more...)
}

// Diagnose is Decode for Validate: the diagnostics alone.
func (b *Block[C, O]) Diagnose(raw json.RawMessage) []Diagnostic {
	_, diags := b.Decode(raw)
	return diags
}

// Checker is a config block as [Described] needs it, whatever it decodes
// to; a *Block is one.
type Checker interface {
	Schema() Schema
	Diagnose(raw json.RawMessage) []Diagnostic
}

// Described answers Info, Schema and Validate from a plugin's info and its
// config block, and everything else as [Unimplemented] does. Embed it in a
// plugin and build it with [DescribeInstance] or [DescribePlugin]; the zero
// Described answers an empty Info.
type Described struct {
	Unimplemented
	info InfoResponse
	// schema is what Schema answers; validated is the block Validate
	// checks, nil for a plugin with no config.
	schema    SchemaResponse
	validated Checker
}

// DescribeInstance describes a plugin configured at each use, such as a
// transport in each server's `transport "NAME" {}` block: instance is that
// block's schema, and Validate checks it. A nil instance is no block.
func DescribeInstance(info InfoResponse, instance Checker) Described {
	d := Described{info: info, validated: instance}
	if instance != nil {
		d.schema.Instance = instance.Schema()
	}
	return d
}

// DescribePlugin describes a plugin configured once, by the `config` block
// of its `plugin "NAME" {}` (the one Configure takes), such as a weighting:
// config is that block's schema, and Validate checks it, so that a config
// can be checked without applying it. A nil config is no block.
func DescribePlugin(info InfoResponse, config Checker) Described {
	d := Described{info: info, validated: config}
	if config != nil {
		d.schema.Plugin = config.Schema()
	}
	return d
}

// Info answers with the plugin's info; its lists are copies, so a caller
// cannot change what later calls see.
func (d Described) Info(context.Context, InfoRequest) (InfoResponse, error) {
	info := d.info
	info.Capabilities = slices.Clone(info.Capabilities)
	info.MCPProtocolVersions = slices.Clone(info.MCPProtocolVersions)
	return info, nil
}

// Schema answers with the schema of the described block.
func (d Described) Schema(context.Context, SchemaRequest) (SchemaResponse, error) {
	return d.schema, nil
}

// Validate checks req.Config as the described block.
func (d Described) Validate(_ context.Context, req ValidateRequest) (ValidateResponse, error) {
	if d.validated == nil {
		return ValidateResponse{}, nil
	}
	return ValidateResponse{Diagnostics: d.validated.Diagnose(req.Config)}, nil
}
