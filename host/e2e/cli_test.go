//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// cliRun is the outcome of one mcphost command.
type cliRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runCLI runs mcphost with args and no stdin, within timeout.
func runCLI(t *testing.T, timeout time.Duration, args ...string) cliRun {
	t.Helper()
	return runCLIStdin(t, timeout, nil, args...)
}

// runCLIStdin is runCLI with stdin (nil: empty).
func runCLIStdin(t *testing.T, timeout time.Duration, stdin io.Reader, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mcphost(t), args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := cliRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("mcphost %q did not finish within %v\nstderr:\n%s", args, timeout, r.stderr)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("mcphost %q: %v", args, err)
	}
	return r
}

// repoFile is a file at the repository root (the test runs in host/e2e).
func repoFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIValidate(t *testing.T) {
	t.Parallel()
	t.Run("repo proxy.hcl", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, 60*time.Second, "validate", repoFile(t, "proxy.hcl"))
		if r.code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "is valid: 1 server(s), 1 listener(s)") {
			t.Errorf("stdout = %q", r.stdout)
		}
	})
	cases := []struct {
		name string
		body string
		// at is the position "proxy.hcl:LINE:COL" the diagnostic must
		// point at; summary is its one-line summary.
		at, summary string
	}{
		{"server without transport", "server \"x\" {\n}\n", "1:1", "Missing transport block"},
		{"unknown proxy attribute", "proxy {\n  bogus = 1\n}\n", "2:3", "Unsupported argument"},
		{"unknown transport attribute", "server \"x\" {\n  transport \"stdio\" {\n    command = \"x\"\n    bogus   = 1\n  }\n}\n", "4:5", "Unsupported argument"},
		{"bad duration", "proxy {\n  request_timeout = \"ten\"\n}\n", "2:21", "Invalid duration"},
		{"bad log level", "proxy {\n  log_level = \"loud\"\n}\n", "2:15", "Invalid log_level"},
		{"unknown transport plugin", "server \"x\" {\n  transport \"nope\" {\n  }\n}\n", "2:13", "Transport plugin unavailable"},
		{"bad listen address", "listen \"http\" {\n  address = \"nope\"\n}\n", "2:13", "Invalid listen address"},
		{"unclosed block", "proxy {\n", "1:7", "Unclosed configuration block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, tc.body)
			r := runCLI(t, 60*time.Second, "validate", cfg)
			if r.code == 0 {
				t.Fatalf("validate accepted a broken config\nstdout:\n%s", r.stdout)
			}
			if want := cfg + ":" + tc.at + ": Error: " + tc.summary; !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestCLIVersionAndPlugins(t *testing.T) {
	t.Parallel()
	// The version (marked "(devel)" when the build recorded none), then
	// the revision, time and Go release that are known.
	version := regexp.MustCompile(`^mcphost v?\d+\.\d+\.\d+\S*( \(devel\))?\n(\w+ +\S.*\n)*$`)
	header := regexp.MustCompile(`(?m)^NAME\s+KIND\s+VERSION\s+MODE\s+SOURCE\s+CHECKSUM\s*$`)
	stdioRow := regexp.MustCompile(`(?m)^stdio\s+transport\s+\S+\s+subprocess\s+builtin\s+builtin\s*$`)
	missing := filepath.Join(t.TempDir(), "absent.hcl")
	cases := []struct {
		name   string
		args   []string
		fail   bool
		stdout []*regexp.Regexp // each must match stdout
		stderr string           // must be in stderr
	}{
		{"version", []string{"version"}, false, []*regexp.Regexp{version}, ""},
		{"--version", []string{"--version"}, false, []*regexp.Regexp{version}, ""},
		{"plugins list", []string{"plugins", "list", repoFile(t, "proxy.hcl")}, false, []*regexp.Regexp{header, stdioRow}, ""},
		{"plugins list of a missing file", []string{"plugins", "list", missing}, true, nil, missing},
		{"plugins without list", []string{"plugins"}, true, nil, "usage: mcphost"},
		{"unknown command", []string{"frobnicate"}, true, nil, `unknown command "frobnicate"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, 60*time.Second, tc.args...)
			if (r.code != 0) != tc.fail {
				t.Fatalf("exit %d, want failure %v\nstdout:\n%s\nstderr:\n%s", r.code, tc.fail, r.stdout, r.stderr)
			}
			for _, re := range tc.stdout {
				if !re.MatchString(r.stdout) {
					t.Errorf("stdout does not match %s:\n%s", re, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
		})
	}
}

func TestCLIRunFailsFast(t *testing.T) {
	t.Parallel()
	busy := freeAddr(t)
	cases := []struct {
		name string
		cfg  string
		args []string
		// stderr must contain want, with %s replaced by the config path.
		want string
	}{
		{"bad duration", "proxy {\n  request_timeout = \"ten\"\n}\n", []string{"run"}, "%s:2:21: Error: Invalid duration"},
		{"bad duration, stdio", "proxy {\n  request_timeout = \"ten\"\n}\n", []string{"run", "--stdio"}, "%s:2:21: Error: Invalid duration"},
		{"server without transport, stdio", "server \"x\" {\n}\n", []string{"run", "--stdio"}, "%s:1:1: Error: Missing transport block"},
		{"unknown attribute", "listen \"http\" {\n  adress = \"127.0.0.1:0\"\n}\n", []string{"run"}, "%s:2:3: Error: Unsupported argument"},
		{"no listener without --stdio", exampleServer("example"), []string{"run"}, "no listener is configured"},
		{"address in use", fmt.Sprintf("listen \"http\" {\n  address = %q\n}\n", busy), []string{"run"}, busy},
		{"missing file", "", []string{"run"}, "does-not-exist.hcl"},
	}
	// Hold busy so that the listener cannot bind it.
	ln, err := net.Listen("tcp", busy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(t.TempDir(), "does-not-exist.hcl")
			if tc.cfg != "" {
				cfg = writeConfig(t, tc.cfg)
			}
			r := runCLI(t, 30*time.Second, append(tc.args, cfg)...)
			if r.code == 0 {
				t.Fatalf("run succeeded\nstderr:\n%s", r.stderr)
			}
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, cfg)
			}
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if r.took > 30*time.Second {
				t.Errorf("run took %v to fail", r.took)
			}
		})
	}
}

// inspectorJSON runs the MCP Inspector CLI with args and decodes its JSON
// output.
func inspectorJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	argv := append(testenv.InspectorCLI(t), args...)
	argv = append(argv, "--format", "json", "-q")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "MCP_CATALOG_PATH="+filepath.Join(t.TempDir(), "mcp.json"))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("inspector %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("inspector %q printed no JSON: %v\n%s", args, err, stdout.String())
	}
	if e, ok := out["error"]; ok {
		t.Fatalf("inspector %q reported an error: %v", args, e)
	}
	return out
}

func TestInspectorCLI(t *testing.T) {
	t.Parallel()
	testenv.InspectorCLI(t) // skip early when the inspector is missing
	servers := exampleServer("example")
	stdioTarget := []string{mcphost(t), "run", "--stdio", writeConfig(t, servers)}
	proxy := startHTTPProxy(t, servers)
	httpTarget := []string{"--transport", "http", "--server-url", proxy.URL}
	sseTarget := []string{"--transport", "sse", "--server-url", strings.TrimSuffix(proxy.URL, "/mcp") + "/sse"}

	listed := func(t *testing.T, out map[string]any) {
		res, _ := out["result"].(map[string]any)
		tools, _ := res["tools"].([]any)
		var names []string
		for _, tool := range tools {
			if m, ok := tool.(map[string]any); ok {
				names = append(names, fmt.Sprint(m["name"]))
			}
		}
		for _, want := range []string{"mcp__proxy__example__echo", "mcp__proxy__example__whoami"} {
			found := false
			for _, n := range names {
				found = found || n == want
			}
			if !found {
				t.Errorf("tools/list lacks %s: %v", want, names)
			}
		}
	}
	echoed := func(t *testing.T, out map[string]any) {
		res, _ := out["result"].(map[string]any)
		content, _ := res["content"].([]any)
		if len(content) == 0 {
			t.Fatalf("tools/call result has no content: %v", out)
		}
		first, _ := content[0].(map[string]any)
		if first["type"] != "text" || first["text"] != "hello" {
			t.Errorf("tools/call content = %v, want text hello", first)
		}
		if sc, _ := res["structuredContent"].(map[string]any); sc["text"] != "hello" {
			t.Errorf("structuredContent = %v, want text hello", res["structuredContent"])
		}
	}
	cases := []struct {
		name   string
		target []string
		method []string
		check  func(*testing.T, map[string]any)
	}{
		{"stdio tools/list", stdioTarget, []string{"--method", "tools/list"}, listed},
		{"stdio tools/call", stdioTarget, []string{"--method", "tools/call", "--tool-name", "mcp__proxy__example__echo", "--tool-arg", "text=hello"}, echoed},
		{"http tools/list", httpTarget, []string{"--method", "tools/list"}, listed},
		{"http tools/call", httpTarget, []string{"--method", "tools/call", "--tool-name", "mcp__proxy__example__echo", "--tool-arg", "text=hello"}, echoed},
		{"sse tools/list", sseTarget, []string{"--method", "tools/list"}, listed},
		{"sse tools/call", sseTarget, []string{"--method", "tools/call", "--tool-name", "mcp__proxy__example__echo", "--tool-arg", "text=hello"}, echoed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string(nil), tc.target...), tc.method...)
			tc.check(t, inspectorJSON(t, args...))
		})
	}
}

// TestExampleConfigsValidate: every config shipped in examples/configs is valid.
func TestExampleConfigsValidate(t *testing.T) {
	t.Parallel()
	configs, err := filepath.Glob(filepath.Join("..", "..", "examples", "configs", "*.hcl"))
	if err != nil || len(configs) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	for _, cfg := range configs {
		t.Run(filepath.Base(cfg), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(mcphost(t), "validate", cfg)
			// What the examples' env() calls read (scaleout.hcl: one
			// instance of three).
			cmd.Env = append(os.Environ(), "MCPHOST_TOKEN=test-token", "MCPHOST_INSTANCE=mcp-a",
				"MCPHOST_ADDR=127.0.0.1:3101", "MCPHOST_ADMIN_ADDR=127.0.0.1:3201", "MCPHOST_A_ADDR=127.0.0.1:3101",
				"MCPHOST_B_ADDR=127.0.0.1:3102", "MCPHOST_C_ADDR=127.0.0.1:3103",
				"MCPHOST_TRACE_DSN=host=/run/postgresql dbname=mcphost", "MCPHOST_STATE_KEY="+strings.Repeat("k", 64))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("validate %s: %v\n%s", cfg, err, out)
			}
		})
	}
}

// TestUnprefixedCollisionRefused: two servers with prefix = false that expose
// the same tool name are a config error, reported at the second server.
func TestUnprefixedCollisionRefused(t *testing.T) {
	t.Parallel()
	server := func(name string) string {
		return fmt.Sprintf("server %q {\n  prefix = false\n  transport \"stdio\" {\n    command = mcphost.executable\n    args    = [\"example-server\", \"-name\", %q]\n  }\n}\n", name, name)
	}
	cfg := writeConfig(t, server("one")+server("two"))
	// A stdio client keeps stdin open: the proxy serves it at once and ends
	// when the servers' first attempts show the clash.
	stdin, keepOpen, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	defer keepOpen.Close()
	r := runCLIStdin(t, 60*time.Second, stdin, "run", "--stdio", cfg)
	if r.code == 0 {
		t.Fatalf("run succeeded; stderr:\n%s", r.stderr)
	}
	for _, want := range []string{"proxy.hcl:8:1: Error: Name collision between unprefixed servers", `"one"`, `"two"`, "prefix = true"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout is not empty: %q", r.stdout)
	}
}
