package router

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// route says which backend owns an exposed name or URI, and what the
// backend calls it.
type route struct {
	backend  *backend
	original string
}

// catalog is an immutable snapshot of everything the proxy exposes, rebuilt
// whenever a backend's lists change. Lookups are by explicit maps, never by
// taking an exposed name apart.
type catalog struct {
	tools, prompts, resources, templates                     map[string]route
	toolsResult, promptsResult, resourcesResult, templResult []byte
	// prefixes route URIs made from a backend's resource templates.
	prefixes []uriRoute
	// unprefixed are ready backends exposed with their own names and URIs.
	unprefixed []*backend
	collisions []Collision
	// hiddenURIs are listed resources and templates a filter leaves out,
	// as clients would name them: no other route (a prefix, say) may reach
	// them.
	hiddenURIs map[string]bool
	// warnings are each server's filter and override warnings
	// (filterWarnings, overrideWarnings).
	warnings map[string][]string
	// shortened are the exposed names cut to fit the name budget.
	shortened []ShortenedName
	// overridden names, by exposed tool name, what tool blocks changed;
	// leftOut are the listed tools filters or tool blocks hide.
	overridden map[string][]string
	leftOut    []leftOutTool
	// translated caches list results put into other protocol versions,
	// keyed by method and version (and the servers hidden, for a session
	// that sees only some).
	translated sync.Map
	// items are each list's entries as exposed, and owners the server of
	// each, for the sessions that see only some servers' entries.
	items  [numLists][][]byte
	owners [numLists][]string
	// search is set in search mode (proxy.tool_mode = "search").
	search *searchCatalog
}

// Collision is two backends offering one exposed name or URI.
type Collision struct {
	Kind          string // "tool", "prompt" or "resource"
	Exposed       string
	First, Second string // the servers, in config order
	// Unprefixed: both servers keep their own names (prefix = false), so
	// only the config can resolve the clash.
	Unprefixed bool
	Detail     string
}

func (c Collision) String() string { return c.Detail }

// ShortenedName is an exposed tool or prompt name that was cut and given
// a hash, because with the client's prefix it would pass the name budget.
type ShortenedName struct {
	Kind     string // "tool" or "prompt"
	Server   string
	Original string // the server's name for it
	// Full is the name the template gave, Exposed the one clients see.
	Full, Exposed string
}

type uriRoute struct {
	prefix  string
	backend *backend
}

// listKind names one of the four lists a backend has.
type listKind int

const (
	listTools listKind = iota
	listPrompts
	listResources
	listTemplates
	numLists
)

var listMethods = [numLists]string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
var listFields = [numLists]string{"tools", "prompts", "resources", "resourceTemplates"}
var listChanged = [numLists]string{
	"notifications/tools/list_changed", "notifications/prompts/list_changed",
	"notifications/resources/list_changed", "notifications/resources/list_changed",
}

func buildCatalog(opts Options, backends []*backend) *catalog {
	c := &catalog{
		tools: map[string]route{}, prompts: map[string]route{},
		resources: map[string]route{}, templates: map[string]route{},
		hiddenURIs: map[string]bool{}, warnings: map[string][]string{}, overridden: map[string][]string{},
	}
	var items [numLists][][]byte
	for _, b := range backends {
		lists, ready := b.snapshot()
		if !ready {
			continue
		}
		lists = c.applyFilters(opts, b, lists)
		if !b.spec.Prefix {
			c.unprefixed = append(c.unprefixed, b)
		} else if p := uriPrefix(opts.ResourceURITemplate, b.spec.Name); p != "" {
			c.prefixes = append(c.prefixes, uriRoute{prefix: p, backend: b})
		}
		exposeAs := b.filters.Load().ToolOverrides
		for _, t := range lists[listTools] {
			items[listTools] = c.addNamed(opts, items[listTools], c.tools, b, t, "name", opts.ToolNameTemplate, "{tool}", exposeAs)
		}
		for _, p := range lists[listPrompts] {
			items[listPrompts] = c.addNamed(opts, items[listPrompts], c.prompts, b, p, "name", opts.PromptNameTemplate, "{prompt}", nil)
		}
		for _, r := range lists[listResources] {
			items[listResources] = c.addURI(items[listResources], c.resources, b, r, "uri", opts.ResourceURITemplate)
		}
		for _, r := range lists[listTemplates] {
			items[listTemplates] = c.addURI(items[listTemplates], c.templates, b, r, "uriTemplate", opts.ResourceURITemplate)
		}
		for k := range items {
			for len(c.owners[k]) < len(items[k]) {
				c.owners[k] = append(c.owners[k], b.spec.Name)
			}
		}
	}
	c.items = items
	sort.Slice(c.prefixes, func(i, j int) bool { return len(c.prefixes[i].prefix) > len(c.prefixes[j].prefix) })
	c.toolsResult = listResult("tools", items[listTools])
	c.promptsResult = listResult("prompts", items[listPrompts])
	c.resourcesResult = listResult("resources", items[listResources])
	c.templResult = listResult("resourceTemplates", items[listTemplates])
	if opts.ToolMode == ToolModeSearch {
		c.search = c.buildSearch(opts.PinnedTools)
	}
	return c
}

// applyFilters returns b's lists without the items its filters leave out,
// noting the resources left out and the allow lists that match nothing.
func (c *catalog) applyFilters(opts Options, b *backend, lists [numLists][][]byte) [numLists][][]byte {
	fs := *b.filters.Load()
	if w := append(filterWarnings(b, fs, lists), overrideWarnings(b, fs, lists[listTools])...); len(w) > 0 {
		c.warnings[b.spec.Name] = w
	}
	var kept [numLists][][]byte
	for k, list := range lists {
		kind, f := listKind(k), fs.of(listKind(k))
		for _, item := range list {
			name, _ := jsonrpc.GetString(item, listKeys[k])
			o, overridden := fs.ToolOverrides[name]
			overridden = overridden && kind == listTools
			switch {
			case overridden && o.Hidden:
				c.leftOut = append(c.leftOut, leftOutTool{server: b.spec.Name, state: ToolHidden, item: item})
			case f.Allows(name):
				if overridden {
					item = o.apply(item)
				}
				kept[k] = append(kept[k], item)
			case kind == listTools:
				c.leftOut = append(c.leftOut, leftOutTool{server: b.spec.Name, state: ToolFiltered, item: item})
			case kind == listResources || kind == listTemplates:
				c.hiddenURIs[exposeURI(opts, b, name)] = true
			}
		}
	}
	return kept
}

// addNamed exposes one tool or prompt of b's under the name the template
// (or a tool block's expose_as) gives it, within the name budget.
func (c *catalog) addNamed(opts Options, out [][]byte, names map[string]route, b *backend, item []byte, field, template, placeholder string, overrides map[string]ToolOverride) [][]byte {
	original, ok := jsonrpc.GetString(item, field)
	if !ok {
		return out
	}
	if !b.spec.Prefix {
		template = placeholder
	}
	kind := strings.TrimSuffix(placeholder[1:], "}")
	// The config leaves at least minNameRoom; Options built by hand may not.
	limit := max(opts.NameBudget-len(opts.ClientPrefix), minNameRoom)
	exposed := overrides[original].ExposeAs // checked against the budget at load
	if exposed == "" {
		exposed = exposedName(template, placeholder, b.spec.Name, original, limit)
		if full := exposedName(template, placeholder, b.spec.Name, original, math.MaxInt); full != exposed {
			c.shortened = append(c.shortened, ShortenedName{Kind: kind, Server: b.spec.Name, Original: original, Full: full, Exposed: exposed})
		}
	}
	if prev, taken := names[exposed]; taken {
		renamed := exposed[:min(len(exposed), limit-9)] + "_" + shortHash(b.spec.Name, original)
		for n := 2; ; n++ {
			// The same name listed again by the same server hashes the
			// same: a long one is already cut and hashed that way, and a
			// third copy of a short one meets the second.
			if _, taken := names[renamed]; !taken {
				break
			}
			renamed = exposed[:min(len(exposed), limit-9)] + "_" + shortHash(b.spec.Name, original, strconv.Itoa(n))
		}
		c.collisions = append(c.collisions, Collision{
			Kind: kind, Exposed: exposed, First: prev.backend.spec.Name, Second: b.spec.Name,
			Unprefixed: !prev.backend.spec.Prefix && !b.spec.Prefix,
			Detail: fmt.Sprintf("%s %q of server %q and %q of server %q both map to %q; the second is exposed as %q",
				kind, prev.original, prev.backend.spec.Name, original, b.spec.Name, exposed, renamed),
		})
		exposed = renamed
	}
	names[exposed] = route{backend: b, original: original}
	if o, ok := overrides[original]; ok {
		c.overridden[exposed] = o.changes()
	}
	if exposed != original {
		var err error
		if item, err = jsonrpc.Set(item, field, jsonrpc.String(exposed)); err != nil {
			return out
		}
	}
	return append(out, item)
}

func (c *catalog) addURI(out [][]byte, uris map[string]route, b *backend, item []byte, field, template string) [][]byte {
	original, ok := jsonrpc.GetString(item, field)
	if !ok {
		return out
	}
	exposed := original
	if b.spec.Prefix {
		exposed = uriPrefix(template, b.spec.Name) + original
	}
	if prev, taken := uris[exposed]; taken {
		c.collisions = append(c.collisions, Collision{
			Kind: "resource", Exposed: exposed, First: prev.backend.spec.Name, Second: b.spec.Name,
			Unprefixed: !prev.backend.spec.Prefix && !b.spec.Prefix,
			Detail: fmt.Sprintf("resource %q is offered by servers %q and %q; %q wins",
				exposed, prev.backend.spec.Name, b.spec.Name, prev.backend.spec.Name),
		})
		return out
	}
	uris[exposed] = route{backend: b, original: original}
	if exposed != original {
		var err error
		if item, err = jsonrpc.Set(item, field, jsonrpc.String(exposed)); err != nil {
			return out
		}
	}
	return append(out, item)
}

// result is list k's merged result.
func (c *catalog) result(k listKind) []byte {
	switch k {
	case listTools:
		return c.toolsResult
	case listPrompts:
		return c.promptsResult
	case listResources:
		return c.resourcesResult
	}
	return c.templResult
}

// visibleResult is list k's result with only the entries visible says
// yes to (given the owning server and, when byName, the entry's exposed
// name), and the servers whose entries it hid, joined with commas (server
// names have none); with nothing hidden it is the shared result.
func (c *catalog) visibleResult(k listKind, visible func(server, name string) bool, byName bool) (result []byte, hidden string) {
	var kept [][]byte
	var hiddenServers []string
	for i, item := range c.items[k] {
		owner, name := c.owners[k][i], ""
		if byName {
			name, _ = jsonrpc.GetString(item, listKeys[k])
		}
		if visible(owner, name) {
			kept = append(kept, item)
		} else if !slices.Contains(hiddenServers, owner) {
			hiddenServers = append(hiddenServers, owner)
		}
	}
	if len(hiddenServers) == 0 {
		return c.result(k), ""
	}
	return listResult(listFields[k], kept), strings.Join(hiddenServers, ",")
}

func listResult(field string, items [][]byte) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"`)
	buf.WriteString(field)
	buf.WriteString(`":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// resolveURI finds the backend for a resource URI: a listed resource, a URI
// under a backend's prefix (from a template), or the only unprefixed backend.
func (c *catalog) resolveURI(uri string) (route, bool) {
	if r, ok := c.resources[uri]; ok {
		return r, true
	}
	if c.hiddenURIs[uri] {
		return route{}, false
	}
	// A URI no list names (one built from a template, say) still meets
	// its server's resources filter, so that a filtered template, or a
	// URI outside the allowed ones, cannot be read.
	for _, p := range c.prefixes {
		if strings.HasPrefix(uri, p.prefix) {
			original := uri[len(p.prefix):]
			return route{backend: p.backend, original: original}, p.backend.filters.Load().Resources.Allows(original)
		}
	}
	if len(c.unprefixed) == 1 {
		return route{backend: c.unprefixed[0], original: uri}, c.unprefixed[0].filters.Load().Resources.Allows(uri)
	}
	return route{}, false
}

// exposeURI maps a backend's URI to the one clients see.
func exposeURI(opts Options, b *backend, uri string) string {
	if !b.spec.Prefix {
		return uri
	}
	return uriPrefix(opts.ResourceURITemplate, b.spec.Name) + uri
}

// exposeResultURIs rewrites the resource URIs a backend put in a result
// (read contents, resource links and embedded resources) into the ones the
// client sees, so that each can be read back through the proxy.
func exposeResultURIs(opts Options, b *backend, method string, msg []byte) []byte {
	if !b.spec.Prefix {
		return msg
	}
	var paths []string
	switch method {
	case "resources/read":
		paths = itemPaths(msg, "result.contents", func(string) []string { return []string{"uri"} })
	case "tools/call", "tasks/result":
		if !anyResourceBlock(jsonrpc.Get(msg, "result.content")) {
			return msg // the usual result: no paths to build
		}
		paths = itemPaths(msg, "result.content", contentURIPaths(msg))
	case "prompts/get":
		found := false
		jsonrpc.Elements(jsonrpc.Get(msg, "result.messages"), func(m []byte) bool {
			found = anyResourceBlock(jsonrpc.Get(m, "content"))
			return !found
		})
		if !found {
			return msg
		}
		paths = itemPaths(msg, "result.messages", func(item string) []string {
			var out []string
			for _, p := range contentURIPaths(msg)(item + ".content") {
				out = append(out, "content."+p)
			}
			return out
		})
	}
	for _, p := range paths {
		uri, ok := jsonrpc.GetString(msg, p)
		if !ok {
			continue
		}
		if edited, err := jsonrpc.Set(msg, p, jsonrpc.String(exposeURI(opts, b, uri))); err == nil {
			msg = edited
		}
	}
	return msg
}

// anyResourceBlock says whether content (one block, or an array of them)
// holds a resource or a resource link, the blocks that carry URIs. Text
// blocks are crossed at memchr speed.
func anyResourceBlock(content []byte) bool {
	isResource := func(block []byte) bool {
		t, _ := jsonrpc.GetString(block, "type")
		return t == "resource" || t == "resource_link"
	}
	if len(content) == 0 || content[0] != '[' {
		return len(content) > 0 && isResource(content)
	}
	found := false
	jsonrpc.Elements(content, func(block []byte) bool {
		found = isResource(block)
		return !found
	})
	return found
}

// itemPaths lists, for each element of the array at path, the paths that
// fields(elementPath) names relative to it.
func itemPaths(msg []byte, path string, fields func(item string) []string) []string {
	var out []string
	n := int(gjson.GetBytes(msg, path+".#").Int())
	for i := 0; i < n; i++ {
		item := path + "." + strconv.Itoa(i)
		for _, f := range fields(item) {
			out = append(out, item+"."+f)
		}
	}
	return out
}

// contentURIPaths names where a content block keeps its URI.
func contentURIPaths(msg []byte) func(item string) []string {
	return func(item string) []string {
		switch gjson.GetBytes(msg, item+".type").Str {
		case "resource_link":
			return []string{"uri"}
		case "resource":
			return []string{"resource.uri"}
		}
		return nil
	}
}
