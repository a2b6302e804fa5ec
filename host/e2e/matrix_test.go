//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/tidwall/gjson"
)

// ---------------------------------------------------------------------------
// Backend transports and client listeners.

// matrixBackend is one backend transport through which mcphost reaches the
// example server, always as server "ex".
type matrixBackend struct {
	name string
	// servers starts the example server if it runs on its own, and returns
	// the HCL server block of "ex".
	servers func(t *testing.T) string
}

var matrixBackends = []matrixBackend{
	{name: "stdio", servers: func(*testing.T) string { return exampleServer("ex") }},
	{name: "http", servers: func(t *testing.T) string {
		e := startNetExample(t, "http", "127.0.0.1:0", "ex")
		return fmt.Sprintf(`
server "ex" {
  transport "http" {
    mode = "streamable"
    url  = "http://%s/mcp"
  }
}
`, e.addr)
	}},
	{name: "sse", servers: func(t *testing.T) string {
		e := startNetExample(t, "sse", "127.0.0.1:0", "ex")
		return fmt.Sprintf(`
server "ex" {
  transport "http" {
    mode = "sse"
    url  = "http://%s/sse"
  }
}
`, e.addr)
	}},
	{name: "websocket", servers: func(t *testing.T) string {
		e := startNetExample(t, "ws", "127.0.0.1:0", "ex")
		return fmt.Sprintf(`
server "ex" {
  transport "websocket" {
    url = "ws://%s/ws"
  }
}
`, e.addr)
	}},
}

// sseURL and wsURL are the legacy HTTP+SSE and WebSocket endpoints of the
// listener whose streamable HTTP endpoint is mcpURL.
func sseURL(mcpURL string) string { return strings.TrimSuffix(mcpURL, "/mcp") + "/sse" }

func wsURL(mcpURL string) string {
	return "ws" + strings.TrimPrefix(strings.TrimSuffix(mcpURL, "/mcp"), "http") + "/ws"
}

// ---------------------------------------------------------------------------
// The checks of one cell.

// cellClient is one client session of the proxy, however it is reached.
type cellClient interface {
	toolNames(ctx context.Context) ([]string, error)
	// sleep calls the sleep tool with progress token tok and returns its
	// text and how many progress notifications for tok came before it.
	sleep(ctx context.Context, tok string) (string, int, error)
	read(ctx context.Context, uri string) (string, error)
	callText(ctx context.Context, name string, args map[string]any) (string, error)
	// listChanged is how many notifications/tools/list_changed came so far.
	listChanged() int
}

// checkCell lists the tools, calls sleep with progress, reads the static
// resource and has the backend add a tool, expecting list_changed. The
// backend behind a cell is shared by the cells of its group, so the
// list_changed seen may be another cell's; the tool this cell added must
// be listed after it all the same.
func checkCell(t *testing.T, c cellClient, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	names, err := c.toolNames(ctx)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	if !slices.Contains(names, "mcp__proxy__ex__echo") {
		t.Fatalf("tools/list lacks mcp__proxy__ex__echo: %v", names)
	}

	text, progress, err := c.sleep(ctx, "tok-"+tag)
	if err != nil {
		t.Fatalf("sleep: %v", err)
	}
	if text != "slept 300ms" {
		t.Errorf("sleep = %q, want \"slept 300ms\"", text)
	}
	if progress < 1 {
		t.Errorf("no progress notification before the sleep result")
	}

	const uri = "mcp+proxy://ex/example://static/hello"
	if got, err := c.read(ctx, uri); err != nil || got != "Hello from ex" {
		t.Errorf("read %s = %q, %v; want \"Hello from ex\"", uri, got, err)
	}

	before := c.listChanged()
	tool := "added_" + tag
	if got, err := c.callText(ctx, "mcp__proxy__ex__add_tool", map[string]any{"name": tool}); err != nil || got != "added "+tool {
		t.Fatalf("add_tool = %q, %v", got, err)
	}
	poll.Within(t, 30*time.Second, "notifications/tools/list_changed after add_tool", func() error {
		if c.listChanged() <= before {
			return errors.New("none received")
		}
		return nil
	})
	poll.Within(t, 30*time.Second, "the added tool listed", func() error {
		names, err := c.toolNames(ctx)
		if err == nil && !slices.Contains(names, "mcp__proxy__ex__"+tool) {
			err = fmt.Errorf("mcp__proxy__ex__%s not among %d tools", tool, len(names))
		}
		return err
	})
}

// mcpgoCell is an mcp-go client with its notifications recorded.
type mcpgoCell struct {
	c   *client.Client
	rec *notifRecorder
}

func (m mcpgoCell) toolNames(ctx context.Context) ([]string, error) {
	res, err := m.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names, nil
}

func (m mcpgoCell) sleep(ctx context.Context, tok string) (string, int, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = "mcp__proxy__ex__sleep"
	req.Params.Arguments = map[string]any{"ms": 300, "steps": 3}
	req.Params.Meta = &mcp.Meta{ProgressToken: tok}
	res, err := m.c.CallTool(ctx, req)
	// mcp-go hands notifications to the handler on the goroutine that reads
	// the stream, before the response that follows them.
	progress := len(m.rec.matching(func(n mcp.JSONRPCNotification) bool {
		return n.Method == "notifications/progress" && notifParam(n, "progressToken") == tok
	}))
	if err != nil {
		return "", 0, err
	}
	text, err := toolText(res)
	return text, progress, err
}

func (m mcpgoCell) read(ctx context.Context, uri string) (string, error) {
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := m.c.ReadResource(ctx, req)
	if err != nil {
		return "", err
	}
	if len(res.Contents) != 1 {
		return "", fmt.Errorf("%d contents", len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		return "", fmt.Errorf("content is %T", res.Contents[0])
	}
	return tc.Text, nil
}

func (m mcpgoCell) callText(ctx context.Context, name string, args map[string]any) (string, error) {
	return tryCall(ctx, m.c, name, args)
}

func (m mcpgoCell) listChanged() int {
	return len(m.rec.matching(isMethod("notifications/tools/list_changed")))
}

// rpcCell is a raw JSON-RPC client (the WebSocket one).
type rpcCell struct{ c rpcCaller }

// rpcCaller sends a request and returns its response.
type rpcCaller interface {
	call(ctx context.Context, method string, params any) (rpcReply, error)
	mux() *rpcMux
}

func (r rpcCell) toolNames(ctx context.Context) ([]string, error) {
	rep, err := r.c.call(ctx, "tools/list", map[string]any{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range gjson.GetBytes(rep.msg, "result.tools.#.name").Array() {
		names = append(names, n.Str)
	}
	return names, nil
}

func (r rpcCell) sleep(ctx context.Context, tok string) (string, int, error) {
	rep, err := r.c.call(ctx, "tools/call", map[string]any{
		"name": "mcp__proxy__ex__sleep", "arguments": map[string]any{"ms": 300, "steps": 3},
		"_meta": map[string]any{"progressToken": tok},
	})
	if err != nil {
		return "", 0, err
	}
	progress := 0
	for _, n := range r.c.mux().notesBefore(rep.notesBefore) {
		if n.method == "notifications/progress" && gjson.Get(n.params, "progressToken").Str == tok {
			progress++
		}
	}
	text, err := resultText(rep.msg)
	return text, progress, err
}

func (r rpcCell) read(ctx context.Context, uri string) (string, error) {
	rep, err := r.c.call(ctx, "resources/read", map[string]any{"uri": uri})
	if err != nil {
		return "", err
	}
	contents := gjson.GetBytes(rep.msg, "result.contents").Array()
	if len(contents) != 1 {
		return "", fmt.Errorf("%d contents in %s", len(contents), rep.msg)
	}
	return contents[0].Get("text").Str, nil
}

func (r rpcCell) callText(ctx context.Context, name string, args map[string]any) (string, error) {
	rep, err := r.c.call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", err
	}
	return resultText(rep.msg)
}

func (r rpcCell) listChanged() int {
	n := 0
	for _, note := range r.c.mux().notesBefore(-1) {
		if note.method == "notifications/tools/list_changed" {
			n++
		}
	}
	return n
}

// resultText decodes a tools/call response and returns its first text
// content; it is used on 50 MiB results too, so it decodes nothing else.
func resultText(msg []byte) (string, error) {
	var resp struct {
		Error  json.RawMessage `json:"error"`
		Result struct {
			IsError bool `json:"isError"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(msg, &resp); err != nil {
		return "", err
	}
	switch {
	case resp.Error != nil:
		return "", fmt.Errorf("error %s", resp.Error)
	case resp.Result.IsError:
		return "", fmt.Errorf("tool error %+v", resp.Result.Content)
	case len(resp.Result.Content) == 0 || resp.Result.Content[0].Type != "text":
		return "", fmt.Errorf("no text content in %.300s", msg)
	}
	return resp.Result.Content[0].Text, nil
}

// ---------------------------------------------------------------------------
// Raw JSON-RPC clients: WebSocket, legacy HTTP+SSE and streamable HTTP.

// rpcMux matches responses to requests by id and keeps notifications in
// arrival order, for clients whose messages all arrive on one stream.
type rpcMux struct {
	mu     sync.Mutex
	wait   map[string]chan rpcReply
	notes  []rpcNote
	nextID atomic.Int64
	closed chan struct{}
	// answer replies to a server→client request (ping): no capability is
	// declared, so nothing else is expected.
	answer func(msg []byte) error
}

type rpcNote struct{ method, params string }

// rpcReply is a response, and how many notifications preceded it.
type rpcReply struct {
	msg         []byte
	notesBefore int
}

func newRPCMux(answer func([]byte) error) *rpcMux {
	return &rpcMux{wait: map[string]chan rpcReply{}, closed: make(chan struct{}), answer: answer}
}

// dispatch routes one received message.
func (m *rpcMux) dispatch(msg []byte) {
	id, method := gjson.GetBytes(msg, "id"), gjson.GetBytes(msg, "method")
	switch {
	case method.Exists() && id.Exists():
		_ = m.answer(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{}}`, id.Raw))
	case method.Exists():
		m.mu.Lock()
		m.notes = append(m.notes, rpcNote{method.Str, gjson.GetBytes(msg, "params").Raw})
		m.mu.Unlock()
	default:
		m.mu.Lock()
		ch := m.wait[id.Raw]
		delete(m.wait, id.Raw)
		n := len(m.notes)
		m.mu.Unlock()
		if ch != nil {
			ch <- rpcReply{msg: msg, notesBefore: n}
		}
	}
}

// notesBefore returns the first n notifications, or all if n < 0.
func (m *rpcMux) notesBefore(n int) []rpcNote {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n < 0 || n > len(m.notes) {
		n = len(m.notes)
	}
	return slices.Clone(m.notes[:n])
}

// request encodes a request with a fresh id and registers its waiter.
func (m *rpcMux) request(method string, params any) ([]byte, chan rpcReply, error) {
	id := m.nextID.Add(1)
	raw, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan rpcReply, 1)
	m.mu.Lock()
	m.wait[fmt.Sprint(id)] = ch
	m.mu.Unlock()
	return raw, ch, nil
}

// await waits for the response on ch; a JSON-RPC error is an error.
func (m *rpcMux) await(ctx context.Context, method string, ch chan rpcReply) (rpcReply, error) {
	select {
	case r := <-ch:
		if e := gjson.GetBytes(r.msg, "error"); e.Exists() {
			return r, fmt.Errorf("%s: error %s", method, e.Raw)
		}
		return r, nil
	case <-m.closed:
		return rpcReply{}, fmt.Errorf("%s: the connection closed", method)
	case <-ctx.Done():
		return rpcReply{}, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// initParams are the initialize params of the raw clients.
var initParams = map[string]any{
	"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
	"clientInfo": map[string]any{"name": "mcphost-e2e-raw", "version": "1"},
}

// wsRPC is a WebSocket client of the proxy's /ws endpoint.
type wsRPC struct {
	c *websocket.Conn
	m *rpcMux
}

// dialWS connects to url with subprotocol mcp and initializes a session.
func dialWS(t *testing.T, url string) *wsRPC {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mcp"}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(128 << 20)
	w := &wsRPC{c: c}
	w.m = newRPCMux(func(msg []byte) error { return c.Write(context.Background(), websocket.MessageText, msg) })
	go func() {
		defer close(w.m.closed)
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if typ == websocket.MessageText {
				w.m.dispatch(data)
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close(websocket.StatusNormalClosure, "")
		<-w.m.closed
	})
	if _, err := w.call(ctx, "initialize", initParams); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *wsRPC) mux() *rpcMux { return w.m }

func (w *wsRPC) call(ctx context.Context, method string, params any) (rpcReply, error) {
	raw, ch, err := w.m.request(method, params)
	if err != nil {
		return rpcReply{}, err
	}
	if err := w.c.Write(ctx, websocket.MessageText, raw); err != nil {
		return rpcReply{}, fmt.Errorf("%s: %w", method, err)
	}
	return w.m.await(ctx, method, ch)
}

// readEvents reads server-sent events from r and calls fn with each event's
// type and data until r ends or fn returns false. Lines may be of any
// length.
func readEvents(r io.Reader, fn func(event string, data []byte) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var event string
	var data []byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if data != nil && !fn(event, data) {
				return nil
			}
			event, data = "", nil
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if data != nil {
				data = append(append(data, '\n'), d...)
			} else {
				data = d
			}
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		}
	}
}

// sseRPC is a legacy HTTP+SSE client: GET /sse, POST /message?sessionId=.
type sseRPC struct {
	hc       *http.Client
	endpoint string
	m        *rpcMux
}

// dialSSE opens the SSE stream at url and initializes a session.
func dialSSE(t *testing.T, rawURL string) *sseRPC {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	streamCtx, stop := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(streamCtx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	s := &sseRPC{hc: &http.Client{}}
	s.m = newRPCMux(func(msg []byte) error { return s.post(context.Background(), msg) })
	resp, err := s.hc.Do(req)
	if err != nil {
		stop()
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	endpoint := make(chan string, 1)
	go func() {
		defer close(s.m.closed)
		defer resp.Body.Close()
		_ = readEvents(resp.Body, func(event string, data []byte) bool {
			if event == "endpoint" {
				endpoint <- string(data)
			} else {
				s.m.dispatch(data)
			}
			return true
		})
	}()
	t.Cleanup(func() {
		stop()
		<-s.m.closed
		s.hc.CloseIdleConnections()
	})
	select {
	case e := <-endpoint:
		base, _ := url.Parse(rawURL)
		ref, err := url.Parse(e)
		if err != nil {
			t.Fatalf("endpoint %q: %v", e, err)
		}
		s.endpoint = base.ResolveReference(ref).String()
	case <-s.m.closed:
		t.Fatalf("the SSE stream of %s ended before its endpoint event", rawURL)
	case <-ctx.Done():
		t.Fatalf("no endpoint event from %s", rawURL)
	}
	if _, err := s.call(ctx, "initialize", initParams); err != nil {
		t.Fatal(err)
	}
	if err := s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sseRPC) mux() *rpcMux { return s.m }

func (s *sseRPC) post(ctx context.Context, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", s.endpoint, resp.Status, body)
	}
	return nil
}

func (s *sseRPC) call(ctx context.Context, method string, params any) (rpcReply, error) {
	raw, ch, err := s.m.request(method, params)
	if err != nil {
		return rpcReply{}, err
	}
	if err := s.post(ctx, raw); err != nil {
		return rpcReply{}, fmt.Errorf("%s: %w", method, err)
	}
	return s.m.await(ctx, method, ch)
}

// httpRPC is one streamable HTTP session, each response read from its
// POST's body (JSON or an SSE stream).
type httpRPC struct {
	hc      *http.Client
	url     string
	session string
	nextID  atomic.Int64
}

// openHTTP initializes a streamable HTTP session at url.
func openHTTP(ctx context.Context, hc *http.Client, url string) (*httpRPC, error) {
	h := &httpRPC{hc: hc, url: url}
	resp, err := h.post(ctx, map[string]any{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": initParams})
	if err != nil {
		return nil, err
	}
	h.session = resp.Header.Get("Mcp-Session-Id")
	msg, err := h.response(resp, "0")
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if h.session == "" {
		return nil, fmt.Errorf("initialize: no Mcp-Session-Id in the answer %s", msg)
	}
	resp, err = h.post(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("notifications/initialized: %s", resp.Status)
	}
	return h, nil
}

func (h *httpRPC) post(ctx context.Context, msg any) (*http.Response, error) {
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if h.session != "" {
		req.Header.Set("Mcp-Session-Id", h.session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("POST: %s: %s", resp.Status, body)
	}
	return resp, nil
}

// response reads the response with id from resp, closing its body.
func (h *httpRPC) response(resp *http.Response, id string) ([]byte, error) {
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return io.ReadAll(resp.Body)
	}
	var msg []byte
	err := readEvents(resp.Body, func(_ string, data []byte) bool {
		if r := gjson.GetBytes(data, "id"); r.Exists() && r.Raw == id && !gjson.GetBytes(data, "method").Exists() {
			msg = data
			return false
		}
		return true
	})
	if msg == nil {
		return nil, fmt.Errorf("the stream ended without the response to %s: %v", id, err)
	}
	return msg, nil
}

// call sends a request and returns its response; a JSON-RPC error is an
// error.
func (h *httpRPC) call(ctx context.Context, method string, params any) ([]byte, error) {
	id := h.nextID.Add(1)
	resp, err := h.post(ctx, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	msg, err := h.response(resp, fmt.Sprint(id))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if e := gjson.GetBytes(msg, "error"); e.Exists() {
		return msg, fmt.Errorf("%s: error %s", method, e.Raw)
	}
	return msg, nil
}

// remove DELETEs the session.
func (h *httpRPC) remove(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, h.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Mcp-Session-Id", h.session)
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("DELETE: %s", resp.Status)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Tests.

// TestTransportMatrix drives every client listener (stdio, streamable
// HTTP, legacy HTTP+SSE, WebSocket) against every backend transport
// (stdio, streamable HTTP, legacy HTTP+SSE, WebSocket): listing, progress
// ahead of a result, a resource read and tools/list_changed. Per backend
// transport one HTTP listener serves the three HTTP-based cells and one
// `mcphost run --stdio` the stdio cell; the backend groups run one after
// the other, the cells of a group in parallel.
func TestTransportMatrix(t *testing.T) {
	t.Parallel()
	clients := []struct {
		name string
		open func(t *testing.T, servers, mcpURL string) cellClient
	}{
		{"stdio", func(t *testing.T, servers, _ string) cellClient {
			rec := &notifRecorder{}
			c, stderr := proxyModes[0].connect(t, servers, clientOptions{notifications: rec.handle})
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("mcphost --stdio stderr:\n%s", tail(stderr.String(), 8000))
				}
			})
			return mcpgoCell{c, rec}
		}},
		{"http", func(t *testing.T, _, mcpURL string) cellClient {
			rec := &notifRecorder{}
			return mcpgoCell{httpClient(t, mcpURL, clientOptions{notifications: rec.handle}), rec}
		}},
		{"sse", func(t *testing.T, _, mcpURL string) cellClient {
			rec := &notifRecorder{}
			c, err := client.NewSSEMCPClient(sseURL(mcpURL))
			if err != nil {
				t.Fatal(err)
			}
			return mcpgoCell{connect(t, c, clientOptions{notifications: rec.handle}), rec}
		}},
		{"websocket", func(t *testing.T, _, mcpURL string) cellClient {
			return rpcCell{dialWS(t, wsURL(mcpURL))}
		}},
	}
	for _, b := range matrixBackends {
		t.Run("backend="+b.name, func(t *testing.T) {
			servers := b.servers(t)
			p := startHTTPProxy(t, servers)
			for _, cl := range clients {
				t.Run("client="+cl.name, func(t *testing.T) {
					t.Parallel()
					start := time.Now()
					checkCell(t, cl.open(t, servers, p.URL), cl.name+"_via_"+b.name)
					if t.Failed() && cl.name != "stdio" {
						t.Logf("mcphost stderr:\n%s", tail(p.Stderr.String(), 8000))
					}
					t.Logf("client %s × backend %s: ok in %s", cl.name, b.name, time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
}

// TestLargeResultAcrossTransports moves a 50 MiB tools/call result through
// every backend transport (to a streamable HTTP client) and through every
// client listener (from the stdio backend), checking it byte for byte. The
// clients are raw: mcp-go's decoding of 50 MiB is slow under -race. The
// transfers run one at a time, and not beside other top-level tests, for
// the reason given at TestConcurrentCallsNoLossNoCrossing.
func TestLargeResultAcrossTransports(t *testing.T) {
	const n = 50 << 20
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	want := strings.Repeat(alphabet, n/len(alphabet)+1)[:n]
	check := func(t *testing.T, got string, start time.Time) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("got %d bytes, want %d", len(got), n)
		}
		if got != want {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("payload differs from byte %d: got %q, want %q", i, got[i:min(i+26, n)], want[i:min(i+26, n)])
		}
		t.Logf("%d bytes in %s", n, time.Since(start).Round(time.Millisecond))
	}
	args := map[string]any{"name": "mcp__proxy__ex__bytes", "arguments": map[string]any{"n": n}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	for _, b := range matrixBackends {
		t.Run("backend="+b.name+"/client=http", func(t *testing.T) {
			p := startHTTPProxy(t, b.servers(t))
			hc := &http.Client{}
			defer hc.CloseIdleConnections()
			h, err := openHTTP(ctx, hc, p.URL)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			msg, err := h.call(ctx, "tools/call", args)
			if err != nil {
				t.Fatalf("%v\n%s", err, tail(p.Stderr.String(), 4000))
			}
			got, err := resultText(msg)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, start)
			if err := h.remove(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	// The stdio backend behind the other client listeners; its streamable
	// HTTP cell ran above.
	t.Run("backend=stdio/client=stdio", func(t *testing.T) {
		rc := startRawStdio(t, writeConfig(t, exampleServer("ex")))
		start := time.Now()
		got, rpcErr, err := rc.callTool(ctx, "mcp__proxy__ex__bytes", map[string]any{"n": n})
		if err != nil || rpcErr != nil {
			t.Fatalf("bytes: %v %+v", err, rpcErr)
		}
		check(t, got, start)
	})
	// The proxies of the subtests above are stopped; this one serves the
	// SSE and WebSocket cells.
	p := startHTTPProxy(t, exampleServer("ex"))
	for _, cl := range []struct {
		name string
		dial func(t *testing.T) rpcCaller
	}{
		{"sse", func(t *testing.T) rpcCaller { return dialSSE(t, sseURL(p.URL)) }},
		{"websocket", func(t *testing.T) rpcCaller { return dialWS(t, wsURL(p.URL)) }},
	} {
		t.Run("backend=stdio/client="+cl.name, func(t *testing.T) {
			c := cl.dial(t)
			start := time.Now()
			rep, err := c.call(ctx, "tools/call", args)
			if err != nil {
				t.Fatalf("%v\n%s", err, tail(p.Stderr.String(), 4000))
			}
			got, err := resultText(rep.msg)
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, start)
		})
	}
}

// Test200ConcurrentHTTPSessions opens 200 streamable HTTP sessions at once,
// each making 20 echo calls in turn with texts no other call uses: every
// response must carry its own request's text. Then every session is
// DELETEd, after which it is unknown. Not parallel with other top-level
// tests, for the reason given at TestConcurrentCallsNoLossNoCrossing.
func Test200ConcurrentHTTPSessions(t *testing.T) {
	const sessions, calls = 200, 20
	p := startHTTPProxy(t, exampleServer("ex"))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: sessions}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var errMu sync.Mutex
	var errs []string
	var failed, ok atomic.Int64
	report := func(format string, args ...any) {
		failed.Add(1)
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()
	opened := make([]*httpRPC, sessions)
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Go(func() {
			h, err := openHTTP(ctx, hc, p.URL)
			if err != nil {
				report("session %d: %v", s, err)
				return
			}
			opened[s] = h
			for i := range calls {
				want := fmt.Sprintf("s%d-c%d-%s", s, i, h.session)
				msg, err := h.call(ctx, "tools/call", map[string]any{"name": "mcp__proxy__ex__echo", "arguments": map[string]any{"text": want}})
				if err != nil {
					report("%s: %v", want, err)
					continue
				}
				got, err := resultText(msg)
				if err != nil {
					report("%s: %v", want, err)
					continue
				}
				if sc := gjson.GetBytes(msg, "result.structuredContent.text").Str; got != want || sc != want {
					report("crossed: sent %q, got text %q, structured %q", want, got, sc)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("%d sessions × %d calls in %s", sessions, calls, time.Since(start).Round(time.Millisecond))
	if n := failed.Load(); n > 0 {
		t.Errorf("%d failures or crossed responses; first:\n  %s", n, strings.Join(errs, "\n  "))
	}
	if got := ok.Load(); got != sessions*calls {
		t.Errorf("%d correct responses, want %d", got, sessions*calls)
	}
	ids := map[string]bool{}
	for _, h := range opened {
		if h != nil {
			ids[h.session] = true
		}
	}
	if len(ids) != sessions {
		t.Errorf("%d distinct session ids, want %d", len(ids), sessions)
	}
	failed.Store(0)
	errs = nil

	for _, h := range opened {
		if h == nil {
			continue
		}
		wg.Go(func() {
			if err := h.remove(ctx); err != nil {
				report("delete %s: %v", h.session, err)
				return
			}
			// The session is gone: a request on it is answered 404.
			_, err := h.call(ctx, "tools/list", map[string]any{})
			if err == nil || !strings.Contains(err.Error(), "404") {
				report("tools/list on deleted session %s: %v, want a 404", h.session, err)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d failures; first:\n  %s", n, strings.Join(errs, "\n  "))
	}
}
