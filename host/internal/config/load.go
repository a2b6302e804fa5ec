package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// LoadOptions are the inputs of a load that do not come from the file.
type LoadOptions struct {
	// Vars override the defaults of `variable` blocks, by name. Every name
	// must be declared in the file.
	Vars map[string]cty.Value
	// Executable is mcphost.executable in expressions. When empty,
	// os.Executable() is used (and "" if that fails).
	Executable string
	// LookupEnv backs the env() function. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Loader loads config files and remembers the parsed files, so that
// diagnostics can be printed with source snippets even when loading failed
// and no Config was returned. The zero value is ready to use and a Loader
// is safe for concurrent use. Loading the same filename again replaces the
// remembered file (so a Loader can be reused for reloads).
type Loader struct {
	mu    sync.Mutex
	files map[string]*hcl.File
}

// NewLoader returns an empty Loader.
func NewLoader() *Loader { return &Loader{} }

// Files returns a copy of the filename → file map of everything loaded.
func (l *Loader) Files() map[string]*hcl.File {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*hcl.File, len(l.files))
	for k, v := range l.files {
		out[k] = v
	}
	return out
}

// WriteDiagnostics writes diags with source snippets from the files this
// Loader has loaded. See the package-level WriteDiagnostics.
func (l *Loader) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	return WriteDiagnostics(w, diags, l.Files())
}

func (l *Loader) remember(filename string, f *hcl.File) {
	if f == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.files == nil {
		l.files = map[string]*hcl.File{}
	}
	l.files[filename] = f
}

// Load reads and parses the file at path. Files whose name ends in ".json"
// are parsed as HCL's JSON syntax. The returned Config is nil if and only
// if diags has errors.
func (l *Loader) Load(path string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read configuration file",
			Detail:   fmt.Sprintf("The configuration file %q could not be read: %s.", path, err),
		}}
	}
	return l.Parse(src, path, opts)
}

// Parse parses src as if read from filename (which names the file in
// diagnostics and whose directory is the base for relative paths). The
// returned Config is nil if and only if diags has errors.
func (l *Loader) Parse(src []byte, filename string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	var (
		file  *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(filename, ".json") {
		file, diags = hcljson.Parse(src, filename)
	} else {
		file, diags = hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	l.remember(filename, file)
	if diags.HasErrors() {
		return nil, sanitize(diags)
	}
	dir, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid configuration file path",
			Detail:   fmt.Sprintf("Cannot resolve the directory of %q: %s.", filename, err),
		})
	}
	d := &decoder{opts: opts, dir: dir}
	cfg := d.decodeFile(file.Body)
	cfg.Filename = filename
	cfg.Dir = dir
	cfg.Files = map[string]*hcl.File{filename: file}
	diags = sanitize(append(diags, d.diags...))
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

// Load reads and parses the file at path with a fresh Loader. Use a Loader
// to print diagnostics when the returned Config is nil.
func Load(path string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	return NewLoader().Load(path, opts)
}

// Parse parses src with a fresh Loader. Use a Loader to print diagnostics
// when the returned Config is nil.
func Parse(src []byte, filename string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	return NewLoader().Parse(src, filename, opts)
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "proxy"},
		{Type: "listen", LabelNames: []string{"kind"}},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "server", LabelNames: []string{"name"}},
		{Type: "admin"},
		{Type: "tracing"},
		{Type: "telemetry"},
		{Type: "activity"},
		{Type: "profile", LabelNames: []string{"name"}},
	},
}

type decoder struct {
	opts  LoadOptions
	dir   string
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

func (d *decoder) add(diags ...*hcl.Diagnostic) { d.diags = append(d.diags, diags...) }

func (d *decoder) errorf(subject hcl.Range, summary, detailFormat string, args ...any) {
	d.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject.Ptr(),
	})
}

func (d *decoder) decodeFile(body hcl.Body) *Config {
	content, diags := body.Content(rootSchema)
	d.add(diags...)

	cfg := &Config{Proxy: defaultProxy()}
	executable := d.opts.Executable
	if executable == "" {
		if exe, err := os.Executable(); err == nil {
			executable = exe
		}
	}
	mcphost := cty.ObjectVal(map[string]cty.Value{
		"executable": cty.StringVal(executable),
		"config_dir": cty.StringVal(d.dir),
	})
	lookup := d.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	d.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{"mcphost": mcphost},
		Functions: functions(d.dir, lookup),
	}

	var blocks = map[string][]*hcl.Block{}
	for _, b := range content.Blocks {
		blocks[b.Type] = append(blocks[b.Type], b)
	}

	d.ctx.Variables["var"] = d.decodeVariables(blocks["variable"])
	cfg.EvalContext = d.ctx

	cfg.Tracing = Tracing{
		Plugin: DefaultTracingPlugin, Weighting: DefaultWeightingPlugin, StoreDir: filepath.Join(d.dir, DefaultTraceDir),
		IdleGap: DefaultTraceIdleGap, MaxUnits: DefaultTraceMaxUnits, Queue: DefaultTraceQueue, QueueBytes: DefaultTraceQueueBytes,
		Batch: DefaultTraceBatch, DefaultRetrievalScore: DefaultRetrievalScore,
	}
	if b := d.onlyOne(blocks["tracing"]); b != nil {
		d.decodeTracing(b, &cfg.Tracing)
	}
	if b := d.onlyOne(blocks["telemetry"]); b != nil {
		d.decodeTelemetry(b, &cfg.Telemetry)
	}
	cfg.Admin = Admin{Address: DefaultAdminAddress}
	if b := d.onlyOne(blocks["admin"]); b != nil {
		d.decodeAdmin(b, &cfg.Admin)
	}
	if b := d.onlyOne(blocks["proxy"]); b != nil {
		d.decodeProxy(b, &cfg.Proxy)
	}
	if !cfg.Proxy.logDirSet {
		cfg.Proxy.LogDir = filepath.Join(d.dir, DefaultLogDir)
	}
	d.decodeActivityBlocks(blocks["activity"], &cfg.Activity, cfg.Proxy.LogDir)

	listenSeen := map[string]hcl.Range{}
	for _, b := range blocks["listen"] {
		kind := b.Labels[0]
		if first, dup := listenSeen[kind]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate listener %q", kind),
				"A listen %q block was already declared at %s. Each listener kind may be declared once.", kind, rangeStart(first))
			continue
		}
		listenSeen[kind] = b.DefRange
		if l, ok := d.decodeListener(b); ok {
			cfg.Listeners = append(cfg.Listeners, l)
		}
	}

	for _, b := range d.uniqueNames(blocks["plugin"], "plugin") {
		cfg.Plugins = append(cfg.Plugins, d.decodePlugin(b))
	}
	for _, b := range d.uniqueNames(blocks["server"], "server") {
		cfg.Servers = append(cfg.Servers, d.decodeServer(b, cfg.Proxy))
	}
	d.checkServerScopes(cfg)
	d.checkExposeAs(cfg.Servers)
	cfg.Profiles = d.decodeProfiles(blocks["profile"])
	d.checkProfiles(cfg)
	return cfg
}

// onlyOne is the first of a top-level block type that may appear once,
// reporting the others; nil when there is none.
func (d *decoder) onlyOne(blocks []*hcl.Block) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	for _, b := range blocks[1:] {
		d.errorf(b.DefRange, "Duplicate "+b.Type+" block",
			"Only one %s block is allowed; the first is at %s.", b.Type, rangeStart(blocks[0].DefRange))
	}
	return blocks[0]
}

// uniqueNames is blocks without those whose name (first label) an earlier
// one has, each reported: noun is what the blocks declare ("server").
func (d *decoder) uniqueNames(blocks []*hcl.Block, noun string) []*hcl.Block {
	seen := map[string]hcl.Range{}
	out := blocks[:0:0]
	for _, b := range blocks {
		name := b.Labels[0]
		if first, dup := seen[name]; dup {
			d.errorf(b.DefRange, fmt.Sprintf("Duplicate %s %q", noun, name),
				"A %s named %q was already declared at %s. %s names must be unique.",
				noun, name, rangeStart(first), strings.ToUpper(noun[:1])+noun[1:])
			continue
		}
		seen[name] = b.DefRange
		out = append(out, b)
	}
	return out
}
