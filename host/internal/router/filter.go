package router

import (
	"fmt"
	"path"
	"slices"

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

// Filters are a backend's filters, one per kind of list.
type Filters struct {
	// Resources applies to both resources and resource templates.
	Tools, Prompts, Resources Filter
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
