package config

import (
	"path"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var serverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"},
		{Name: "prefix"},
		{Name: "request_timeout"},
		{Name: "protocol_version"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "transport", LabelNames: []string{"plugin"}},
		{Type: "restart"}, {Type: "health"},
		{Type: "tools"}, {Type: "prompts"}, {Type: "resources"},
		{Type: "tool", LabelNames: []string{"name"}},
	},
}

func (d *decoder) decodeServer(b *hcl.Block, defaults Proxy) Server {
	name := b.Labels[0]
	s := Server{Name: name, Enabled: true, Prefix: true, DeclRange: b.DefRange, Restart: defaults.Restart, Health: defaults.Health}
	if !nameRE.MatchString(name) {
		d.errorf(b.LabelRanges[0], "Invalid server name",
			"Server name %q must be 1 to 32 letters, digits, underscores or dashes (it becomes part of tool names).", name)
	}
	content, diags := b.Body.Content(serverSchema)
	d.add(diags...)
	attrs := content.Attributes
	var transports []*hcl.Block
	var policies, filters []*hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "transport":
			transports = append(transports, blk)
		case "tool":
			s.ToolOverrides = d.addToolOverride(s.ToolOverrides, blk, defaults)
		case "tools", "prompts", "resources":
			filters = append(filters, blk)
		default:
			policies = append(policies, blk)
		}
	}
	content.Blocks = transports
	d.decodePolicyBlocks(policies, &s.Restart, &s.Health)
	for _, blk := range d.firstOfEachType(filters) {
		f := d.decodeFilter(blk)
		switch blk.Type {
		case "tools":
			s.Tools = f
		case "prompts":
			s.Prompts = f
		case "resources":
			s.Resources = f
		}
	}
	if attr, ok := attrs["enabled"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			s.Enabled = v.True()
		}
	}
	decodeAttr(attrs, "protocol_version", d.enum(ProtocolVersions), &s.ProtocolVersion)
	if attr, ok := attrs["prefix"]; ok {
		if v, ok := d.eval(attr, cty.Bool); ok && !v.IsNull() {
			s.Prefix = v.True()
		}
	}
	decodeAttr(attrs, "request_timeout", d.evalDuration, &s.RequestTimeout)
	switch len(content.Blocks) {
	case 0:
		d.errorf(b.DefRange, "Missing transport block",
			"Server %q needs exactly one transport block, such as transport \"stdio\" { command = \"...\" }.", name)
	default:
		for _, extra := range content.Blocks[1:] {
			d.errorf(extra.DefRange, "Duplicate transport block",
				"Server %q already has a transport block at %s; a server has exactly one.", name, rangeStart(content.Blocks[0].DefRange))
		}
		tb := content.Blocks[0]
		if !nameRE.MatchString(tb.Labels[0]) {
			d.errorf(tb.LabelRanges[0], "Invalid transport plugin name",
				"Transport plugin name %q must be 1 to 32 letters, digits, underscores or dashes.", tb.Labels[0])
		}
		s.Transport = TransportBlock{
			Plugin:     tb.Labels[0],
			Body:       tb.Body,
			DeclRange:  tb.DefRange,
			LabelRange: tb.LabelRanges[0],
		}
	}
	return s
}

var restartSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_restarts"}, {Name: "window"}, {Name: "initial_delay"}, {Name: "max_delay"},
	},
}

var healthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "interval"}, {Name: "timeout"}, {Name: "failure_threshold"},
	},
}

// firstOfEachType returns blocks without repeats of a type, reporting each
// repeat: these blocks may appear at most once.
func (d *decoder) firstOfEachType(blocks []*hcl.Block) []*hcl.Block {
	first := map[string]hcl.Range{}
	var out []*hcl.Block
	for _, b := range blocks {
		if at, dup := first[b.Type]; dup {
			d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
				"At most one %s block is allowed here; the first is at %s.", b.Type, rangeStart(at))
			continue
		}
		first[b.Type] = b.DefRange
		out = append(out, b)
	}
	return out
}

var filterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "allow"}, {Name: "deny"}},
}

// decodeFilter reads a `tools`, `prompts` or `resources` block: lists of
// path.Match globs, each checked here so that a typo fails the load
// rather than silently matching nothing.
func (d *decoder) decodeFilter(b *hcl.Block) Filter {
	f := Filter{DeclRange: b.DefRange}
	content, diags := b.Body.Content(filterSchema)
	d.add(diags...)
	for _, field := range []struct {
		name string
		dst  *[]string
	}{{"allow", &f.Allow}, {"deny", &f.Deny}} {
		attr, ok := content.Attributes[field.name]
		if !ok {
			continue
		}
		v, ok := d.eval(attr, cty.List(cty.String))
		if !ok || v.IsNull() {
			continue
		}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				d.errorf(attr.Expr.Range(), "Invalid "+field.name, "%s.%s must not contain null.", b.Type, field.name)
				continue
			}
			pattern := e.AsString()
			if _, err := path.Match(pattern, ""); err != nil {
				d.errorf(attr.Expr.Range(), "Invalid "+field.name+" pattern",
					"%s.%s: %q is not a valid glob (%s); patterns use Go's path.Match syntax: *, ?, [a-z], \\ escapes.", b.Type, field.name, pattern, err)
				continue
			}
			*field.dst = append(*field.dst, pattern)
		}
	}
	return f
}

// decodePolicyBlocks applies `restart` and `health` blocks (at most one of
// each) over r and h: attributes left out keep the values given.
func (d *decoder) decodePolicyBlocks(blocks []*hcl.Block, r *Restart, h *Health) {
	for _, b := range d.firstOfEachType(blocks) {
		switch b.Type {
		case "restart":
			d.decodeRestart(b, r)
		case "health":
			d.decodeHealth(b, h)
		}
	}
}

func (d *decoder) decodeRestart(b *hcl.Block, r *Restart) {
	content, diags := b.Body.Content(restartSchema)
	d.add(diags...)
	attrs := content.Attributes
	decodeAttr(attrs, "max_restarts", d.evalCount, &r.MaxRestarts)
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"window", &r.Window}, {"initial_delay", &r.InitialDelay}, {"max_delay", &r.MaxDelay}} {
		if attr, ok := attrs[f.name]; ok {
			if v, ok := d.evalDuration(attr); ok {
				*f.dst = v
			}
		}
	}
	initial, hasInitial := attrs["initial_delay"]
	_, hasMax := attrs["max_delay"]
	if hasInitial && hasMax && r.MaxDelay < r.InitialDelay {
		d.errorf(initial.Expr.Range(), "Invalid initial_delay",
			"initial_delay (%s) must not be longer than max_delay (%s).", r.InitialDelay, r.MaxDelay)
	}
}

func (d *decoder) decodeHealth(b *hcl.Block, h *Health) {
	content, diags := b.Body.Content(healthSchema)
	d.add(diags...)
	attrs := content.Attributes
	// "0s" disables health checks.
	decodeAttr(attrs, "interval", d.evalDurationOrZero, &h.Interval)
	decodeAttr(attrs, "timeout", d.evalDuration, &h.Timeout)
	decodeAttr(attrs, "failure_threshold", d.evalCount, &h.FailureThreshold)
}
