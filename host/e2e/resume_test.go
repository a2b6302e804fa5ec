//go:build unix

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sseFrame is one dispatched SSE event: its id and data, and the last retry
// the stream sent before it.
type sseFrame struct{ id, data, retry string }

// sseFrames reads an SSE body into a channel, closed at its end.
func sseFrames(body io.Reader) <-chan sseFrame {
	ch := make(chan sseFrame, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		var f sseFrame
		has, retry := false, ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if has {
					f.retry = retry
					ch <- f
				}
				f, has = sseFrame{}, false
			case strings.HasPrefix(line, "id: "):
				f.id, has = strings.TrimPrefix(line, "id: "), true
			case strings.HasPrefix(line, "data: "):
				f.data, has = strings.TrimPrefix(line, "data: "), true
			case strings.HasPrefix(line, "retry: "):
				retry = strings.TrimPrefix(line, "retry: ")
			}
		}
	}()
	return ch
}

func nextFrame(t *testing.T, ch <-chan sseFrame, what string) sseFrame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatalf("the stream ended before %s", what)
		}
		return f
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return sseFrame{}
}

// openStream makes a request whose answer is read as a stream.
func openStream(t *testing.T, method, url, session, lastID, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if method == http.MethodGet {
		req.Header.Set("Accept", "text/event-stream")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestHTTPResumeStream: against the real binary, a 2025-11-25 client
// whose response stream breaks after the first progress notification
// resumes it with GET and Last-Event-ID and gets every later event once
// and the result; another session cannot resume it.
func TestHTTPResumeStream(t *testing.T) {
	t.Parallel()
	p := startHTTPProxy(t, exampleServer("example"))
	init := strings.Replace(initializeJS, "2025-06-18", "2025-11-25", 1)
	sessions := make([]string, 2)
	for i := range sessions {
		resp, body := rawHTTP{method: http.MethodPost, body: strings.NewReader(init)}.do(t, p.URL)
		sessions[i] = resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != http.StatusOK || sessions[i] == "" || !strings.Contains(string(body), `"2025-11-25"`) {
			t.Fatalf("initialize: %d %s", resp.StatusCode, body)
		}
		if resp, body := (rawHTTP{method: http.MethodPost, session: sessions[i], body: strings.NewReader(initedJS)}).do(t, p.URL); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("notifications/initialized: %d %s", resp.StatusCode, body)
		}
	}
	session := sessions[0]
	call := `{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"mcp__proxy__example__sleep",` +
		`"arguments":{"ms":1500,"steps":3},"_meta":{"progressToken":"tok"}}}`
	resp := openStream(t, http.MethodPost, p.URL, session, "", call)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("POST: %d %q", resp.StatusCode, ct)
	}
	frames := sseFrames(resp.Body)
	priming := nextFrame(t, frames, "the priming event")
	if priming.data != "" || !strings.HasSuffix(priming.id, "-0") || priming.retry != "1000" {
		t.Fatalf("priming event %+v", priming)
	}
	first := nextFrame(t, frames, "progress 1")
	if !strings.Contains(first.data, `"notifications/progress"`) || !strings.Contains(first.data, `"progress":1`) {
		t.Fatalf("first event %+v", first)
	}
	resp.Body.Close() // the connection breaks

	if other := openStream(t, http.MethodGet, p.URL, sessions[1], first.id, ""); other.StatusCode != http.StatusBadRequest {
		t.Fatalf("another session resuming the stream: %d, want 400", other.StatusCode)
	}
	get := openStream(t, http.MethodGet, p.URL, session, first.id, "")
	if ct := get.Header.Get("Content-Type"); get.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("resume: %d %q", get.StatusCode, ct)
	}
	resumed := sseFrames(get.Body)
	key := strings.TrimSuffix(first.id, "-1")
	seen := map[string]bool{first.id: true}
	for i, want := range []string{`"progress":2`, `"progress":3`, `"result"`} {
		f := nextFrame(t, resumed, want)
		if seen[f.id] || f.id != key+"-"+string(rune('2'+i)) || !strings.Contains(f.data, want) {
			t.Fatalf("resumed event %d: %+v, want %s with id %s-%d", i, f, want, key, i+2)
		}
		seen[f.id] = true
		if want == `"result"` {
			var msg struct {
				ID     string `json:"id"`
				Result struct {
					Content []struct{ Text string } `json:"content"`
				} `json:"result"`
			}
			if err := json.Unmarshal([]byte(f.data), &msg); err != nil || msg.ID != "slow" || len(msg.Result.Content) == 0 ||
				msg.Result.Content[0].Text != "slept 1500ms" {
				t.Fatalf("result %s", f.data)
			}
		}
	}
	select {
	case f, ok := <-resumed:
		if ok {
			t.Fatalf("event after the result: %+v", f)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the resumed stream did not end after the result")
	}
}

// cutter dials TCP connections and can break them all at once, as a
// network blip would.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dials int
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.dials++
		c.mu.Unlock()
	}
	return conn, err
}

// cut closes every connection made so far and returns how many it made.
func (c *cutter) cut() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
	return c.dials
}

func (c *cutter) dialed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dials
}

// TestHTTPResumeGoSDKClient: the go-sdk client (pinned to 2025-11-25), whose
// connections all break while a tools/call streams its progress, resumes
// its streams with Last-Event-ID and gets every progress notification once
// and the result.
func TestHTTPResumeGoSDKClient(t *testing.T) {
	t.Parallel()
	p := startHTTPProxy(t, exampleServer("example"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cut := &cutter{}
	var mu sync.Mutex
	var progress []float64
	first := make(chan struct{})
	c := mcp.NewClient(&mcp.Implementation{Name: "resume", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			defer mu.Unlock()
			progress = append(progress, req.Params.Progress)
			if len(progress) == 1 {
				close(first)
			}
		},
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: cut.dial}}
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.URL, HTTPClient: hc},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	cutAt := make(chan int, 1)
	go func() {
		select {
		case <-first:
			cutAt <- cut.cut()
		case <-ctx.Done():
			cutAt <- 0
		}
	}()
	params := &mcp.CallToolParams{Name: "mcp__proxy__example__sleep", Arguments: map[string]any{"ms": 1500, "steps": 3}}
	params.SetProgressToken("tok")
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		t.Fatalf("tools/call across the break: %v", err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("result %+v", res)
	}
	if text, ok := res.Content[0].(*mcp.TextContent); !ok || text.Text != "slept 1500ms" {
		t.Fatalf("result %+v", res.Content[0])
	}
	dials := <-cutAt
	if dials == 0 || cut.dialed() <= dials {
		t.Fatalf("no break and reconnection: %d connections before the cut, %d in all", dials, cut.dialed())
	}
	// The client may hand notifications to its handler after the result.
	poll.Within(t, 10*time.Second, "three progress notifications", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(progress) < 3 {
			return fmt.Errorf("progress %v", progress)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(progress) != "[1 2 3]" {
		t.Fatalf("progress %v, want each of 1 2 3 once", progress)
	}
}
