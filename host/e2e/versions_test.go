//go:build unix

package e2e

// Protocol versions: every published MCP revision as a client, against
// backends that speak each of them, through one proxy.
//
// TestVersionsMatrix runs one `mcphost run --stdio` per client version, each
// with the same seven backends (the example server pinned to each revision,
// npm server-everything, which answers 2025-11-25, and go-sdk's conformance
// everything-server, which speaks 2026-07-28), and a raw JSON-RPC client of
// that version that records every message it receives. Each cell
// client=V/backend=B lists, calls a tool with structured output and tools
// returning newer content types, reads a resource, gets a prompt, follows
// progress, sees a list change and makes sampling, roots and elicitation
// round trips, then checks that every message it received is one a client
// of version V can read (versionProblems). A step a backend or a version
// cannot do is logged with the reason and not run.
//
// TestVersionsMCPGoClients and TestVersionsInspector drive real clients
// pinned to each revision or era; TestVersionsThirdPartyTranslator loads the
// meta-stamp translator by path and sha256.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// revisions are the published MCP protocol revisions, oldest first. Being
// dates, they compare as strings.
var revisions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

// modernRevision is the stateless revision: no initialize, per-request
// _meta, input-required results instead of server→client requests.
const modernRevision = "2026-07-28"

// atLeast reports whether revision v is min or later.
func atLeast(v, min string) bool { return v >= min }

const (
	// modelAnswer is what the test clients' "model" answers every sampling
	// request with; a backend's result quoting it proves the round trip.
	modelAnswer = "e2e model answer"
	// elicitedName is the test clients' answer to a string field.
	elicitedName = "e2e"
	metaPrefix   = "io.modelcontextprotocol/"
	// rootURI is the one root the test clients list.
	rootURI = "file:///tmp/mcphost-e2e-root"
)

// ---------------------------------------------------------------------------
// Backends.

// versionBackend is one backend of the matrix and how each step of a cell
// exercises it.
type versionBackend struct {
	label   string // in cell names: example@2025-06-18
	server  string // the server's name in the proxy config
	version string // the revision it speaks
	block   string // its HCL server block
	versionSteps
}

// versionSteps are the tools, prompt and resource a cell uses on a
// backend. An empty tool with a reason means the backend cannot do that
// step; the cell logs the reason.
type versionSteps struct {
	ready []string // tools listed once the backend is fully up

	prompt     string
	promptArgs map[string]any
	promptWant string

	resource     string // the backend's own URI
	resourceWant string

	structured     string // a tool with an outputSchema
	structuredArgs map[string]any
	structuredKey  string // a key of its structuredContent
	noStructured   string

	// content are calls whose results carry content types newer than some
	// clients (audio, resource_link): only what the client receives is
	// checked.
	content []versionCall

	progress     string
	progressArgs map[string]any

	change     string // a tool that adds a tool
	changeArgs map[string]any
	changed    string // the tool it adds
	noChange   string

	sampling     string
	samplingArgs map[string]any

	elicit     string
	elicitArgs map[string]any
	elicitWant string
	// elicitMultiSelect: the form has a 2025-11-25 multi-select field,
	// which has no older form: older clients are not asked, the proxy
	// declines for them, and elicitDeclined is the backend's answer then.
	elicitMultiSelect bool
	elicitDeclined    string

	roots   string // a tool that lists the client's roots
	noRoots string

	// samplingMarker and elicitMarker are texts of the backend's sampling
	// and elicitation requests that tell them apart from other backends'
	// (which a legacy client receives as server→client requests, with ids
	// of the proxy's).
	samplingMarker, elicitMarker string
}

// versionCall is a tool and its arguments.
type versionCall struct {
	tool string
	args map[string]any
}

// exampleBlock is an HCL server block running the example server pinned to
// version (all versions when "").
func exampleBlock(server, version string) string {
	protocol := ""
	if version != "" {
		protocol = fmt.Sprintf(", \"-protocol\", %q", version)
	}
	return fmt.Sprintf(`
server %q {
  transport "stdio" {
    command = mcphost.executable
    args    = ["example-server", "-name", %q%s]
  }
}
`, server, server, protocol)
}

func exampleSteps(server string) versionSteps {
	return versionSteps{
		ready:  []string{"echo", "sample"},
		prompt: "greet", promptArgs: map[string]any{"name": "alice"}, promptWant: "Hello, alice! (from " + server + ")",
		resource: "example://static/hello", resourceWant: "Hello from " + server,
		structured: "echo", structuredArgs: map[string]any{"text": "structured"}, structuredKey: "text",
		progress: "sleep", progressArgs: map[string]any{"ms": 200, "steps": 2},
		change: "add_tool", changeArgs: map[string]any{"name": "fresh"}, changed: "fresh",
		sampling: "sample", samplingArgs: map[string]any{"prompt": "say something to " + server},
		elicit: "elicit", elicitArgs: map[string]any{"message": "Who are you, " + server + "?"},
		elicitWant:     `elicited: accept {"name":"` + elicitedName + `"}`,
		samplingMarker: "say something to " + server, elicitMarker: "Who are you, " + server + "?",
		roots: "roots",
	}
}

// versionBackends are the seven backends of the matrix. everything is the
// argv of npm server-everything, or nil when it is not installed: its
// backend then has no block, and its cells are skipped.
func versionBackends(t *testing.T, everything []string) []versionBackend {
	t.Helper()
	var out []versionBackend
	for _, v := range revisions {
		server := "ex" + strings.ReplaceAll(v, "-", "")
		out = append(out, versionBackend{
			label: "example@" + v, server: server, version: v,
			block: exampleBlock(server, v), versionSteps: exampleSteps(server),
		})
	}
	block := ""
	if everything != nil {
		block = fmt.Sprintf("\nserver \"everything\" {\n  transport \"stdio\" {\n    command = %q\n    args    = [%q]\n  }\n}\n",
			everything[0], everything[1])
	}
	out = append(out, versionBackend{
		label: "everything@2025-11-25", server: "everything", version: "2025-11-25", block: block,
		versionSteps: versionSteps{
			// It registers the tools that need client capabilities after
			// the handshake.
			ready:  []string{"get-structured-content", "trigger-sampling-request", "trigger-elicitation-request"},
			prompt: "simple-prompt", promptWant: "This is a simple prompt without arguments.",
			resource: "demo://resource/static/document/architecture.md", resourceWant: "Architecture",
			structured: "get-structured-content", structuredArgs: map[string]any{"location": "Chicago"}, structuredKey: "temperature",
			progress: "trigger-long-running-operation", progressArgs: map[string]any{"duration": 0.2, "steps": 2},
			noChange: "server-everything has no tool that changes its tool list (it sends tools/list_changed only once, " +
				"right after initialized, before any client is connected)",
			sampling: "trigger-sampling-request", samplingArgs: map[string]any{"prompt": "say something to everything", "maxTokens": 10},
			elicit: "trigger-elicitation-request", elicitArgs: map[string]any{}, elicitWant: "User provided the requested information",
			elicitMultiSelect: true, elicitDeclined: "declined",
			samplingMarker: "say something to everything", elicitMarker: "Please provide inputs for the following fields:",
			content: []versionCall{
				{"get-resource-links", map[string]any{"count": 2}},
				{"get-annotated-message", map[string]any{"messageType": "success", "includeImage": true}},
			},
			noRoots: "server-everything asks for roots only when its session starts (the proxy's, before any client) " +
				"and on roots/list_changed, and get-roots-list reports that cached list",
		},
	})
	gosdk := testenv.BuildBinary(t, goSDKEverythingPkg)
	out = append(out, versionBackend{
		label: "gosdk-everything@2026-07-28", server: "gosdk", version: modernRevision,
		block: fmt.Sprintf("\nserver \"gosdk\" {\n  transport \"stdio\" {\n    command = %q\n  }\n}\n", gosdk),
		versionSteps: versionSteps{
			ready:  []string{"test_simple_text", "test_input_required_result_sampling"},
			prompt: "test_simple_prompt", promptWant: "simple",
			resource: "test://static-text", resourceWant: "This is the content of the static text resource.",
			noStructured: "go-sdk's everything-server has no tool with an outputSchema",
			content: []versionCall{
				{"test_audio_content", map[string]any{}},
				{"test_multiple_content_types", map[string]any{}},
			},
			roots:    "test_input_required_result_list_roots",
			progress: "test_tool_with_progress", progressArgs: map[string]any{},
			change: "test_trigger_tool_change", changeArgs: map[string]any{}, changed: "__transient_tool_for_list_changed",
			sampling: "test_input_required_result_sampling", samplingArgs: map[string]any{},
			elicit: "test_input_required_result_elicitation", elicitArgs: map[string]any{}, elicitWant: "Hello, " + elicitedName + "!",
			samplingMarker: "What is the capital of France?", elicitMarker: "What is your name?",
		},
	})
	return out
}

// ---------------------------------------------------------------------------
// A raw JSON-RPC stdio client of one protocol version.

// versionClient speaks one protocol version to `mcphost run --stdio`,
// newline-delimited JSON, and records every message it receives. It answers
// server→client requests itself (sampling, elicitation, roots, ping) and,
// at 2026-07-28, answers input-required results by retrying.
type versionClient struct {
	version string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *syncBuffer
	exited  chan error
	eof     chan struct{}

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	pending map[string]*versionPending
	log     []*received
	// owners attributes messages to cells: notifications by "p"+progress
	// token and "l"+listen request id (both raw JSON), server→client
	// requests by "m"+a text they contain.
	owners map[string]*versionCell
}

type versionPending struct {
	method string
	sent   []byte
	cell   *versionCell
	ch     chan []byte
}

// received is one message the client read.
type received struct {
	raw    []byte
	kind   string // "response", "notification", "request" or "garbage"
	method string // of the notification or request; for a response, of the request it answers
	sent   []byte // for a response: the request
	cell   *versionCell
	// checked is set once the message has been validated (under the
	// client's mu).
	checked bool
}

// versionCell is what one cell sent and received through a shared client.
type versionCell struct {
	name        string
	mu          sync.Mutex
	got         []*received
	inputRounds int
}

func (c *versionCell) add(r *received) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
}

func (c *versionClient) modern() bool { return c.version == modernRevision }

// capabilities are the client capabilities declared, in initialize or in
// every request's _meta.
func (c *versionClient) capabilities() map[string]any {
	if c.modern() {
		return map[string]any{"sampling": map[string]any{}, "elicitation": map[string]any{}, "roots": map[string]any{}}
	}
	caps := map[string]any{"sampling": map[string]any{}, "roots": map[string]any{"listChanged": true}}
	if atLeast(c.version, "2025-06-18") {
		caps["elicitation"] = map[string]any{}
	}
	return caps
}

// startVersionClient runs `mcphost run --stdio cfg` and opens a session:
// initialize and initialized before 2026-07-28, server/discover at it.
func startVersionClient(t *testing.T, version, cfg string) *versionClient {
	t.Helper()
	c := &versionClient{
		version: version, stderr: &syncBuffer{}, exited: make(chan error, 1), eof: make(chan struct{}),
		pending: map[string]*versionPending{}, owners: map[string]*versionCell{},
	}
	c.cmd = exec.Command(mcphost(t), "run", "--stdio", cfg)
	c.cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.read(stdout)
	go func() {
		<-c.eof
		c.exited <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		select {
		case err := <-c.exited:
			if err != nil {
				t.Errorf("client=%s: mcphost --stdio exited with %v\n%s", version, err, tail(c.stderr.String(), 4000))
			}
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			t.Errorf("client=%s: mcphost --stdio did not exit within 30s of stdin EOF", version)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if c.modern() {
		res, _, err := c.call(ctx, nil, "server/discover", map[string]any{})
		if err != nil {
			t.Fatalf("client=%s: %v\n%s", version, err, tail(c.stderr.String(), 4000))
		}
		if vs, _ := res["supportedVersions"].([]any); !slices.Contains(vs, any(version)) {
			t.Fatalf("client=%s: server/discover supportedVersions = %v, want it to include %s", version, res["supportedVersions"], version)
		}
		return c
	}
	res, _, err := c.call(ctx, nil, "initialize", map[string]any{
		"protocolVersion": version, "capabilities": c.capabilities(),
		"clientInfo": map[string]any{"name": "mcphost-e2e-versions", "version": "1"},
	})
	if err != nil {
		t.Fatalf("client=%s: %v\n%s", version, err, tail(c.stderr.String(), 4000))
	}
	if res["protocolVersion"] != version {
		t.Errorf("client=%s: initialize answered protocolVersion %v, want the requested %s", version, res["protocolVersion"], version)
	}
	if err := c.write(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *versionClient) write(msg any) error {
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err = c.stdin.Write(append(raw, '\n'))
	return err
}

// read records every line of stdout and routes it.
func (c *versionClient) read(stdout io.Reader) {
	defer close(c.eof)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var head struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProgressToken json.RawMessage            `json:"progressToken"`
				Meta          map[string]json.RawMessage `json:"_meta"`
			} `json:"params"`
		}
		r := &received{raw: line}
		var p *versionPending
		if err := json.Unmarshal(line, &head); err != nil {
			r.kind = "garbage"
		} else {
			switch {
			case head.Method != "" && len(head.ID) > 0:
				r.kind, r.method = "request", head.Method
			case head.Method != "":
				r.kind, r.method = "notification", head.Method
			default:
				r.kind = "response"
			}
		}
		c.mu.Lock()
		switch r.kind {
		case "response":
			if p = c.pending[string(head.ID)]; p != nil {
				delete(c.pending, string(head.ID))
				r.method, r.sent, r.cell = p.method, p.sent, p.cell
			}
		case "notification":
			if len(head.Params.ProgressToken) > 0 {
				r.cell = c.owners["p"+string(head.Params.ProgressToken)]
			}
			if sub, ok := head.Params.Meta[metaPrefix+"subscriptionId"]; ok && r.cell == nil {
				r.cell = c.owners["l"+string(sub)]
			}
		case "request":
			for key, cell := range c.owners {
				if marker, ok := strings.CutPrefix(key, "m"); ok && bytes.Contains(line, []byte(marker)) {
					r.cell = cell
				}
			}
		}
		c.log = append(c.log, r)
		c.mu.Unlock()
		if r.cell != nil {
			r.cell.add(r)
		}
		switch {
		case p != nil:
			p.ch <- line
		case r.kind == "request":
			go c.answer(head.ID, head.Method, line)
		}
	}
}

// answer replies to a server→client request.
func (c *versionClient) answer(id json.RawMessage, method string, line []byte) {
	var req struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(line, &req)
	result, err := answerInput(method, req.Params)
	if err != nil {
		_ = c.write(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": -32601, "message": err.Error()}})
		return
	}
	_ = c.write(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
}

// answerInput is the client's answer to a server→client request, or to one
// input request of an input-required result.
func answerInput(method string, params json.RawMessage) (any, error) {
	switch method {
	case "ping":
		return map[string]any{}, nil
	case "sampling/createMessage":
		return map[string]any{
			"role": "assistant", "content": map[string]any{"type": "text", "text": modelAnswer},
			"model": "e2e-model", "stopReason": "endTurn",
		}, nil
	case "roots/list":
		return map[string]any{"roots": []any{map[string]any{"uri": rootURI, "name": "e2e root"}}}, nil
	case "elicitation/create":
		var p struct {
			RequestedSchema map[string]any `json:"requestedSchema"`
		}
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, err
		}
		return map[string]any{"action": "accept", "content": fillSchema(p.RequestedSchema)}, nil
	}
	return nil, fmt.Errorf("the e2e client does not serve %s", method)
}

// fillSchema answers every field of an elicitation schema with a value it
// accepts.
func fillSchema(schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		if m, ok := p.(map[string]any); ok {
			out[name] = fillValue(m)
		}
	}
	return out
}

func fillValue(p map[string]any) any {
	if d, ok := p["default"]; ok {
		return d
	}
	if e, ok := p["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := p[k].([]any); ok && len(alts) > 0 {
			if m, ok := alts[0].(map[string]any); ok {
				if v, ok := m["const"]; ok {
					return v
				}
				return fillValue(m)
			}
		}
	}
	switch p["type"] {
	case "boolean":
		return true
	case "integer", "number":
		if m, ok := p["minimum"]; ok {
			return m
		}
		return 1
	case "array":
		items, _ := p["items"].(map[string]any)
		return []any{fillValue(items)}
	}
	switch p["format"] {
	case "email":
		return "e2e@example.com"
	case "uri":
		return "https://example.com/e2e"
	case "date":
		return "2000-01-01"
	case "date-time":
		return "2000-01-01T00:00:00Z"
	}
	return elicitedName
}

// rpcFailure is a JSON-RPC error response, or a response that could not be
// read, with the request that got it.
type rpcFailure struct {
	method     string
	sent, got  []byte
	errPayload json.RawMessage
}

func (e *rpcFailure) Error() string {
	return fmt.Sprintf("%s failed\n  sent:     %s\n  received: %s", e.method, clip(e.sent, 1500), clip(e.got, 1500))
}

// clip shortens a message for a failure report.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + fmt.Sprintf("… (%d bytes)", len(b))
}

// request sends one request for cell (nil: the session's own) and returns
// the request and response lines. At 2026-07-28 the request metadata goes
// into params._meta.
func (c *versionClient) request(ctx context.Context, cell *versionCell, method string, params map[string]any) (sent, got []byte, err error) {
	params = c.withMeta(params)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	sent, err = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		c.mu.Unlock()
		return nil, nil, err
	}
	p := &versionPending{method: method, sent: sent, cell: cell, ch: make(chan []byte, 1)}
	c.pending[fmt.Sprint(id)] = p
	c.mu.Unlock()
	c.writeMu.Lock()
	_, err = c.stdin.Write(append(sent, '\n'))
	c.writeMu.Unlock()
	if err != nil {
		return sent, nil, fmt.Errorf("%s: write: %w", method, err)
	}
	select {
	case got = <-p.ch:
		return sent, got, nil
	case <-c.eof:
		return sent, nil, fmt.Errorf("%s: mcphost closed stdout\n  sent: %s\n%s", method, clip(sent, 1500), tail(c.stderr.String(), 4000))
	case <-ctx.Done():
		return sent, nil, fmt.Errorf("%s: no response: %w\n  sent: %s", method, ctx.Err(), clip(sent, 1500))
	}
}

// withMeta returns params with the 2026-07-28 request metadata merged into
// _meta (a copy; params is not changed). Other versions get params as is.
func (c *versionClient) withMeta(params map[string]any) map[string]any {
	if params == nil {
		params = map[string]any{}
	}
	if !c.modern() {
		return params
	}
	out := make(map[string]any, len(params)+1)
	for k, v := range params {
		out[k] = v
	}
	meta := map[string]any{}
	if m, ok := params["_meta"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	meta[metaPrefix+"protocolVersion"] = c.version
	meta[metaPrefix+"clientCapabilities"] = c.capabilities()
	meta[metaPrefix+"clientInfo"] = map[string]any{"name": "mcphost-e2e-versions", "version": "1"}
	out["_meta"] = meta
	return out
}

// call sends a request and returns its result. A JSON-RPC error is an
// *rpcFailure. At 2026-07-28 an input-required result is answered and the
// request retried with a new id, inputResponses and the requestState.
func (c *versionClient) call(ctx context.Context, cell *versionCell, method string, params map[string]any) (map[string]any, []byte, error) {
	for round := 0; ; round++ {
		sent, got, err := c.request(ctx, cell, method, params)
		if err != nil {
			return nil, got, err
		}
		var resp struct {
			Result map[string]any  `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(got, &resp); err != nil || resp.Error != nil || resp.Result == nil {
			return nil, got, &rpcFailure{method: method, sent: sent, got: got, errPayload: resp.Error}
		}
		if !c.modern() || resp.Result["resultType"] != "input_required" {
			return resp.Result, got, nil
		}
		if round == 5 {
			return nil, got, fmt.Errorf("%s: still input_required after %d rounds\n  sent: %s\n  received: %s", method, round+1, clip(sent, 1500), clip(got, 1500))
		}
		if cell != nil {
			cell.mu.Lock()
			cell.inputRounds++
			cell.mu.Unlock()
		}
		reqs, _ := resp.Result["inputRequests"].(map[string]any)
		answers := map[string]any{}
		for key, r := range reqs {
			m, _ := r.(map[string]any)
			method, _ := m["method"].(string)
			p, _ := json.Marshal(m["params"])
			a, err := answerInput(method, p)
			if err != nil {
				return nil, got, fmt.Errorf("input request %q: %v\n  received: %s", key, err, clip(got, 1500))
			}
			answers[key] = a
		}
		retry := make(map[string]any, len(params)+2)
		for k, v := range params {
			retry[k] = v
		}
		retry["inputResponses"] = answers
		delete(retry, "requestState")
		if state, ok := resp.Result["requestState"]; ok {
			retry["requestState"] = state
		}
		params = retry
	}
}

// own attributes notifications carrying key ("p"+token, "l"+listen id) to
// cell.
func (c *versionClient) own(key string, cell *versionCell) {
	c.mu.Lock()
	c.owners[key] = cell
	c.mu.Unlock()
}

// notifications returns the notifications of method received so far that
// keep accepts.
func (c *versionClient) notifications(method string, keep func(*received) bool) []*received {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*received
	for _, r := range c.log {
		if r.kind == "notification" && r.method == method && (keep == nil || keep(r)) {
			out = append(out, r)
		}
	}
	return out
}

// validate checks the messages not yet checked for which pick is true and
// returns the problems, each naming the message.
func (c *versionClient) validate(pick func(*received) bool) []string {
	c.mu.Lock()
	var todo []*received
	for _, r := range c.log {
		if !r.checked && pick(r) {
			r.checked = true
			todo = append(todo, r)
		}
	}
	c.mu.Unlock()
	var out []string
	for _, r := range todo {
		for _, p := range versionProblems(c.version, r) {
			desc := fmt.Sprintf("%s %s", r.kind, r.method)
			if r.kind == "response" {
				desc = "response to " + r.method
			}
			msg := fmt.Sprintf("%s: %s\n  received: %s", desc, p, clip(r.raw, 1500))
			if r.sent != nil {
				msg += "\n  sent:     " + clip(r.sent, 800)
			}
			out = append(out, msg)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// What a client of each version can read.

// versionProblems lists what in message r a client speaking version v cannot
// read, or must not be sent.
func versionProblems(v string, r *received) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	var msg map[string]any
	if r.kind == "garbage" || json.Unmarshal(r.raw, &msg) != nil {
		return []string{"not a JSON object"}
	}
	if msg["jsonrpc"] != "2.0" {
		bad("jsonrpc is %v, want \"2.0\"", msg["jsonrpc"])
	}
	modern := v == modernRevision
	switch r.kind {
	case "response":
		if e, ok := msg["error"].(map[string]any); ok {
			if code, _ := e["code"].(float64); !modern && code <= -32020 && code >= -32022 {
				bad("error code %v is a 2026-07-28 code", code)
			}
			return probs
		}
		res, ok := msg["result"].(map[string]any)
		if !ok {
			bad("result is not an object")
			return probs
		}
		probs = append(probs, resultProblems(v, r.method, res)...)
	case "notification":
		params, _ := msg["params"].(map[string]any)
		switch {
		case !modern && r.method == "notifications/subscriptions/acknowledged":
			bad("a legacy client has no subscriptions/listen")
		case modern && slices.Contains([]string{"notifications/elicitation/complete", "notifications/tasks/status", "notifications/roots/list_changed"}, r.method):
			bad("%s was removed in 2026-07-28", r.method)
		case !atLeast(v, "2025-11-25") && slices.Contains([]string{"notifications/elicitation/complete", "notifications/tasks/status"}, r.method):
			bad("%s is new in 2025-11-25", r.method)
		}
		if modern && (strings.HasSuffix(r.method, "/list_changed") || r.method == "notifications/resources/updated") {
			if meta, _ := params["_meta"].(map[string]any); meta == nil || meta[metaPrefix+"subscriptionId"] == nil {
				bad("a 2026-07-28 client gets %s only on a subscriptions/listen stream, tagged with its subscriptionId", r.method)
			}
		}
		if r.method == "notifications/progress" && !atLeast(v, "2025-03-26") {
			if _, ok := params["message"]; ok {
				bad("progress message is new in 2025-03-26")
			}
		}
		if !modern {
			probs = append(probs, metaKeyProblems(params, "params")...)
		}
	case "request":
		params, _ := msg["params"].(map[string]any)
		switch {
		case modern:
			bad("2026-07-28 has no server→client requests (%s must be an input-required result)", r.method)
		case r.method == "elicitation/create" && !atLeast(v, "2025-06-18"):
			bad("elicitation is new in 2025-06-18")
		case strings.HasPrefix(r.method, "tasks/") && !atLeast(v, "2025-11-25"):
			bad("tasks are new in 2025-11-25")
		case !slices.Contains([]string{"ping", "sampling/createMessage", "roots/list", "elicitation/create", "tasks/get", "tasks/result", "tasks/list", "tasks/cancel"}, r.method):
			bad("%s is not a server→client request", r.method)
		}
		if !modern {
			probs = append(probs, metaKeyProblems(params, "params")...)
		}
		if r.method == "elicitation/create" && !atLeast(v, "2025-11-25") {
			if params["mode"] != nil && params["mode"] != "form" {
				bad("elicitation mode %v is new in 2025-11-25", params["mode"])
			}
			schema, _ := params["requestedSchema"].(map[string]any)
			props, _ := schema["properties"].(map[string]any)
			for _, name := range sortedKeys(props) {
				p, _ := props[name].(map[string]any)
				switch {
				case p["type"] == "array" || p["oneOf"] != nil || p["anyOf"] != nil:
					bad("requestedSchema field %q (%v) is a 2025-11-25 enum form", name, p)
				case p["default"] != nil && p["type"] != "boolean":
					bad("requestedSchema field %q has a default, new in 2025-11-25 for non-booleans", name)
				}
			}
		}
		if r.method == "sampling/createMessage" {
			if !atLeast(v, "2025-11-25") && (params["tools"] != nil || params["toolChoice"] != nil) {
				bad("sampling with tools is new in 2025-11-25")
			}
			probs = append(probs, contentProblems(v, params["messages"], "params.messages")...)
		}
	}
	return probs
}

// listMethods are the requests whose 2026-07-28 results are cacheable.
var listMethods = []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "server/discover"}

// resultProblems checks the result of a request of method for version v.
func resultProblems(v, method string, res map[string]any) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if v == modernRevision {
		rt, ok := res["resultType"].(string)
		if !ok {
			bad("no resultType (required in 2026-07-28)")
		}
		if rt != "input_required" && slices.Contains(listMethods, method) {
			if ttl, ok := res["ttlMs"].(float64); !ok || ttl < 0 {
				bad("%s result has no ttlMs (required in 2026-07-28)", method)
			}
			if cs := res["cacheScope"]; cs != "public" && cs != "private" {
				bad("%s result has cacheScope %v, want public or private", method, cs)
			}
		}
		if meta, ok := res["_meta"].(map[string]any); ok {
			if si, ok := meta[metaPrefix+"serverInfo"].(map[string]any); ok && si["name"] != "mcphost" {
				bad("_meta serverInfo is %v: a backend's identity, not the proxy's", si)
			}
		}
	} else {
		for _, k := range []string{"resultType", "ttlMs", "cacheScope"} {
			if _, ok := res[k]; ok {
				bad("%s is a 2026-07-28 field", k)
			}
		}
		probs = append(probs, metaKeyProblems(res, "result")...)
	}
	objects := func(key string) []map[string]any {
		list, _ := res[key].([]any)
		var out []map[string]any
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	for _, tool := range objects("tools") {
		where := fmt.Sprintf("tool %v", tool["name"])
		if !atLeast(v, "2025-03-26") && tool["annotations"] != nil {
			bad("%s: annotations are new in 2025-03-26", where)
		}
		if !atLeast(v, "2025-06-18") {
			for _, k := range []string{"outputSchema", "title"} {
				if tool[k] != nil {
					bad("%s: %s is new in 2025-06-18", where, k)
				}
			}
		}
		if !atLeast(v, "2025-11-25") {
			for _, k := range []string{"icons", "execution"} {
				if tool[k] != nil {
					bad("%s: %s is new in 2025-11-25", where, k)
				}
			}
		}
	}
	named := func(kind string, m map[string]any) {
		where := fmt.Sprintf("%s %v", kind, m["name"])
		if !atLeast(v, "2025-06-18") && m["title"] != nil {
			bad("%s: title is new in 2025-06-18", where)
		}
		if !atLeast(v, "2025-11-25") && m["icons"] != nil {
			bad("%s: icons are new in 2025-11-25", where)
		}
	}
	for _, p := range objects("prompts") {
		named("prompt", p)
		args, _ := p["arguments"].([]any)
		for _, a := range args {
			if m, ok := a.(map[string]any); ok && !atLeast(v, "2025-06-18") && m["title"] != nil {
				bad("prompt %v argument %v: title is new in 2025-06-18", p["name"], m["name"])
			}
		}
	}
	for _, r := range objects("resources") {
		named("resource", r)
	}
	for _, r := range objects("resourceTemplates") {
		named("resource template", r)
	}
	if si, ok := res["serverInfo"].(map[string]any); ok {
		named("serverInfo", si)
		if !atLeast(v, "2025-11-25") {
			for _, k := range []string{"description", "websiteUrl"} {
				if si[k] != nil {
					bad("serverInfo: %s is new in 2025-11-25", k)
				}
			}
		}
	}
	if !atLeast(v, "2025-06-18") && res["structuredContent"] != nil {
		bad("structuredContent is new in 2025-06-18")
	}
	if v != modernRevision && res["inputRequests"] != nil {
		bad("inputRequests (an input-required result) reached a legacy client")
	}
	probs = append(probs, contentProblems(v, res["content"], "content")...)
	probs = append(probs, contentProblems(v, res["messages"], "messages")...)
	probs = append(probs, contentProblems(v, res["contents"], "contents")...)
	return probs
}

// contentProblems walks content blocks (and whatever holds them) for
// content types v does not have. Schemas and structured content are user
// data and are not walked.
func contentProblems(v string, x any, where string) []string {
	var probs []string
	switch x := x.(type) {
	case []any:
		for i, e := range x {
			probs = append(probs, contentProblems(v, e, fmt.Sprintf("%s[%d]", where, i))...)
		}
	case map[string]any:
		switch x["type"] {
		case "audio":
			if !atLeast(v, "2025-03-26") {
				probs = append(probs, where+": audio content is new in 2025-03-26")
			}
		case "resource_link":
			if !atLeast(v, "2025-06-18") {
				probs = append(probs, where+": resource_link content is new in 2025-06-18")
			}
		case "tool_use", "tool_result":
			if !atLeast(v, "2025-11-25") {
				probs = append(probs, fmt.Sprintf("%s: %v content is new in 2025-11-25", where, x["type"]))
			}
		}
		for _, k := range sortedKeys(x) {
			switch k {
			case "inputSchema", "outputSchema", "requestedSchema", "structuredContent", "_meta":
				continue
			}
			probs = append(probs, contentProblems(v, x[k], where+"."+k)...)
		}
	}
	return probs
}

// metaKeyProblems finds io.modelcontextprotocol/ keys, which belong to the
// 2026-07-28 request and result metadata, anywhere under x.
func metaKeyProblems(x any, where string) []string {
	var probs []string
	switch x := x.(type) {
	case []any:
		for i, e := range x {
			probs = append(probs, metaKeyProblems(e, fmt.Sprintf("%s[%d]", where, i))...)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if strings.HasPrefix(k, metaPrefix) {
				probs = append(probs, fmt.Sprintf("%s has the 2026-07-28 key %q", where, k))
				continue
			}
			probs = append(probs, metaKeyProblems(x[k], where+"."+k)...)
		}
	}
	return probs
}

// TestVersionsProblemRules checks the version rules on hand-written messages.
func TestVersionsProblemRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		version, kind, method, raw string
		want                       []string // substrings, one per problem
	}{
		{"2024-11-05", "response", "tools/list",
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object"},"annotations":{},"outputSchema":{},"title":"A","icons":[],"execution":{}}]}}`,
			[]string{"annotations are new in 2025-03-26", "outputSchema is new", "title is new", "icons is new", "execution is new"}},
		{"2025-06-18", "response", "tools/list",
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{"type":"object","properties":{"title":{"type":"string"}}},"annotations":{"title":"x"},"outputSchema":{},"title":"A"}]}}`, nil},
		{"2025-03-26", "response", "tools/call",
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"audio","data":"","mimeType":"audio/wav"},{"type":"resource_link","uri":"x://y","name":"y"}],"structuredContent":{"type":"resource_link"}}}`,
			[]string{"structuredContent is new", "resource_link content is new in 2025-06-18"}},
		{"2024-11-05", "response", "tools/call",
			`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"audio","data":"","mimeType":"audio/wav"}],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{}}}}`,
			[]string{"resultType is a 2026-07-28 field", `2026-07-28 key "io.modelcontextprotocol/serverInfo"`, "audio content is new"}},
		{"2026-07-28", "response", "tools/list", `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`,
			[]string{"no resultType", "no ttlMs", "cacheScope <nil>"}},
		{"2026-07-28", "response", "tools/call", `{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}}`, nil},
		{"2026-07-28", "response", "tools/call",
			`{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"backend"}}}}`,
			[]string{"a backend's identity"}},
		{"2025-11-25", "response", "tools/call", `{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}`,
			[]string{"resultType is a 2026-07-28 field", "reached a legacy client"}},
		{"2024-11-05", "notification", "notifications/progress",
			`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"message":"m"}}`,
			[]string{"progress message is new in 2025-03-26"}},
		{"2026-07-28", "notification", "notifications/tools/list_changed", `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`,
			[]string{"only on a subscriptions/listen stream"}},
		{"2026-07-28", "notification", "notifications/tools/list_changed",
			`{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":3}}}`, nil},
		{"2025-06-18", "notification", "notifications/tools/list_changed",
			`{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":3}}}`,
			[]string{`2026-07-28 key "io.modelcontextprotocol/subscriptionId"`}},
		{"2026-07-28", "request", "sampling/createMessage", `{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}`,
			[]string{"no server→client requests"}},
		{"2025-03-26", "request", "elicitation/create", `{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{}}`,
			[]string{"elicitation is new in 2025-06-18"}},
		{"2025-06-18", "request", "elicitation/create",
			`{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{"message":"m","requestedSchema":{"type":"object","properties":{"a":{"type":"array"},"b":{"type":"string","default":"x"},"c":{"type":"boolean","default":true}}}}}`,
			[]string{`field "a"`, `field "b" has a default`}},
		{"2025-06-18", "response", "tools/call", `{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"x"}}`,
			[]string{"error code -32022"}},
	}
	for i, tc := range cases {
		got := versionProblems(tc.version, &received{raw: []byte(tc.raw), kind: tc.kind, method: tc.method})
		if len(got) != len(tc.want) {
			t.Errorf("case %d (%s %s at %s): problems %q, want %d matching %q", i, tc.kind, tc.method, tc.version, got, len(tc.want), tc.want)
			continue
		}
		for j := range got {
			if !strings.Contains(got[j], tc.want[j]) {
				t.Errorf("case %d: problem %q, want it to contain %q", i, got[j], tc.want[j])
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The matrix.

// TestVersionsMatrix: clients of each of the five revisions × the seven
// backends. One `mcphost run --stdio` per client version serves all
// backends; the client versions and the cells of a client run in parallel.
func TestVersionsMatrix(t *testing.T) {
	t.Parallel()
	// A missing server-everything skips its cells (fails in CI), not the
	// matrix.
	var everything []string
	t.Run("backend=everything@2025-11-25/installed", func(t *testing.T) {
		everything = testenv.NPMBin(t, "mcp-server-everything")
	})
	backends := versionBackends(t, everything)
	var blocks strings.Builder
	for _, b := range backends {
		blocks.WriteString(b.block)
	}
	cfg := writeConfig(t, blocks.String())
	start := time.Now()
	for _, v := range revisions {
		t.Run("client="+v, func(t *testing.T) {
			t.Parallel()
			c := startVersionClient(t, v, cfg)
			// After every cell: messages no cell owns (initialize,
			// server→client requests, list_changed), and late ones.
			t.Cleanup(func() {
				for _, p := range c.validate(func(*received) bool { return true }) {
					t.Errorf("client=%s: %s", v, p)
				}
				if t.Failed() {
					t.Logf("client=%s: mcphost stderr ends:\n%s", v, tail(c.stderr.String(), 6000))
				}
				t.Logf("client=%s: %d messages received, all cells done %s after the matrix started", v, len(c.log), time.Since(start).Round(time.Millisecond))
			})
			for _, b := range backends {
				t.Run("backend="+b.label, func(t *testing.T) {
					if b.block == "" {
						t.Skip("skipping: npm server-everything is not installed (see backend=everything@2025-11-25/installed)")
					}
					t.Parallel()
					runVersionCell(t, c, b)
				})
			}
		})
	}
}

// runVersionCell runs the steps of cell (c's version, b) and then checks
// every message the cell received.
func runVersionCell(t *testing.T, c *versionClient, b versionBackend) {
	v := c.version
	cell := &versionCell{name: "client=" + v + "/backend=" + b.label}
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
	defer cancel()
	defer func() {
		for _, p := range c.validate(func(r *received) bool { return r.cell == cell }) {
			t.Errorf("%s: %s", cell.name, p)
		}
	}()
	prefix := "mcp__proxy__" + b.server + "__"
	tool := func(name string) string { return prefix + name }

	// The proxy answers before every backend is up: wait for this one.
	var tools map[string]map[string]any
	listTools := func() error {
		res, raw, err := c.call(ctx, cell, "tools/list", nil)
		if err != nil {
			return err
		}
		tools = map[string]map[string]any{}
		list, _ := res["tools"].([]any)
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				tools[fmt.Sprint(m["name"])] = m
			}
		}
		for _, name := range b.ready {
			if tools[tool(name)] == nil {
				return fmt.Errorf("%s not among %d tools\n  received: %s", tool(name), len(tools), clip(raw, 600))
			}
		}
		return nil
	}
	poll.Within(t, 60*time.Second, cell.name+": the backend listed", listTools)

	t.Run("lists", func(t *testing.T) {
		if b.structured != "" {
			schema := tools[tool(b.structured)]["outputSchema"]
			if atLeast(v, "2025-06-18") && atLeast(b.version, "2025-06-18") && schema == nil {
				t.Errorf("%s: tools/list: %s has no outputSchema\n  tool: %v", cell.name, tool(b.structured), tools[tool(b.structured)])
			}
		}
		res, raw, err := c.call(ctx, cell, "prompts/list", nil)
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if !listHas(res, "prompts", "name", tool(b.prompt)) {
			t.Errorf("%s: prompts/list lacks %s\n  received: %s", cell.name, tool(b.prompt), clip(raw, 1500))
		}
		uri := "mcp+proxy://" + b.server + "/" + b.resource
		res, raw, err = c.call(ctx, cell, "resources/list", nil)
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if !listHas(res, "resources", "uri", uri) {
			t.Errorf("%s: resources/list lacks %s\n  received: %s", cell.name, uri, clip(raw, 1500))
		}
		if _, _, err := c.call(ctx, cell, "resources/templates/list", nil); err != nil {
			t.Errorf("%s: %v", cell.name, err)
		}
	})

	t.Run("structured", func(t *testing.T) {
		if b.structured == "" {
			t.Logf("%s: not run: %s", cell.name, b.noStructured)
			return
		}
		res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(b.structured), "arguments": b.structuredArgs})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if res["isError"] == true {
			t.Fatalf("%s: %s: tool error\n  received: %s", cell.name, tool(b.structured), clip(raw, 1500))
		}
		if !atLeast(b.version, "2025-06-18") {
			return // an older backend has no structured content to give
		}
		if atLeast(v, "2025-06-18") {
			sc, _ := res["structuredContent"].(map[string]any)
			if sc == nil || sc[b.structuredKey] == nil {
				t.Errorf("%s: no structuredContent with %q\n  received: %s", cell.name, b.structuredKey, clip(raw, 1500))
			} else if b.structuredKey == "text" && sc["text"] != b.structuredArgs["text"] {
				t.Errorf("%s: structuredContent.text = %v, want %v", cell.name, sc["text"], b.structuredArgs["text"])
			}
			return
		}
		// An older client cannot read structuredContent: the same JSON
		// must come as a text block.
		found := false
		content, _ := res["content"].([]any)
		for _, x := range content {
			m, _ := x.(map[string]any)
			text, _ := m["text"].(string)
			var obj map[string]any
			if m["type"] == "text" && json.Unmarshal([]byte(text), &obj) == nil && obj[b.structuredKey] != nil {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no text block carries the structured result as JSON (with %q)\n  received: %s", cell.name, b.structuredKey, clip(raw, 1500))
		}
	})

	t.Run("content", func(t *testing.T) {
		if len(b.content) == 0 {
			t.Logf("%s: nothing to run: the backend has no tool returning newer content types", cell.name)
		}
		for _, call := range b.content {
			res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(call.tool), "arguments": call.args})
			if err != nil {
				t.Errorf("%s: %v", cell.name, err)
				continue
			}
			if content, _ := res["content"].([]any); len(content) == 0 || res["isError"] == true {
				t.Errorf("%s: %s returned no content\n  received: %s", cell.name, tool(call.tool), clip(raw, 1500))
			}
		}
	})

	t.Run("resource", func(t *testing.T) {
		uri := "mcp+proxy://" + b.server + "/" + b.resource
		res, raw, err := c.call(ctx, cell, "resources/read", map[string]any{"uri": uri})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		contents, _ := res["contents"].([]any)
		first, _ := firstOf(contents).(map[string]any)
		if text, _ := first["text"].(string); !strings.Contains(text, b.resourceWant) || first["uri"] != uri {
			t.Errorf("%s: resources/read %s: want uri %s and text with %q\n  received: %s", cell.name, uri, uri, b.resourceWant, clip(raw, 1500))
		}
	})

	t.Run("prompt", func(t *testing.T) {
		params := map[string]any{"name": tool(b.prompt)}
		if b.promptArgs != nil {
			params["arguments"] = b.promptArgs
		}
		res, raw, err := c.call(ctx, cell, "prompts/get", params)
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		msgs, _ := res["messages"].([]any)
		first, _ := firstOf(msgs).(map[string]any)
		content, _ := first["content"].(map[string]any)
		if text, _ := content["text"].(string); !strings.Contains(text, b.promptWant) {
			t.Errorf("%s: prompts/get %s: want text with %q\n  received: %s", cell.name, tool(b.prompt), b.promptWant, clip(raw, 1500))
		}
	})

	t.Run("progress", func(t *testing.T) {
		token := "progress-" + b.label + "-" + v
		c.own("p"+mustJSON(token), cell)
		params := map[string]any{"name": tool(b.progress), "arguments": b.progressArgs, "_meta": map[string]any{"progressToken": token}}
		res, raw, err := c.call(ctx, cell, "tools/call", params)
		// The reader records a notification before it hands on the
		// response that follows it.
		progress := c.notifications("notifications/progress", func(r *received) bool { return r.cell == cell })
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if res["isError"] == true {
			t.Fatalf("%s: %s: tool error\n  received: %s", cell.name, tool(b.progress), clip(raw, 1500))
		}
		if len(progress) == 0 {
			all := c.notifications("notifications/progress", nil)
			var seen []string
			for _, r := range all {
				seen = append(seen, clip(r.raw, 300))
			}
			t.Errorf("%s: no notifications/progress with token %q before the result\n  received: %s\n  all progress so far: %s",
				cell.name, token, clip(raw, 800), strings.Join(seen, "\n    "))
		}
	})

	t.Run("list_changed", func(t *testing.T) {
		if b.change == "" {
			t.Logf("%s: not run: %s", cell.name, b.noChange)
			return
		}
		var listenID string
		if c.modern() {
			var err error
			if listenID, err = c.listen(ctx, t, cell); err != nil {
				t.Fatalf("%s: %v", cell.name, err)
			}
			defer c.write(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
				"params": map[string]any{"requestId": json.RawMessage(listenID), "reason": "cell done"}})
		}
		plain := func(r *received) bool { return !strings.Contains(string(r.raw), metaPrefix+"subscriptionId") }
		onStream := func(r *received) bool { return r.cell == cell }
		keep := plain
		if c.modern() {
			keep = onStream
		}
		before := len(c.notifications("notifications/tools/list_changed", keep))
		res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(b.change), "arguments": b.changeArgs})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if res["isError"] == true {
			t.Fatalf("%s: %s: tool error\n  received: %s", cell.name, tool(b.change), clip(raw, 1500))
		}
		what := "a plain notifications/tools/list_changed"
		if c.modern() {
			what = "notifications/tools/list_changed on listen stream " + listenID
		}
		poll.Within(t, 20*time.Second, fmt.Sprintf("%s: %s after %s", cell.name, what, tool(b.change)), func() bool {
			return len(c.notifications("notifications/tools/list_changed", keep)) > before
		})
		poll.Within(t, 20*time.Second, cell.name+": after list_changed", func() error {
			res, raw, err := c.call(ctx, cell, "tools/list", nil)
			if err == nil && !listHas(res, "tools", "name", tool(b.changed)) {
				err = fmt.Errorf("%s is not listed\n  received: %s", tool(b.changed), clip(raw, 300))
			}
			return err
		})
	})

	// requests counts the server→client requests of method the cell got.
	requests := func(method string) int {
		cell.mu.Lock()
		defer cell.mu.Unlock()
		n := 0
		for _, r := range cell.got {
			if r.kind == "request" && r.method == method {
				n++
			}
		}
		return n
	}

	t.Run("sampling", func(t *testing.T) {
		c.own("m"+b.samplingMarker, cell)
		cell.mu.Lock()
		rounds := cell.inputRounds
		cell.mu.Unlock()
		res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(b.sampling), "arguments": b.samplingArgs})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if text := allText(res); res["isError"] == true || !strings.Contains(text, modelAnswer) {
			t.Errorf("%s: %s: want a result quoting the model's answer %q\n  received: %s", cell.name, tool(b.sampling), modelAnswer, clip(raw, 1500))
		}
		if !c.modern() && requests("sampling/createMessage") == 0 {
			t.Errorf("%s: the sampling round trip came without a sampling/createMessage request to the client", cell.name)
		}
		cell.mu.Lock()
		defer cell.mu.Unlock()
		if c.modern() && cell.inputRounds == rounds {
			t.Errorf("%s: the sampling round trip came without an input_required result", cell.name)
		}
	})

	t.Run("roots", func(t *testing.T) {
		if b.roots == "" {
			t.Logf("%s: not run: %s", cell.name, b.noRoots)
			return
		}
		res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(b.roots), "arguments": map[string]any{}})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if text := allText(res); res["isError"] == true || !strings.Contains(text, rootURI) {
			t.Errorf("%s: %s: want a result listing the client's root %s\n  received: %s", cell.name, tool(b.roots), rootURI, clip(raw, 1500))
		}
	})

	t.Run("elicitation", func(t *testing.T) {
		switch {
		case !atLeast(v, "2025-06-18"):
			t.Logf("%s: not run: a %s client has no elicitation (new in 2025-06-18); sampling covered the round trip", cell.name, v)
			return
		case !atLeast(b.version, "2025-06-18"):
			t.Logf("%s: not run: a %s backend has no elicitation (new in 2025-06-18); sampling covered the round trip", cell.name, b.version)
			return
		}
		c.own("m"+b.elicitMarker, cell)
		cell.mu.Lock()
		rounds := cell.inputRounds
		cell.mu.Unlock()
		before := requests("elicitation/create")
		res, raw, err := c.call(ctx, cell, "tools/call", map[string]any{"name": tool(b.elicit), "arguments": b.elicitArgs})
		if err != nil {
			t.Fatalf("%s: %v", cell.name, err)
		}
		if b.elicitMultiSelect && !atLeast(v, "2025-11-25") {
			if requests("elicitation/create") != before {
				t.Errorf("%s: a form with a multi-select field reached a %s client, which has no such field", cell.name, v)
			}
			if text := allText(res); !strings.Contains(strings.ToLower(text), b.elicitDeclined) {
				t.Errorf("%s: want the backend to see a decline (%q) in place of the client\n  received: %s", cell.name, b.elicitDeclined, clip(raw, 1500))
			}
			return
		}
		if !c.modern() && requests("elicitation/create") == 0 {
			t.Errorf("%s: the elicitation round trip came without an elicitation/create request to the client", cell.name)
		}
		cell.mu.Lock()
		if c.modern() && cell.inputRounds == rounds {
			t.Errorf("%s: the elicitation round trip came without an input_required result", cell.name)
		}
		cell.mu.Unlock()
		if text := allText(res); res["isError"] == true || !strings.Contains(text, b.elicitWant) {
			t.Errorf("%s: %s: want a result with %q (the client accepted with %q)\n  received: %s", cell.name, tool(b.elicit), b.elicitWant, elicitedName, clip(raw, 1500))
		}
	})
}

// listen opens a subscriptions/listen stream for tool list changes and
// waits for its acknowledgement; it returns the listen request's id.
func (c *versionClient) listen(ctx context.Context, t testing.TB, cell *versionCell) (string, error) {
	params := c.withMeta(map[string]any{"notifications": map[string]any{"toolsListChanged": true}})
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	sent, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": "subscriptions/listen", "params": params})
	// The stream ends only with a response after cancellation, if at all.
	c.pending[id] = &versionPending{method: "subscriptions/listen", sent: sent, cell: cell, ch: make(chan []byte, 1)}
	c.owners["l"+id] = cell
	c.mu.Unlock()
	c.writeMu.Lock()
	_, err := c.stdin.Write(append(sent, '\n'))
	c.writeMu.Unlock()
	if err != nil {
		return "", err
	}
	acked := func(r *received) bool { return r.cell == cell }
	poll.Within(t, 20*time.Second, fmt.Sprintf("subscriptions/listen: notifications/subscriptions/acknowledged with subscriptionId %s\n  sent: %s", id, clip(sent, 800)), func() bool {
		return len(c.notifications("notifications/subscriptions/acknowledged", acked)) > 0
	})
	ack := c.notifications("notifications/subscriptions/acknowledged", acked)[0]
	var n struct {
		Params struct {
			Notifications struct {
				ToolsListChanged bool `json:"toolsListChanged"`
			} `json:"notifications"`
		} `json:"params"`
	}
	if err := json.Unmarshal(ack.raw, &n); err != nil || !n.Params.Notifications.ToolsListChanged {
		return "", fmt.Errorf("subscriptions/listen: the acknowledgement does not honour toolsListChanged\n  received: %s", clip(ack.raw, 800))
	}
	return id, nil
}

// listHas reports whether res[key] lists an object whose field is value.
func listHas(res map[string]any, key, field, value string) bool {
	list, _ := res[key].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m[field] == value {
			return true
		}
	}
	return false
}

// allText joins the text of a tool result's text blocks.
func allText(res map[string]any) string {
	var b strings.Builder
	content, _ := res["content"].([]any)
	for _, x := range content {
		if m, ok := x.(map[string]any); ok && m["type"] == "text" {
			fmt.Fprintln(&b, m["text"])
		}
	}
	return b.String()
}

func firstOf(list []any) any {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Real clients.

// eraServers are one legacy and one 2026-07-28 backend, as "legacy" and
// "modern".
func eraServers() string {
	return exampleBlock("legacy", "2025-06-18") + exampleBlock("modern", modernRevision)
}

// TestVersionsMCPGoClients drives mcp-go's client pinned to each revision,
// over stdio and over streamable HTTP, against one legacy and one
// 2026-07-28 backend: the handshake (initialize, or server/discover at
// 2026-07-28) must settle on the pinned version, and a tool of each backend
// must answer, with structured content from 2025-06-18 on and a sampling
// round trip bridged whichever way the eras differ.
func TestVersionsMCPGoClients(t *testing.T) {
	t.Parallel()
	servers := eraServers()
	cfg := writeConfig(t, servers)
	proxy := startHTTPProxy(t, servers)
	for _, v := range revisions {
		for _, mode := range []string{"stdio", "http"} {
			t.Run("client="+v+"/"+mode, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				stderr := proxy.Stderr
				var tr transport.Interface
				if mode == "stdio" {
					stderr = &syncBuffer{}
					tr = transport.NewStdioWithOptions(mcphost(t), nil, []string{"run", "--stdio", cfg}, transport.WithCommandStderrWriter(stderr))
				} else {
					var err error
					if tr, err = transport.NewStreamableHTTP(proxy.URL); err != nil {
						t.Fatal(err)
					}
				}
				sampler := &samplingReply{text: modelAnswer}
				opts := []client.ClientOption{client.WithProtocolVersion(v), client.WithSamplingHandler(sampler)}
				if v != modernRevision {
					//lint:ignore SA1019 the legacy revisions are what this test pins
					opts = append(opts, client.WithLegacyProtocolOnly())
				}
				c := client.NewClient(tr, opts...)
				if err := c.Start(context.Background()); err != nil {
					t.Fatalf("start: %v", err)
				}
				defer c.Close()
				defer func() {
					if t.Failed() {
						t.Logf("mcphost stderr ends:\n%s", tail(stderr.String(), 4000))
					}
				}()
				req := mcp.InitializeRequest{}
				req.Params.ProtocolVersion = v
				req.Params.ClientInfo = mcp.Implementation{Name: "mcphost-e2e-mcpgo", Version: "1"}
				res, err := c.Initialize(ctx, req)
				if err != nil {
					t.Fatalf("client=%s/%s: initialize: %v", v, mode, err)
				}
				if res.ProtocolVersion != v || c.ProtocolVersion() != v {
					t.Fatalf("client=%s/%s: negotiated %q (result %q), want the pinned %s", v, mode, c.ProtocolVersion(), res.ProtocolVersion, v)
				}
				want := []string{"mcp__proxy__legacy__echo", "mcp__proxy__modern__echo"}
				poll.Within(t, 30*time.Second, fmt.Sprintf("client=%s/%s: tools listed", v, mode), func() error {
					list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
					if err != nil {
						return err
					}
					var names []string
					for _, tool := range list.Tools {
						names = append(names, tool.Name)
					}
					for _, w := range want {
						if !slices.Contains(names, w) {
							return fmt.Errorf("tools/list lacks %s: %v", w, names)
						}
					}
					return nil
				})
				for _, server := range []string{"legacy", "modern"} {
					text := "hello " + server
					call := mcp.CallToolRequest{}
					call.Params.Name = "mcp__proxy__" + server + "__echo"
					call.Params.Arguments = map[string]any{"text": text}
					out, err := c.CallTool(ctx, call)
					if err != nil {
						t.Errorf("client=%s/%s: %s: %v", v, mode, call.Params.Name, err)
						continue
					}
					if got, ok := firstText(out); out.IsError || !ok || got != text {
						t.Errorf("client=%s/%s: %s = %+v, want text %q", v, mode, call.Params.Name, out, text)
					}
					sc, _ := out.StructuredContent.(map[string]any)
					if atLeast(v, "2025-06-18") && sc["text"] != text {
						t.Errorf("client=%s/%s: %s structuredContent = %v, want text %q", v, mode, call.Params.Name, out.StructuredContent, text)
					}
					if !atLeast(v, "2025-06-18") && out.StructuredContent != nil {
						t.Errorf("client=%s/%s: %s sent structuredContent to a %s client", v, mode, call.Params.Name, v)
					}

					call.Params.Name = "mcp__proxy__" + server + "__sample"
					call.Params.Arguments = map[string]any{"prompt": "hi from " + v}
					out, err = c.CallTool(ctx, call)
					if err != nil {
						t.Errorf("client=%s/%s: %s: %v", v, mode, call.Params.Name, err)
						continue
					}
					if got, _ := firstText(out); out.IsError || got != "sampled: "+modelAnswer {
						t.Errorf("client=%s/%s: %s = %+v, want text %q", v, mode, call.Params.Name, out, "sampled: "+modelAnswer)
					}
				}
			})
		}
	}
}

// TestVersionsInspector drives the MCP Inspector CLI in both protocol eras,
// over stdio and streamable HTTP, against one legacy and one 2026-07-28
// backend: tools/list shows both, and a tool of the other era's backend
// answers.
func TestVersionsInspector(t *testing.T) {
	t.Parallel()
	testenv.InspectorCLI(t) // skip (or fail in CI) early when it is missing
	servers := eraServers()
	proxy := startHTTPProxy(t, servers)
	targets := map[string][]string{
		"stdio": {mcphost(t), "run", "--stdio", writeConfig(t, servers)},
		"http":  {"--transport", "http", "--server-url", proxy.URL},
	}
	for _, era := range []string{"legacy", "modern"} {
		// The tool called is on the backend of the other era.
		other := map[string]string{"legacy": "modern", "modern": "legacy"}[era]
		for _, mode := range []string{"stdio", "http"} {
			t.Run("era="+era+"/"+mode, func(t *testing.T) {
				t.Parallel()
				base := append(append([]string(nil), targets[mode]...), "--protocol-era", era)
				out := inspectorJSON(t, append(base, "--method", "tools/list")...)
				res, _ := out["result"].(map[string]any)
				for _, want := range []string{"mcp__proxy__legacy__echo", "mcp__proxy__modern__echo"} {
					if !listHas(res, "tools", "name", want) {
						t.Errorf("era=%s/%s: tools/list lacks %s: %v", era, mode, want, out)
					}
				}
				name := "mcp__proxy__" + other + "__echo"
				out = inspectorJSON(t, append(base, "--method", "tools/call", "--tool-name", name, "--tool-arg", "text=hello")...)
				res, _ = out["result"].(map[string]any)
				content, _ := res["content"].([]any)
				first, _ := firstOf(content).(map[string]any)
				if first["type"] != "text" || first["text"] != "hello" {
					t.Errorf("era=%s/%s: tools/call %s = %v, want text hello", era, mode, name, out)
				}
				if rt, ok := res["resultType"]; ok && era == "legacy" {
					t.Errorf("era=%s/%s: a legacy client got resultType %v", era, mode, rt)
				}
			})
		}
	}
}

// ---------------------------------------------------------------------------
// A third-party translator.

const metaStampDir = "../../examples/plugins/meta-stamp"

// TestVersionsThirdPartyTranslator loads the meta-stamp translator by path,
// pinned by sha256, after the built-in versions translator: a 2025-06-18
// client's call to a 2025-11-25 backend comes back stamped with the pair
// translated, a 2025-11-25 client's (no translation) does not, and a wrong
// sha256 is refused at startup.
func TestVersionsThirdPartyTranslator(t *testing.T) {
	t.Parallel()
	pluginPath, err := filepath.Abs(testenv.BuildModuleBinary(t, metaStampDir))
	if err != nil {
		t.Fatal(err)
	}
	sum := fileSHA256(t, pluginPath)
	wrong := flipHex(sum)
	config := func(sum string) string {
		return writeConfig(t, fmt.Sprintf(`
plugin "meta-stamp" {
  source = %q
  sha256 = %q
}

proxy {
  translators = ["versions", "meta-stamp"]
}
`, pluginPath, sum)+exampleBlock("stamped", "2025-11-25"))
	}
	good := config(sum)
	for _, tc := range []struct {
		client string
		want   any // the stamp, or nil for none
	}{
		{"2025-06-18", "2025-11-25->2025-06-18"},
		{"2025-11-25", nil},
	} {
		t.Run("client="+tc.client, func(t *testing.T) {
			t.Parallel()
			c := startVersionClient(t, tc.client, good)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var res map[string]any
			var raw []byte
			poll.Within(t, 30*time.Second, "client="+tc.client+": the stamped echo answered", func() error {
				var err error
				res, raw, err = c.call(ctx, nil, "tools/call", map[string]any{
					"name": "mcp__proxy__stamped__echo", "arguments": map[string]any{"text": "stamp me"},
				})
				if err != nil {
					return fmt.Errorf("%w\n%s", err, tail(c.stderr.String(), 4000))
				}
				return nil
			})
			meta, _ := res["_meta"].(map[string]any)
			if got := meta["com.example/translated"]; got != tc.want {
				t.Errorf("client=%s: result._meta[\"com.example/translated\"] = %v, want %v\n  received: %s", tc.client, got, tc.want, clip(raw, 1500))
			}
			if text := allText(res); !strings.Contains(text, "stamp me") {
				t.Errorf("client=%s: echo result lost its text\n  received: %s", tc.client, clip(raw, 1500))
			}
			for _, p := range c.validate(func(*received) bool { return true }) {
				t.Errorf("client=%s: %s", tc.client, p)
			}
		})
	}
	t.Run("wrong sha256 refused", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runMcphost(t, "run", "--stdio", config(wrong))
		if code == 0 {
			t.Fatalf("mcphost ran with a wrong sha256 for meta-stamp\nstderr:\n%s", stderr)
		}
		for _, w := range []string{"checksum mismatch", "sha256", wrong, sum, pluginPath} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr does not mention %q:\n%s", w, stderr)
			}
		}
		if stdout != "" {
			t.Errorf("stdout is not empty: %q", stdout)
		}
	})
}
