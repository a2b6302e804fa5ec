package demoserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/plugintest/syncbuf"
)

const testTimeout = 30 * time.Second

// recorder collects the notifications a client receives.
type recorder struct {
	mu    sync.Mutex
	notes []mcp.JSONRPCNotification
}

func (r *recorder) add(n mcp.JSONRPCNotification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

// count returns how many recorded notifications satisfy match.
func (r *recorder) count(match func(mcp.JSONRPCNotification) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, note := range r.notes {
		if match(note) {
			n++
		}
	}
	return n
}

// waitFor polls because notifications reach the client on its reader
// goroutine, independently of the call that caused them; it returns how
// many came.
func (r *recorder) waitFor(t *testing.T, want int, match func(mcp.JSONRPCNotification) bool) int {
	t.Helper()
	poll.Within(t, 5*time.Second, fmt.Sprintf("%d matching notifications", want), func() error {
		if got := r.count(match); got < want {
			return fmt.Errorf("%d came", got)
		}
		return nil
	})
	return r.count(match)
}

type handlers struct{}

func (handlers) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	if req.MaxTokens != 100 || len(req.Messages) != 1 || req.Messages[0].Role != mcp.RoleUser {
		return nil, fmt.Errorf("unexpected sampling request %+v", req.CreateMessageParams)
	}
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{
			Role:    mcp.RoleAssistant,
			Content: mcp.NewTextContent("reply to " + samplingText(req.Messages[0].Content)),
		},
		Model: "test-model",
	}, nil
}

func (handlers) Elicit(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
		Action:  mcp.ElicitationResponseActionAccept,
		Content: map[string]any{"name": "alice"},
	}}, nil
}

func (handlers) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return &mcp.ListRootsResult{Roots: []mcp.Root{
		{URI: "file:///a", Name: "a"},
		{URI: "file:///b", Name: "b"},
	}}, nil
}

// connect runs the server through Run on a pair of pipes, as a process
// would on stdin/stdout, and returns an initialized client. legacy selects
// the initialize handshake; otherwise the client negotiates protocol
// 2026-07-28, which exercises the multi round-trip path.
func connect(t *testing.T, name string, legacy bool) (*client.Client, *recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	serverIn, clientOut := io.Pipe()
	clientIn, serverOut := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Run(ctx, []string{"-name", name}, serverIn, serverOut, io.Discard)
		_ = serverOut.Close()
		done <- err
	}()

	opts := []client.ClientOption{
		client.WithSamplingHandler(handlers{}),
		client.WithElicitationHandler(handlers{}),
		client.WithRootsHandler(handlers{}),
	}
	if legacy {
		//lint:ignore SA1019 the legacy era is what this case tests
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c := client.NewClient(transport.NewIO(clientIn, clientOut, nil), opts...)
	rec := &recorder{}
	c.OnNotification(rec.add)

	t.Cleanup(func() {
		_ = c.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(testTimeout):
			t.Errorf("Run did not return after cancellation")
		}
	})

	callCtx, callCancel := context.WithTimeout(ctx, testTimeout)
	defer callCancel()
	// Start's context outlives connect: the client serves the server's
	// sampling, elicitation and roots requests under it.
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "mcpserver-test", Version: "0"}
	res, err := c.Initialize(callCtx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ServerInfo.Name != name {
		t.Fatalf("serverInfo name = %q, want %q", res.ServerInfo.Name, name)
	}
	return c, rec
}

func callTool(ctx context.Context, t *testing.T, c *client.Client, name string, args map[string]any, meta *mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = meta
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("call %s: error result %+v", name, res.Content)
	}
	return res
}

func textOf(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("got %d content blocks, want 1", len(res.Content))
	}
	tc, ok := mcp.AsTextContent(res.Content[0])
	if !ok {
		t.Fatalf("content is %T, not text", res.Content[0])
	}
	return tc.Text
}

func wantText(ctx context.Context, t *testing.T, c *client.Client, tool string, args map[string]any, want string) {
	t.Helper()
	if got := textOf(t, callTool(ctx, t, c, tool, args, nil)); got != want {
		t.Errorf("%s = %q, want %q", tool, got, want)
	}
}

func isMethod(method string) func(mcp.JSONRPCNotification) bool {
	return func(n mcp.JSONRPCNotification) bool { return n.Method == method }
}

func TestSession(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		run  func(ctx context.Context, t *testing.T, c *client.Client, rec *recorder, server string, legacy bool)
	}{
		{"list tools", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]mcp.Tool{}
			for _, tool := range res.Tools {
				got[tool.Name] = tool
			}
			for _, name := range []string{"echo", "add", "bytes", "sleep", "sample", "elicit", "roots", "add_tool", "crash", "log", "whoami", "describe", "request_meta"} {
				if _, ok := got[name]; !ok {
					t.Errorf("tool %q missing", name)
				}
			}
			if got["echo"].OutputSchema.Type == "" && got["echo"].RawOutputSchema == nil {
				t.Errorf("echo has no outputSchema")
			}
		}},
		{"echo", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			res := callTool(ctx, t, c, "echo", map[string]any{"text": "hi there"}, nil)
			if got := textOf(t, res); got != "hi there" {
				t.Errorf("text = %q", got)
			}
			sc, ok := res.StructuredContent.(map[string]any)
			if !ok || sc["text"] != "hi there" {
				t.Errorf("structuredContent = %#v", res.StructuredContent)
			}
		}},
		{"add", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			wantText(ctx, t, c, "add", map[string]any{"a": 2, "b": 3.5}, "5.5")
			wantText(ctx, t, c, "add", map[string]any{"a": 40, "b": 2}, "42")
		}},
		{"bytes", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			got := textOf(t, callTool(ctx, t, c, "bytes", map[string]any{"n": 1000}, nil))
			if len(got) != 1000 || !strings.HasPrefix(got, alphabet+"abc") {
				t.Errorf("got %d bytes starting %q", len(got), got[:min(len(got), 30)])
			}
		}},
		{"sleep with progress", func(ctx context.Context, t *testing.T, c *client.Client, rec *recorder, _ string, _ bool) {
			const token = "tok-1"
			res := callTool(ctx, t, c, "sleep", map[string]any{"ms": 50, "steps": 4}, &mcp.Meta{ProgressToken: token})
			if got := textOf(t, res); got != "slept 50ms" {
				t.Errorf("text = %q", got)
			}
			progress := func(n mcp.JSONRPCNotification) bool {
				return n.Method == string(mcp.MethodNotificationProgress) &&
					n.Params.AdditionalFields["progressToken"] == token
			}
			if got := rec.waitFor(t, 4, progress); got < 4 {
				t.Errorf("got %d progress notifications, want 4", got)
			}
		}},
		{"sleep cancelled", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			req := mcp.CallToolRequest{}
			req.Params.Name = "sleep"
			req.Params.Arguments = map[string]any{"ms": 60_000}
			start := time.Now()
			if _, err := c.CallTool(short, req); err == nil {
				t.Errorf("sleep 60s under a 50ms deadline succeeded")
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("cancelled call took %v", time.Since(start))
			}
			// The session must still serve requests afterwards.
			wantText(ctx, t, c, "add", map[string]any{"a": 1, "b": 1}, "2")
		}},
		{"sample", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			wantText(ctx, t, c, "sample", map[string]any{"prompt": "hello"}, "sampled: reply to hello")
		}},
		{"elicit", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			wantText(ctx, t, c, "elicit", map[string]any{"message": "who?"}, `elicited: accept {"name":"alice"}`)
		}},
		{"roots", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			wantText(ctx, t, c, "roots", nil, "file:///a\nfile:///b")
		}},
		{"log", func(ctx context.Context, t *testing.T, c *client.Client, rec *recorder, _ string, _ bool) {
			setLevel := mcp.SetLevelRequest{}
			setLevel.Params.Level = mcp.LoggingLevelDebug
			//lint:ignore SA1019 logging/setLevel is part of the legacy era tested here
			if err := c.SetLevel(ctx, setLevel); err != nil {
				t.Fatal(err)
			}
			wantText(ctx, t, c, "log", map[string]any{"level": "warning", "message": "careful"}, "logged")
			logged := func(n mcp.JSONRPCNotification) bool {
				return n.Method == string(mcp.MethodNotificationMessage) &&
					n.Params.AdditionalFields["level"] == "warning" &&
					n.Params.AdditionalFields["data"] == "careful"
			}
			if rec.waitFor(t, 1, logged) != 1 {
				t.Errorf("no log notification received")
			}
		}},
		{"request_meta", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			res := callTool(ctx, t, c, "request_meta", nil, &mcp.Meta{AdditionalFields: map[string]any{"traceparent": tp}})
			var meta map[string]any
			if err := json.Unmarshal([]byte(textOf(t, res)), &meta); err != nil || meta["traceparent"] != tp {
				t.Errorf("request_meta = %s (%v), want the traceparent sent", textOf(t, res), err)
			}
		}},
		{"whoami", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, server string, _ bool) {
			wantText(ctx, t, c, "whoami", nil, server)
		}},
		{"describe", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			args := map[string]any{"name": "n", "point": map[string]any{"x": 1.5, "y": -2.0}, "tags": []any{"a", "b"}}
			res := callTool(ctx, t, c, "describe", args, nil)
			want, _ := json.Marshal(args)
			if got := textOf(t, res); got != string(want) {
				t.Errorf("text = %s, want %s", got, want)
			}
			sc, ok := res.StructuredContent.(map[string]any)
			if !ok || !reflect.DeepEqual(sc["arguments"], args) {
				t.Errorf("structuredContent = %#v", res.StructuredContent)
			}
		}},
		{"resources", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, server string, _ bool) {
			read := func(uri string) mcp.ResourceContents {
				req := mcp.ReadResourceRequest{}
				req.Params.URI = uri
				res, err := c.ReadResource(ctx, req)
				if err != nil {
					t.Fatalf("read %s: %v", uri, err)
				}
				if len(res.Contents) != 1 {
					t.Fatalf("read %s: %d contents", uri, len(res.Contents))
				}
				return res.Contents[0]
			}
			if tc, ok := read(helloURI).(mcp.TextResourceContents); !ok || tc.Text != "Hello from "+server || tc.MIMEType != "text/plain" {
				t.Errorf("hello = %#v", tc)
			}
			bc, ok := read(blobURI).(mcp.BlobResourceContents)
			if !ok {
				t.Fatalf("blob is not a blob")
			}
			raw, err := base64.StdEncoding.DecodeString(bc.Blob)
			if err != nil || len(raw) != 256 || raw[0] != 0 || raw[255] != 255 || bc.MIMEType != "application/octet-stream" {
				t.Errorf("blob decoded to %d bytes, err %v, mime %q", len(raw), err, bc.MIMEType)
			}
			if tc, ok := read("example://items/42").(mcp.TextResourceContents); !ok || tc.Text != "item 42 from "+server {
				t.Errorf("item = %#v", tc)
			}
			tmpl, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
			if err != nil || len(tmpl.ResourceTemplates) != 1 {
				t.Errorf("templates = %+v, %v", tmpl, err)
			}
		}},
		{"prompts", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, server string, _ bool) {
			req := mcp.GetPromptRequest{}
			req.Params.Name = "greet"
			req.Params.Arguments = map[string]string{"name": "bob"}
			res, err := c.GetPrompt(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Messages) != 1 || res.Messages[0].Role != mcp.RoleUser {
				t.Fatalf("messages = %+v", res.Messages)
			}
			want := "Hello, bob! (from " + server + ")"
			if tc, ok := mcp.AsTextContent(res.Messages[0].Content); !ok || tc.Text != want {
				t.Errorf("greet = %#v, want %q", res.Messages[0].Content, want)
			}
			list, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
			if err != nil || len(list.Prompts) != 2 {
				t.Errorf("prompts = %+v, %v", list, err)
			}
		}},
		{"complete", func(ctx context.Context, t *testing.T, c *client.Client, _ *recorder, _ string, _ bool) {
			for prefix, want := range map[string]string{"b": "bob", "": "alice,bob,carol", "z": ""} {
				req := mcp.CompleteRequest{}
				req.Params.Ref = mcp.PromptReference{Type: "ref/prompt", Name: "greet"}
				req.Params.Argument = mcp.CompleteArgument{Name: "name", Value: prefix}
				res, err := c.Complete(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(res.Completion.Values, ","); got != want {
					t.Errorf("complete %q = %q, want %q", prefix, got, want)
				}
			}
		}},
		{"add_tool", func(ctx context.Context, t *testing.T, c *client.Client, rec *recorder, _ string, legacy bool) {
			callTool(ctx, t, c, "add_tool", map[string]any{"name": "dyn_tool"}, nil)
			res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, tool := range res.Tools {
				found = found || tool.Name == "dyn_tool"
			}
			if !found {
				t.Fatalf("dyn_tool not listed")
			}
			wantText(ctx, t, c, "dyn_tool", nil, "dynamic dyn_tool")
			if legacy && rec.waitFor(t, 1, isMethod(string(mcp.MethodNotificationToolsListChanged))) == 0 {
				t.Errorf("no tools/list_changed notification")
			}
		}},
	}

	for _, mode := range []struct {
		name   string
		legacy bool
	}{{"legacy", true}, {"modern", false}} {
		for _, tc := range cases {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				server := "srv-" + strings.ReplaceAll(tc.name, " ", "-")
				c, rec := connect(t, server, mode.legacy)
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				tc.run(ctx, t, c, rec, server, mode.legacy)
			})
		}
	}
}

// TestLargePayload checks the 50 MiB case the proxy's tests rely on, end to
// end through the line transport.
func TestLargePayload(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("50 MiB payload")
	}
	c, _ := connect(t, "big", true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 50 * 1024 * 1024
	got := textOf(t, callTool(ctx, t, c, "bytes", map[string]any{"n": n}, nil))
	if len(got) != n || got[n-1] != alphabet[(n-1)%len(alphabet)] {
		t.Errorf("got %d bytes", len(got))
	}
}

// TestRunStdinEOF checks that Run ends at EOF and writes only JSON-RPC lines
// to stdout.
func TestRunStdinEOF(t *testing.T) {
	t.Parallel()
	in := strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}` + "\n" +
		`not json` + "\n")
	var out, errOut syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), []string{"-name", "eof"}, in, &out, &errOut) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return at EOF")
	}
	var sawInit, sawParseError bool
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var msg struct {
			ID     any `json:"id"`
			Result *struct {
				ServerInfo mcp.Implementation `json:"serverInfo"`
			} `json:"result"`
			Error *mcp.JSONRPCErrorDetails `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		sawInit = sawInit || (msg.Result != nil && msg.Result.ServerInfo.Name == "eof")
		sawParseError = sawParseError || (msg.Error != nil && msg.Error.Code == mcp.PARSE_ERROR)
	}
	if !sawInit || !sawParseError {
		t.Errorf("stdout %q: initialize result %v, parse error %v", out.String(), sawInit, sawParseError)
	}
}

// lineConn speaks newline-delimited JSON-RPC by hand, the way a proxy's TCP
// backend dialer does.
type lineConn struct {
	t  *testing.T
	w  io.WriteCloser
	br *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	return &lineConn{t: t, w: c, br: bufio.NewReader(c)}
}

func (l *lineConn) send(msg string) {
	l.t.Helper()
	if _, err := io.WriteString(l.w, msg+"\n"); err != nil {
		l.t.Fatal(err)
	}
}

// reply reads lines until the response with the given id, skipping
// notifications.
func (l *lineConn) reply(id int) map[string]any {
	l.t.Helper()
	for {
		line, err := l.br.ReadBytes('\n')
		if err != nil {
			l.t.Fatalf("read: %v", err)
		}
		var msg map[string]any
		if err := json.Unmarshal(line, &msg); err != nil {
			l.t.Fatalf("bad line %q", line)
		}
		if got, ok := msg["id"].(float64); ok && int(got) == id {
			return msg
		}
	}
}

func (l *lineConn) handshake() {
	l.t.Helper()
	l.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{}},"clientInfo":{"name":"t","version":"0"}}}`)
	if res, ok := l.reply(1)["result"].(map[string]any); !ok || res["serverInfo"].(map[string]any)["name"] != "tcp-srv" {
		l.t.Fatalf("bad initialize reply")
	}
	l.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

func TestServeTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeTCP(ctx, ln, "tcp-srv") }()

	// Two live sessions at once: each must get its own replies and its own
	// server→client requests, which mcp-go's stdio singleton cannot do.
	a, b := dialLines(t, ln.Addr().String()), dialLines(t, ln.Addr().String())
	a.handshake()
	b.handshake()

	a.send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	tools, _ := a.reply(2)["result"].(map[string]any)["tools"].([]any)
	if len(tools) < 11 {
		t.Fatalf("tools/list returned %d tools", len(tools))
	}

	// roots on b: answer the server's roots/list by hand.
	b.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"roots","arguments":{}}}`)
	line, err := b.br.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
	}
	if err := json.Unmarshal(line, &req); err != nil || req.Method != "roots/list" {
		t.Fatalf("expected roots/list, got %q", line)
	}
	b.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"roots":[{"uri":"file:///b"}]}}`, req.ID))
	a.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	if !bytes.Contains(mustJSON(t, a.reply(3)), []byte(`"text":"tcp-srv"`)) {
		t.Errorf("whoami on a failed")
	}
	if got := mustJSON(t, b.reply(2)); !bytes.Contains(got, []byte(`"text":"file:///b"`)) {
		t.Errorf("roots on b = %s", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeTCP: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("ServeTCP did not return after cancellation")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunListeners starts Run with port 0 and finds the bound address in its
// stderr, as an end-to-end harness would.
func TestRunListeners(t *testing.T) {
	t.Parallel()
	addrRE := regexp.MustCompile(`listening on (tcp|http) (\S+)`)
	start := func(t *testing.T, flag string) string {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := Run(ctx, []string{"-name", "tcp-srv", flag, "127.0.0.1:0"}, strings.NewReader(""), io.Discard, pw)
			_ = pw.Close()
			done <- err
		}()
		t.Cleanup(func() {
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
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		// Keep draining so later log lines never block Run.
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		m := addrRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("no address in %q", line)
		}
		return m[2]
	}

	t.Run("tcp", func(t *testing.T) {
		t.Parallel()
		c := dialLines(t, start(t, "-tcp"))
		c.handshake()
		c.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"over tcp"}}}`)
		if got := mustJSON(t, c.reply(2)); !bytes.Contains(got, []byte(`"text":"over tcp"`)) {
			t.Errorf("echo = %s", got)
		}
	})

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		c, err := client.NewStreamableHttpClient("http://" + start(t, "-http") + "/mcp")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ClientInfo = mcp.Implementation{Name: "t", Version: "0"}
		if _, err := c.Initialize(ctx, init); err != nil {
			t.Fatal(err)
		}
		wantText(ctx, t, c, "whoami", nil, "tcp-srv")
	})
}
