package listen

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSSEStreamsForProxies: every SSE response of the listener (the
// streamable HTTP GET stream, a POST answered with a stream, the legacy
// HTTP+SSE stream) says X-Accel-Buffering: no and, while idle, gets
// keep-alive comments.
func TestSSEStreamsForProxies(t *testing.T) {
	t.Parallel()
	opts := allTransports()
	opts.keepAlive = 50 * time.Millisecond
	h, _ := startListener(t, opts, "hang")
	tests := []struct {
		name                 string
		method, url, accept  string
		withSession, message bool
	}{
		{name: "streamable GET stream", method: http.MethodGet, url: h.URL(), accept: acceptSSE, withSession: true},
		// "hang" never answers: after sseAfter the reply becomes a stream
		// that stays quiet.
		{name: "POST answered with a stream", method: http.MethodPost, url: h.URL(), accept: acceptSSE, withSession: true, message: true},
		{name: "legacy HTTP+SSE stream", method: http.MethodGet, url: h.SSEURL(), accept: acceptSSE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			var body io.Reader
			if tt.message {
				body = strings.NewReader(callMsg(`"h"`, "mcp__proxy__srv__hang", `{}`, ""))
			}
			req, err := http.NewRequestWithContext(ctx, tt.method, tt.url, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", tt.accept)
			if tt.message {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.withSession {
				req.Header.Set("Mcp-Session-Id", initSession(t, h))
			}
			resp, err := streamClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if got := resp.Header.Get("X-Accel-Buffering"); got != "no" {
				t.Errorf("X-Accel-Buffering %q, want \"no\"", got)
			}
			waitLine(t, resp.Body, strings.TrimSuffix(keepAliveComment, "\n\n"))
		})
	}
}

// waitLine reads body until a line equal to want, failing the test when
// the stream ends or waitTimeout passes first.
func waitLine(t *testing.T, body io.ReadCloser, want string) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			if sc.Text() == want {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("the stream ended without a %q line", want)
		}
	case <-time.After(waitTimeout):
		body.Close() // ends the reader
		<-found
		t.Fatalf("no %q line within %v", want, waitTimeout)
	}
}
