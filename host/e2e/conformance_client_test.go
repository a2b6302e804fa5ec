//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/host/internal/testenv/oauthbackend"
	"github.com/mcphost/mcphost/sdk/oauth/oauthtest"
)

// The client side of the conformance suite runs a command as the MCP client
// under test: `conformance client --command CMD --scenario S` starts a test
// server for S, runs CMD with the server's URL appended as the last argument
// and MCP_CONFORMANCE_SCENARIO=S in the environment, and judges what the
// server saw. Here the client under test is mcphost itself, as the client of
// its backends: the command is this test binary in driver mode (see
// conformanceDriver), which runs the real mcphost with one http backend, the
// test server, and drives it as an MCP client over stdio.
const (
	// driverEnv, set to 1, makes the test binary run conformanceDriver
	// instead of the tests.
	driverEnv = "MCPHOST_CONFORMANCE_DRIVER"
	// driverMCPHostEnv is the mcphost binary the driver runs.
	driverMCPHostEnv = "MCPHOST_CONFORMANCE_MCPHOST"
	// scenarioEnv is set by the suite to the scenario being run.
	scenarioEnv = "MCP_CONFORMANCE_SCENARIO"
)

// clientBaseline and clientAuthBaseline are the suite's
// --expected-failures files for the client scenarios run through mcphost:
// those outside auth/*, and the auth/* ones.
const (
	clientBaseline     = "expected-failures-client.yml"
	clientAuthBaseline = "expected-failures-client-auth.yml"
)

// isAuthScenario reports whether a client scenario is about authorization.
func isAuthScenario(name string) bool { return strings.HasPrefix(name, "auth/") }

// baselineFile is the expected-failures file of client scenario name.
func baselineFile(name string) string {
	if isAuthScenario(name) {
		return clientAuthBaseline
	}
	return clientBaseline
}

// conformanceDriverMode reports whether the test binary was started as the
// suite's client command; TestMain then runs conformanceDriver alone.
func conformanceDriverMode() bool { return os.Getenv(driverEnv) == "1" }

// driverScenario is what the driver does in one client scenario, through
// mcphost, after initializing and listing the tools.
type driverScenario struct {
	// tool is the test server's tool to call ("" for none), with args.
	tool string
	args map[string]any
	// want is a substring of the text the call must return.
	want string
	// auth: the server requires OAuth (see authScenario).
	auth bool
}

// driverScenarios covers every client scenario of the suite that is not
// about authorization (auth/*, which needs an OAuth client in mcphost).
// The tool names and answers are the scenarios' own (conformance 0.1.16).
var driverScenarios = map[string]driverScenario{
	// The test server checks the initialize request mcphost sends it.
	"initialize": {},
	// A stateless streamable HTTP server with one tool.
	"tools_call": {tool: "add_numbers", args: map[string]any{"a": 5, "b": 3}, want: "The sum of 5 and 3 is 8"},
	// The tool asks for a form whose every field has a default; the
	// driver plays the user who accepts the form as presented, so the
	// defaults must reach it intact through mcphost (which declares
	// elicitation to the backend because the driver declared it).
	"elicitation-sep1034-client-defaults": {tool: "test_client_elicitation_defaults", want: "Elicitation completed"},
	// The tool call's SSE stream sends a priming event (id, retry: 500)
	// and closes before the result; the result comes on the GET stream
	// mcphost must open, no sooner than 500ms later, with Last-Event-ID.
	"sse-retry": {tool: "test_reconnection", want: "Reconnection test completed successfully"},
}

// authScenario is what the driver does in every auth/* scenario: mcphost
// signs in to the test server by itself (oauth_sign_in = "browser", with
// this binary as $BROWSER following the authorization URL, which the
// suite's authorization server approves at once), with the client
// credentials of the scenario's context where it gives some, and the
// driver calls the server's tool through it (which a step-up scenario
// answers 403 until mcphost has the scope).
var authScenario = driverScenario{tool: "test-tool", auth: true}

// scenarioNamed is the driver's plan for the suite's scenario name.
func scenarioNamed(name string) (driverScenario, bool) {
	if strings.HasPrefix(name, "auth/") {
		return authScenario, true
	}
	sc, ok := driverScenarios[name]
	return sc, ok
}

// conformanceDriver is the client command: it returns the process's exit
// status. The last argument is the test server's URL.
func conformanceDriver() int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "driver: "+format+"\n", args...) }
	if len(os.Args) < 2 {
		logf("usage: %s URL (with %s set)", os.Args[0], scenarioEnv)
		return 2
	}
	url := os.Args[len(os.Args)-1]
	name := os.Getenv(scenarioEnv)
	sc, ok := scenarioNamed(name)
	if !ok {
		logf("unknown scenario %q: add it to driverScenarios", name)
		return 2
	}
	bin := os.Getenv(driverMCPHostEnv)
	if bin == "" {
		logf("%s is not set", driverMCPHostEnv)
		return 2
	}
	if err := drive(url, name, sc, bin, logf); err != nil {
		logf("scenario %s: %v", name, err)
		return 1
	}
	logf("scenario %s: done", name)
	return 0
}

// drive runs mcphost with the test server as its one backend and plays
// scenario sc (the suite's name) through it.
func drive(url, name string, sc driverScenario, bin string, logf func(string, ...any)) error {
	dir, err := os.MkdirTemp("", "mcphost-conformance-driver-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var oauthAttrs string
	var env []string
	if sc.auth {
		if oauthAttrs, err = scenarioOAuth(name, dir); err != nil {
			return err
		}
		browser, err := oauthbackend.Browser()
		if err != nil {
			return err
		}
		// Each scenario signs in afresh, and mcphost's plugin opens the
		// browser with the host's environment.
		env = []string{"MCPHOST_OAUTH_DIR=" + filepath.Join(dir, "oauth"), "BROWSER=" + browser}
	}
	// Names unprefixed, so that the driver calls the scenario's tools by
	// their own names; debug logs show the http transport's reconnections.
	cfg := filepath.Join(dir, "proxy.hcl")
	hcl := fmt.Sprintf(`proxy {
  log_level = "debug"
  log_dir   = ""
}

server "conformance" {
  prefix = false
  transport "http" {
    url = %q
%s  }
}
`, url, oauthAttrs)
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	tr := transport.NewStdioWithOptions(bin, env, []string{"run", "--stdio", cfg}, transport.WithCommandStderrWriter(os.Stderr))
	c := client.NewClient(tr,
		client.WithProtocolVersion("2025-11-25"),
		client.WithElicitationHandler(acceptDefaults{logf}))
	toolsChanged := make(chan struct{}, 1)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationToolsListChanged {
			select {
			case toolsChanged <- struct{}{}:
			default:
			}
		}
	})
	// The client serves mcphost's requests (elicitation) under this
	// context: it must outlive the calls.
	if err := c.Start(context.Background()); err != nil {
		return fmt.Errorf("start mcphost: %w", err)
	}
	defer c.Close()

	initReq := mcp.InitializeRequest{}
	initReq.Params.ProtocolVersion = "2025-11-25"
	initReq.Params.ClientInfo = mcp.Implementation{Name: "mcphost-conformance-driver", Version: "1"}
	initReq.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	res, err := c.Initialize(ctx, initReq)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	logf("initialized mcphost (%s)", res.ProtocolVersion)
	names, err := listToolNames(ctx, c, sc, toolsChanged)
	if err != nil {
		return err
	}
	logf("tools: %v", names)
	if sc.tool == "" {
		return nil
	}
	if !slices.Contains(names, sc.tool) {
		return fmt.Errorf("mcphost does not list the tool %s", sc.tool)
	}

	call := mcp.CallToolRequest{}
	call.Params.Name = sc.tool
	// A nil map would go out as "arguments": null, which servers refuse.
	call.Params.Arguments = map[string]any{}
	if sc.args != nil {
		call.Params.Arguments = sc.args
	}
	out, err := c.CallTool(ctx, call)
	if err != nil {
		return fmt.Errorf("call %s: %w", sc.tool, err)
	}
	var text []string
	for _, content := range out.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			text = append(text, tc.Text)
		}
	}
	got := strings.Join(text, "\n")
	logf("call %s: isError=%v: %s", sc.tool, out.IsError, got)
	if out.IsError || !strings.Contains(got, sc.want) {
		return fmt.Errorf("call %s returned %q (isError %v), want it to contain %q", sc.tool, got, out.IsError, sc.want)
	}
	return nil
}

// listToolNames lists mcphost's tools. A server that requires OAuth may
// still be signing in when mcphost answers initialize: its tools come once
// it is running, so the list is asked again until it holds sc's tool.
// toolsChanged has a value after each notifications/tools/list_changed.
func listToolNames(ctx context.Context, c *client.Client, sc driverScenario, toolsChanged <-chan struct{}) ([]string, error) {
	for {
		tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		var names []string
		for _, tool := range tools.Tools {
			names = append(names, tool.Name)
		}
		if !sc.auth || slices.Contains(names, sc.tool) {
			return names, nil
		}
		select {
		case <-ctx.Done():
			return names, fmt.Errorf("mcphost did not list %s in time (it lists %v): the sign-in did not complete", sc.tool, names)
		case <-toolsChanged:
		}
	}
}

// scenarioOAuth is the oauth_* attributes of the http transport in auth
// scenario name (oauthtest.ScenarioSettings: a sign-in mcphost runs
// itself, the client credentials of the scenario's context, the
// client-credentials grant where the scenario is about it), with the
// scenario's private key, if any, written into dir.
func scenarioOAuth(name, dir string) (string, error) {
	sctx, err := oauthtest.ParseContext(os.Getenv(oauthtest.ContextEnv))
	if err != nil {
		return "", err
	}
	s, err := oauthtest.ScenarioSettings(name, sctx, dir)
	if err != nil {
		return "", err
	}
	attrs := []string{
		fmt.Sprintf("oauth_sign_in = %q", s.SignIn), fmt.Sprintf("oauth_grant = %q", s.Grant),
		fmt.Sprintf("oauth_client_metadata_url = %q", s.ClientMetadataURL),
	}
	for attr, value := range map[string]string{"oauth_client_id": s.ClientID, "oauth_client_secret": s.ClientSecret,
		"oauth_client_assertion_key_file": s.ClientAssertionKeyFile} {
		if value != "" {
			attrs = append(attrs, fmt.Sprintf("%s = %q", attr, value))
		}
	}
	return "    " + strings.Join(attrs, "\n    ") + "\n", nil
}

// acceptDefaults answers a form elicitation as a user who accepts the form
// as presented: each field holds the default the schema gives it.
type acceptDefaults struct{ logf func(string, ...any) }

func (a acceptDefaults) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	raw, err := json.Marshal(req.Params.RequestedSchema)
	if err != nil {
		return nil, err
	}
	var schema struct {
		Properties map[string]struct {
			Default json.RawMessage `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("requestedSchema: %w", err)
	}
	content := map[string]any{}
	for name, p := range schema.Properties {
		if len(p.Default) > 0 {
			content[name] = p.Default
		}
	}
	a.logf("elicitation %q: accepting %d defaults", req.Params.Message, len(content))
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
		Action:  mcp.ElicitationResponseActionAccept,
		Content: content,
	}}, nil
}

// clientScenarioRE matches a line of `conformance list --client`:
// "  - name [versions]".
var clientScenarioRE = regexp.MustCompile(`(?m)^\s+- (\S+)`)

// listClientScenarios returns the suite's client scenarios.
func listClientScenarios(t *testing.T, suite []string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite[0], append(append([]string(nil), suite[1:]...), "list", "--client")...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("conformance list --client: %v\n%s", err, out)
	}
	var names []string
	for _, m := range clientScenarioRE.FindAllStringSubmatch(ansiRE.ReplaceAllString(string(out), ""), -1) {
		names = append(names, m[1])
	}
	if !slices.ContainsFunc(names, isAuthScenario) || slices.IndexFunc(names, func(n string) bool { return !isAuthScenario(n) }) < 0 {
		t.Fatalf("conformance list --client does not name scenarios both in and outside auth/:\n%s", out)
	}
	return names
}

// TestConformanceClient runs every client scenario of the conformance suite
// with mcphost as the client under test: its http backend transport talks
// to the suite's test server (signing in with OAuth in the auth/*
// scenarios), and a driver (this binary, re-executed) is mcphost's client.
// A scenario may fail only if testdata/conformance/expected-failures-client.yml
// (expected-failures-client-auth.yml for auth/*) lists it with a reason; a
// listed scenario that passes is a stale entry.
func TestConformanceClient(t *testing.T) {
	suite := testenv.Conformance(t)
	pkg := testenv.NPMModule(t, "@modelcontextprotocol/conformance/package.json")
	if v := packageVersion(t, pkg); v != conformanceVersion {
		t.Fatalf("%s is version %s; the baselines in testdata/conformance are for %s", pkg, v, conformanceVersion)
	}
	// Each scenario's file and its entries, by file name.
	baselinePaths, baselines := map[string]string{}, map[string]map[string]string{}
	for _, file := range []string{clientBaseline, clientAuthBaseline} {
		path, err := filepath.Abs(filepath.Join("testdata", "conformance", file))
		if err != nil {
			t.Fatal(err)
		}
		entries, err := readExpectedFailures(path, "client")
		if err != nil {
			t.Fatal(err)
		}
		baselinePaths[file], baselines[file] = path, entries
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(self, " \t") {
		// The suite splits --command on spaces.
		testenv.RequireCI(t, "a test binary path without spaces", fmt.Sprintf("the suite cannot run %q as its client command", self))
	}
	env := append(os.Environ(), "NO_COLOR=1",
		driverEnv+"=1",
		driverMCPHostEnv+"="+mcphost(t),
		// A -race binary otherwise sleeps a second at exit.
		"GORACE=atexit_sleep_ms=0")

	scenarios := listClientScenarios(t, suite)
	for _, name := range scenarios {
		if _, ok := scenarioNamed(name); !ok {
			t.Errorf("the suite has client scenario %s, which the driver does not know: add it to driverScenarios", name)
		}
	}
	for file, entries := range baselines {
		for name := range entries {
			if !slices.Contains(scenarios, name) || baselineFile(name) != file {
				t.Errorf("%s lists %s, which is not a client scenario the suite runs here with this file", file, name)
			}
		}
	}
	results := map[string]scenarioResult{}
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			clientBaseline, baselinePath := baselineFile(name), baselinePaths[baselineFile(name)]
			baseline := baselines[clientBaseline]
			r := runClientScenario(t, suite, env, self, name, baselinePath)
			if r.clientOK && onlyLate(r.result) {
				// Reconnecting later than the suite's window is a loaded
				// machine's scheduling, not a protocol fault (too early
				// would be): one more try.
				t.Logf("only late on a timing check (%s); running it once more", r.describe())
				r = runClientScenario(t, suite, env, self, name, baselinePath)
			}
			results[name] = r.result
			t.Logf("checks: %s", r.summary())
			reason, listed := baseline[name]
			ok := clientPassed(r.result) && (r.clientOK || clientMayFail[name])
			switch {
			case !ok && !listed:
				t.Errorf("%s fails through mcphost: %s\nsuite output ends:\n%s", name, r.describe(), tail(r.output, 6000))
			case ok && listed:
				t.Errorf("stale entry: %s passes through mcphost, but %s lists it (%s); remove it", name, clientBaseline, reason)
			case !ok:
				t.Logf("%s fails as expected (%s): %s", name, reason, r.describe())
			}
			// The suite judges the checks alone (a warning fails a
			// scenario too), against the same file.
			wantExit := 0
			if clientPassed(r.result) == listed {
				wantExit = 1
			}
			if r.exit != wantExit {
				t.Errorf("the suite exited %d with --expected-failures, want %d; output ends:\n%s", r.exit, wantExit, tail(r.output, 4000))
			}
		})
	}
	var rows []string
	passed, authPassed, authScenarios, authChecksPassed, authChecks := 0, 0, 0, 0, 0
	for _, name := range scenarios {
		word := "missing"
		r, ok := results[name]
		if ok {
			word = "FAIL"
			if clientPassed(r) {
				word, passed = "pass", passed+1
			}
		}
		if isAuthScenario(name) {
			authScenarios++
			if word == "pass" {
				authPassed++
			}
			for _, c := range r.checks {
				switch c.Status {
				case "SUCCESS":
					authChecksPassed, authChecks = authChecksPassed+1, authChecks+1
				case "FAILURE", "WARNING":
					authChecks++
				}
			}
		}
		rows = append(rows, fmt.Sprintf("%-40s %s", name, word))
	}
	t.Logf("conformance %s client scenarios through mcphost: %d/%d pass (auth/*: %d/%d scenarios, %d/%d checks)\n%s",
		conformanceVersion, passed, len(scenarios), authPassed, authScenarios, authChecksPassed, authChecks, strings.Join(rows, "\n"))
}

// clientMayFail are the scenarios where the client is meant to give up
// (the suite's allowClientError): mcphost refuses the server, so the
// driver never sees its tool and fails.
var clientMayFail = map[string]bool{
	// The server answers 403 insufficient_scope however often the
	// client signs in again.
	"auth/scope-retry-limit": true,
	// The protected resource metadata names another resource.
	"auth/resource-mismatch": true,
}

// clientPassed reports whether a client scenario passed as the suite
// counts it: no check failed and none warned.
func clientPassed(r scenarioResult) bool {
	for _, c := range r.checks {
		if c.Status == "FAILURE" || c.Status == "WARNING" {
			return false
		}
	}
	return true
}

// onlyLate reports whether every check that failed or warned is a timing
// check that found the client late (never early).
func onlyLate(r scenarioResult) bool {
	late := false
	for _, c := range r.checks {
		if c.Status != "FAILURE" && c.Status != "WARNING" {
			continue
		}
		if !strings.Contains(c.ID, "timing") || !strings.Contains(c.ErrorMessage, "late") {
			return false
		}
		late = true
	}
	return late
}

// clientRun is the outcome of one client scenario.
type clientRun struct {
	result scenarioResult
	// clientOK is false when the driver exited with an error or timed out.
	clientOK bool
	exit     int
	output   string
}

func (r clientRun) describe() string {
	var parts []string
	for _, c := range r.result.checks {
		if c.Status == "FAILURE" || c.Status == "WARNING" {
			parts = append(parts, fmt.Sprintf("%s: %s: %s", c.ID, c.Status, c.ErrorMessage))
		}
	}
	if !r.clientOK {
		parts = append(parts, "the driver failed (see its stderr in the output)")
	}
	return strings.Join(parts, "; ")
}

// summary lists the verdicts of the checks (not the INFO records), with
// the delay sse-retry measured.
func (r clientRun) summary() string {
	var parts []string
	for _, c := range r.result.checks {
		if c.Status == "INFO" {
			continue
		}
		part := c.ID + "=" + c.Status
		if d, ok := c.Details["actualDelayMs"]; ok {
			part += fmt.Sprintf(" (reconnected after %vms)", d)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// clientExitRE matches what the suite prints when the client command fails.
var clientExitRE = regexp.MustCompile(`Client exited with code|Client timed out after`)

// runClientScenario runs one client scenario with the driver as the
// command and reads its checks.
func runClientScenario(t *testing.T, suite, env []string, driver, name, baseline string) clientRun {
	t.Helper()
	out := t.TempDir()
	args := append(append([]string(nil), suite[1:]...), "client",
		"--command", driver, "--scenario", name, "--timeout", "30000",
		"--expected-failures", baseline, "-o", out)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite[0], args...)
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	raw, err := cmd.CombinedOutput()
	r := clientRun{output: ansiRE.ReplaceAllString(string(raw), "")}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("client scenario %s did not finish within 2 minutes; output ends:\n%s", name, tail(r.output, 4000))
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running the conformance suite: %v", err)
	}
	r.clientOK = !clientExitRE.MatchString(r.output)
	// The suite names the directory after the scenario, so auth/x's is
	// auth/x-<time>.
	out = filepath.Join(out, filepath.Dir(name))
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !entries[0].IsDir() || !strings.HasPrefix(entries[0].Name(), filepath.Base(name)+"-") {
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Fatalf("client scenario %s: want one result directory, got %q; output ends:\n%s", name, got, tail(r.output, 4000))
	}
	data, err := os.ReadFile(filepath.Join(out, entries[0].Name(), "checks.json"))
	if err != nil {
		t.Fatalf("client scenario %s: %v", name, err)
	}
	if err := json.Unmarshal(data, &r.result.checks); err != nil {
		t.Fatalf("client scenario %s: checks.json: %v", name, err)
	}
	if len(r.result.checks) == 0 {
		t.Fatalf("client scenario %s recorded no checks", name)
	}
	return r
}
