package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// fakeTB records Fatalf and Skipf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.skip = fmt.Sprintf(format, args...) }

func TestRequireCI(t *testing.T) {
	t.Run("CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		f := &fakeTB{}
		RequireCI(f, "widget", "not on PATH")
		if want := "widget is required in CI: not on PATH"; f.fatal != want || f.skip != "" {
			t.Errorf("fatal=%q skip=%q, want fatal %q", f.fatal, f.skip, want)
		}
	})
	t.Run("local", func(t *testing.T) {
		t.Setenv("CI", "")
		f := &fakeTB{}
		RequireCI(f, "widget", "not on PATH")
		if f.fatal != "" || !strings.HasPrefix(f.skip, "skipping: widget not available (not on PATH)") ||
			!strings.Contains(f.skip, ".ci/install-tools") {
			t.Errorf("fatal=%q skip=%q", f.fatal, f.skip)
		}
	})
}

func TestNPMBinMissingRequiresCI(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("MCPHOST_NPM_BIN", t.TempDir())
	t.Setenv("MCPHOST_TOOLS", t.TempDir())
	f := &fakeTB{}
	if argv := NPMBin(f, "no-such-bin"); argv != nil {
		t.Errorf("NPMBin = %q, want nil", argv)
	}
	if !strings.Contains(f.fatal, "npm executable no-such-bin is required in CI") {
		t.Errorf("fatal = %q", f.fatal)
	}
}

func TestParseNodeMajor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"v22.23.3\n": 22, "v20.20.2": 20, "v100.0.0": 100} {
		if got, err := parseNodeMajor(in); err != nil || got != want {
			t.Errorf("parseNodeMajor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseNodeMajor("garbage"); err == nil {
		t.Error("parseNodeMajor(garbage) succeeded")
	}
}

func TestParseStatPPID(t *testing.T) {
	t.Parallel()
	got, ok := parseStatPPID("1234 (we ird) (x) S 42 1234 1234 0 -1 4194560")
	if !ok || got != 42 {
		t.Errorf("parseStatPPID = %d, %v; want 42, true", got, ok)
	}
	if _, ok := parseStatPPID("garbage"); ok {
		t.Error("parseStatPPID(garbage) succeeded")
	}
}

func TestBuildBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func(t testing.TB) string
	}{
		{"package", func(t testing.TB) string { return BuildBinary(t, "./testdata/hello") }},
		{"in its directory", func(t testing.TB) string { return BuildModuleBinary(t, "testdata/hello") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkBuilt(t, tt.build)
		})
	}
}

// checkBuilt builds twice and runs the hello executable.
func checkBuilt(t *testing.T, build func(t testing.TB) string) {
	p1 := build(t)
	p2 := build(t)
	if p1 != p2 {
		t.Errorf("second BuildBinary = %q, want the cached %q", p2, p1)
	}
	if filepath.Base(p1) != "hello" {
		t.Errorf("binary name = %q, want hello", filepath.Base(p1))
	}
	out, err := exec.Command(p1).Output()
	if err != nil {
		t.Fatalf("running %s: %v", p1, err)
	}
	if got := strings.TrimSpace(string(out)); got != "hello from testenv" {
		t.Errorf("output = %q", got)
	}
}

func TestNode(t *testing.T) {
	t.Parallel()
	node := Node(t)
	major, err := nodeMajor(node)
	if err != nil {
		t.Fatal(err)
	}
	if major < MinNodeMajor {
		t.Fatalf("Node() = %s, major %d < %d", node, major, MinNodeMajor)
	}
}

func TestNPMModule(t *testing.T) {
	t.Parallel()
	p := NPMModule(t, "@modelcontextprotocol/server-everything/package.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name string }
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "@modelcontextprotocol/server-everything" {
		t.Errorf("name = %q", pkg.Name)
	}
}

// TestInspectorListsEverythingTools checks the argv helpers end to end: the
// inspector CLI, run with Node 22, lists server-everything's tools over stdio.
func TestInspectorListsEverythingTools(t *testing.T) {
	t.Parallel()
	argv := InspectorCLI(t)
	argv = append(argv, NPMBin(t, "mcp-server-everything")...)
	argv = append(argv, "--method", "tools/list", "--format", "json", "-q")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v\nstderr:\n%s", argv, err, stderr.String())
	}
	var resp struct {
		Result struct {
			Tools []struct{ Name string }
		}
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decoding inspector output: %v\n%s", err, out)
	}
	var names []string
	for _, tool := range resp.Result.Tools {
		names = append(names, tool.Name)
	}
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " echo ") {
		t.Errorf("tools = %v, want echo among them", names)
	}
}
