//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/config"
	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// exposedNameRE is the tool-name rule of Claude and OpenAI.
var exposedNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// proxyMode is one way of reaching a running proxy.
type proxyMode struct {
	name string
	// connect starts a proxy serving servers (HCL) and returns an
	// initialized client of it, and the proxy's stderr so far.
	connect func(t *testing.T, servers string, o clientOptions) (*client.Client, *syncBuffer)
}

// proxyModes are the client-facing transports every functional test runs on.
var proxyModes = []proxyMode{
	{name: "stdio", connect: func(t *testing.T, servers string, o clientOptions) (*client.Client, *syncBuffer) {
		stderr := &syncBuffer{}
		tr := transport.NewStdioWithOptions(mcphost(t), nil, []string{"run", "--stdio", writeConfig(t, servers)},
			transport.WithCommandStderrWriter(stderr))
		return connect(t, client.NewClient(tr, o.clientOpts()...), o), stderr
	}},
	{name: "http", connect: func(t *testing.T, servers string, o clientOptions) (*client.Client, *syncBuffer) {
		p := startHTTPProxy(t, servers)
		return httpClient(t, p.URL, o), p.Stderr
	}},
}

// everythingServer is an HCL server block running
// @modelcontextprotocol/server-everything over stdio as "everything".
func everythingServer(t testing.TB) string {
	t.Helper()
	argv := testenv.NPMBin(t, "mcp-server-everything")
	return fmt.Sprintf(`
server "everything" {
  transport "stdio" {
    command = %q
    args    = [%q]
  }
}
`, argv[0], argv[1])
}

// notifRecorder keeps every notification a client receives, in arrival order.
type notifRecorder struct {
	mu  sync.Mutex
	got []mcp.JSONRPCNotification
}

func (r *notifRecorder) handle(n mcp.JSONRPCNotification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
}

// matching returns the notifications received so far for which keep is true.
func (r *notifRecorder) matching(keep func(mcp.JSONRPCNotification) bool) []mcp.JSONRPCNotification {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, n := range r.got {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// waitFor polls until at least n notifications match keep, or ctx ends.
func (r *notifRecorder) waitFor(ctx context.Context, n int, keep func(mcp.JSONRPCNotification) bool) []mcp.JSONRPCNotification {
	for {
		got := r.matching(keep)
		if len(got) >= n {
			return got
		}
		select {
		case <-ctx.Done():
			return got
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isMethod(m string) func(mcp.JSONRPCNotification) bool {
	return func(n mcp.JSONRPCNotification) bool { return n.Method == m }
}

// param returns a notification's params member (outside _meta).
func notifParam(n mcp.JSONRPCNotification, key string) any {
	return n.Params.AdditionalFields[key]
}

// backendCapabilities are the client capabilities mcphost declares to its
// backends, so that a direct client sees the same lists the proxy sees.
func backendCapabilities() mcp.ClientCapabilities {
	var caps mcp.ClientCapabilities
	caps.Sampling = &mcp.SamplingCapability{}
	caps.Elicitation = &mcp.ElicitationCapability{Form: &struct{}{}, URL: &struct{}{}}
	caps.Roots = &struct {
		ListChanged bool `json:"listChanged,omitempty"`
	}{ListChanged: true}
	return caps
}

// directTools lists the tools of the stdio server argv as mcphost sees
// them: with mcphost's capabilities, after the server's first
// tools/list_changed if it sends one soon after the handshake.
func directTools(t *testing.T, argv []string) map[string]mcp.Tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec := &notifRecorder{}
	c := client.NewClient(transport.NewStdio(argv[0], nil, argv[1:]...), client.WithClientCapabilities(backendCapabilities()))
	c.OnNotification(rec.handle)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	defer c.Close()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-11-25"
	req.Params.ClientInfo = mcp.Implementation{Name: "mcphost-e2e-direct", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		t.Fatalf("initialize %v: %v", argv, err)
	}
	// server-everything registers its capability-dependent tools after the
	// handshake and announces them with list_changed.
	settle, stop := context.WithTimeout(ctx, 2*time.Second)
	rec.waitFor(settle, 1, isMethod("notifications/tools/list_changed"))
	stop()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list %v: %v", argv, err)
	}
	out := map[string]mcp.Tool{}
	for _, tool := range res.Tools {
		if _, dup := out[tool.Name]; dup {
			t.Fatalf("%v lists tool %q twice", argv, tool.Name)
		}
		out[tool.Name] = tool
	}
	return out
}

func sortedToolNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// firstText is the text of a tool result's first content block.
func firstText(res *mcp.CallToolResult) (string, bool) {
	if len(res.Content) == 0 {
		return "", false
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	return tc.Text, ok
}

// resourceText reads uri and returns its only text content.
func resourceText(ctx context.Context, t *testing.T, c *client.Client, uri string) string {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("read %s: %d contents, want 1", uri, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("read %s: content is %T", uri, res.Contents[0])
	}
	return tc.Text
}

// promptText gets a prompt and returns the text of its first message.
func promptText(ctx context.Context, t *testing.T, c *client.Client, name string, args map[string]string) string {
	t.Helper()
	req := mcp.GetPromptRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.GetPrompt(ctx, req)
	if err != nil {
		t.Fatalf("get prompt %s: %v", name, err)
	}
	if len(res.Messages) == 0 {
		t.Fatalf("get prompt %s: no messages", name)
	}
	tc, ok := res.Messages[0].Content.(mcp.TextContent)
	if !ok {
		t.Fatalf("get prompt %s: content is %T", name, res.Messages[0].Content)
	}
	return tc.Text
}

func TestAggregatesTwoBackends(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example") + everythingServer(t)
	want := map[string]map[string]mcp.Tool{
		"example":    directTools(t, []string{mcphost(t), "example-server", "-name", "example"}),
		"everything": directTools(t, testenv.NPMBin(t, "mcp-server-everything")),
	}
	if _, ok := want["everything"]["echo"]; !ok {
		t.Fatalf("server-everything has no echo tool: %v", sortedToolNames(want["everything"]))
	}
	if _, ok := want["everything"]["trigger-sampling-request"]; !ok {
		t.Fatalf("server-everything offers no trigger-sampling-request to a sampling client: %v", sortedToolNames(want["everything"]))
	}
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			c, stderr := mode.connect(t, servers, clientOptions{})

			// The proxy re-lists server-everything after its list_changed,
			// so wait until the merged list has settled on the full set.
			var exposed map[string]mcp.Tool
			var names []string
			poll.Within(t, time.Until(deadline(ctx)), "the merged tool list settled on the full set", func() error {
				res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				exposed = map[string]mcp.Tool{}
				names = names[:0]
				for _, tool := range res.Tools {
					exposed[tool.Name] = tool
					names = append(names, tool.Name)
				}
				if len(exposed) < len(want["example"])+len(want["everything"]) {
					return fmt.Errorf("%d tools: %v", len(exposed), names)
				}
				return nil
			})

			seen := map[string]int{}
			for _, n := range names {
				seen[n]++
				if seen[n] == 2 {
					t.Errorf("tool %q is listed more than once", n)
				}
				if !exposedNameRE.MatchString(n) {
					t.Errorf("tool name %q does not match %s", n, exposedNameRE)
				}
			}
			total := 0
			for server, tools := range want {
				for orig, tool := range tools {
					total++
					name := "mcp__proxy__" + server + "__" + orig
					got, ok := exposed[name]
					if !ok {
						t.Errorf("%s's tool %q is not exposed as %q", server, orig, name)
						continue
					}
					if got.Description != tool.Description {
						t.Errorf("%s: description %q, want the backend's %q", name, got.Description, tool.Description)
					}
				}
			}
			if len(names) != total {
				t.Errorf("proxy lists %d tools, the backends %d together: %v", len(names), total, names)
			}

			calls := []struct {
				tool string
				args map[string]any
				want string
			}{
				{"mcp__proxy__example__whoami", nil, "example"},
				{"mcp__proxy__example__echo", map[string]any{"text": "via proxy"}, "via proxy"},
				{"mcp__proxy__example__add", map[string]any{"a": 2, "b": 3}, "5"},
				{"mcp__proxy__everything__echo", map[string]any{"message": "hello"}, "Echo: hello"},
				{"mcp__proxy__everything__get-sum", map[string]any{"a": 20, "b": 22}, "42"},
			}
			for _, call := range calls {
				if got := callText(ctx, t, c, call.tool, call.args); !strings.Contains(got, call.want) {
					t.Errorf("%s(%v) = %q, want it to contain %q", call.tool, call.args, got, call.want)
				}
			}

			// Resources: a static one, one from a template, one of
			// server-everything's.
			if got := resourceText(ctx, t, c, "mcp+proxy://example/example://static/hello"); got != "Hello from example" {
				t.Errorf("hello resource = %q", got)
			}
			templates, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
			if err != nil {
				t.Fatalf("resources/templates/list: %v", err)
			}
			const itemTemplate = "mcp+proxy://example/example://items/{id}"
			found := false
			for _, tmpl := range templates.ResourceTemplates {
				if tmpl.URITemplate != nil && tmpl.URITemplate.Raw() == itemTemplate {
					found = true
				}
			}
			if !found {
				t.Errorf("template %q is not listed", itemTemplate)
			}
			if got := resourceText(ctx, t, c, "mcp+proxy://example/example://items/42"); got != "item 42 from example" {
				t.Errorf("item resource = %q", got)
			}
			resources, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
			if err != nil {
				t.Fatalf("resources/list: %v", err)
			}
			var everythingURI string
			for _, r := range resources.Resources {
				if !strings.HasPrefix(r.URI, "mcp+proxy://example/") && !strings.HasPrefix(r.URI, "mcp+proxy://everything/") {
					t.Errorf("resource URI %q has no server prefix", r.URI)
				}
				if everythingURI == "" && strings.HasPrefix(r.URI, "mcp+proxy://everything/") {
					everythingURI = r.URI
				}
			}
			if everythingURI == "" {
				t.Fatal("no server-everything resource is listed")
			}
			if got := resourceText(ctx, t, c, everythingURI); got == "" {
				t.Errorf("%s has empty text", everythingURI)
			}

			// Prompts.
			if got := promptText(ctx, t, c, "mcp__proxy__example__greet", map[string]string{"name": "alice"}); got != "Hello, alice! (from example)" {
				t.Errorf("greet = %q", got)
			}
			if got := promptText(ctx, t, c, "mcp__proxy__everything__simple-prompt", nil); got != "This is a simple prompt without arguments." {
				t.Errorf("simple-prompt = %q", got)
			}

			// Completion of greet's name argument.
			for _, tc := range []struct {
				prefix string
				want   []string
			}{
				{"a", []string{"alice"}},
				{"", []string{"alice", "bob", "carol"}},
			} {
				req := mcp.CompleteRequest{}
				req.Params.Ref = mcp.PromptReference{Type: "ref/prompt", Name: "mcp__proxy__example__greet"}
				req.Params.Argument = mcp.CompleteArgument{Name: "name", Value: tc.prefix}
				res, err := c.Complete(ctx, req)
				if err != nil {
					t.Fatalf("complete %q: %v", tc.prefix, err)
				}
				if fmt.Sprint(res.Completion.Values) != fmt.Sprint(tc.want) {
					t.Errorf("complete %q = %v, want %v", tc.prefix, res.Completion.Values, tc.want)
				}
			}
			if t.Failed() {
				t.Logf("proxy stderr:\n%s", stderr.String())
			}
		})
	}
}

func TestProgressBeforeResult(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example")
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rec := &notifRecorder{}
			c, _ := mode.connect(t, servers, clientOptions{notifications: rec.handle})
			isProgress := func(n mcp.JSONRPCNotification) bool {
				return n.Method == "notifications/progress" && notifParam(n, "progressToken") == "tok-1"
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "mcp__proxy__example__sleep"
			req.Params.Arguments = map[string]any{"ms": 300, "steps": 3}
			req.Params.Meta = &mcp.Meta{ProgressToken: "tok-1"}
			res, err := c.CallTool(ctx, req)
			// Notifications are handled synchronously by the transport's
			// reader, so whatever came before the result is recorded now.
			before := rec.matching(isProgress)
			if err != nil {
				t.Fatalf("sleep: %v", err)
			}
			if tc, ok := firstText(res); res.IsError || !ok || tc != "slept 300ms" {
				t.Fatalf("sleep result = %+v", res)
			}
			if len(before) < 3 {
				t.Fatalf("%d progress notifications with token tok-1 before the result, want 3; all: %+v",
					len(before), rec.matching(isMethod("notifications/progress")))
			}
			for i, n := range before[:3] {
				if got := notifParam(n, "progress"); got != float64(i+1) {
					t.Errorf("progress #%d = %v, want %d", i+1, got, i+1)
				}
				if got := notifParam(n, "total"); got != float64(3) {
					t.Errorf("progress #%d total = %v, want 3", i+1, got)
				}
			}
		})
	}
}

// samplingReply answers every sampling request with a fixed text and
// remembers the prompts it was asked.
type samplingReply struct {
	text    string
	mu      sync.Mutex
	prompts []string
}

func (s *samplingReply) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	s.mu.Lock()
	for _, m := range req.Messages {
		if tc, ok := m.Content.(mcp.TextContent); ok {
			s.prompts = append(s.prompts, tc.Text)
		}
	}
	s.mu.Unlock()
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{Role: mcp.RoleAssistant, Content: mcp.NewTextContent(s.text)},
		Model:           "e2e-model",
		StopReason:      "endTurn",
	}, nil
}

func (s *samplingReply) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.prompts...)
}

func TestSamplingRoundTrip(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example") + everythingServer(t)
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			handler := &samplingReply{text: "model says " + mode.name}
			c, _ := mode.connect(t, servers, clientOptions{sampling: handler})

			if got, want := callText(ctx, t, c, "mcp__proxy__example__sample", map[string]any{"prompt": "hi"}), "sampled: "+handler.text; got != want {
				t.Errorf("example sample = %q, want %q", got, want)
			}
			got := callText(ctx, t, c, "mcp__proxy__everything__trigger-sampling-request", map[string]any{"prompt": "ping", "maxTokens": 10})
			if !strings.Contains(got, handler.text) {
				t.Errorf("everything trigger-sampling-request = %q, want it to contain %q", got, handler.text)
			}
			asked := handler.asked()
			if len(asked) != 2 || asked[0] != "hi" || !strings.HasSuffix(asked[1], "ping") {
				t.Errorf("sampling handler was asked %q, want [hi …ping]", asked)
			}
		})
	}
}

func TestToolListChanged(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example")
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rec := &notifRecorder{}
			c, _ := mode.connect(t, servers, clientOptions{notifications: rec.handle})
			const fresh = "mcp__proxy__example__fresh"
			listed := func() bool {
				res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				for _, tool := range res.Tools {
					if tool.Name == fresh {
						return true
					}
				}
				return false
			}
			if listed() {
				t.Fatalf("%s is listed before it was added", fresh)
			}
			changed := isMethod("notifications/tools/list_changed")
			earlier := len(rec.matching(changed))
			if got := callText(ctx, t, c, "mcp__proxy__example__add_tool", map[string]any{"name": "fresh"}); got != "added fresh" {
				t.Fatalf("add_tool = %q", got)
			}
			wait, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			if got := rec.waitFor(wait, earlier+1, changed); len(got) <= earlier {
				t.Fatal("no notifications/tools/list_changed after add_tool")
			}
			// The proxy announces the change once its catalog has it.
			if !listed() {
				t.Fatalf("%s is not listed after list_changed", fresh)
			}
			if got := callText(ctx, t, c, fresh, nil); got != "dynamic fresh" {
				t.Errorf("%s = %q, want %q", fresh, got, "dynamic fresh")
			}
		})
	}
}

// explicitCancel hides the HTTP transport's HTTPConnection interface from
// mcp-go's client, which then sends notifications/cancelled for a request
// whose context ends, as it does on stdio (on legacy HTTP it just drops the
// POST, which does not cancel anything).
type explicitCancel struct{ transport.Interface }

// SendRequest reports a request whose context ended as the context's error.
// mcp-go's streamable HTTP client races the closed response channel against
// ctx.Done and may say "unexpected nil response" instead; what this test
// checks is what the proxy does after the cancellation, not that wording.
func (e explicitCancel) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := e.Interface.SendRequest(ctx, req)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("%w (the transport said: %v)", ctx.Err(), err)
	}
	return resp, err
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example")
	cases := []struct {
		name string
		// connect also returns where the proxy's metrics are.
		connect func(t *testing.T, rec *notifRecorder) (*client.Client, listenerMetrics)
	}{
		{"stdio", func(t *testing.T, rec *notifRecorder) (*client.Client, listenerMetrics) {
			// --serve: the HTTP listener is there only for its metrics.
			addr := freeAddr(t)
			cfg := writeConfig(t, fmt.Sprintf("listen \"http\" {\n  address = %q\n}\nadmin {\n  enabled = false\n}\n%s", addr, servers))
			tr := transport.NewStdioWithOptions(mcphost(t), nil, []string{"run", "--stdio", "--serve", cfg},
				transport.WithCommandStderrWriter(&syncBuffer{}))
			c := connect(t, client.NewClient(tr), clientOptions{notifications: rec.handle})
			return c, listenerMetrics{url: "http://" + addr + config.DefaultMetricsPath}
		}},
		{"http", func(t *testing.T, rec *notifRecorder) (*client.Client, listenerMetrics) {
			p := startHTTPProxy(t, servers)
			//lint:ignore SA1019 the proxy speaks the initialize era, with its GET stream
			tr, err := transport.NewStreamableHTTP(p.URL, transport.WithContinuousListening())
			if err != nil {
				t.Fatal(err)
			}
			o := clientOptions{notifications: rec.handle}
			return connect(t, client.NewClient(explicitCancel{tr}), o), p.Metrics
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &notifRecorder{}
			c, metrics := tc.connect(t, rec)

			callCtx, cancelCall := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancelCall)
			req := mcp.CallToolRequest{}
			req.Params.Name = "mcp__proxy__example__sleep"
			req.Params.Arguments = map[string]any{"ms": 10000, "steps": 100}
			req.Params.Meta = &mcp.Meta{ProgressToken: "cancel-me"}
			start := time.Now()
			_, err := c.CallTool(callCtx, req)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled sleep returned %v, want context.Canceled", err)
			}
			// Well under the 10 s the sleep would take: the cancel worked.
			if d := time.Since(start); d > 6*time.Second {
				t.Fatalf("cancelled sleep returned after %v", d)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start = time.Now()
			if got := callText(ctx, t, c, "mcp__proxy__example__whoami", nil); got != "example" {
				t.Errorf("whoami after cancel = %q", got)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("call after cancel took %v", d)
			}

			// The backend really stopped: its handler returned early,
			// answering a request the proxy had already dropped (a late
			// response, counted), and it sent no more progress.
			poll.Within(t, 5*time.Second, "the backend ending the cancelled sleep (mcphost_late_responses_total)", func() error {
				late, err := scrapeValueAuth(metrics.url, metrics.token, "mcphost_late_responses_total")
				if err == nil && late < 1 {
					err = fmt.Errorf("mcphost_late_responses_total is %v", late)
				}
				return err
			})
			progress := func(n mcp.JSONRPCNotification) bool { return notifParam(n, "progressToken") == "cancel-me" }
			settled := len(rec.matching(progress))
			// No progress may come from now on: an absence is watched for a
			// while, there is no event to wait on.
			time.Sleep(500 * time.Millisecond)
			if got := len(rec.matching(progress)); got != settled {
				t.Errorf("progress kept coming after cancellation: %d then %d", settled, got)
			}
		})
	}
}

func TestLoggingNotifications(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example")
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rec := &notifRecorder{}
			c, _ := mode.connect(t, servers, clientOptions{notifications: rec.handle})
			// The example server's default level is "error": a warning
			// arrives only if setLevel reached it.
			//lint:ignore SA1019 logging/setLevel is part of the initialize era the proxy speaks
			if err := c.SetLevel(ctx, mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelWarning}}); err != nil {
				t.Fatalf("logging/setLevel: %v", err)
			}
			for _, m := range []struct{ level, message string }{{"info", "m0"}, {"warning", "m1"}} {
				if got := callText(ctx, t, c, "mcp__proxy__example__log", map[string]any{"level": m.level, "message": m.message}); got != "logged" {
					t.Fatalf("log %s = %q", m.message, got)
				}
			}
			isLog := isMethod("notifications/message")
			wait, stop := context.WithTimeout(ctx, 10*time.Second)
			defer stop()
			logs := rec.waitFor(wait, 1, isLog)
			if len(logs) != 1 {
				t.Fatalf("got %d notifications/message, want exactly m1: %+v", len(logs), logs)
			}
			n := logs[0]
			if data := fmt.Sprint(notifParam(n, "data")); !strings.Contains(data, "m1") {
				t.Errorf("log data = %q, want m1", data)
			}
			if got := notifParam(n, "level"); got != "warning" {
				t.Errorf("log level = %v, want warning", got)
			}
		})
	}
}

// stdioPipe is `mcphost run --stdio` driven line by line.
type stdioPipe struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	all    [][]byte // every stdout line, once lines is closed
	stderr *syncBuffer
}

func startStdioPipe(t *testing.T, cfg string) *stdioPipe {
	t.Helper()
	r := &stdioPipe{lines: make(chan []byte, 64), stderr: &syncBuffer{}}
	r.cmd = exec.Command(mcphost(t), "run", "--stdio", cfg)
	r.cmd.Stderr = r.stderr
	var err error
	if r.stdin, err = r.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			r.lines <- line
		}
	}()
	return r
}

func (r *stdioPipe) send(t *testing.T, line []byte) {
	t.Helper()
	if _, err := r.stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("write stdin: %v", err)
	}
}

// response reads stdout until a response (a line with result or error)
// arrives, keeping everything read.
func (r *stdioPipe) response(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("stdout closed while waiting for a response; stderr:\n%s", r.stderr.String())
			}
			r.all = append(r.all, line)
			var msg map[string]json.RawMessage
			if err := json.Unmarshal(line, &msg); err != nil {
				t.Fatalf("stdout line is not a JSON object: %q", line)
			}
			if _, ok := msg["result"]; ok {
				return msg
			}
			if _, ok := msg["error"]; ok {
				return msg
			}
		case <-timeout:
			t.Fatalf("no response within 30s; stderr:\n%s", r.stderr.String())
		}
	}
}

func TestStdioMalformedInput(t *testing.T) {
	t.Parallel()
	r := startStdioPipe(t, writeConfig(t, "proxy {\n  max_message_bytes = 1048576\n}\n"+exampleServer("example")))
	big := `{"jsonrpc":"2.0","id":99,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	steps := []struct {
		name   string
		send   string
		wantID string // compact JSON
		code   int    // 0: a result is expected
	}{
		{"parse error", "garbage", "null", -32700},
		{"neither request nor response", `{"jsonrpc":"2.0","id":1}`, "1", -32600},
		{"initialize with a string id", `{"jsonrpc":"2.0","id":"init-1","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, `"init-1"`, 0},
		{"unknown method", `{"jsonrpc":"2.0","id":7,"method":"no/such/method"}`, "7", -32601},
		{"string id forwarded to a backend", `{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"mcp__proxy__example__whoami"}}`, `"call-1"`, 0},
		{"string id answered locally", `{"jsonrpc":"2.0","id":"ping-1","method":"ping"}`, `"ping-1"`, 0},
		{"wrong jsonrpc version", `{"jsonrpc":"1.0","id":8,"method":"ping"}`, "8", -32600},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, "null", -32600},
		// An id that is neither a string nor a number cannot be echoed:
		// JSON-RPC 2.0 says the error's id must then be null.
		{"object id", `{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}`, "null", -32600},
		{"line over max_message_bytes", big, "null", -32003},
		{"still serving after errors", `{"jsonrpc":"2.0","id":10,"method":"ping"}`, "10", 0},
	}
	for _, step := range steps {
		r.send(t, []byte(step.send))
		msg := r.response(t)
		if got := string(msg["id"]); got != step.wantID {
			t.Errorf("%s: id = %s, want %s", step.name, got, step.wantID)
		}
		if step.code == 0 {
			if _, ok := msg["result"]; !ok {
				t.Errorf("%s: got %s, want a result", step.name, msg["error"])
			}
			continue
		}
		var e struct {
			Code int `json:"code"`
		}
		if err := json.Unmarshal(msg["error"], &e); err != nil || e.Code != step.code {
			t.Errorf("%s: error = %s, want code %d", step.name, msg["error"], step.code)
		}
	}
	if err := r.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	for line := range r.lines {
		r.all = append(r.all, line)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("mcphost --stdio exited with %v after stdin closed; stderr:\n%s", err, r.stderr.String())
	}
	for _, line := range r.all {
		var msg struct {
			JSONRPC string `json:"jsonrpc"`
		}
		if err := json.Unmarshal(line, &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Errorf("stdout line is not a JSON-RPC message: %q", line)
		}
	}
	// The proxy does log, but only to stderr.
	if !strings.Contains(r.stderr.String(), "server ready") {
		t.Errorf("stderr has no proxy log; stderr:\n%s", r.stderr.String())
	}
}

// TestResourceReadURIsAreExposed: the proxy lists a backend's resource as
// mcp+proxy://SERVER/URI, so the contents it returns for a read must carry
// that same URI; the backend's own URI is not one the client can read back.
func TestResourceReadURIsAreExposed(t *testing.T) {
	t.Parallel()
	servers := exampleServer("example") + exampleServer("other")
	uris := []string{
		"mcp+proxy://example/example://static/hello",
		"mcp+proxy://other/example://static/blob",
		"mcp+proxy://example/example://items/7",
	}
	for _, mode := range proxyModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, _ := mode.connect(t, servers, clientOptions{})
			for _, uri := range uris {
				req := mcp.ReadResourceRequest{}
				req.Params.URI = uri
				res, err := c.ReadResource(ctx, req)
				if err != nil {
					t.Fatalf("read %s: %v", uri, err)
				}
				if len(res.Contents) != 1 {
					t.Fatalf("read %s: %d contents", uri, len(res.Contents))
				}
				var got string
				switch rc := res.Contents[0].(type) {
				case mcp.TextResourceContents:
					got = rc.URI
				case mcp.BlobResourceContents:
					got = rc.URI
				default:
					t.Fatalf("read %s: contents are %T", uri, rc)
				}
				if got != uri {
					t.Errorf("read %s: contents carry uri %q, want the exposed %q", uri, got, uri)
				}
			}
		})
	}
}
