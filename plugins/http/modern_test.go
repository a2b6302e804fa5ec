package httptransport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// modernMeta is the request _meta the host adds for a 2026-07-28 backend.
const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
	`"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcphost","version":"1"}}`

// modern builds a 2026-07-28 request; params are the members of its params
// besides _meta, without braces.
func modern(id, method, params string) string {
	if params != "" {
		params += ","
	}
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":{` + params + modernMeta + `}}`
}

// discoverMsg is the host's probe of a backend's era.
var discoverMsg = modern("1", "server/discover", "")

var listeningRE = regexp.MustCompile(`listening on \w+ (\S+)`)

// TestMain removes the mcphost binary the tests built, if they did.
func TestMain(m *testing.M) {
	code := m.Run()
	if exampleDir != "" {
		_ = os.RemoveAll(exampleDir)
	}
	os.Exit(code)
}

// exampleDir holds the mcphost binary that exampleBinary builds.
var exampleDir string

// exampleBinary builds mcphost once per test run. Its example-server
// subcommand is the mcp-go server these tests talk to; it is run, not
// imported, because plugins never import host/.
var exampleBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mcphost-http-test-")
	if err != nil {
		return "", err
	}
	exampleDir = dir
	exe := filepath.Join(dir, "mcphost")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", exe, "github.com/mcphost/mcphost/host/cmd/mcphost").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build mcphost: %w\n%s", err, out)
	}
	return exe, nil
})

// startExample runs `mcphost example-server` (mcp-go's transports) with
// args until the test ends, and returns the address it listens on.
func startExample(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := exampleBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"example-server"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("example server: %v", err)
	}
	done := make(chan error, 1)
	br := bufio.NewReader(stderr)
	line, readErr := br.ReadString('\n')
	// Keep draining so later log lines never block the server; Wait, once
	// the drain has ended, reaps it.
	go func() {
		_, _ = io.Copy(io.Discard, br)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// An interrupt stops it the way cancelling Run's ctx did: it
		// shuts its listener down and exits 0.
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("example server: %v", err)
			}
		case <-time.After(plugintest.Timeout):
			_ = cmd.Process.Kill()
			t.Errorf("example server did not stop")
		}
	})
	if readErr != nil {
		t.Fatalf("example server: %v", readErr)
	}
	m := listeningRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	return m[1]
}

// await sends msg and reads until the response to it, returning that and
// every other message received meanwhile.
func await(t *testing.T, c transport.Conn, msg string) (resp []byte, others [][]byte) {
	t.Helper()
	env, err := jsonrpc.Peek([]byte(msg))
	if err != nil || env.Kind != jsonrpc.KindRequest {
		t.Fatalf("await needs a request, got %s", msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(msg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for {
		got, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv waiting for %s: %v (also got %q)", env.ID, err, others)
		}
		if e, _ := jsonrpc.Peek(got); e.Kind == jsonrpc.KindResponse && bytes.Equal(e.ID, env.ID) {
			return got, others
		}
		others = append(others, got)
	}
}

func send(t *testing.T, c transport.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(msg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// wantResult fails unless resp is a result, and returns its member at path.
func wantResult(t *testing.T, resp []byte, path string) string {
	t.Helper()
	if env, err := jsonrpc.Peek(resp); err != nil || env.IsError {
		t.Fatalf("want a result, got %s", resp)
	}
	return string(jsonrpc.Get(resp, "result."+path))
}

// wantError fails unless resp is an error with code, and returns it.
func wantError(t *testing.T, resp []byte, code int) []byte {
	t.Helper()
	if got := string(jsonrpc.Get(resp, "error.code")); got != fmt.Sprint(code) {
		t.Fatalf("want error %d, got %s", code, resp)
	}
	return resp
}

func fallbacks(t *testing.T, tr *Transport) string {
	t.Helper()
	m, err := tr.Metrics(context.Background(), base.MetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	re := regexp.MustCompile(`mcphost_http_sse_fallbacks_total\{server="` + regexp.QuoteMeta(name) + `"\} (\d+)`)
	if m := re.FindStringSubmatch(m.PrometheusText); m != nil {
		return m[1]
	}
	return "absent"
}

// TestModernBackend talks 2026-07-28 to mcp-go's Streamable HTTP server,
// once pinned to that version and once serving both eras: every request
// carries its own _meta and headers, and no session is ever made.
func TestModernBackend(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"2026-07-28", "all"} {
		for _, mode := range []string{ModeAuto, ModeStreamable} {
			t.Run(protocol+"/"+mode, func(t *testing.T) {
				t.Parallel()
				addr := startExample(t, "-name", "modern", "-protocol", protocol, "-http", "127.0.0.1:0")
				tr := New(quiet())
				c := plugintest.Open(t, tr, configFor(t, "http://"+addr+"/mcp", map[string]any{"mode": mode}), 0)

				resp, _ := await(t, c, discoverMsg)
				if got := wantResult(t, resp, "supportedVersions"); !strings.Contains(got, `"2026-07-28"`) {
					t.Errorf("supportedVersions = %s", got)
				}
				resp, _ = await(t, c, modern("2", "tools/list", ""))
				if !strings.Contains(wantResult(t, resp, "tools"), `"name":"echo"`) {
					t.Errorf("tools/list lacks echo: %s", resp)
				}
				resp, _ = await(t, c, modern("3", "tools/call", `"name":"echo","arguments":{"text":"hi"}`))
				if got := wantResult(t, resp, "structuredContent"); got != `{"text":"hi"}` {
					t.Errorf("echo structuredContent = %s", got)
				}
				resp, _ = await(t, c, modern("4", "resources/read", `"uri":"example://static/hello"`))
				if got := wantResult(t, resp, "contents.0.text"); got != `"Hello from modern"` {
					t.Errorf("resources/read = %s", resp)
				}
				resp, _ = await(t, c, modern("5", "prompts/get", `"name":"greet","arguments":{"name":"bob"}`))
				if got := wantResult(t, resp, "messages.0.content.text"); !strings.Contains(got, "Hello, bob!") {
					t.Errorf("prompts/get = %s", resp)
				}
				// Progress travels on the request's own stream, before its result.
				resp, others := await(t, c, strings.Replace(modern("6", "tools/call", `"name":"sleep","arguments":{"ms":40,"steps":3}`),
					`"_meta":{`, `"_meta":{"progressToken":"p6",`, 1))
				if got := wantResult(t, resp, "content.0.text"); got != `"slept 40ms"` {
					t.Errorf("sleep = %s", resp)
				}
				progress := 0
				for _, m := range others {
					if tok, _ := jsonrpc.GetString(m, "params.progressToken"); tok == "p6" {
						progress++
					}
				}
				// mcp-go may lose the last notification before a result (its
				// issue #969), so at least two of three must arrive.
				if progress < 2 {
					t.Errorf("got %d progress notifications, want 3: %q", progress, others)
				}
				// Names that are not plain ASCII travel base64-encoded in
				// Mcp-Name; a wrong encoding would be a -32020 header mismatch.
				for i, name := range []string{"héllo", " padded "} {
					resp, _ = await(t, c, modern(fmt.Sprint(10+i), "tools/call", `"name":`+string(jsonrpc.String(name))+`,"arguments":{}`))
					if code := string(jsonrpc.Get(resp, "error.code")); code == "-32020" {
						t.Errorf("tools/call %q: %s", name, resp)
					}
				}
				if protocol == "2026-07-28" {
					// A modern-only server refuses the handshake, which
					// fails that request only.
					resp, _ = await(t, c, initializeMsg)
					wantError(t, resp, mcp.UNSUPPORTED_PROTOCOL_VERSION)
				}
				resp, _ = await(t, c, modern("20", "tools/call", `"name":"add","arguments":{"a":2,"b":3}`))
				if got := wantResult(t, resp, "content.0.text"); got != `"5"` {
					t.Errorf("add = %s", resp)
				}
				if mode == ModeAuto {
					if got := fallbacks(t, tr); got != "0" {
						t.Errorf("SSE fallbacks = %s", got)
					}
				}
			})
		}
	}
}

// TestModernInputRequired runs a multi round-trip request through the
// transport: the tool's first answer asks for input (the client's roots),
// and the retry, with a new id, carries it.
func TestModernInputRequired(t *testing.T) {
	t.Parallel()
	addr := startExample(t, "-protocol", "2026-07-28", "-http", "127.0.0.1:0")
	c := plugintest.Open(t, New(quiet()), configFor(t, "http://"+addr+"/mcp", nil), 0)
	call := func(id, extra string) []byte {
		msg := modern(id, "tools/call", `"name":"roots","arguments":{}`+extra)
		msg = strings.Replace(msg, `"io.modelcontextprotocol/clientCapabilities":{}`, `"io.modelcontextprotocol/clientCapabilities":{"roots":{}}`, 1)
		resp, _ := await(t, c, msg)
		return resp
	}
	first := call("1", "")
	if got := wantResult(t, first, "resultType"); got != `"input_required"` {
		t.Fatalf("first answer: %s", first)
	}
	key := ""
	for k := range objectKeys(jsonrpc.Get(first, "result.inputRequests")) {
		key = k
	}
	state := jsonrpc.Get(first, "result.requestState")
	extra := `,"inputResponses":{` + string(jsonrpc.String(key)) + `:{"roots":[{"uri":"file:///x"}]}}`
	if state != nil {
		extra += `,"requestState":` + string(state)
	}
	if got := wantResult(t, call("2", extra), "content.0.text"); got != `"file:///x"` {
		t.Errorf("roots after the retry = %s", got)
	}
}

func objectKeys(obj []byte) map[string]bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(obj, &m)
	keys := map[string]bool{}
	for k := range m {
		keys[k] = true
	}
	return keys
}

// TestModernListen keeps a subscriptions/listen stream open while other
// requests come and go, receives a notification on it, and cancels it, and
// a long tool call, by closing their streams.
func TestModernListen(t *testing.T) {
	t.Parallel()
	addr := startExample(t, "-protocol", "2026-07-28", "-http", "127.0.0.1:0")
	// request_timeout bounds ordinary requests, not a listen stream.
	c := plugintest.Open(t, New(quiet()), configFor(t, "http://"+addr+"/mcp", map[string]any{"request_timeout": "2s"}), 0)

	send(t, c, modern(`"listen"`, "subscriptions/listen", `"notifications":{"toolsListChanged":true}`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Recv(ctx)
	if err != nil || !bytes.Contains(ack, []byte("notifications/subscriptions/acknowledged")) {
		t.Fatalf("first message on the listen stream: %s, %v", ack, err)
	}

	resp, _ := await(t, c, modern("1", "tools/call", `"name":"add","arguments":{"a":1,"b":1}`))
	if got := wantResult(t, resp, "content.0.text"); got != `"2"` {
		t.Errorf("add while listening = %s", resp)
	}
	time.Sleep(2500 * time.Millisecond) // past request_timeout
	resp, others := await(t, c, modern("2", "tools/call", `"name":"add_tool","arguments":{"name":"dyn"}`))
	wantResult(t, resp, "content")
	changed := func(msgs [][]byte) bool {
		for _, m := range msgs {
			if e, _ := jsonrpc.Peek(m); e.Method == "notifications/tools/list_changed" {
				return true
			}
		}
		return false
	}
	if !changed(others) {
		got, err := c.Recv(ctx)
		if err != nil || !changed([][]byte{got}) {
			t.Fatalf("no tools/list_changed on the listen stream: %s, %v", got, err)
		}
	}

	// Cancelling closes the streams; neither request is answered.
	send(t, c, modern(`"slow"`, "tools/call", `"name":"sleep","arguments":{"ms":60000}`))
	send(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}}`)
	send(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"listen"}}`)
	// A cancellation for a request long answered is dropped, not sent.
	send(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`)
	time.Sleep(200 * time.Millisecond) // for an answer to a cancelled request to show
	resp, others = await(t, c, modern("3", "tools/call", `"name":"whoami","arguments":{}`))
	wantResult(t, resp, "content")
	for _, m := range others {
		if e, _ := jsonrpc.Peek(m); e.Kind == jsonrpc.KindResponse {
			t.Errorf("answer to a cancelled request: %s", m)
		}
	}
}

// TestLegacyBackendAfterFailedDiscover probes legacy servers the way the
// host does: server/discover fails with an error response for its id, the
// connection lives on, and initialize then works on it.
func TestLegacyBackendAfterFailedDiscover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		args         []string
		path, mode   string
		discoverCode int
		version      string
		fallbacks    string
	}{
		{"streamable 2025-11-25", []string{"-protocol", "2025-11-25", "-http"}, "/mcp", ModeAuto, mcp.METHOD_NOT_FOUND, "2025-11-25", "0"},
		{"streamable 2025-03-26", []string{"-protocol", "2025-03-26", "-http"}, "/mcp", ModeStreamable, mcp.METHOD_NOT_FOUND, "2025-03-26", "0"},
		// The HTTP+SSE server refuses a POST to its stream URL: the discover
		// fails with that status, and initialize makes the switch.
		{"sse 2024-11-05", []string{"-protocol", "2024-11-05", "-sse"}, "/sse", ModeAuto, jsonrpc.CodeBackendUnavailable, "2024-11-05", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startExample(t, append(append([]string{"-name", "legacy"}, tt.args...), "127.0.0.1:0")...)
			tr := New(quiet())
			c := plugintest.Open(t, tr, configFor(t, "http://"+addr+tt.path, map[string]any{"mode": tt.mode}), 0)

			resp, _ := await(t, c, discoverMsg)
			wantError(t, resp, tt.discoverCode)
			if id := string(jsonrpc.Get(resp, "id")); id != "1" {
				t.Errorf("discover error carries id %s", id)
			}
			resp, _ = await(t, c, initializeMsg)
			if got := wantResult(t, resp, "protocolVersion"); got != `"`+tt.version+`"` {
				t.Errorf("initialize answered %s, want %s", got, tt.version)
			}
			send(t, c, initializedMsg)
			resp, _ = await(t, c, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`)
			if got := wantResult(t, resp, "content.0.text"); got != `"3"` {
				t.Errorf("add = %s", resp)
			}
			if got := fallbacks(t, tr); got != tt.fallbacks {
				t.Errorf("SSE fallbacks = %s, want %s", got, tt.fallbacks)
			}
		})
	}
}

// TestModernHeaders checks the headers of each kind of request, on a
// connection that also has a legacy session: a modern request carries its
// own version and routing, and no session.
func TestModernHeaders(t *testing.T) {
	t.Parallel()
	s := newStreamServer(t)
	c := plugintest.Open(t, New(quiet()), s.config(t, map[string]any{"mode": ModeStreamable}), 0)
	rpc(t, c, initializeMsg)
	tests := []struct {
		msg              string
		method, name     string
		protocol, sessID string
	}{
		{discoverMsg, "server/discover", "", "2026-07-28", ""},
		{modern("2", "tools/call", `"name":"add"`), "tools/call", "add", "2026-07-28", ""},
		{modern("3", "tools/call", `"name":"héllo"`), "tools/call", "=?base64?aMOpbGxv?=", "2026-07-28", ""},
		{modern("4", "tools/call", `"name":" padded"`), "tools/call", "=?base64?IHBhZGRlZA==?=", "2026-07-28", ""},
		{modern("5", "tools/call", `"name":"=?base64?eA==?="`), "tools/call", "=?base64?PT9iYXNlNjQ/ZUE9PT89?=", "2026-07-28", ""},
		{modern("6", "resources/read", `"uri":"file:///a b"`), "resources/read", "file:///a b", "2026-07-28", ""},
		{modern("7", "prompts/get", `"name":"greet"`), "prompts/get", "greet", "2026-07-28", ""},
		{modern("8", "tools/list", ""), "tools/list", "", "2026-07-28", ""},
		{`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`, "", "", "2025-06-18", "session-1"},
	}
	for _, tt := range tests {
		rpc(t, c, tt.msg)
	}
	s.mu.Lock()
	posts := append([]http.Header(nil), s.posts[1:]...)
	s.mu.Unlock()
	if len(posts) != len(tests) {
		t.Fatalf("%d POSTs, want %d", len(posts), len(tests))
	}
	for i, tt := range tests {
		h := posts[i]
		got := [4]string{h.Get("Mcp-Method"), h.Get("Mcp-Name"), h.Get("Mcp-Protocol-Version"), h.Get("Mcp-Session-Id")}
		if want := [4]string{tt.method, tt.name, tt.protocol, tt.sessID}; got != want {
			t.Errorf("%s: Mcp-Method, Mcp-Name, MCP-Protocol-Version, Mcp-Session-Id = %q, want %q", tt.msg, got, want)
		}
	}
}

// TestModernParamHeaders calls a tool whose parameters are annotated
// x-mcp-header on mcp-go's server, which rejects a call whose Mcp-Param-*
// headers do not match its arguments. The transport learns the annotations
// from tools/list.
func TestModernParamHeaders(t *testing.T) {
	t.Parallel()
	s := server.NewMCPServer("params", "1", server.WithToolCapabilities(false))
	schema := `{"type":"object","properties":{` +
		`"region":{"type":"string","x-mcp-header":"Region"},` +
		`"count":{"type":"integer","x-mcp-header":"Count"},` +
		`"dry":{"type":"boolean","x-mcp-header":"Dry-Run"},` +
		`"target":{"type":"object","properties":{"tenant":{"type":"string","x-mcp-header":"Tenant"}}},` +
		`"note":{"type":"string"}}}`
	s.AddTool(mcp.NewToolWithRawSchema("route", "Echoes its routing.", json.RawMessage(schema)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(fmt.Sprint(req.GetArguments()["region"])), nil
		})
	srv := httptest.NewServer(server.NewStreamableHTTPServer(s))
	t.Cleanup(srv.Close)
	c := plugintest.Open(t, New(quiet()), configFor(t, srv.URL+"/mcp", nil), 0)

	call := modern("2", "tools/call", `"name":"route","arguments":{"region":"eu wést","count":3,"dry":false,"target":{"tenant":" acme "},"note":"x"}`)
	// Before tools/list the transport cannot know the headers; the server's
	// refusal comes back as that request's error, and nothing else fails.
	resp, _ := await(t, c, call)
	wantError(t, resp, mcp.HEADER_MISMATCH)
	resp, _ = await(t, c, modern("3", "tools/list", ""))
	wantResult(t, resp, "tools")
	resp, _ = await(t, c, strings.Replace(call, `"id":2`, `"id":4`, 1))
	if got := wantResult(t, resp, "content.0.text"); got != `"eu wést"` {
		t.Errorf("route = %s", resp)
	}
}

// TestHTTPErrorsAnswerRequests checks that an HTTP error fails only the
// request it answers: with the server's own JSON-RPC error when the body has
// one, else with -32000 and the status. Notifications fail silently.
func TestHTTPErrorsAnswerRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		modern   bool
		status   int
		body     string
		wantCode string
		wantMsg  string
		wantData string
	}{
		{"unsupported version", true, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32022,"message":"unsupported","data":{"supported":["2025-11-25"],"requested":"2026-07-28"}}}` + "\n",
			"-32022", `"unsupported"`, `{"supported":["2025-11-25"],"requested":"2026-07-28"}`},
		{"method not found", true, 404, `{"jsonrpc":"2.0","id":"b","error":{"code":-32601,"message":"Method not found"}}`, "-32601", `"Method not found"`, ""},
		{"multi-line body", false, 400, "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": null,\n  \"error\": {\"code\": -32000, \"message\": \"Bad Request: Server not initialized\"}\n}", "-32000", `"Bad Request: Server not initialized"`, ""},
		{"plain 405", true, 405, "", "-32000", `"backend answered HTTP 405 Method Not Allowed"`, `{"status":405}`},
		{"plain 404", false, 404, "", "-32000", `"backend answered HTTP 404 Not Found"`, `{"status":404}`},
		{"not an error body", true, 400, `{"jsonrpc":"2.0","id":"b","result":{}}`, "-32000", `"backend answered HTTP 400 Bad Request"`, `{"status":400}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStreamServer(t)
			s.failMethod, s.failStatus, s.failBody = "boom", tt.status, tt.body
			c := plugintest.Open(t, New(quiet()), s.config(t, map[string]any{"mode": ModeStreamable}), 0)
			msg := `{"jsonrpc":"2.0","id":"b","method":"boom","params":{}}`
			if tt.modern {
				msg = modern(`"b"`, "boom", "")
			}
			// A notification that fails is not answered; the next message
			// is the request's.
			send(t, c, `{"jsonrpc":"2.0","method":"boom"}`)
			resp, others := await(t, c, msg)
			if len(others) > 0 {
				t.Errorf("unexpected messages %q", others)
			}
			if got := [3]string{string(jsonrpc.Get(resp, "error.code")), string(jsonrpc.Get(resp, "error.message")), string(jsonrpc.Get(resp, "error.data"))}; got != [3]string{tt.wantCode, tt.wantMsg, tt.wantData} {
				t.Errorf("error = %q, want %q", got, [3]string{tt.wantCode, tt.wantMsg, tt.wantData})
			}
			if bytes.ContainsAny(resp, "\n") {
				t.Errorf("response spans lines: %q", resp)
			}
			// The connection is still good.
			resp, _ = await(t, c, `{"jsonrpc":"2.0","id":8,"method":"echo","params":{"ok":true}}`)
			if !bytes.Contains(resp, []byte(`"echo":{"ok":true}`)) {
				t.Errorf("echo after the error: %s", resp)
			}
		})
	}
}

// TestAutoDiscoverFailureDecidesNothing: in auto mode a failed probe, even
// a 404 or 405 without a JSON-RPC body, is only an answer to that probe;
// initialize then detects the transport as before.
func TestAutoDiscoverFailureDecidesNothing(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s := newStreamServer(t)
			s.failMethod, s.failStatus = "server/discover", status
			tr := New(quiet())
			c := plugintest.Open(t, tr, s.config(t, nil), 0)
			resp, _ := await(t, c, discoverMsg)
			wantError(t, resp, jsonrpc.CodeBackendUnavailable)
			resp, _ = await(t, c, initializeMsg)
			wantResult(t, resp, "protocolVersion")
			if got := fallbacks(t, tr); got != "0" {
				t.Errorf("SSE fallbacks = %s", got)
			}
		})
	}
}

// cancelServer answers "slow" with an event stream that stays open until
// the client closes it, and records that it did.
type cancelServer struct {
	*httptest.Server
	closed chan string
	mu     sync.Mutex
	posts  []string
}

func newCancelServer(t *testing.T) *cancelServer {
	s := &cancelServer{closed: make(chan string, 4)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		env, _ := jsonrpc.Peek(body)
		s.mu.Lock()
		s.posts = append(s.posts, env.Method)
		s.mu.Unlock()
		switch env.Method {
		case "slow", "subscriptions/listen":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "data: %s\n\n", jsonrpc.Notification("notifications/progress", []byte(`{"progressToken":1,"progress":1}`)))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			s.closed <- string(env.ID)
		default:
			if env.Method == "initialize" {
				w.Header().Set("Mcp-Session-Id", "s1")
			}
			if resp := plugintest.Echo(body); resp != nil {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(resp)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestModernCancelClosesStream checks that cancelling a modern request
// closes its stream, sends nothing, and answers nothing, while a legacy
// request's cancellation is still sent as a notification.
func TestModernCancelClosesStream(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"slow", "subscriptions/listen"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			s := newCancelServer(t)
			// request_timeout must not cut a listen stream either.
			c := plugintest.Open(t, New(quiet()), configFor(t, s.URL, map[string]any{"request_timeout": "300ms"}), 0)
			resp, _ := await(t, c, initializeMsg) // a legacy session on the side
			wantResult(t, resp, "echo")
			send(t, c, modern("7", method, ""))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if msg, err := c.Recv(ctx); err != nil || !bytes.Contains(msg, []byte("notifications/progress")) {
				t.Fatalf("first message on the stream: %s, %v", msg, err)
			}
			if method == "subscriptions/listen" {
				select {
				case id := <-s.closed:
					t.Fatalf("stream %s closed before the cancellation", id)
				case <-time.After(600 * time.Millisecond):
				}
			}
			send(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}`)
			select {
			case id := <-s.closed:
				if id != "7" {
					t.Errorf("closed stream %s, want 7", id)
				}
			case <-ctx.Done():
				t.Fatal("the stream was not closed")
			}
			// A legacy cancellation (the host's session has one) is sent.
			send(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`)
			resp, others := await(t, c, `{"jsonrpc":"2.0","id":8,"method":"echo"}`)
			wantResult(t, resp, "echo")
			if len(others) > 0 {
				t.Errorf("unexpected messages %q", others)
			}
			// The notification's POST is written before the echo's, but the
			// server may record it after answering the echo: the last two
			// are compared in sorted order.
			want := "initialize," + method + ",echo,notifications/cancelled"
			poll.Within(t, 5*time.Second, "POSTs "+want, func() error {
				s.mu.Lock()
				posts := append([]string(nil), s.posts...)
				s.mu.Unlock()
				slices.Sort(posts[2:])
				if got := strings.Join(posts, ","); got != want {
					return fmt.Errorf("POSTs %s", got)
				}
				return nil
			})
		})
	}
}
