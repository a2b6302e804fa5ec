package demoserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// modernMeta is the request _meta of a 2026-07-28 client.
func modernMeta() map[string]any {
	return map[string]any{
		mcp.MetaKeyProtocolVersion:                   mcp.ProtocolVersion20260728,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw-test", "version": "0"},
	}
}

// rawConn speaks JSON-RPC to the example server by hand, so that the tests
// see exactly what a pinned server answers, with no SDK in between.
type rawConn interface {
	// call sends a request and returns its response, and the HTTP status
	// it came with (0 off HTTP).
	call(t *testing.T, id int, method string, params map[string]any) (map[string]any, int)
	notify(t *testing.T, method string)
}

// lineConn (server_test.go) is the rawConn of stdio and TCP.
func (l *lineConn) call(t *testing.T, id int, method string, params map[string]any) (map[string]any, int) {
	t.Helper()
	l.t = t
	l.send(string(mustJSON(t, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})))
	return l.reply(id), 0
}

func (l *lineConn) notify(t *testing.T, method string) {
	t.Helper()
	l.t = t
	l.send(string(mustJSON(t, map[string]any{"jsonrpc": "2.0", "method": method})))
}

// httpConn is the rawConn of Streamable HTTP. It keeps the session and
// version of a legacy initialize, and sends the 2026-07-28 headers for a
// request whose _meta names that version.
type httpConn struct {
	url     string
	session string
	version string
}

func (h *httpConn) post(t *testing.T, msg map[string]any) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(mustJSON(t, msg)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	params, _ := msg["params"].(map[string]any)
	meta, _ := params["_meta"].(map[string]any)
	if v, _ := meta[mcp.MetaKeyProtocolVersion].(string); v != "" {
		req.Header.Set(mcp.HeaderProtocolVersion, v)
		req.Header.Set(mcp.HeaderMethod, msg["method"].(string))
		if name, ok := params["name"].(string); ok {
			req.Header.Set(mcp.HeaderName, name)
		}
	} else if h.session != "" {
		req.Header.Set(mcp.HeaderSessionID, h.session)
		req.Header.Set(mcp.HeaderProtocolVersion, h.version)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func (h *httpConn) call(t *testing.T, id int, method string, params map[string]any) (map[string]any, int) {
	t.Helper()
	resp, body := h.post(t, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	var msg map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for line := range strings.SplitSeq(string(body), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var m map[string]any
			if json.Unmarshal([]byte(data), &m) == nil && m["id"] == float64(id) {
				msg = m
			}
		}
	} else if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("%s: HTTP %s, body %q", method, resp.Status, body)
	}
	if method == string(mcp.MethodInitialize) {
		h.session = resp.Header.Get(mcp.HeaderSessionID)
		if res, ok := msg["result"].(map[string]any); ok {
			h.version, _ = res["protocolVersion"].(string)
		}
	}
	return msg, resp.StatusCode
}

func (h *httpConn) notify(t *testing.T, method string) {
	t.Helper()
	if resp, body := h.post(t, map[string]any{"jsonrpc": "2.0", "method": method}); resp.StatusCode/100 != 2 {
		t.Fatalf("%s: HTTP %s, body %q", method, resp.Status, body)
	}
}

var listeningRE = regexp.MustCompile(`listening on \w+ (\S+)`)

// startRun runs Run with args until the test ends. With a listener flag in
// args it returns the bound address, read from stderr; otherwise it returns
// a rawConn on the server's stdin and stdout.
func startRun(t *testing.T, args ...string) (string, *lineConn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	serverIn, clientOut := io.Pipe()
	clientIn, serverOut := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, args, serverIn, serverOut, errW)
		_ = serverOut.Close()
		_ = errW.Close()
		done <- err
	}()
	t.Cleanup(func() {
		_ = clientOut.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(testTimeout):
			t.Errorf("Run did not return after cancellation")
		}
	})
	stderr := bufio.NewReader(errR)
	listens := slices.ContainsFunc(args, func(a string) bool { return a == "-tcp" || a == "-http" || a == "-ws" || a == "-sse" })
	if !listens {
		go func() { _, _ = io.Copy(io.Discard, stderr) }()
		return "", &lineConn{t: t, w: clientOut, br: bufio.NewReader(clientIn)}
	}
	line, err := stderr.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v", err)
	}
	// Keep draining so later log lines never block Run.
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	m := listeningRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	return m[1], nil
}

// rawTransports start a server with the given extra flags and connect a
// rawConn to it.
var rawTransports = []struct {
	name    string
	connect func(t *testing.T, args ...string) rawConn
}{
	{"stdio", func(t *testing.T, args ...string) rawConn {
		_, c := startRun(t, args...)
		return c
	}},
	{"tcp", func(t *testing.T, args ...string) rawConn {
		addr, _ := startRun(t, append(args, "-tcp", "127.0.0.1:0")...)
		return dialLines(t, addr)
	}},
	{"http", func(t *testing.T, args ...string) rawConn {
		addr, _ := startRun(t, append(args, "-http", "127.0.0.1:0")...)
		return &httpConn{url: "http://" + addr + "/mcp"}
	}},
}

func errorCode(msg map[string]any) int {
	e, _ := msg["error"].(map[string]any)
	code, _ := e["code"].(float64)
	return int(code)
}

func resultOf(t *testing.T, what string, msg map[string]any) map[string]any {
	t.Helper()
	res, ok := msg["result"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no result in %v", what, msg)
	}
	return res
}

func firstText(res map[string]any) string {
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		return ""
	}
	block, _ := content[0].(map[string]any)
	text, _ := block["text"].(string)
	return text
}

// TestPinnedProtocolRaw checks, message by message, what a server pinned to
// each version answers to the two ways of starting a session and to a tool
// call, on every transport built on the line session and on HTTP.
func TestPinnedProtocolRaw(t *testing.T) {
	t.Parallel()
	addArgs := map[string]any{"name": "add", "arguments": map[string]any{"a": 2, "b": 3}}
	withMeta := func(params map[string]any) map[string]any {
		out := map[string]any{"_meta": modernMeta()}
		for k, v := range params {
			out[k] = v
		}
		return out
	}
	for _, tr := range rawTransports {
		for _, version := range append(slices.Clone(mcp.ValidProtocolVersions), "all") {
			t.Run(tr.name+"/"+version, func(t *testing.T) {
				t.Parallel()
				c := tr.connect(t, "-name", "pinned", "-protocol", version)
				discover, status := c.call(t, 1, string(mcp.MethodServerDiscover), withMeta(nil))

				if version == mcp.ProtocolVersion20260728 || version == "all" {
					res := resultOf(t, "discover", discover)
					want := []any{mcp.ProtocolVersion20260728}
					if version == "all" {
						want = nil
						for _, v := range mcp.ValidProtocolVersions {
							want = append(want, v)
						}
					}
					if got := res["supportedVersions"]; fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("supportedVersions = %v, want %v", got, want)
					}
					call, _ := c.call(t, 2, string(mcp.MethodToolsCall), withMeta(addArgs))
					res = resultOf(t, "modern tools/call", call)
					if firstText(res) != "5" || res["resultType"] != "complete" {
						t.Errorf("modern tools/call = %v", res)
					}
				}
				if version == mcp.ProtocolVersion20260728 {
					init, status := c.call(t, 3, string(mcp.MethodInitialize), map[string]any{
						"protocolVersion": mcp.ProtocolVersion20251125,
						"capabilities":    map[string]any{},
						"clientInfo":      map[string]any{"name": "raw-test", "version": "0"},
					})
					if errorCode(init) != mcp.UNSUPPORTED_PROTOCOL_VERSION || (status != 0 && status != http.StatusBadRequest) {
						t.Errorf("initialize = %v (HTTP %d), want error %d", init, status, mcp.UNSUPPORTED_PROTOCOL_VERSION)
					}
					call, _ := c.call(t, 4, string(mcp.MethodToolsCall), addArgs)
					if errorCode(call) != mcp.INVALID_PARAMS {
						t.Errorf("tools/call without _meta = %v, want error %d", call, mcp.INVALID_PARAMS)
					}
					return
				}

				// A legacy (or unpinned) server: the handshake works, and a
				// pinned one answers its own version whatever was asked.
				if version != "all" {
					if errorCode(discover) != mcp.METHOD_NOT_FOUND || (status != 0 && status != http.StatusNotFound) {
						t.Errorf("discover = %v (HTTP %d), want error %d", discover, status, mcp.METHOD_NOT_FOUND)
					}
				}
				asked := mcp.ProtocolVersion20250618
				if version == asked {
					asked = mcp.ProtocolVersion20251125
				}
				init, _ := c.call(t, 5, string(mcp.MethodInitialize), map[string]any{
					"protocolVersion": asked,
					"capabilities":    map[string]any{},
					"clientInfo":      map[string]any{"name": "raw-test", "version": "0"},
				})
				want := version
				if version == "all" {
					want = asked
				}
				if got := resultOf(t, "initialize", init)["protocolVersion"]; got != want {
					t.Errorf("initialize asking %s answered %v, want %s", asked, got, want)
				}
				c.notify(t, string(mcp.MethodNotificationInitialized))
				call, _ := c.call(t, 6, string(mcp.MethodToolsCall), addArgs)
				if got := firstText(resultOf(t, "tools/call", call)); got != "5" {
					t.Errorf("tools/call add = %q, want 5", got)
				}
				if version != "all" {
					call, _ := c.call(t, 7, string(mcp.MethodToolsCall), withMeta(addArgs))
					if errorCode(call) != mcp.UNSUPPORTED_PROTOCOL_VERSION {
						t.Errorf("2026-07-28 tools/call = %v, want error %d", call, mcp.UNSUPPORTED_PROTOCOL_VERSION)
					}
				}
			})
		}
	}
}

// clientTransports connect mcp-go's client to a server started with the
// given extra flags, over stdio or Streamable HTTP. getStream opens the
// legacy GET stream on HTTP, which is where mcp-go's server sends its
// server→client requests; it keeps the client on the legacy era.
var clientTransports = []struct {
	name    string
	connect func(t *testing.T, args []string, getStream bool) transport.Interface
}{
	{"stdio", func(t *testing.T, args []string, _ bool) transport.Interface {
		_, c := startRun(t, args...)
		return transport.NewIO(c.br, c.w, nil)
	}},
	{"http", func(t *testing.T, args []string, getStream bool) transport.Interface {
		addr, _ := startRun(t, append(args, "-http", "127.0.0.1:0")...)
		var opts []transport.StreamableHTTPCOption
		if getStream {
			//lint:ignore SA1019 a legacy session's server requests come on the GET stream
			opts = append(opts, transport.WithContinuousListening())
		}
		tr, err := transport.NewStreamableHTTP("http://"+addr+"/mcp", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}},
}

// startClient starts and initializes an mcp-go client on tr, returning it
// with the version it negotiated.
func startClient(t *testing.T, tr transport.Interface, opts ...client.ClientOption) (*client.Client, string) {
	t.Helper()
	opts = append([]client.ClientOption{
		client.WithSamplingHandler(handlers{}),
		client.WithElicitationHandler(handlers{}),
		client.WithRootsHandler(handlers{}),
	}, opts...)
	c := client.NewClient(tr, opts...)
	// Start's context outlives this function: the client serves the
	// server's requests under it.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "version-test", Version: "0"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c, res.ProtocolVersion
}

// TestClientAtEachVersion runs mcp-go's client pinned to each version
// against the unpinned server, which must serve them all.
func TestClientAtEachVersion(t *testing.T) {
	t.Parallel()
	for _, tr := range clientTransports {
		for _, version := range mcp.ValidProtocolVersions {
			t.Run(tr.name+"/"+version, func(t *testing.T) {
				t.Parallel()
				c, negotiated := startClient(t, tr.connect(t, []string{"-name", "any"}, false), client.WithProtocolVersion(version))
				if negotiated != version {
					t.Errorf("negotiated %s, want %s", negotiated, version)
				}
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(list.Tools, func(tool mcp.Tool) bool { return tool.Name == "add" }) {
					t.Errorf("tools/list lacks add: %d tools", len(list.Tools))
				}
				wantText(ctx, t, c, "add", map[string]any{"a": 40, "b": 2}, "42")
			})
		}
	}
}

// TestDefaultClientAgainstPinned runs mcp-go's default, dual-era client
// against a server pinned to each version: it must end up on exactly that
// version, through server/discover or its fallback to initialize, and the
// sampling, elicitation and roots tools must reach it in either era
// (input_required for 2026-07-28, a server→client request before). On HTTP
// a legacy client needs the GET stream for those requests, and a client
// with that stream skips server/discover, which TestPinnedProtocolRaw
// covers instead.
func TestDefaultClientAgainstPinned(t *testing.T) {
	t.Parallel()
	for _, tr := range clientTransports {
		for _, version := range mcp.ValidProtocolVersions {
			t.Run(tr.name+"/"+version, func(t *testing.T) {
				t.Parallel()
				getStream := !mcp.IsModernProtocol(version)
				c, negotiated := startClient(t, tr.connect(t, []string{"-name", "pinned", "-protocol", version}, getStream))
				if negotiated != version {
					t.Errorf("negotiated %s, want %s", negotiated, version)
				}
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				wantText(ctx, t, c, "add", map[string]any{"a": 1, "b": 2}, "3")
				wantText(ctx, t, c, "sample", map[string]any{"prompt": "hi"}, "sampled: reply to hi")
				wantText(ctx, t, c, "elicit", map[string]any{"message": "who?"}, `elicited: accept {"name":"alice"}`)
				wantText(ctx, t, c, "roots", nil, "file:///a\nfile:///b")
			})
		}
	}
}

func TestParseProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{"", AllProtocols, false},
		{"all", AllProtocols, false},
		{"2024-11-05", "2024-11-05", false},
		{"2026-07-28", "2026-07-28", false},
		{"2024-10-07", "", true},
		{"latest", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseProtocol(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseProtocol(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
}

func TestRunRejectsBadProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown version", []string{"-protocol", "2099-01-01"}},
		{"sse cannot be modern", []string{"-protocol", "2026-07-28", "-sse", "127.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Run(context.Background(), tt.args, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil {
				t.Fatalf("Run(%q) succeeded", tt.args)
			}
		})
	}
}

// TestPinnedSSE checks the refusal on the legacy HTTP+SSE transport, whose
// answers travel on the event stream.
func TestPinnedSSE(t *testing.T) {
	t.Parallel()
	addr, _ := startRun(t, "-name", "sse", "-protocol", mcp.ProtocolVersion20250326, "-sse", "127.0.0.1:0")
	tr, err := transport.NewSSE("http://" + addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	// The default client probes server/discover first, then falls back.
	_, negotiated := startClient(t, tr)
	if negotiated != mcp.ProtocolVersion20250326 {
		t.Errorf("negotiated %s, want %s", negotiated, mcp.ProtocolVersion20250326)
	}
}
