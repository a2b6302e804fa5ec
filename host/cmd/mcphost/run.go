package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/mcphost/mcphost/host/internal/buildinfo"
	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/copies"
	"github.com/mcphost/mcphost/host/internal/demoserver"
	"github.com/mcphost/mcphost/host/internal/gcfloor"
	"github.com/mcphost/mcphost/host/internal/importer"
	"github.com/mcphost/mcphost/host/internal/logs"
	"github.com/mcphost/mcphost/host/internal/pluginhost"
	"github.com/mcphost/mcphost/host/internal/proxy"
	"github.com/mcphost/mcphost/host/internal/router"
)

const usage = `usage: mcphost <command> [arguments]

commands:
  run [--stdio [--serve]] [FILE]
                            run the proxy (default FILE: proxy.hcl); --stdio speaks MCP on stdin/stdout
                            and leaves the configured HTTP and admin ports alone unless --serve
  validate [--probe] [FILE] check a config without starting anything (--probe: start the
                            servers and report their states, warnings and shortened names)
  import FILE [-o OUT]      turn a Claude Desktop / Claude Code mcpServers JSON into a proxy.hcl
  plugins list [FILE]       list plugins: name, kind, version, source, checksum
  ctl [flags] COMMAND       control a running mcphost over its admin API: status, start|stop|restart NAME,
                            reload, logs NAME [-n N] [-f] (mcphost ctl help for more)
  auth COMMAND [-config FILE]
                            sign in to servers that require OAuth: login SERVER, status [SERVER],
                            logout SERVER (mcphost auth help for more)
  trace [flags] COMMAND     context tracing of a running mcphost: response [ID|latest], context ID,
                            top, deprecated, feedback ID SCORE [TEXT]
  version                   print the version, VCS revision and Go release of this build
  example-server [flags]    run the example MCP server (the default backend)
  plugin serve NAME         run a built-in plugin (the host does this itself)
`

// errUsage is returned after usage has been printed.
var errUsage = errors.New("invalid usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runProxy(ctx, args[1:], stdin, stdout, stderr)
	case "validate":
		return validate(ctx, args[1:], stdout, stderr)
	case "import":
		return importClaude(args[1:], stdout, stderr)
	case "plugins":
		if len(args) < 2 || args[1] != "list" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return listPlugins(ctx, args[2:], stdout, stderr)
	case "plugin":
		if len(args) != 3 || args[1] != "serve" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		if !pluginhost.ServeBuiltin(args[2]) {
			return fmt.Errorf("no built-in plugin named %q", args[2])
		}
		return nil
	case "ctl":
		return runCtl(ctx, args[1:], stdout, stderr)
	case "auth":
		return runAuth(ctx, args[1:], stdout, stderr)
	case "trace":
		return runTrace(ctx, args[1:], stdout, stderr)
	case "example-server":
		return demoserver.Run(ctx, args[1:], stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprint(stdout, buildinfo.Read())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func configPath(fs *flag.FlagSet) string {
	if fs.NArg() > 0 {
		return fs.Arg(0)
	}
	return "proxy.hcl"
}

// load reads and checks a config, printing diagnostics to stderr.
func load(path string, stderr io.Writer) (*config.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	loader := config.NewLoader()
	cfg, diags := loader.Load(path, config.LoadOptions{Executable: exe})
	if len(diags) > 0 {
		_ = loader.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s has %d error(s)", path, len(diags.Errs()))
	}
	return cfg, nil
}

// newLogger is the host's logger: text or JSON on stderr. It is an
// intercept logger so that log files can be attached as sinks.
func newLogger(cfg *config.Config, stderr io.Writer) hclog.InterceptLogger {
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name: "mcphost", Output: stderr, Level: hclog.LevelFromString(cfg.Proxy.LogLevel),
		JSONFormat: cfg.Proxy.LogFormat == "json",
	})
}

// openLogFiles opens the log directory and routes every log line there:
// a plugin's lines about a server (its stderr included) to that server's
// file, the rest to mcphost.log. nil when log_dir is "".
//
// A file that stops taking lines (a full disk, say) is said on stderr
// only, once, and once more when it takes them again: the proxy goes on
// serving either way.
func openLogFiles(cfg *config.Config, log hclog.InterceptLogger, stderr io.Writer) (*logs.Manager, error) {
	if cfg.Proxy.LogDir == "" {
		return nil, nil
	}
	// Not log itself: its sinks are these files, which are what failed.
	report := hclog.New(&hclog.LoggerOptions{
		Name: "mcphost.logs", Output: stderr, Level: hclog.Warn, JSONFormat: cfg.Proxy.LogFormat == "json",
	})
	m, err := logs.New(logs.Options{
		Dir: cfg.Proxy.LogDir, MaxBytes: cfg.Proxy.LogMaxBytes, MaxFiles: cfg.Proxy.LogMaxFiles, MaxAge: cfg.Proxy.LogMaxAge,
		Report: func(name, file string, err error, lost int64) {
			if err != nil {
				report.Error("log file cannot be written; its lines are lost until it can (the live stream still gets them)",
					"log", name, "file", file, "error", err)
				return
			}
			report.Warn("log file written again", "log", name, "file", file, "lines_lost", lost)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("log files: %w", err)
	}
	if _, err := m.Log(logs.HostLog); err != nil {
		m.Close()
		return nil, fmt.Errorf("log files: %w", err)
	}
	log.RegisterSink(levelSink{min: hclog.LevelFromString(cfg.Proxy.LogLevel), next: m.RouteHCLogSink()})
	log.Info("writing log files", "dir", cfg.Proxy.LogDir)
	return m, nil
}

// levelSink passes on entries at or above min: a sink sees every level.
type levelSink struct {
	min  hclog.Level
	next hclog.SinkAdapter
}

func (s levelSink) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	if level >= s.min {
		s.next.Accept(name, level, msg, args...)
	}
}

func build(ctx context.Context, cfg *config.Config, log hclog.Logger, checkOnly bool, stderr io.Writer) (*proxy.Proxy, error) {
	return buildWith(ctx, cfg, log, proxy.Options{CheckOnly: checkOnly}, stderr)
}

func buildWith(ctx context.Context, cfg *config.Config, log hclog.Logger, opts proxy.Options, stderr io.Writer) (*proxy.Proxy, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	opts.Executable, opts.Logger = exe, log
	p, diags := proxy.Build(ctx, cfg, opts)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, diags, cfg.Files)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s has %d error(s)", cfg.Filename, len(diags.Errs()))
	}
	return p, nil
}

func runProxy(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stdio := fs.Bool("stdio", false, "speak MCP on stdin/stdout (for Claude Code, Claude Desktop, ...)")
	serve := fs.Bool("serve", false, "with --stdio: also serve the configured HTTP listeners and admin address "+
		"(skipped with a warning when taken); without it they are left to `mcphost run`")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *serve && !*stdio {
		fmt.Fprintln(stderr, "mcphost run: --serve goes with --stdio (without --stdio the listeners are always served)")
		return errUsage
	}
	// A stdio copy (one per client window) takes the configured ports only
	// when asked, so that `mcphost run` started after any number of them
	// gets its ports.
	servePorts := !*stdio || *serve
	mode := copies.ModeHTTP
	if *stdio {
		mode = copies.ModeStdio
	}
	// Stamped before it is read: a change saved while starting is noticed.
	stamp := proxy.ConfigStamp(configPath(fs))
	cfg, err := load(configPath(fs), stderr)
	if err != nil {
		return err
	}
	defer gcfloor.Start(gcfloor.DefaultFloor)()
	// In stdio mode stdout carries MCP only: every log goes to stderr,
	// and to the log files (one per server, one for mcphost).
	log := newLogger(cfg, stderr)
	logFiles, err := openLogFiles(cfg, log, stderr)
	if err != nil {
		return err
	}
	if logFiles != nil {
		defer logFiles.Close()
	}
	p, err := buildWith(ctx, cfg, log, proxy.Options{Logs: logFiles}, stderr)
	if err != nil {
		return err
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Proxy.ShutdownTimeout)
		defer cancel()
		if err := p.Shutdown(shutdownCtx); err != nil {
			log.Warn("shutdown", "error", err)
		}
	}()
	startFailed := func(err error) error {
		var diags hcl.Diagnostics
		if errors.As(err, &diags) {
			_ = config.WriteDiagnostics(stderr, diags, cfg.Files)
			return fmt.Errorf("%s has %d error(s)", cfg.Filename, len(diags.Errs()))
		}
		return err
	}
	reg, err := registryOf(cfg.Filename)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := p.Start(ctx, proxy.StartOptions{SkipListeners: !servePorts, Lenient: *stdio}); err != nil {
		return startFailed(bindError(ctx, reg, err))
	}
	if !*stdio {
		// No client waits on this copy's start: check the servers'
		// names before serving the admin API, as ever.
		if err := p.WaitStarted(ctx); err != nil {
			return startFailed(err)
		}
	}
	adminServer, err := adminEndpoints(ctx, cfg, p, reg, servePorts, !*stdio, log)
	if err != nil {
		return err
	}
	if adminServer != nil {
		defer closeAdmin(adminServer, cfg)
	}
	defer register(cfg, p, reg, mode, adminServer, log)()
	go reloadOnSignal(ctx, p, log, hup)
	if cfg.Proxy.WatchConfig {
		go p.WatchConfig(ctx, time.Second, stamp)
	}
	if *stdio {
		return serveStdio(ctx, p, stdin, stdout, startFailed)
	}
	if len(p.HTTPURLs()) == 0 {
		return errors.New("no listener is configured: add a listen \"http\" block, or use --stdio")
	}
	<-ctx.Done()
	drain(p, cfg.Proxy.DrainDelay, log)
	log.Info("shutting down")
	return nil
}

// drain turns /readyz to 503 for delay before the caller shuts down, so
// that a load balancer's next health check takes this instance out while
// it still serves what is sent meanwhile.
func drain(p *proxy.Proxy, delay time.Duration, log hclog.Logger) {
	if delay <= 0 {
		return
	}
	p.Drain()
	log.Info("draining: /readyz answers 503 before shutting down", "drain_delay", delay)
	t := time.NewTimer(delay)
	defer t.Stop()
	<-t.C
}

// serveStdio speaks MCP on stdin/stdout from the start, while the backends
// are still starting (the client's initialize is answered at once); once
// they have made their first attempt (or startup_wait is over), a config
// whose unprefixed servers clash ends the proxy with its diagnostics.
func serveStdio(ctx context.Context, p *proxy.Proxy, stdin io.Reader, stdout io.Writer, startFailed func(error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var startErr error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		if err := p.WaitStarted(ctx); err != nil && ctx.Err() == nil {
			startErr = err
			cancel()
		}
	}()
	in, out, restore := pollableStdio(stdin, stdout)
	err := p.ServeStdio(ctx, in, out)
	restore()
	cancel()
	<-checked
	if startErr != nil {
		return startFailed(startErr)
	}
	return err
}

// reloadOnSignal reloads the config on every SIGHUP on hup until ctx
// ends. hup is subscribed before the proxy starts, so that a SIGHUP during
// start-up waits for it instead of ending the process (its default).
func reloadOnSignal(ctx context.Context, p *proxy.Proxy, log hclog.Logger, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			logReload(ctx, p, log, "SIGHUP")
		}
	}
}

func logReload(ctx context.Context, p *proxy.Proxy, log hclog.Logger, why string) {
	res, err := p.Reload(ctx)
	switch {
	case err != nil:
		log.Error("reload failed", "trigger", why, "error", err)
	case !res.Applied:
		log.Error("reload refused: the new config has errors; the running one stays", "trigger", why,
			"diagnostics", strings.Join(res.Diagnostics, "\n"))
	}
}

func validate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	probe := fs.Bool("probe", false, "also start the servers and report what they list: states, "+
		"warnings, name collisions and the names shortened to fit name_budget")
	wait := fs.Duration("wait", 30*time.Second, "with --probe: how long to wait for the servers to start")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := load(configPath(fs), stderr)
	if err != nil {
		return err
	}
	p, err := build(ctx, cfg, hclog.NewNullLogger(), !*probe, stderr)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = p.Shutdown(closeCtx)
	}()
	fmt.Fprintf(stdout, "%s is valid: %d server(s), %d listener(s)\n", cfg.Filename, len(cfg.Servers), len(cfg.Listeners))
	if !*probe {
		return nil
	}
	return probeServers(ctx, p, *wait, stdout, stderr)
}

// probeServers starts p's servers (not its listeners), waits for their
// first attempts, and reports what a client would meet: each server's
// state and warnings, clashes, and the names shortened to fit the name
// budget. A server that did not come up fails the probe.
func probeServers(ctx context.Context, p *proxy.Proxy, wait time.Duration, stdout, stderr io.Writer) error {
	if err := p.Start(ctx, proxy.StartOptions{SkipListeners: true, StartupWait: wait}); err != nil {
		return err
	}
	if err := p.WaitStarted(ctx); err != nil {
		return err
	}
	r := p.Router()
	failed := 0
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tTOOLS\tPROMPTS\tRESOURCES\tDETAIL")
	for _, b := range r.Backends() {
		if b.State != router.StateRunning && b.Reason != router.DisabledReason {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", b.Name, b.State, b.Tools, b.Prompts, b.Resources, dash(b.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, b := range r.Backends() {
		for _, w := range b.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	for _, c := range r.Collisions() {
		fmt.Fprintf(stdout, "collision: %s\n", c.Detail)
	}
	if err := printShortened(stdout, r.Shortened()); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "mcphost validate --probe: %d server(s) did not start\n", failed)
		return errProbeFailed
	}
	return nil
}

// errProbeFailed ends validate --probe with status 1 once what failed has
// been printed.
var errProbeFailed = errors.New("probe failed")

// printShortened lists the exposed names cut to fit the name budget.
func printShortened(w io.Writer, names []router.ShortenedName) error {
	if len(names) == 0 {
		return nil
	}
	fmt.Fprintf(w, "%d name(s) shortened to fit name_budget:\n", len(names))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tKIND\tNAME\tEXPOSED AS")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Server, n.Kind, n.Full, n.Exposed)
	}
	return tw.Flush()
}

func importClaude(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the config to this file (which must not exist) instead of stdout")
	// Flags may come before or after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	src, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	res, err := importer.Convert(src, files[0])
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stderr, "skipped duplicate %s\n", s)
	}
	if *out == "" {
		_, err := stdout.Write(res.HCL)
		return err
	}
	// O_EXCL: never overwrite an existing config. 0600: env values are
	// copied as they are.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; not overwriting it", *out)
		}
		return err
	}
	_, err = f.Write(res.HCL)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(*out) // do not leave a partial file behind
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d server(s)\n", *out, len(res.Servers))
	if len(res.RequiredEnv) > 0 {
		fmt.Fprintf(stdout, "set these environment variables before running it: %s\n", strings.Join(res.RequiredEnv, " "))
	}
	return nil
}

func listPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var specs []pluginhost.Spec
	if _, err := os.Stat(configPath(fs)); err == nil || fs.NArg() > 0 {
		cfg, err := load(configPath(fs), stderr)
		if err != nil {
			return err
		}
		for _, pl := range cfg.Plugins {
			specs = append(specs, pluginhost.Spec{Name: pl.Name, Source: pl.Source, SHA256: pl.SHA256, Mode: pl.Mode})
		}
	}
	m := pluginhost.New(pluginhost.Options{}, specs)
	defer m.Close(ctx)
	for _, spec := range specs {
		if spec.Source != pluginhost.SourceBuiltin {
			// Only a running plugin can tell its kind and version; one whose
			// checksum does not match is not started, and shows as such.
			_, _ = m.Transport(ctx, spec.Name)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tMODE\tSOURCE\tCHECKSUM")
	for _, st := range m.List(ctx) {
		version := st.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Kind, version, st.Mode, st.Source, st.Checksum)
	}
	return tw.Flush()
}
