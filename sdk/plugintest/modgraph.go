package plugintest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// HostModules are modules the mcphost host depends on and a plugin built on
// the SDK alone never needs: the host module itself, its store, its config
// language, its MCP library and its metrics library.
var HostModules = []string{
	"github.com/mcphost/mcphost",
	"github.com/dgraph-io/badger",
	"github.com/hashicorp/hcl",
	"github.com/mark3labs/mcp-go",
	"github.com/VictoriaMetrics/metrics",
}

// CheckModuleGraph fails t if the module graph of the module holding the
// test's package (`go list -m all`, run with GOWORK=off so a workspace's
// other modules do not count) holds any of modules, in any major version
// (a module path with a /vN suffix). It needs the go command: $GOROOT/bin/go
// of the toolchain running the test, or go on PATH.
func CheckModuleGraph(t testing.TB, modules ...string) {
	t.Helper()
	goCmd, err := GoCommand()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "list", "-m", "all")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all: %v\n%s", err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines[1:] { // the first line is the module itself
		path, _, _ := strings.Cut(line, " ")
		for _, m := range modules {
			if isModuleVersion(path, m) {
				t.Errorf("the module graph of %s holds %s", lines[0], line)
			}
		}
	}
}

// isModuleVersion reports whether path is module m or one of its major
// versions m/vN.
func isModuleVersion(path, m string) bool {
	if path == m {
		return true
	}
	major, ok := strings.CutPrefix(path, m+"/v")
	return ok && major != "" && strings.Trim(major, "0123456789") == ""
}

// GoCommand returns the go command of the toolchain running the test
// (`go test` sets $GOROOT for the test binary), else go on PATH. Tests that
// build or inspect modules use it, in every module of the repository.
func GoCommand() (string, error) {
	exe := "go"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", exe)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("no go command: neither $GOROOT/bin/go nor go on PATH")
	}
	return p, nil
}
