// Package pluginhost starts, supervises and stops plugins. Built-ins run as
// subprocesses of the host's own binary (`mcphost plugin serve NAME`) or, on
// request, in-process; external plugins run from a binary pinned by sha256.
// A plugin whose process died is started again on next use.
package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mcphost/mcphost/host/internal/redact"
	"github.com/mcphost/mcphost/sdk"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/translator"
	"github.com/mcphost/mcphost/sdk/transport"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Modes a plugin runs in.
const (
	ModeSubprocess = "subprocess"
	ModeInProcess  = "inprocess"
	SourceBuiltin  = "builtin"
)

// Spec is one plugin as configured.
type Spec struct {
	Name   string
	Source string // SourceBuiltin or an absolute path
	SHA256 string // required for a path source
	Mode   string
	// Config is the plugin's `config` block as JSON, or nil.
	Config json.RawMessage
	// DecodeConfig, when set, turns the plugin's `config` block into JSON
	// against the schema the plugin reports; it replaces Config.
	DecodeConfig func(schema base.Schema) (json.RawMessage, error)
	// Host, for a tracing plugin, is what the host offers it (the
	// weighting plugin, reached through the host): served on the go-plugin
	// broker to a plugin process, handed over directly in-process.
	Host tracing.Host
	// Fingerprint identifies the configuration for Update: equal
	// fingerprints (with equal Source, SHA256 and Mode) mean unchanged.
	Fingerprint string
	// PassEnv names host environment variables the process gets besides
	// MinimalEnv.
	PassEnv []string
}

func (s Spec) same(o Spec) bool {
	return s.Source == o.Source && s.SHA256 == o.SHA256 && s.Mode == o.Mode &&
		s.Fingerprint == o.Fingerprint && string(s.Config) == string(o.Config) && slices.Equal(s.PassEnv, o.PassEnv)
}

// MinimalEnv names the host environment variables every plugin process
// gets: what any program needs to run (PATH, HOME, locale, time zone,
// temporary and runtime directories) and Go's own diagnostics settings.
// Everything else, tokens included, stays with the host unless the plugin
// block's pass_env names it.
var MinimalEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "TZ", "TMPDIR",
	"XDG_RUNTIME_DIR", "GOCOVERDIR", "GORACE", "GOTRACEBACK"}

// pluginEnv is the environment of a plugin process: MinimalEnv, LC_*
// locale variables, and passEnv, as the host has them.
func pluginEnv(environ []string, passEnv []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && (slices.Contains(MinimalEnv, name) || strings.HasPrefix(name, "LC_") || slices.Contains(passEnv, name)) {
			out = append(out, kv)
		}
	}
	return out
}

// Options configure a Manager.
type Options struct {
	// Executable is the host binary, re-executed to serve built-ins.
	Executable      string
	MaxMessageBytes int
	Logger          hclog.Logger
}

// Manager owns every plugin process.
//
// Lock order: a plugin's starting lock, then mu. mu guards the maps and is
// never held across a plugin call or a process start, so that one plugin
// that hangs as it starts holds up only the callers of that plugin.
type Manager struct {
	opts Options
	log  hclog.Logger

	mu       sync.Mutex
	specs    map[string]Spec
	running  map[string]*instance
	starting map[string]chan struct{} // per plugin: held (full) while it starts
	closed   bool
}

type instance struct {
	spec       Spec
	client     *plugin.Client // nil in-process
	endProcess func()         // nil in-process
	plugin     base.Plugin    // of the kind in info.Kind
	info       base.InfoResponse
	started    time.Time
	restarts   int
}

// ErrChecksum is returned when an external plugin's binary does not match
// its configured sha256.
var ErrChecksum = errors.New("plugin checksum mismatch")

// New returns a manager for specs; built-ins not listed are available with
// default settings.
func New(opts Options, specs []Spec) *Manager {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = sdk.DefaultMaxMessageBytes
	}
	m := &Manager{opts: opts, log: opts.Logger, specs: map[string]Spec{}, running: map[string]*instance{},
		starting: map[string]chan struct{}{}}
	for name := range builtins {
		m.specs[name] = Spec{Name: name, Source: SourceBuiltin, Mode: ModeSubprocess}
	}
	for _, s := range specs {
		if s.Source == "" {
			s.Source = SourceBuiltin
		}
		if s.Mode == "" {
			s.Mode = ModeSubprocess
		}
		m.specs[s.Name] = s
	}
	return m
}

// Transport returns the named transport plugin, starting it (again) if its
// process is not running.
func (m *Manager) Transport(ctx context.Context, name string) (transport.Transport, error) {
	p, err := m.get(ctx, name, base.KindTransport)
	if err != nil {
		return nil, err
	}
	return p.(transport.Transport), nil
}

// Tracing returns the named tracing plugin, starting it (again) if its
// process is not running.
func (m *Manager) Tracing(ctx context.Context, name string) (tracing.Tracing, error) {
	p, err := m.get(ctx, name, base.KindTracing)
	if err != nil {
		return nil, err
	}
	return p.(tracing.Tracing), nil
}

// Weighting returns the named weighting plugin, starting it (again) if its
// process is not running.
func (m *Manager) Weighting(ctx context.Context, name string) (weighting.Weighting, error) {
	p, err := m.get(ctx, name, base.KindWeighting)
	if err != nil {
		return nil, err
	}
	return p.(weighting.Weighting), nil
}

// Translator returns the named translator plugin, starting it (again) if
// its process is not running.
func (m *Manager) Translator(ctx context.Context, name string) (translator.Translator, error) {
	p, err := m.get(ctx, name, base.KindTranslator)
	if err != nil {
		return nil, err
	}
	return p.(translator.Translator), nil
}

// get returns the named plugin as kind, starting it if needed. Starts of
// one plugin are serialized by its own lock, which a caller waits for only
// until ctx ends; other plugins are not held up.
func (m *Manager) get(ctx context.Context, name, kind string) (base.Plugin, error) {
	if p, ok, err := m.alive(name, kind); ok || err != nil {
		return p, err
	}
	m.mu.Lock()
	lock, ok := m.starting[name]
	if !ok {
		lock = make(chan struct{}, 1)
		m.starting[name] = lock
	}
	m.mu.Unlock()
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("plugin %q: waiting for it to start: %w", name, ctx.Err())
	}
	defer func() { <-lock }()

	// Another caller may have started it while this one waited.
	if p, ok, err := m.alive(name, kind); ok || err != nil {
		return p, err
	}
	m.mu.Lock()
	spec, known := m.specs[name]
	restarts := 0
	if dead, ok := m.running[name]; ok {
		m.log.Warn("plugin process exited; restarting", "plugin", name)
		m.kill(dead)
		restarts = dead.restarts + 1
		delete(m.running, name)
	}
	m.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("no plugin named %q (built-ins: %s)", name, builtinNames())
	}
	in, err := m.start(ctx, spec, kind)
	if err != nil {
		return nil, err
	}
	in.restarts = restarts
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		m.kill(in)
		return nil, errors.New("plugin manager is closed")
	case !m.specs[name].same(spec):
		// A reload changed its settings while it started: this one is
		// stale, and the next use starts the new one.
		m.kill(in)
		return nil, fmt.Errorf("plugin %q: its settings changed while it started; try again", name)
	}
	m.running[name] = in
	return in.plugin, nil
}

// alive returns the running instance of name when its process is alive;
// an error when the manager is closed or the plugin is of another kind.
func (m *Manager) alive(name, kind string) (base.Plugin, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, errors.New("plugin manager is closed")
	}
	in, ok := m.running[name]
	if !ok {
		return nil, false, nil
	}
	if in.info.Kind != kind {
		return nil, false, fmt.Errorf("plugin %q is a %s plugin, not a %s", name, in.info.Kind, kind)
	}
	if in.client != nil && in.client.Exited() {
		return nil, false, nil
	}
	return in.plugin, true, nil
}

// start launches a plugin as kind and configures it; no lock of the
// manager is held, and ctx ends a start that hangs.
func (m *Manager) start(ctx context.Context, spec Spec, kind string) (*instance, error) {
	name := spec.Name
	in := &instance{spec: spec, started: time.Now()}
	var err error
	if spec.Mode == ModeInProcess {
		b, ok := builtins[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q: only built-ins can run in-process", name)
		}
		in.plugin = b.new(m.log.Named(name))
	} else if in.client, in.plugin, in.endProcess, err = m.launch(ctx, spec, kind); err != nil {
		return nil, err
	}
	if in.info, err = in.plugin.Info(ctx, base.InfoRequest{}); err != nil {
		m.kill(in)
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	if in.info.Kind != kind || !hasKind(in.plugin, kind) {
		m.kill(in)
		return nil, fmt.Errorf("plugin %q is a %s plugin, not a %s", name, in.info.Kind, kind)
	}
	cfg := spec.Config
	var secrets redact.Secrets // in the config block, kept out of errors
	if spec.DecodeConfig != nil {
		schema, err := in.plugin.Schema(ctx, base.SchemaRequest{})
		if err == nil {
			cfg, err = spec.DecodeConfig(schema.Plugin)
		}
		if err == nil {
			_, secrets = redact.Config(schema.Plugin, cfg)
		}
		if err != nil {
			m.kill(in)
			return nil, fmt.Errorf("plugin %q: config: %w", name, err)
		}
	}
	req := base.ConfigureRequest{Config: cfg, MaxMessageBytes: uint64(m.opts.MaxMessageBytes)}
	if spec.Host != nil {
		switch p := in.plugin.(type) {
		case *tracing.GRPCClient:
			if req.BrokerID, err = p.ServeHost(spec.Host); err != nil {
				m.kill(in)
				return nil, fmt.Errorf("plugin %q: %w", name, err)
			}
		case tracing.HostUser:
			p.UseHost(spec.Host)
		}
	}
	resp, err := in.plugin.Configure(ctx, req)
	if err == nil {
		err = diagsError(resp.Diagnostics)
	}
	if err != nil {
		m.kill(in)
		return nil, fmt.Errorf("plugin %q: configure: %w", name, secrets.Error(err))
	}
	m.log.Debug("plugin started", "plugin", name, "kind", kind, "version", in.info.Version, "mode", spec.Mode)
	return in, nil
}

// hasKind checks that p implements the Go interface of kind.
func hasKind(p base.Plugin, kind string) bool {
	k, ok := sdk.KindNamed(kind)
	return ok && k.Implements(p)
}

// launch starts a plugin's process and dispenses kind from it. The process
// lives until the client is killed; endProcess (called by kill, or here on
// failure) releases what launch set up to stop a hung start.
func (m *Manager) launch(ctx context.Context, spec Spec, kind string) (_ *plugin.Client, _ base.Plugin, _ func(), err error) {
	procCtx, endProcess := context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			endProcess()
		}
	}()
	var cmd *exec.Cmd
	var secure *plugin.SecureConfig
	if spec.Source == SourceBuiltin {
		if _, ok := builtins[spec.Name]; !ok {
			return nil, nil, nil, fmt.Errorf("no built-in plugin named %q (built-ins: %s)", spec.Name, builtinNames())
		}
		cmd = exec.CommandContext(procCtx, m.opts.Executable, "plugin", "serve", spec.Name)
	} else {
		sum, err := hex.DecodeString(spec.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, nil, nil, fmt.Errorf("plugin %q: sha256 must be 64 hex characters", spec.Name)
		}
		if err := checkSHA256(spec.Source, sum); err != nil {
			return nil, nil, nil, fmt.Errorf("plugin %q: %w", spec.Name, err)
		}
		cmd = exec.CommandContext(procCtx, spec.Source)
		// A fresh hasher per start: go-plugin checks the binary again as it
		// launches it, closing the gap between our check and the exec.
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	cmd.Env = append(pluginEnv(os.Environ(), spec.PassEnv), sdk.EnvMaxMessageBytes+"="+strconv.Itoa(m.opts.MaxMessageBytes))
	setDeathSignal(cmd)
	limit := sdk.GRPCLimit(m.opts.MaxMessageBytes)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.HostPluginSet(),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           m.log.Named(spec.Name),
		StartTimeout:     30 * time.Second,
		// go-plugin would add the host's whole environment to cmd.Env.
		SkipHostEnv: true,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit))},
	})
	// A process that never completes the handshake is killed when the
	// caller's ctx ends, not only at StartTimeout (client.Kill would wait
	// for the start, which holds the client's lock).
	stop := context.AfterFunc(ctx, endProcess)
	rpc, err := client.Client()
	if !stop() {
		err = fmt.Errorf("gave up waiting for the handshake: %w", ctx.Err())
	}
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, nil, nil, fmt.Errorf("plugin %q: %w", spec.Name, ErrChecksum)
		}
		return nil, nil, nil, fmt.Errorf("plugin %q: start: %w", spec.Name, err)
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		client.Kill()
		return nil, nil, nil, fmt.Errorf("plugin %q does not serve the %s kind: %w", spec.Name, kind, err)
	}
	p, ok := raw.(base.Plugin)
	if !ok || !hasKind(p, kind) {
		client.Kill()
		return nil, nil, nil, fmt.Errorf("plugin %q does not serve the %s kind", spec.Name, kind)
	}
	if tc, ok := p.(*transport.GRPCClient); ok {
		// The host reads a stdio backend's output itself once the plugin
		// hands its pipes over, so it logs what it drops.
		tc.Logger = m.log.Named(spec.Name)
	}
	return client, p, endProcess, nil
}

func checkSHA256(path string, want []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash binary: %w", err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s has sha256 %x but proxy.hcl pins %x", ErrChecksum, path, got, want)
	}
	return nil
}

func (m *Manager) kill(in *instance) {
	if in.client != nil {
		in.client.Kill()
		in.endProcess()
	}
}

// Update replaces the plugin specs (a reload). A plugin whose spec changed
// or went away is stopped, so that its next use starts the new one; the
// names of those are returned. Built-ins not listed keep their defaults.
func (m *Manager) Update(ctx context.Context, specs []Spec) []string {
	next := map[string]Spec{}
	for name := range builtins {
		next[name] = Spec{Name: name, Source: SourceBuiltin, Mode: ModeSubprocess}
	}
	for _, s := range specs {
		if s.Source == "" {
			s.Source = SourceBuiltin
		}
		if s.Mode == "" {
			s.Mode = ModeSubprocess
		}
		next[s.Name] = s
	}
	m.mu.Lock()
	var changed []string
	var stale []*instance
	for name, old := range m.specs {
		if s, ok := next[name]; !ok || !s.same(old) {
			changed = append(changed, name)
			if in, ok := m.running[name]; ok {
				stale = append(stale, in)
				delete(m.running, name)
			}
		}
	}
	for name := range next {
		if _, ok := m.specs[name]; !ok {
			changed = append(changed, name)
		}
	}
	m.specs = next
	m.mu.Unlock()
	for _, in := range stale {
		m.stopInstance(ctx, in)
	}
	sort.Strings(changed)
	return changed
}

// stopInstance asks a plugin to drain until ctx's deadline, then kills it.
func (m *Manager) stopInstance(ctx context.Context, in *instance) {
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	stopCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := in.plugin.Stop(stopCtx, base.StopRequest{DeadlineUnixNano: deadline.UnixNano()}); err != nil {
		m.log.Debug("plugin stop", "plugin", in.spec.Name, "error", err)
	}
	m.kill(in)
}

// Close stops every plugin: each is asked to drain until the deadline, then
// its process is killed.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	running := m.running
	m.running = map[string]*instance{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.stopInstance(ctx, in)
		}()
	}
	wg.Wait()
}

// Running returns the plugins whose process is running now, by name. It
// never starts one: scraping metrics must not launch plugins.
func (m *Manager) Running() map[string]base.Plugin {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]base.Plugin, len(m.running))
	for name, in := range m.running {
		if in.client == nil || !in.client.Exited() {
			out[name] = in.plugin
		}
	}
	return out
}

// Started reports the plugins started so far (running or dead since),
// by name, without touching any that never ran.
func (m *Manager) Started() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.running))
	for name, in := range m.running {
		out = append(out, Status{
			Name: name, Kind: in.info.Kind, Version: in.info.Version, Source: in.spec.Source, Mode: in.spec.Mode,
			Running: in.client == nil || !in.client.Exited(), Restarts: in.restarts,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status describes one plugin for `mcphost plugins list` and the admin API.
type Status struct {
	Name     string
	Kind     string
	Version  string
	Source   string
	Mode     string
	Checksum string // "builtin", "pinned", "mismatch", "missing"
	Running  bool
	// Pid is the plugin process's while it runs as a subprocess, else 0.
	Pid      int
	Restarts int
}

// List reports every known plugin; those not running are described from
// their spec (and, for built-ins, from the registry).
func (m *Manager) List(ctx context.Context) []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Status
	for name, spec := range m.specs {
		st := Status{Name: name, Source: spec.Source, Mode: spec.Mode}
		if in, ok := m.running[name]; ok {
			st.Running = in.client == nil || !in.client.Exited()
			st.Version, st.Kind, st.Restarts = in.info.Version, in.info.Kind, in.restarts
			if st.Running && in.client != nil {
				if rc := in.client.ReattachConfig(); rc != nil {
					st.Pid = rc.Pid
				}
			}
		} else if b, ok := builtins[name]; ok && spec.Source == SourceBuiltin {
			st.Kind = b.kind
			if info, err := b.new(hclog.NewNullLogger()).Info(ctx, base.InfoRequest{}); err == nil {
				st.Version, st.Kind = info.Version, info.Kind
			}
		}
		st.Checksum = checksumState(spec)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func checksumState(spec Spec) string {
	if spec.Source == SourceBuiltin {
		return "builtin"
	}
	want, err := hex.DecodeString(spec.SHA256)
	if err != nil || len(want) != sha256.Size {
		return "invalid"
	}
	if err := checkSHA256(spec.Source, want); err != nil {
		if errors.Is(err, ErrChecksum) {
			return "mismatch"
		}
		return "missing"
	}
	return "pinned"
}

func diagsError(ds []base.Diagnostic) error {
	var errs []error
	for _, d := range ds {
		if d.Severity == base.SeverityError {
			errs = append(errs, fmt.Errorf("%s: %s", d.Summary, d.Detail))
		}
	}
	return errors.Join(errs...)
}
