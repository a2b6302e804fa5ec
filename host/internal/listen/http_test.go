package listen

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

const (
	acceptBoth = "application/json, text/event-stream"
	acceptJSON = "application/json"
	acceptSSE  = "text/event-stream"
)

// startHTTP serves a router with one fake backend on a real loopback port,
// streamable HTTP only.
func startHTTP(t *testing.T, tools ...string) (*HTTP, *fakeBackend) {
	t.Helper()
	return startListener(t, HTTPOptions{}, tools...)
}

var client = &http.Client{Timeout: waitTimeout}

func do(t *testing.T, method, url, session, accept, body string) *http.Response {
	t.Helper()
	return doAuth(t, method, url, session, accept, body, "")
}

// doAuth is do with "Authorization: Bearer token" when token is set.
func doAuth(t *testing.T, method, url, session, accept, body, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// initSession initializes a 2025-06-18 session over JSON and returns its
// id.
func initSession(t *testing.T, h *HTTP) string {
	t.Helper()
	return initSessionAt(t, h, "2025-06-18")
}

// initSessionAt initializes a session at version over JSON and returns
// its id.
func initSessionAt(t *testing.T, h *HTTP, version string) string {
	t.Helper()
	msg := strings.Replace(initializeMsg(`"init"`), "2025-06-18", version, 1)
	resp := do(t, http.MethodPost, h.URL(), "", acceptJSON, msg)
	body := readAll(t, resp)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize at %s: %d, session %q: %s", version, resp.StatusCode, id, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("initialize Content-Type %q", ct)
	}
	if v, _ := jsonrpc.GetString(body, "result.protocolVersion"); v != version {
		t.Fatalf("initialize at %s answered %s", version, body)
	}
	ack := do(t, http.MethodPost, h.URL(), id, acceptBoth, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if ack.StatusCode != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d", ack.StatusCode)
	}
	return id
}

// sseEvents reads an event stream's data lines into a channel, which is
// closed when the stream ends.
func sseEvents(body io.Reader) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				ch <- []byte(data)
			}
		}
	}()
	return ch
}

func next(t *testing.T, events <-chan []byte, what string) []byte {
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
	return nil
}

func TestHTTPRequests(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "echo")
	session := initSession(t, h)
	tests := []struct {
		name, method, session, accept, body string
		status                              int
		code                                int // JSON-RPC error code in the body; 0 for none
	}{
		{"notification", http.MethodPost, session, acceptBoth, `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, http.StatusAccepted, 0},
		{"no session id", http.MethodPost, "", acceptJSON, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, http.StatusBadRequest, jsonrpc.CodeInvalidRequest},
		{"unknown session", http.MethodPost, "nope", acceptJSON, `{"jsonrpc":"2.0","id":1,"method":"ping"}`, http.StatusNotFound, jsonrpc.CodeInvalidRequest},
		{"garbage", http.MethodPost, session, acceptJSON, `{nope`, http.StatusBadRequest, jsonrpc.CodeParseError},
		{"GET without SSE", http.MethodGet, session, acceptJSON, "", http.StatusNotAcceptable, jsonrpc.CodeInvalidRequest},
		{"PUT", http.MethodPut, session, acceptJSON, "", http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest},
		{"JSON ping", http.MethodPost, session, acceptJSON, `{"jsonrpc":"2.0","id":"p","method":"ping"}`, http.StatusOK, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := do(t, tc.method, h.URL(), tc.session, tc.accept, tc.body)
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

func TestHTTPSSEProgressBeforeResponse(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "progress")
	session := initSession(t, h)
	resp := do(t, http.MethodPost, h.URL(), session, acceptBoth,
		callMsg(`"c"`, "mcp__proxy__srv__progress", `{}`, `{"progressToken":"tok"}`))
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, ct)
	}
	events := sseEvents(resp.Body)
	for i := 1; i <= 2; i++ {
		ev := next(t, events, "progress")
		if m, _ := jsonrpc.GetString(ev, "method"); m != "notifications/progress" ||
			string(jsonrpc.Get(ev, "params.progressToken")) != `"tok"` ||
			string(jsonrpc.Get(ev, "params.progress")) != string(jsonrpc.Int(int64(i))) {
			t.Fatalf("event %d: %s", i, ev)
		}
	}
	final := next(t, events, "the response")
	if string(jsonrpc.Get(final, "id")) != `"c"` || jsonrpc.Get(final, "result") == nil {
		t.Fatalf("final event: %s", final)
	}
	if ev, ok := <-events; ok {
		t.Fatalf("event after the response: %s", ev)
	}
}

// A response with nothing before it goes out as plain JSON even to a client
// that also accepts SSE: one write, no stream.
func TestHTTPResponseFirstIsJSON(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "echo")
	session := initSession(t, h)
	resp := do(t, http.MethodPost, h.URL(), session, acceptBoth, callMsg(`"j"`, "mcp__proxy__srv__echo", `{"x":1}`, `{}`))
	body := readAll(t, resp)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, ct, body)
	}
	if string(jsonrpc.Get(body, "id")) != `"j"` || jsonrpc.Get(body, "result") == nil {
		t.Fatalf("body: %s", body)
	}
	// An SSE-only client still gets a stream.
	resp = do(t, http.MethodPost, h.URL(), session, acceptSSE, callMsg(`"s"`, "mcp__proxy__srv__echo", `{"x":1}`, `{}`))
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("SSE-only: status %d, Content-Type %q", resp.StatusCode, ct)
	}
	if final := next(t, sseEvents(resp.Body), "the response"); string(jsonrpc.Get(final, "id")) != `"s"` {
		t.Fatalf("SSE-only response: %s", final)
	}
}

func TestHTTPJSONOnly(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "progress")
	session := initSession(t, h)
	get := do(t, http.MethodGet, h.URL(), session, acceptSSE, "")
	if get.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", get.StatusCode)
	}
	stream := sseEvents(get.Body)
	// The delay lets the POST handler switch to JSON before progress comes.
	resp := do(t, http.MethodPost, h.URL(), session, acceptJSON,
		callMsg("5", "mcp__proxy__srv__progress", `{"delay":"50ms"}`, `{"progressToken":7}`))
	body := readAll(t, resp)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, ct, body)
	}
	if string(jsonrpc.Get(body, "id")) != "5" || jsonrpc.Get(body, "result.received") == nil {
		t.Fatalf("body: %s", body)
	}
	// Progress for a JSON-only request goes to the session's GET stream.
	for i := 1; i <= 2; i++ {
		ev := next(t, stream, "progress on the GET stream")
		if string(jsonrpc.Get(ev, "params.progressToken")) != "7" {
			t.Fatalf("GET stream event: %s", ev)
		}
	}
}

func TestHTTPGetStreamBroadcast(t *testing.T) {
	t.Parallel()
	h, f := startHTTP(t, "echo")
	session := initSession(t, h)
	get := do(t, http.MethodGet, h.URL(), session, acceptSSE, "")
	if ct := get.Header.Get("Content-Type"); get.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET: %d %q", get.StatusCode, ct)
	}
	if second := do(t, http.MethodGet, h.URL(), session, acceptSSE, ""); second.StatusCode != http.StatusConflict {
		t.Fatalf("second GET stream: %d, want %d", second.StatusCode, http.StatusConflict)
	}
	stream := sseEvents(get.Body)
	f.setTools("echo", "fresh")
	f.notify(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	ev := next(t, stream, "list_changed")
	if m, _ := jsonrpc.GetString(ev, "method"); m != "notifications/tools/list_changed" {
		t.Fatalf("GET stream event: %s", ev)
	}
	body := readAll(t, do(t, http.MethodPost, h.URL(), session, acceptJSON, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if !strings.Contains(string(body), `"mcp__proxy__srv__fresh"`) {
		t.Fatalf("tools/list after list_changed: %s", body)
	}
}

func TestHTTPDeleteAndShutdown(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t, "echo")
	h := NewHTTP(r, HTTPOptions{Address: "127.0.0.1:0"})
	if err := h.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve() }()

	gone := initSession(t, h)
	if resp := do(t, http.MethodDelete, h.URL(), gone, "", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp := do(t, http.MethodPost, h.URL(), gone, acceptJSON, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST after DELETE: %d", resp.StatusCode)
	}

	session := initSession(t, h)
	get := do(t, http.MethodGet, h.URL(), session, acceptSSE, "")
	stream := sseEvents(get.Body)
	if h.Sessions() != 1 {
		t.Fatalf("%d sessions before Shutdown, want 1", h.Sessions())
	}
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case ev, ok := <-stream:
		if ok {
			t.Fatalf("GET stream got %s after Shutdown", ev)
		}
	case <-time.After(waitTimeout):
		t.Fatal("GET stream still open after Shutdown")
	}
	if n := h.Sessions(); n != 0 {
		t.Fatalf("%d sessions after Shutdown", n)
	}
	req, _ := http.NewRequest(http.MethodPost, h.URL(), strings.NewReader(initializeMsg("1")))
	// Refused on a new connection, or EOF on a kept-alive one the server closed.
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("POST after Shutdown answered %d", resp.StatusCode)
	}
}

// A request whose answer is slow still gets its SSE stream's headers within
// about sseAfter (the listener's shared tick), so that nothing between
// client and proxy takes the wait for a dead connection.
func TestHTTPSlowAnswerOpensItsStream(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "hang")
	session := initSession(t, h)
	start := time.Now()
	resp := do(t, http.MethodPost, h.URL(), session, acceptBoth, callMsg(`"slow"`, "mcp__proxy__srv__hang", `{}`, `{}`))
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, ct)
	}
	if waited := time.Since(start); waited < sseAfter {
		t.Fatalf("the stream opened after %s, before anything came and before %s", waited, sseAfter)
	}
}
