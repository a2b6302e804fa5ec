package router

import (
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// Filter limits which of a backend's items of one kind are exposed: globs
// (path.Match syntax) on the backend's own names, or URIs and URI
// templates. Deny wins; an empty Allow allows everything.
type Filter struct {
	Allow, Deny []string
	// Where names the config block, such as "proxy.hcl:12", for the
	// warning given when Allow matches none of the items.
	Where string
}

// Filters are a backend's filters, one per kind of list, and how its
// tools are shown.
type Filters struct {
	// Resources applies to both resources and resource templates.
	Tools, Prompts, Resources Filter
	// ToolOverrides change single tools, by the backend's own names.
	ToolOverrides map[string]ToolOverride
}

// ToolOverride changes how one tool is shown to clients. Zero fields leave
// the tool as the backend lists it.
type ToolOverride struct {
	// ExposeAs is the exact name clients see and call it by.
	ExposeAs    string
	Description string
	// Annotations is a JSON object whose members replace the tool's.
	Annotations []byte
	// Hidden leaves the tool out of the list and refuses calls to it.
	Hidden bool
	// Where names the config block, for warnings.
	Where string
}

// changes names what o changes: "name", "description", "annotations".
func (o ToolOverride) changes() []string {
	var out []string
	if o.ExposeAs != "" {
		out = append(out, "name")
	}
	if o.Description != "" {
		out = append(out, "description")
	}
	if len(o.Annotations) > 2 { // more than {}
		out = append(out, "annotations")
	}
	return out
}

// apply returns the tool definition item as o shows it.
func (o ToolOverride) apply(item []byte) []byte {
	if o.Description != "" {
		if edited, err := jsonrpc.Set(item, "description", jsonrpc.String(o.Description)); err == nil {
			item = edited
		}
	}
	if len(o.Annotations) > 0 {
		gjson.ParseBytes(o.Annotations).ForEach(func(key, value gjson.Result) bool {
			if edited, err := jsonrpc.Set(item, "annotations."+key.Str, []byte(value.Raw)); err == nil {
				item = edited
			}
			return true
		})
	}
	return item
}

func (fs Filters) of(k listKind) Filter {
	switch k {
	case listTools:
		return fs.Tools
	case listPrompts:
		return fs.Prompts
	}
	return fs.Resources
}

// Allows says whether the item named name is exposed.
func (f Filter) Allows(name string) bool {
	if matchesAny(f.Deny, name) {
		return false
	}
	return len(f.Allow) == 0 || matchesAny(f.Allow, name)
}

func matchesAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, _ := path.Match(p, name) // patterns are checked when the config loads
		return ok
	})
}

// filterKinds are the blocks a filter comes from, and the lists each covers.
var filterKinds = []struct {
	block string
	lists []listKind
	noun  string
}{
	{"tools", []listKind{listTools}, "tools"},
	{"prompts", []listKind{listPrompts}, "prompts"},
	{"resources", []listKind{listResources, listTemplates}, "resources and resource templates"},
}

// listKeys are the members that name each list's items.
var listKeys = [numLists]string{"name", "name", "uri", "uriTemplate"}

// filterWarnings names each allow list of b's that matches none of the
// items b lists of its kind (when it lists any), so that a typo or a
// renamed tool is seen rather than leaving a server silently empty.
func filterWarnings(b *backend, fs Filters, lists [numLists][][]byte) []string {
	var out []string
	for _, fk := range filterKinds {
		f := fs.of(fk.lists[0])
		if len(f.Allow) == 0 {
			continue
		}
		listed, matched := 0, false
		for _, k := range fk.lists {
			for _, item := range lists[k] {
				listed++
				name, _ := jsonrpc.GetString(item, listKeys[k])
				matched = matched || matchesAny(f.Allow, name)
			}
		}
		if listed > 0 && !matched {
			out = append(out, fmt.Sprintf("%s.allow in %s matches none of the %d %s server %s lists",
				fk.block, f.Where, listed, fk.noun, b.spec.Name))
		}
	}
	return out
}

// overrideWarnings names each tool block of b's whose tool b does not list
// (once it lists any tools), or that its tools filter leaves out, since
// either way the block changes nothing.
func overrideWarnings(b *backend, fs Filters, tools [][]byte) []string {
	if len(fs.ToolOverrides) == 0 || len(tools) == 0 {
		return nil
	}
	listed := make(map[string]bool, len(tools))
	for _, t := range tools {
		name, _ := jsonrpc.GetString(t, "name")
		listed[name] = true
	}
	var out []string
	for name, o := range fs.ToolOverrides {
		switch {
		case !listed[name]:
			out = append(out, fmt.Sprintf("tool %q in %s is not among the %d tools server %s lists",
				name, o.Where, len(tools), b.spec.Name))
		case !fs.Tools.Allows(name):
			out = append(out, fmt.Sprintf("tool %q in %s is left out by the tools filter of server %s",
				name, o.Where, b.spec.Name))
		}
	}
	sort.Strings(out) // map order would make every rebuild look new
	return out
}
