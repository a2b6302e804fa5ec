package oauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/oauth"
	"github.com/mcphost/mcphost/sdk/oauth/oauthtest"
)

// The conformance suite's client side runs a command as the MCP client
// under test, the scenario's server URL appended. Here that command is
// this test binary again, in one of two modes chosen by the environment.
const (
	// driverEnv=1: be the suite's client (conformanceDriver).
	driverEnv = "MCPHOST_OAUTH_CONFORMANCE_DRIVER"
	// followEnv=1: be the driver's $BROWSER (oauthtest.Follow).
	followEnv = "MCPHOST_OAUTH_FOLLOW"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(followEnv) == "1":
		os.Exit(follow())
	case os.Getenv(driverEnv) == "1":
		os.Exit(conformanceDriver())
	}
	os.Exit(m.Run())
}

// follow is the $BROWSER program: it follows the URL, its last argument.
func follow() int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := oauthtest.Follow(ctx, os.Args[len(os.Args)-1]); err != nil {
		fmt.Fprintf(os.Stderr, "browser: %v\n", err)
		return 1
	}
	return 0
}

// conformanceDriver is the suite's client command: initialize, tools/list
// and tools/call through an http.Client whose transport is
// oauth.Transport, signing in by itself with $BROWSER set to this binary
// in follow mode.
func conformanceDriver() int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "driver: "+format+"\n", args...) }
	serverURL := os.Args[len(os.Args)-1]
	scenario := os.Getenv(oauthtest.ScenarioEnv)
	cc, err := oauthtest.ParseContext(os.Getenv(oauthtest.ContextEnv))
	if err != nil {
		logf("%v", err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		logf("%v", err)
		return 2
	}
	// The browser is this binary, which the environment puts in follow
	// mode.
	if err := os.Setenv(followEnv, "1"); err != nil {
		logf("%v", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "mcphost-oauth-driver-")
	if err != nil {
		logf("%v", err)
		return 2
	}
	defer os.RemoveAll(dir)
	env := map[string]string{"BROWSER": self}
	settings, err := oauthtest.ScenarioSettings(scenario, cc, dir)
	if err != nil {
		logf("%v", err)
		return 2
	}
	client, err := oauth.New(settings, oauth.Options{
		Server: "conformance",
		URL:    serverURL,
		Store:  oauth.FileStore{Dir: dir},
		Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		logf("%v", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	s := &mcpSession{url: serverURL, http: &http.Client{Transport: &oauth.Transport{Client: client}}}
	if err := s.run(ctx, logf); err != nil {
		logf("scenario %s: %v", scenario, err)
		return 1
	}
	logf("scenario %s: done", scenario)
	return 0
}

// mcpSession is a minimal streamable-HTTP MCP client.
type mcpSession struct {
	url       string
	http      *http.Client
	sessionID string
	version   string
	nextID    int
}

func (s *mcpSession) run(ctx context.Context, logf func(string, ...any)) error {
	var init struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	err := s.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcphost-oauth-conformance", "version": "1"},
	}, &init)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	s.version = init.ProtocolVersion
	if err := s.notify(ctx, "notifications/initialized"); err != nil {
		return fmt.Errorf("notifications/initialized: %w", err)
	}
	var tools struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := s.call(ctx, "tools/list", map[string]any{}, &tools); err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	logf("tools: %v", tools.Tools)
	if len(tools.Tools) == 0 {
		return nil
	}
	var out json.RawMessage
	if err := s.call(ctx, "tools/call", map[string]any{"name": tools.Tools[0].Name, "arguments": map[string]any{}}, &out); err != nil {
		return fmt.Errorf("tools/call: %w", err)
	}
	logf("tools/call %s: %s", tools.Tools[0].Name, out)
	return nil
}

func (s *mcpSession) notify(ctx context.Context, method string) error {
	resp, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "method": method})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

func (s *mcpSession) call(ctx context.Context, method string, params, result any) error {
	s.nextID++
	id := s.nextID
	resp, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
		s.sessionID = sid
	}
	msg, err := readResponse(resp, id)
	if err != nil {
		return err
	}
	var rpc struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg, &rpc); err != nil {
		return err
	}
	if rpc.Error != nil {
		return fmt.Errorf("error %d: %s", rpc.Error.Code, rpc.Error.Message)
	}
	return json.Unmarshal(rpc.Result, result)
}

func (s *mcpSession) post(ctx context.Context, msg any) (*http.Response, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.sessionID != "" {
		req.Header.Set("Mcp-Session-Id", s.sessionID)
	}
	if s.version != "" {
		req.Header.Set("MCP-Protocol-Version", s.version)
	}
	return s.http.Do(req)
}

// readResponse returns the JSON-RPC response with id from a JSON body or
// an SSE stream.
func readResponse(resp *http.Response, id int) (json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "data:"); ok {
			data.WriteString(strings.TrimPrefix(rest, " "))
			continue
		}
		if line != "" || data.Len() == 0 {
			continue
		}
		event := json.RawMessage(data.String())
		data.Reset()
		var head struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(event, &head) == nil && string(head.ID) == fmt.Sprint(id) {
			return event, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the event stream ended without the response")
}

// conformanceSuite returns the command that runs the conformance suite
// (node and its script) from $MCPHOST_TOOLS (default
// ~/.cache/mcphost-tools), as .ci/install-tools installs it. The SDK
// cannot use the host's testenv, so it looks for itself: without the
// suite the test is skipped, or fails under CI=true.
func conformanceSuite(t *testing.T) []string {
	t.Helper()
	tools := os.Getenv("MCPHOST_TOOLS")
	if tools == "" {
		home, err := os.UserHomeDir()
		if err == nil {
			tools = filepath.Join(home, ".cache", "mcphost-tools")
		}
	}
	arch := "x64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	node := os.Getenv("MCPHOST_NODE")
	if node == "" {
		node = filepath.Join(tools, "node_modules", "node-linux-"+arch, "bin", "node")
	}
	script := filepath.Join(tools, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
	for _, p := range []string{node, script} {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("the conformance suite is not installed (%v); run .ci/install-tools", err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return []string{node, script}
}

// expectedAuthFailures are the auth scenarios this client does not pass,
// with the reason. A listed scenario that passes fails the test (a stale
// entry).
var expectedAuthFailures = map[string]string{
	"auth/cross-app-access-complete-flow": "enterprise-managed authorization (SEP-990: token exchange and JWT bearer grant) is not implemented",
}

// check is one entry of a scenario's checks.json.
type check struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Description  string `json:"description"`
	ErrorMessage string `json:"errorMessage"`
}

var scenarioLineRE = regexp.MustCompile(`(?m)^\s+- (auth/\S+) \[([^\]]*)\]`)

// TestConformanceAuth runs every auth scenario of the conformance suite's
// client side with oauth.Transport as the client under test (see
// conformanceDriver) and reports each.
func TestConformanceAuth(t *testing.T) {
	suite := conformanceSuite(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(self, " \t") {
		t.Skipf("the suite splits its --command on spaces, and the test binary is %q", self)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite[0], append(suite[1:], "list", "--client")...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	list, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("conformance list --client: %v\n%s", err, list)
	}
	matches := scenarioLineRE.FindAllStringSubmatch(string(list), -1)
	if len(matches) == 0 {
		t.Fatalf("conformance list --client names no auth scenario:\n%s", list)
	}
	env := append(os.Environ(), "NO_COLOR=1", driverEnv+"=1", "GORACE=atexit_sleep_ms=0")
	var rows []string
	passed := 0
	for _, m := range matches {
		name, versions := m[1], m[2]
		var verdict string
		t.Run(name, func(t *testing.T) {
			checks, out := runAuthScenario(t, suite, env, self, name)
			var bad []string
			for _, c := range checks {
				if c.Status == "FAILURE" || c.Status == "WARNING" {
					bad = append(bad, fmt.Sprintf("%s %s: %s %s", c.ID, c.Status, c.Description, c.ErrorMessage))
				}
			}
			// The suite's verdict also counts the client's exit status
			// (where the scenario does not expect the client to fail).
			if !strings.Contains(out, "OVERALL: PASSED") {
				bad = append(bad, "the suite's verdict is not PASSED (did the driver fail? see its stderr in the output)")
			}
			reason, expected := expectedAuthFailures[name]
			switch {
			case len(bad) == 0 && expected:
				verdict = "pass"
				t.Errorf("stale entry: %s passes, but expectedAuthFailures lists it (%s)", name, reason)
			case len(bad) == 0:
				verdict = "pass"
			case expected:
				verdict = "FAIL (expected: " + reason + ")"
				t.Logf("fails as expected (%s): %s", reason, strings.Join(bad, "; "))
			default:
				verdict = "FAIL"
				t.Errorf("%s fails:\n%s\nsuite output ends:\n%s", name, strings.Join(bad, "\n"), tail(out, 6000))
			}
		})
		switch verdict {
		case "":
			continue // not run (-run)
		case "pass":
			passed++
		}
		rows = append(rows, fmt.Sprintf("%-45s %-22s %s", name, "["+versions+"]", verdict))
	}
	t.Logf("conformance auth scenarios: %d/%d pass\n%s", passed, len(rows), strings.Join(rows, "\n"))
}

// runAuthScenario runs one client scenario with this binary as the client
// and returns its checks and the suite's output.
func runAuthScenario(t *testing.T, suite, env []string, self, name string) ([]check, string) {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append(append([]string(nil), suite[1:]...), "client", "--command", self, "--scenario", name, "--timeout", "30000", "-o", out)
	cmd := exec.CommandContext(ctx, suite[0], args...)
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	raw, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running the suite: %v\n%s", err, tail(string(raw), 4000))
	}
	// The result directory is named after the scenario, whose "/"
	// makes it two levels deep.
	var dirs []string
	err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "checks.json" {
			dirs = append(dirs, path)
		}
		return err
	})
	if err != nil || len(dirs) != 1 {
		t.Fatalf("scenario %s: want one checks.json, got %v (%v); output ends:\n%s", name, dirs, err, tail(string(raw), 4000))
	}
	data, err := os.ReadFile(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	var checks []check
	if err := json.Unmarshal(data, &checks); err != nil {
		t.Fatalf("scenario %s: checks.json: %v", name, err)
	}
	if len(checks) == 0 {
		t.Fatalf("scenario %s recorded no checks", name)
	}
	return checks, string(raw)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
