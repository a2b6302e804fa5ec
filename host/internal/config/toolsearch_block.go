package config

import (
	"path"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Tool modes (proxy.tool_mode).
const (
	ToolModeAll     = "all"
	ToolModeSearch  = "search"
	DefaultToolMode = ToolModeAll
)

var toolModes = []string{ToolModeAll, ToolModeSearch}

// decodeToolSearch reads proxy.tool_mode and proxy.pinned_tools.
func (d *decoder) decodeToolSearch(attrs hcl.Attributes, p *Proxy) {
	decodeAttr(attrs, "tool_mode", d.enum(toolModes), &p.ToolMode)
	attr, ok := attrs["pinned_tools"]
	if !ok {
		return
	}
	v, ok := d.eval(attr, cty.List(cty.String))
	if !ok || v.IsNull() {
		return
	}
	p.PinnedTools = []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.AsString() == "" {
			d.errorf(attr.Expr.Range(), "Invalid pinned_tools", "pinned_tools must list globs on exposed tool names.")
			continue
		}
		glob := e.AsString()
		if _, err := path.Match(glob, ""); err != nil {
			d.errorf(attr.Expr.Range(), "Invalid pinned_tools", "pinned_tools: %q is not a valid glob (path.Match syntax): %v.", glob, err)
			continue
		}
		p.PinnedTools = append(p.PinnedTools, glob)
	}
}
