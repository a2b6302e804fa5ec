// Package importer turns the `mcpServers` JSON of Claude Desktop
// (claude_desktop_config.json) and Claude Code (.mcp.json, ~/.claude.json)
// into an mcphost proxy.hcl.
//
// Claude Code's `${VAR}` and `${VAR:-default}` expansions become env()
// calls, env and header values whose key looks like a secret are replaced by
// env("<SERVER>_<KEY>") (the variables to set are listed in the header
// comment), and server names are sanitized to what proxy.hcl accepts.
package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/mcphost/mcphost/host/internal/config"
)

// ListenAddress is the address of the listen "http" block of every import.
const ListenAddress = "127.0.0.1:3000"

const maxNameLen = 32

var (
	secretKeyRE = regexp.MustCompile(`(?i)(token|secret|key|password|auth)`)
	identRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	varNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	notNameRE   = regexp.MustCompile(`[^A-Za-z0-9_-]`)
	notEnvRE    = regexp.MustCompile(`[^A-Z0-9_]`)
)

// Result is a converted file.
type Result struct {
	// HCL is the proxy.hcl text.
	HCL []byte
	// Servers are the imported server names, sorted.
	Servers []string
	// Skipped describes entries dropped because their name was taken.
	Skipped []string
	// RequiredEnv are the environment variables the config reads without a
	// default, sorted: secrets moved out of the file and ${VAR} references.
	RequiredEnv []string
}

// entry is one mcpServers member as Claude Desktop and Claude Code write it.
type entry struct {
	Type     string            `json:"type"`
	Command  *string           `json:"command"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Cwd      *string           `json:"cwd"`
	URL      *string           `json:"url"`
	Headers  map[string]string `json:"headers"`
	Disabled bool              `json:"disabled"`
}

// server is an entry ready to be written.
type server struct {
	name     string // sanitized
	original string // as in the file
	origin   string // "" for the top level, else the project path
	entry    entry
	notes    []string
}

// Convert converts the JSON src, read from filename (used in the header
// comment and in errors), into a proxy.hcl. Invalid JSON is an error giving
// the line and column; so is an entry of unknown type, naming the server.
func Convert(src []byte, filename string) (*Result, error) {
	var probe any
	if err := json.Unmarshal(src, &probe); err != nil {
		return nil, jsonError(src, filename, 0, err)
	}
	if _, ok := probe.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: the top level is not a JSON object", filename)
	}
	top, err := members(src, 0, filename)
	if err != nil {
		return nil, err
	}

	var servers []*server
	byName := map[string]*server{}
	res := &Result{}
	addAll := func(raw rawValue, origin string) error {
		list, err := members(src, raw.off, filename)
		if err != nil {
			return err
		}
		for _, m := range list {
			s := &server{original: m.key, origin: origin, name: sanitizeName(m.key)}
			if err := decodeEntry(src, m.val, filename, s); err != nil {
				return err
			}
			if kept, ok := byName[s.name]; ok {
				skipped := fmt.Sprintf("%q%s: the name %q is already used by %q%s", m.key, where(origin), s.name, kept.original, where(kept.origin))
				kept.notes = append(kept.notes, "skipped duplicate "+skipped)
				res.Skipped = append(res.Skipped, skipped)
				continue
			}
			if s.name != s.original {
				s.notes = append(s.notes, fmt.Sprintf("imported as %q from %q", s.name, s.original))
			}
			byName[s.name] = s
			servers = append(servers, s)
		}
		return nil
	}

	var projects *rawValue
	for _, m := range top {
		switch m.key {
		case "mcpServers":
			if err := addAll(m.val, ""); err != nil {
				return nil, err
			}
		case "projects":
			v := m.val
			projects = &v
		}
	}
	if projects != nil {
		list, err := members(src, projects.off, filename)
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			fields, err := members(src, p.val.off, filename)
			if err != nil {
				return nil, err
			}
			for _, f := range fields {
				if f.key == "mcpServers" {
					if err := addAll(f.val, p.key); err != nil {
						return nil, err
					}
				}
			}
		}
	}

	sort.Slice(servers, func(i, j int) bool { return servers[i].name < servers[j].name })
	w := &writer{required: map[string]string{}}
	out, err := w.file(filename, servers)
	if err != nil {
		return nil, err
	}
	if err := check(out); err != nil {
		return nil, fmt.Errorf("%s: the generated config is invalid (a bug in mcphost import): %w", filename, err)
	}
	res.HCL = out
	for _, s := range servers {
		res.Servers = append(res.Servers, s.name)
	}
	for name := range w.required {
		res.RequiredEnv = append(res.RequiredEnv, name)
	}
	sort.Strings(res.RequiredEnv)
	return res, nil
}

func where(origin string) string {
	if origin == "" {
		return " (top level)"
	}
	return fmt.Sprintf(" of project %q", origin)
}

// check parses out with the config package, as `mcphost run` would.
func check(out []byte) error {
	_, diags := config.Parse(out, "proxy.hcl", config.LoadOptions{
		Executable: "/mcphost",
		LookupEnv:  func(string) (string, bool) { return "v", true },
	})
	if diags.HasErrors() {
		return diags
	}
	return nil
}

// rawValue is a JSON value and its offset in the whole source.
type rawValue struct {
	raw json.RawMessage
	off int64
}

type member struct {
	key string
	val rawValue
}

// members returns the members of the JSON object at src[off:] in source
// order. A value that is not an object yields no members.
func members(src []byte, off int64, filename string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(src[off:]))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(src, filename, off, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(src, filename, off, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(src, filename, off, err)
		}
		start := off + dec.InputOffset() - int64(len(raw))
		out = append(out, member{key: key, val: rawValue{raw: raw, off: start}})
	}
	return out, nil
}

func decodeEntry(src []byte, v rawValue, filename string, s *server) error {
	if d := bytes.TrimSpace(v.raw); len(d) == 0 || d[0] != '{' {
		line, col := lineCol(src, v.off)
		return fmt.Errorf("%s:%d:%d: server %q: the entry is not a JSON object", filename, line, col, s.original)
	}
	if err := json.Unmarshal(v.raw, &s.entry); err != nil {
		return fmt.Errorf("server %q: %w", s.original, jsonError(src, filename, v.off, err))
	}
	e := &s.entry
	switch e.Type {
	case "":
		switch {
		case e.Command != nil:
			e.Type = "stdio"
		case e.URL != nil:
			e.Type = "http"
		default:
			return fmt.Errorf("%s: server %q has neither \"command\" nor \"url\"", filename, s.original)
		}
	case "stdio", "http", "sse":
	default:
		return fmt.Errorf("%s: server %q has unknown type %q (want \"stdio\", \"http\" or \"sse\")", filename, s.original, e.Type)
	}
	if e.Type == "stdio" && (e.Command == nil || *e.Command == "") {
		return fmt.Errorf("%s: server %q is of type stdio but has no \"command\"", filename, s.original)
	}
	if e.Type != "stdio" && (e.URL == nil || *e.URL == "") {
		return fmt.Errorf("%s: server %q is of type %s but has no \"url\"", filename, s.original, e.Type)
	}
	return nil
}

// jsonError positions a JSON error as file:line:col; base is the offset of
// the decoded text in src.
func jsonError(src []byte, filename string, base int64, err error) error {
	var off int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = base + syn.Offset
	case errors.As(err, &typ):
		off = base + typ.Offset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		off = int64(len(src))
	}
	if off < 0 {
		return fmt.Errorf("%s: invalid JSON: %w", filename, err)
	}
	if off > base && off < int64(len(src)) {
		off-- // encoding/json counts the offending byte as read
	}
	line, col := lineCol(src, off)
	return fmt.Errorf("%s:%d:%d: invalid JSON: %w", filename, line, col, err)
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(src []byte, off int64) (int, int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	before := src[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// sanitizeName maps name onto ^[A-Za-z0-9_-]{1,32}$.
func sanitizeName(name string) string {
	s := notNameRE.ReplaceAllString(name, "_")
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	if s == "" {
		s = "server"
	}
	return s
}

// envName is the environment variable a secret of server moves to.
func envName(server, key string) string {
	return notEnvRE.ReplaceAllString(strings.ToUpper(server+"_"+key), "_")
}

// writer builds the file and collects the variables it reads.
type writer struct {
	// required maps a variable name to why it is needed.
	required map[string]string
}

func (w *writer) file(filename string, servers []*server) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendNewline()
	l := body.AppendNewBlock("listen", []string{"http"})
	l.Body().SetAttributeValue("address", cty.StringVal(ListenAddress))
	for _, s := range servers {
		body.AppendNewline()
		for _, n := range s.notes {
			appendComment(body, n)
		}
		if err := w.server(body, s); err != nil {
			return nil, err
		}
	}

	var head bytes.Buffer
	fmt.Fprintf(&head, "# Generated by `mcphost import` from %s.\n", oneLine(filename))
	fmt.Fprintf(&head, "# %d server(s). Check it with `mcphost validate`, run it with `mcphost run`.\n", len(servers))
	if len(w.required) > 0 {
		head.WriteString("#\n# Set these environment variables before running mcphost:\n")
		names := make([]string, 0, len(w.required))
		for n := range w.required {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&head, "#   %s  (%s)\n", n, w.required[n])
		}
	}
	out := append(head.Bytes(), hclwrite.Format(f.Bytes())...)
	return out, nil
}

func appendComment(body *hclwrite.Body, text string) {
	body.AppendUnstructuredTokens(hclwrite.Tokens{
		{Type: hclsyntax.TokenComment, Bytes: []byte("# " + oneLine(text) + "\n")},
	})
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

func (w *writer) server(body *hclwrite.Body, s *server) error {
	b := body.AppendNewBlock("server", []string{s.name}).Body()
	e := s.entry
	if e.Disabled {
		b.SetAttributeValue("enabled", cty.False)
	}
	ctx := fmt.Sprintf("server %q", s.name)
	switch e.Type {
	case "stdio":
		t := b.AppendNewBlock("transport", []string{"stdio"}).Body()
		t.SetAttributeRaw("command", w.str(*e.Command, ctx+" command"))
		if len(e.Args) > 0 {
			elems := make([]hclwrite.Tokens, len(e.Args))
			for i, a := range e.Args {
				elems[i] = w.str(a, ctx+" args")
			}
			t.SetAttributeRaw("args", hclwrite.TokensForTuple(elems))
		}
		if len(e.Env) > 0 {
			t.SetAttributeRaw("env", w.object(s.name, e.Env, ctx+" env"))
		}
		if e.Cwd != nil {
			t.SetAttributeRaw("cwd", w.str(*e.Cwd, ctx+" cwd"))
		}
	case "http", "sse":
		t := b.AppendNewBlock("transport", []string{"http"}).Body()
		t.SetAttributeRaw("url", w.str(*e.URL, ctx+" url"))
		mode := "streamable"
		if e.Type == "sse" {
			mode = "sse"
		}
		t.SetAttributeValue("mode", cty.StringVal(mode))
		if len(e.Headers) > 0 {
			t.SetAttributeRaw("headers", w.object(s.name, e.Headers, ctx+" headers"))
		}
	default:
		return fmt.Errorf("server %q has unknown type %q", s.original, e.Type)
	}
	return nil
}

// object writes a string map, moving secret-looking values to env().
func (w *writer) object(serverName string, m map[string]string, why string) hclwrite.Tokens {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]hclwrite.ObjectAttrTokens, 0, len(keys))
	for _, k := range keys {
		var name hclwrite.Tokens
		if identRE.MatchString(k) {
			name = hclwrite.TokensForIdentifier(k)
		} else {
			name = hclwrite.TokensForValue(cty.StringVal(k))
		}
		v := m[k]
		var val hclwrite.Tokens
		if secretKeyRE.MatchString(k) && !hasRefs(v) {
			env := envName(serverName, k)
			w.required[env] = fmt.Sprintf("%s %q: was a literal value", why, k)
			val = envCall(env, nil)
		} else {
			val = w.str(v, fmt.Sprintf("%s %q", why, k))
		}
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: name, Value: val})
	}
	return hclwrite.TokensForObject(attrs)
}

// segment is a piece of a string: literal text, or a ${VAR} reference.
type segment struct {
	lit  string
	name string  // set for a reference
	def  *string // ${VAR:-def}
}

// parseRefs splits s into literals and Claude Code ${VAR} / ${VAR:-default}
// references. A "${" that does not start a valid reference is literal.
func parseRefs(s string) []segment {
	var out []segment
	var lit strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "${") {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
				inner := s[i+2 : i+2+end]
				name, def, hasDef := strings.Cut(inner, ":-")
				if varNameRE.MatchString(name) {
					if lit.Len() > 0 {
						out = append(out, segment{lit: lit.String()})
						lit.Reset()
					}
					seg := segment{name: name}
					if hasDef {
						d := def
						seg.def = &d
					}
					out = append(out, seg)
					i += 2 + end + 1
					continue
				}
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 {
		out = append(out, segment{lit: lit.String()})
	}
	return out
}

func hasRefs(s string) bool {
	for _, seg := range parseRefs(s) {
		if seg.name != "" {
			return true
		}
	}
	return false
}

// str writes s as an HCL expression: a plain string, a lone env() call, or
// a template interpolating env() calls.
func (w *writer) str(s, why string) hclwrite.Tokens {
	segs := parseRefs(s)
	for _, seg := range segs {
		if seg.name != "" && seg.def == nil {
			if _, ok := w.required[seg.name]; !ok {
				w.required[seg.name] = fmt.Sprintf("referenced as ${%s} in %s", seg.name, why)
			}
		}
	}
	switch {
	case len(segs) == 0:
		return hclwrite.TokensForValue(cty.StringVal(""))
	case len(segs) == 1 && segs[0].name == "":
		return hclwrite.TokensForValue(cty.StringVal(s))
	case len(segs) == 1:
		return envCall(segs[0].name, segs[0].def)
	}
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOQuote, Bytes: []byte{'"'}}}
	for i, seg := range segs {
		if seg.name == "" {
			lit := seg.lit
			// A literal "$" or "%" right before an interpolation would
			// turn it into the escape "$${"; write that character as an
			// interpolated string instead.
			var tail string
			if i+1 < len(segs) && (strings.HasSuffix(lit, "$") || strings.HasSuffix(lit, "%")) {
				tail = lit[len(lit)-1:]
				lit = lit[:len(lit)-1]
			}
			toks = append(toks, quotedLit(lit)...)
			if tail != "" {
				toks = append(toks, interp(hclwrite.TokensForValue(cty.StringVal(tail)))...)
			}
			continue
		}
		toks = append(toks, interp(envCall(seg.name, seg.def))...)
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCQuote, Bytes: []byte{'"'}})
}

// quotedLit is the escaped body of a quoted string holding lit.
func quotedLit(lit string) hclwrite.Tokens {
	var out hclwrite.Tokens
	for _, t := range hclwrite.TokensForValue(cty.StringVal(lit)) {
		if t.Type == hclsyntax.TokenQuotedLit {
			out = append(out, t)
		}
	}
	return out
}

func interp(expr hclwrite.Tokens) hclwrite.Tokens {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenTemplateInterp, Bytes: []byte("${")}}
	toks = append(toks, expr...)
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenTemplateSeqEnd, Bytes: []byte{'}'}})
}

func envCall(name string, def *string) hclwrite.Tokens {
	args := []hclwrite.Tokens{hclwrite.TokensForValue(cty.StringVal(name))}
	if def != nil {
		args = append(args, hclwrite.TokensForValue(cty.StringVal(*def)))
	}
	return hclwrite.TokensForFunctionCall("env", args...)
}
