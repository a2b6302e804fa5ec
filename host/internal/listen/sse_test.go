package listen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/router"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// allTransports serves every client transport at its default path.
func allTransports() HTTPOptions {
	return HTTPOptions{SSEPath: "/sse", MessagePath: "/message", WebSocketPath: "/ws"}
}

// startListener serves a router with one fake backend on a real loopback
// port, with opts (whose Address is replaced).
func startListener(t *testing.T, opts HTTPOptions, tools ...string) (*HTTP, *fakeBackend) {
	t.Helper()
	r, f := newRouter(t, tools...)
	return serveListener(t, r, opts), f
}

// serveListener serves r on a real loopback port with opts (whose Address
// is replaced) until the test ends.
func serveListener(t *testing.T, r *router.Router, opts HTTPOptions) *HTTP {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	h := NewHTTP(r, opts)
	if err := h.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve() }()
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// endpointURL is path (with its query) on h's address.
func endpointURL(h *HTTP, path string) string {
	u, _ := url.Parse(h.URL())
	ref, _ := url.Parse(path)
	return u.ResolveReference(ref).String()
}

// sseEvent is one dispatched SSE event: its name, id and data, and the
// last retry the stream sent before it.
type sseEvent struct{ name, id, data, retry string }

// readSSE parses an event stream into a channel, closed when it ends; an
// event is dispatched when it has data.
func readSSE(body io.Reader) <-chan sseEvent { return scanSSE(body, false) }

// readEvents is readSSE that also dispatches an event with only an id (a
// priming event).
func readEvents(body io.Reader) <-chan sseEvent { return scanSSE(body, true) }

func scanSSE(body io.Reader, idOnly bool) <-chan sseEvent {
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		retry := ""
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.data != "" || idOnly && ev.id != "" {
					ev.retry = retry
					ch <- ev
				}
				ev = sseEvent{}
				continue
			}
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev.name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.data = v
			} else if v, ok := strings.CutPrefix(line, "id: "); ok {
				ev.id = v
			} else if v, ok := strings.CutPrefix(line, "retry: "); ok {
				retry = v
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, events <-chan sseEvent, what string) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatalf("stream ended before %s", what)
		}
		return ev
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
	return sseEvent{}
}

// nextMessage waits for an `event: message` and returns its data.
func nextMessage(t *testing.T, events <-chan sseEvent, what string) []byte {
	t.Helper()
	ev := nextEvent(t, events, what)
	if ev.name != "message" {
		t.Fatalf("%s: event %q (%s), want message", what, ev.name, ev.data)
	}
	return []byte(ev.data)
}

// streamClient has no timeout: it would cut event streams short.
var streamClient = &http.Client{}

// openSSE opens a legacy session and returns its stream, the URL to POST
// its messages to, and a function that ends the stream.
func openSSE(t *testing.T, h *HTTP) (<-chan sseEvent, string, context.CancelFunc) {
	t.Helper()
	return openSSEWith(t, h, "")
}

// openSSEWith is openSSE with "Authorization: Bearer token" when token is
// set.
func openSSEWith(t *testing.T, h *HTTP, token string) (<-chan sseEvent, string, context.CancelFunc) {
	t.Helper()
	resp, cancel := getSSE(t, h, token)
	events := readSSE(resp.Body)
	first := nextEvent(t, events, "the endpoint event")
	if first.name != "endpoint" || !strings.HasPrefix(first.data, "/message?sessionId=") ||
		len(first.data) == len("/message?sessionId=") {
		t.Fatalf("first event %q: %q", first.name, first.data)
	}
	return events, endpointURL(h, first.data), cancel
}

// getSSE opens a legacy session's stream (with "Authorization: Bearer
// token" when token is set) and returns the response and a function that
// ends it.
func getSSE(t *testing.T, h *HTTP, token string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.SSEURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", acceptSSE)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET %s: %d, Content-Type %q", h.SSEURL(), resp.StatusCode, ct)
	}
	return resp, cancel
}

// postLegacy POSTs msg to a legacy session, which must accept it.
func postLegacy(t *testing.T, endpoint, msg string) {
	t.Helper()
	resp := do(t, http.MethodPost, endpoint, "", "", msg)
	if body := readAll(t, resp); resp.StatusCode != http.StatusAccepted || len(body) != 0 {
		t.Fatalf("POST %s: %d %s", msg, resp.StatusCode, body)
	}
}

// waitSessions waits until h has n sessions open.
func waitSessions(t *testing.T, h *HTTP, n int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d sessions open", n), func() error {
		if got := h.Sessions(); got != n {
			return fmt.Errorf("%d sessions open", got)
		}
		return nil
	})
}

const legacyInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestSSESession(t *testing.T) {
	t.Parallel()
	h, f := startListener(t, allTransports(), "echo")
	events, endpoint, end := openSSE(t, h)

	postLegacy(t, endpoint, legacyInitialize)
	init := nextMessage(t, events, "the initialize response")
	if v, _ := jsonrpc.GetString(init, "result.protocolVersion"); string(jsonrpc.Get(init, "id")) != "1" || v != "2024-11-05" {
		t.Fatalf("initialize answered %s", init)
	}
	postLegacy(t, endpoint, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	postLegacy(t, endpoint, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := nextMessage(t, events, "the tools/list response")
	if string(jsonrpc.Get(list, "id")) != "2" || !strings.Contains(string(list), `"mcp__proxy__srv__echo"`) {
		t.Fatalf("tools/list answered %s", list)
	}
	postLegacy(t, endpoint, callMsg("3", "mcp__proxy__srv__echo", `{"a":1}`, ""))
	call := nextMessage(t, events, "the tools/call response")
	if string(jsonrpc.Get(call, "id")) != "3" || string(jsonrpc.Get(call, "result.received.arguments.a")) != "1" {
		t.Fatalf("tools/call answered %s", call)
	}

	f.setTools("echo", "fresh")
	f.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	changed := nextMessage(t, events, "list_changed")
	if m, _ := jsonrpc.GetString(changed, "method"); m != "notifications/tools/list_changed" {
		t.Fatalf("stream event: %s", changed)
	}

	if n := h.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	// The session lasts as long as its stream.
	end()
	waitSessions(t, h, 0)
	resp := do(t, http.MethodPost, endpoint, "", "", `{"jsonrpc":"2.0","id":4,"method":"ping"}`)
	if body := readAll(t, resp); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST after the stream ended: %d %s", resp.StatusCode, body)
	}
}

func TestSSEMessageErrors(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.MaxBytes = 1024
	h, _ := startListener(t, opts, "echo")
	_, endpoint, _ := openSSE(t, h)
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	tests := []struct {
		name, method, url, body string
		status                  int
		code                    int // JSON-RPC error code in the body; 0 for none
	}{
		{"notification", http.MethodPost, endpoint, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, http.StatusAccepted, 0},
		{"request", http.MethodPost, endpoint, ping, http.StatusAccepted, 0},
		{"unknown session", http.MethodPost, endpointURL(h, "/message?sessionId=nope"), ping, http.StatusNotFound, jsonrpc.CodeInvalidRequest},
		{"no session", http.MethodPost, endpointURL(h, "/message"), ping, http.StatusBadRequest, jsonrpc.CodeInvalidRequest},
		{"malformed JSON", http.MethodPost, endpoint, `{nope`, http.StatusBadRequest, jsonrpc.CodeParseError},
		{"too large", http.MethodPost, endpoint, `{"jsonrpc":"2.0","method":"x","params":"` + strings.Repeat("x", 2048) + `"}`,
			http.StatusRequestEntityTooLarge, jsonrpc.CodeMessageTooLarge},
		{"GET the message path", http.MethodGet, endpoint, "", http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest},
		{"POST the stream path", http.MethodPost, h.SSEURL(), ping, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, tc.method, tc.url, "", "", tc.body)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != 0 {
				if got := string(jsonrpc.Get(body, "error.code")); got != string(jsonrpc.Int(int64(tc.code))) {
					t.Fatalf("body %s, want error %d", body, tc.code)
				}
			}
		})
	}
}

// TestEndpointsShareChecks: the legacy and WebSocket endpoints are guarded
// like the streamable one.
func TestEndpointsShareChecks(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.AuthToken = "s3cret"
	h, _ := startListener(t, opts, "echo")
	endpoints := []struct{ method, path string }{
		{http.MethodGet, "/sse"}, {http.MethodPost, "/message?sessionId=x"}, {http.MethodGet, "/ws"},
	}
	checks := []struct {
		name                 string
		host, origin, bearer string
		status               int
	}{
		{"no token", "", "", "", http.StatusUnauthorized},
		{"wrong token", "", "", "Bearer nope", http.StatusUnauthorized},
		{"foreign origin", "", "https://evil.example", "Bearer s3cret", http.StatusForbidden},
		{"foreign host", "evil.example", "", "Bearer s3cret", http.StatusForbidden},
		{"unsupported protocol version", "", "", "Bearer s3cret", http.StatusBadRequest},
	}
	for _, e := range endpoints {
		for _, c := range checks {
			t.Run(e.method+" "+e.path+" "+c.name, func(t *testing.T) {
				t.Parallel()
				req, err := http.NewRequest(e.method, endpointURL(h, e.path), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
				if err != nil {
					t.Fatal(err)
				}
				if c.host != "" {
					req.Host = c.host
				}
				if c.origin != "" {
					req.Header.Set("Origin", c.origin)
				}
				if c.bearer != "" {
					req.Header.Set("Authorization", c.bearer)
				}
				if c.status == http.StatusBadRequest {
					req.Header.Set("MCP-Protocol-Version", "1999-01-01")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
				}
			})
		}
	}
}

// TestEndpointsDisabled: endpoints without a path, or whose path another
// endpoint already has, are not served.
func TestEndpointsDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		opts         HTTPOptions
		sse, ws      bool
		notFound     []string
		streamableAt string
	}{
		{"none", HTTPOptions{}, false, false, []string{"/sse", "/message", "/ws"}, "/mcp"},
		{"all", allTransports(), true, true, nil, "/mcp"},
		{"sse without message path", HTTPOptions{SSEPath: "/sse"}, false, false, []string{"/sse"}, "/mcp"},
		{"sse on the MCP path", HTTPOptions{SSEPath: "/mcp", MessagePath: "/message", WebSocketPath: "/ws"}, false, true, []string{"/message"}, "/mcp"},
		{"websocket on the message path", HTTPOptions{SSEPath: "/sse", MessagePath: "/x", WebSocketPath: "/x"}, true, false, nil, "/mcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := startListener(t, tc.opts, "echo")
			if got := h.SSEURL() != ""; got != tc.sse {
				t.Errorf("SSEURL() = %q, want served = %v", h.SSEURL(), tc.sse)
			}
			if got := h.WebSocketURL() != ""; got != tc.ws {
				t.Errorf("WebSocketURL() = %q, want served = %v", h.WebSocketURL(), tc.ws)
			}
			for _, p := range tc.notFound {
				if resp := do(t, http.MethodGet, endpointURL(h, p), "", acceptSSE, ""); resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
				}
			}
			// The streamable endpoint is always there.
			resp := do(t, http.MethodPost, endpointURL(h, tc.streamableAt), "", acceptJSON, initializeMsg("1"))
			if body := readAll(t, resp); resp.StatusCode != http.StatusOK {
				t.Errorf("initialize at %s: %d %s", tc.streamableAt, resp.StatusCode, body)
			}
		})
	}
}

// TestSSEMCPGoClient runs mcp-go's HTTP+SSE client against the legacy
// endpoint, through to the fake backend.
func TestSSEMCPGoClient(t *testing.T) {
	t.Parallel()
	h, _ := startListener(t, allTransports(), "echo", "text")
	c, err := mcpclient.NewSSEMCPClient(h.SSEURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// The stream lives under Start's context, which must outlive the calls.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			c.Close()
		}
	})
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20241105
	init.Params.ClientInfo = mcp.Implementation{Name: "sse-test", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if res.ProtocolVersion != mcp.ProtocolVersion20241105 {
		t.Fatalf("negotiated %q", res.ProtocolVersion)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if strings.Join(names, ",") != "mcp__proxy__srv__echo,mcp__proxy__srv__text" {
		t.Fatalf("tools %v", names)
	}
	call := mcp.CallToolRequest{}
	call.Params.Name = "mcp__proxy__srv__text"
	call.Params.Arguments = map[string]any{"text": "hello over SSE"}
	out, err := c.CallTool(ctx, call)
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if len(out.Content) != 1 {
		t.Fatalf("CallTool content %+v", out.Content)
	}
	if text, ok := out.Content[0].(mcp.TextContent); !ok || text.Text != "hello over SSE" {
		t.Fatalf("CallTool content %+v", out.Content[0])
	}
	if n := h.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	closed = true
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitSessions(t, h, 0)
}
