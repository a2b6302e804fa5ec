package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

const mcphostPkg = "github.com/mcphost/mcphost/host/cmd/mcphost"

// Timeouts for starting and stopping systems.
const (
	startTimeout = 60 * time.Second
	stopGrace    = 10 * time.Second
	dialTimeout  = 10 * time.Second
)

// mcphost builds the host binary from the module once per test binary, so
// the harness measures whatever code is in the tree.
func mcphost(tb testing.TB) string {
	tb.Helper()
	return testenv.BuildBinary(tb, mcphostPkg)
}

// testBinary is the running test binary, which the helper roles re-execute.
func testBinary(tb testing.TB) string {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	return exe
}

// backendSpec is the MCP server at the end of every path.
type backendSpec struct {
	example  bool   // `mcphost example-server` (mcp-go) instead of the echo backend
	protocol string // its -protocol; "" lets it negotiate
}

func (b backendSpec) String() string {
	name := "echo backend"
	if b.example {
		name = "example server"
	}
	if b.protocol == "" {
		return name
	}
	return name + " at " + b.protocol
}

// argKey is the name of the echo tool's string argument.
func (b backendSpec) argKey() string {
	if b.example {
		return "text"
	}
	return "message"
}

// argv is the command that runs the backend on stdio.
func (b backendSpec) argv(tb testing.TB) []string {
	argv := []string{testBinary(tb), "echo"}
	if b.example {
		argv = []string{mcphost(tb), "example-server", "-name", "bench"}
	}
	if b.protocol != "" {
		argv = append(argv, "-protocol", b.protocol)
	}
	return argv
}

// systemKind is what a system runs.
type systemKind int

const (
	directSystem     systemKind = iota // the backend itself on stdio, possibly behind relays
	nullHTTPSystem                     // the echo backend served over HTTP by the test binary
	proxyHTTPSystem                    // `mcphost run` with an HTTP listener
	proxyStdioSystem                   // `mcphost run --stdio`
)

// systemSpec describes one process tree a group measures.
type systemSpec struct {
	name      string
	kind      systemKind
	backend   backendSpec
	relays    int  // directSystem: do-nothing processes between client and backend
	inprocess bool // proxy: plugin "stdio" { mode = "inprocess" }
	tracing   bool // proxy: a tracing block with its store in a temp dir
}

func (s systemSpec) isProxy() bool { return s.kind == proxyHTTPSystem || s.kind == proxyStdioSystem }

// describe says what the system is, for the report.
func (s systemSpec) describe() string {
	switch s.kind {
	case directSystem:
		if s.relays > 0 {
			return fmt.Sprintf("the %s behind %d relay process(es)", s.backend, s.relays)
		}
		return "the " + s.backend.String() + ", directly"
	case nullHTTPSystem:
		return "the do-nothing HTTP endpoint"
	}
	front := "HTTP listener"
	if s.kind == proxyStdioSystem {
		front = "--stdio"
	}
	mode := "subprocess"
	if s.inprocess {
		mode = "in-process"
	}
	d := fmt.Sprintf("mcphost (%s), the %s, stdio plugin %s", front, s.backend, mode)
	if s.tracing {
		d += ", tracing on"
	}
	return d
}

// proxyConfig is the HCL of a proxy system: the default settings, apart
// from the backend (server "bench"), a listener on a free port, and the
// admin API off (it is off the message path, and its fixed default port
// would clash between systems).
func proxyConfig(tb testing.TB, s systemSpec, dir string) string {
	var b strings.Builder
	b.WriteString("admin {\n  enabled = false\n}\n")
	if s.kind == proxyHTTPSystem {
		b.WriteString("listen \"http\" {\n  address = \"127.0.0.1:0\"\n  path    = \"/mcp\"\n}\n")
	}
	if s.inprocess {
		b.WriteString("plugin \"stdio\" {\n  mode = \"inprocess\"\n}\n")
	}
	if s.tracing {
		fmt.Fprintf(&b, "tracing {\n  weighting = \"composite\"\n  store_dir = %q\n}\n", filepath.Join(dir, "trace"))
	}
	argv := s.backend.argv(tb)
	quoted := make([]string, len(argv)-1)
	for i, a := range argv[1:] {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	fmt.Fprintf(&b, "server \"bench\" {\n  transport \"stdio\" {\n    command = %q\n    args    = [%s]\n", argv[0], strings.Join(quoted, ", "))
	if !s.backend.example {
		fmt.Fprintf(&b, "    env     = { %s = \"1\" }\n", roleEnv)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// system is a started process tree.
type system struct {
	spec   systemSpec
	cmd    *exec.Cmd
	stderr *tailBuffer
	exited chan struct{}
	// pipe is a stdio system's stdin and stdout.
	pipe   *stdioPipe
	stdout *os.File
	// urls are an HTTP system's endpoints by client kind.
	urls map[clientKind]string
	// metricsURL is a proxy's Prometheus endpoint.
	metricsURL string
	// backendVersion is what a proxy negotiated with its backend.
	backendVersion string
	// dataPathInHost says whether the host holds the backend's stdio
	// itself (the stdio plugin in-process, or a subprocess plugin that
	// handed the descriptors over).
	dataPathInHost bool
}

func (s *system) pid() int { return s.cmd.Process.Pid }

// Lines the harness waits for on a system's stderr.
var (
	readyLine     = regexp.MustCompile(`server ready: server=bench\b(?: protocol=(\S+))?`)
	nullURLLine   = regexp.MustCompile(`listening on (\S+)`)
	urlLines      = map[clientKind]*regexp.Regexp{streamableJSON: regexp.MustCompile(`serving MCP over streamable HTTP: url=(\S+)`), legacySSEClient: regexp.MustCompile(`serving MCP over HTTP\+SSE \(2024-11-05 clients\): url=(\S+)`), webSocketClient: regexp.MustCompile(`serving MCP over WebSocket: url=(\S+)`)}
	proxyURLKinds = []clientKind{streamableJSON, legacySSEClient, webSocketClient}
	metricsLine   = regexp.MustCompile(`serving Prometheus metrics: url=(\S+)`)
)

// startSystem starts s and waits until it serves. It is stopped at the
// end of the test or benchmark.
func startSystem(tb testing.TB, spec systemSpec) *system {
	tb.Helper()
	s := &system{spec: spec, stderr: newTailBuffer(), exited: make(chan struct{}), urls: map[clientKind]string{}}
	argv, env := s.command(tb)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = deathSignal()
	var childIn, childOut *os.File
	if spec.kind == directSystem || spec.kind == proxyStdioSystem {
		var stdin *os.File
		var err error
		if childIn, stdin, err = os.Pipe(); err != nil {
			tb.Fatal(err)
		}
		if s.stdout, childOut, err = os.Pipe(); err != nil {
			tb.Fatal(err)
		}
		s.cmd.Stdin, s.cmd.Stdout = childIn, childOut
		s.pipe = newStdioPipe(stdin, s.stdout)
	}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", spec.name, err)
	}
	if childIn != nil {
		childIn.Close()
		childOut.Close()
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(func() { s.stop(tb) })
	if err := s.waitReady(); err != nil {
		tb.Fatalf("%s: %v\n%s", spec.name, err, s.stderr)
	}
	if spec.isProxy() {
		if b, ok := backendPID(s.pid()); ok {
			s.dataPathInHost = holdsStdioOf(s.pid(), b)
		}
	}
	return s
}

// command is the system's argv and extra environment.
func (s *system) command(tb testing.TB) ([]string, []string) {
	role := []string{roleEnv + "=1"}
	switch s.spec.kind {
	case directSystem:
		argv := s.spec.backend.argv(tb)
		for range s.spec.relays {
			argv = append([]string{testBinary(tb), "relay"}, argv...)
		}
		return argv, role
	case nullHTTPSystem:
		return []string{testBinary(tb), "null-http"}, role
	}
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "proxy.hcl")
	if err := os.WriteFile(cfg, []byte(proxyConfig(tb, s.spec, dir)), 0o644); err != nil {
		tb.Fatal(err)
	}
	if s.spec.kind == proxyStdioSystem {
		return []string{mcphost(tb), "run", "--stdio", cfg}, nil
	}
	return []string{mcphost(tb), "run", cfg}, nil
}

// waitReady waits for the lines that say the system serves: where it
// listens, and for a proxy that its backend is ready.
func (s *system) waitReady() error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		text, changed := s.stderr.snapshot()
		if s.ready(text) {
			return nil
		}
		select {
		case <-changed:
		case <-s.exited:
			// Take what it wrote last before giving up.
			if s.ready(s.stderr.String()) {
				return nil
			}
			return fmt.Errorf("exited before it was ready")
		case <-deadline.C:
			return fmt.Errorf("not ready after %v", startTimeout)
		}
	}
}

// ready reads the URLs out of text and says whether everything is there.
func (s *system) ready(text string) bool {
	switch s.spec.kind {
	case directSystem:
		return true
	case nullHTTPSystem:
		if m := nullURLLine.FindStringSubmatch(text); m != nil {
			s.urls[streamableJSON] = m[1]
			return true
		}
		return false
	}
	if s.spec.kind == proxyHTTPSystem {
		for _, k := range proxyURLKinds {
			if m := urlLines[k].FindStringSubmatch(text); m != nil {
				s.urls[k] = m[1]
			}
		}
		if len(s.urls) < len(proxyURLKinds) {
			return false
		}
		if m := metricsLine.FindStringSubmatch(text); m != nil {
			s.metricsURL = m[1]
		}
	}
	m := readyLine.FindStringSubmatch(text)
	if m == nil {
		return false
	}
	s.backendVersion = m[1]
	return true
}

// url is the endpoint a client of kind k uses.
func (s *system) url(k clientKind) string {
	if k == streamableSSE {
		k = streamableJSON
	}
	return s.urls[k]
}

// tracingCounts reads from a traced proxy's metrics how many tool results
// the tracing plugin has recorded and how many the host's tracer has
// dropped; zeros for any other system. A tracer that drops would look
// cheap: the report shows both.
func (s *system) tracingCounts() (traced, dropped float64) {
	if !s.spec.tracing || s.metricsURL == "" {
		return 0, 0
	}
	resp, err := metricsClient.Get(s.metricsURL)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(text)) {
		name, value, ok := metricSample(line)
		switch {
		case !ok:
		case strings.HasPrefix(name, "mcphost_tracing_events_recorded_total{") && strings.Contains(name, `kind="tool_result"`):
			traced += value
		case name == "mcphost_tracing_dropped_total" || strings.HasPrefix(name, "mcphost_tracing_dropped_total{"):
			dropped += value
		}
	}
	return traced, dropped
}

var metricsClient = &http.Client{Timeout: dialTimeout}

// metricSample splits a Prometheus text line into series and value.
func metricSample(line string) (string, float64, bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(line[i+1:], 64)
	return line[:i], v, err == nil
}

// abort unblocks whoever waits on the system's stdout.
func (s *system) abort() {
	if s.stdout != nil {
		s.stdout.Close()
	}
}

// stop ends the system: EOF on stdin for a stdio system, SIGINT for the
// others, SIGKILL after stopGrace; then whatever it started that is still
// running after stopGrace more is killed by pid (and logged: a plugin or
// backend should exit with its host).
func (s *system) stop(tb testing.TB) {
	tree := snapshotDescendants(s.pid())
	if s.pipe != nil {
		s.pipe.w.Close()
	} else {
		_ = s.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-s.exited:
	case <-time.After(stopGrace):
		tb.Logf("%s did not stop within %v; killing it", s.spec.name, stopGrace)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	if s.stdout != nil {
		s.stdout.Close()
		s.pipe.waitDemux()
	}
	if killed := reapStragglers(tree, stopGrace); len(killed) > 0 {
		tb.Logf("%s: processes %v were still running %v after their host exited; killed them", s.spec.name, killed, stopGrace)
	}
}
