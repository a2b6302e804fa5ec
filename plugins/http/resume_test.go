package httptransport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/transport"
)

// resumeServer is a Streamable HTTP backend whose tools/call answer stream
// sends a priming event (an id, and a retry field unless retry is "") and
// then ends before the response, as SSE polling (2025-11-25) lets a server
// do. A GET carrying Last-Event-ID resumes that stream: it gets the
// response. A GET without it is the server's own stream, which stays open
// and silent.
type resumeServer struct {
	*httptest.Server
	// retry is the retry field of the priming event, in milliseconds.
	retry string
	// abrupt drops the connection in the middle of an event instead of
	// ending the stream cleanly.
	abrupt bool
	// resume is the status a resuming GET gets when not 200.
	resumeStatus int
	// noID leaves the id out of the priming event.
	noID bool
	// hold, when set, keeps the tools/call stream open after the priming
	// event until it is closed.
	hold chan struct{}

	mu sync.Mutex
	// ended is when the tools/call stream was ended.
	ended time.Time
	// resumes are the resuming GETs: their headers and arrival.
	resumes []resumeGET
	// pending is the id of the tools/call whose answer is due.
	pending []byte
	// resumedDone is closed when the client closes a resumed stream.
	resumedDone chan struct{}
}

type resumeGET struct {
	header http.Header
	at     time.Time
}

func newResumeServer(t *testing.T, retry string) *resumeServer {
	s := &resumeServer{retry: retry, resumedDone: make(chan struct{})}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *resumeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.post(w, r)
	case http.MethodGet:
		s.get(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *resumeServer) post(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	env, _ := jsonrpc.Peek(body)
	switch {
	case env.Method == "initialize":
		w.Header().Set("Mcp-Session-Id", "sess-1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jsonrpc.Result(env.ID, []byte(`{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"resume","version":"1"}}`)))
	case env.Kind != jsonrpc.KindRequest:
		w.WriteHeader(http.StatusAccepted)
	case env.Method == "tools/call":
		s.mu.Lock()
		s.pending = append([]byte(nil), env.ID...)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		priming := "data: \n\n"
		if !s.noID {
			priming = "id: call-1\n" + priming
		}
		if s.retry != "" {
			priming = "retry: " + s.retry + "\n" + priming
		}
		_, _ = io.WriteString(w, priming)
		w.(http.Flusher).Flush()
		if s.hold != nil {
			<-s.hold
		}
		if s.abrupt {
			_, _ = io.WriteString(w, `data: {"jsonrpc":"2.0",`)
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				s.markEnded()
				conn.Close()
				return
			}
		}
		s.markEnded()
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(plugintest.Echo(body))
	}
}

func (s *resumeServer) markEnded() {
	s.mu.Lock()
	s.ended = time.Now()
	s.mu.Unlock()
}

func (s *resumeServer) get(w http.ResponseWriter, r *http.Request) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		// The server's own stream: open, and silent.
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	s.mu.Lock()
	s.resumes = append(s.resumes, resumeGET{header: r.Header.Clone(), at: time.Now()})
	id := s.pending
	status := s.resumeStatus
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, "no", status)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "id: call-2\nevent: message\ndata: %s\n\n", jsonrpc.Result(id, []byte(`{"content":[{"type":"text","text":"resumed"}]}`)))
	w.(http.Flusher).Flush()
	// The stream stays open: the client closes it once it has the answer.
	<-r.Context().Done()
	close(s.resumedDone)
}

// callThrough initializes c and sends a tools/call, returning its id.
func callThrough(t *testing.T, c transport.Conn) string {
	t.Helper()
	rpc(t, c, initializeMsg)
	rpc(t, c, initializedMsg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Send(ctx, []byte(`{"jsonrpc":"2.0","id":"call-7","method":"tools/call","params":{"name":"slow","arguments":{}}}`)); err != nil {
		t.Fatal(err)
	}
	return `"call-7"`
}

// TestResumeStreamAfterItEnds: a request's event stream that ends before
// the response is resumed with a GET carrying Last-Event-ID, no sooner than
// the retry interval the server set, and the response that comes on the
// resumed stream reaches the host.
func TestResumeStreamAfterItEnds(t *testing.T) {
	t.Parallel()
	for _, abrupt := range []bool{false, true} {
		t.Run(map[bool]string{false: "ended", true: "dropped"}[abrupt], func(t *testing.T) {
			t.Parallel()
			s := newResumeServer(t, "500")
			s.abrupt = abrupt
			tr := New(quiet())
			c := plugintest.Open(t, tr, configFor(t, s.URL+"/mcp", nil), 0)
			id := callThrough(t, c)

			msg := recvAnswer(t, c)
			env, _ := jsonrpc.Peek(msg)
			if string(env.ID) != id || env.IsError || !bytes.Contains(msg, []byte(`"resumed"`)) {
				t.Fatalf("answer = %s, want the resumed stream's result for %s", msg, id)
			}

			s.mu.Lock()
			resumes, ended := append([]resumeGET(nil), s.resumes...), s.ended
			s.mu.Unlock()
			if len(resumes) != 1 {
				t.Fatalf("%d resuming GETs, want 1", len(resumes))
			}
			h := resumes[0].header
			if h.Get("Last-Event-ID") != "call-1" || h.Get("Mcp-Session-Id") != "sess-1" ||
				h.Get("Accept") != "text/event-stream" || h.Get("MCP-Protocol-Version") != "2025-11-25" {
				t.Errorf("resuming GET headers: %v", h)
			}
			// The server noted the end before the client could see it, so
			// the measured wait can only be longer than the client's.
			if waited := resumes[0].at.Sub(ended); waited < 500*time.Millisecond {
				t.Errorf("resumed %v after the stream ended, before the server's retry of 500ms", waited)
			}
			// Once answered, the resumed stream is closed.
			select {
			case <-s.resumedDone:
			case <-time.After(10 * time.Second):
				t.Fatal("the resumed stream was left open after the answer")
			}
			m, _ := tr.Metrics(context.Background(), base.MetricsRequest{})
			if !strings.Contains(m.PrometheusText, `mcphost_http_stream_reconnects_total{server="`+strings.ReplaceAll(t.Name(), "/", "_")+`"} 1`) {
				t.Errorf("metrics lack the reconnection:\n%s", m.PrometheusText)
			}
		})
	}
}

// TestResumeDefaultRetry: without a retry field the stream is resumed
// after the default delay.
func TestResumeDefaultRetry(t *testing.T) {
	t.Parallel()
	s := newResumeServer(t, "")
	c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
	id := callThrough(t, c)
	msg := recvAnswer(t, c)
	if env, _ := jsonrpc.Peek(msg); string(env.ID) != id || env.IsError {
		t.Fatalf("answer = %s", msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.resumes) != 1 {
		t.Fatalf("%d resuming GETs, want 1", len(s.resumes))
	}
	if waited := s.resumes[0].at.Sub(s.ended); waited < defaultRetry {
		t.Errorf("resumed after %v, before the default delay of %v", waited, defaultRetry)
	}
}

// TestRetryDelay: no retry field means the default; one beyond maxRetry
// waits maxRetry.
func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want time.Duration }{
		{0, defaultRetry},
		{500 * time.Millisecond, 500 * time.Millisecond},
		{time.Hour, maxRetry},
	} {
		if got := retryDelay(tt.in); got != tt.want {
			t.Errorf("retryDelay(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestResumeFailures: a stream that cannot be resumed answers the request
// with an error instead of leaving it waiting.
func TestResumeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(*resumeServer)
		want    string
		resumes int
	}{
		{name: "no event id", setup: func(s *resumeServer) { s.noID = true }, want: "ended before the response", resumes: 0},
		{name: "no GET", setup: func(s *resumeServer) { s.resumeStatus = http.StatusMethodNotAllowed }, want: "405", resumes: 1},
		{name: "refused", setup: func(s *resumeServer) { s.resumeStatus = http.StatusForbidden }, want: "403", resumes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newResumeServer(t, "50")
			tt.setup(s)
			c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
			id := callThrough(t, c)
			msg := recvAnswer(t, c)
			env, _ := jsonrpc.Peek(msg)
			text, _ := jsonrpc.GetString(msg, "error.message")
			if string(env.ID) != id || !env.IsError || !strings.Contains(text, tt.want) {
				t.Fatalf("answer = %s, want an error for %s mentioning %q", msg, id, tt.want)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.resumes) != tt.resumes {
				t.Errorf("%d resuming GETs, want %d", len(s.resumes), tt.resumes)
			}
		})
	}
}

// TestResumeCancelled: the host's cancellation of a request whose stream
// is being resumed ends the resumption, and no answer comes for it.
func TestResumeCancelled(t *testing.T) {
	t.Parallel()
	s := newResumeServer(t, "100")
	s.resumeStatus = http.StatusServiceUnavailable // keeps it retrying
	c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
	callThrough(t, c)
	poll.Within(t, 10*time.Second, "a resuming GET", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.resumes) > 0
	})
	rpc(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"call-7"}}`)
	cc := c.(*conn)
	poll.Within(t, 10*time.Second, "the resumption to end", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return len(cc.resuming) == 0
	})
	// Nothing about the cancelled request comes before the next answer.
	if resp := rpc(t, c, `{"jsonrpc":"2.0","id":9,"method":"echo","params":{"ok":1}}`); !bytes.Contains(resp, []byte(`"id":9`)) {
		t.Fatalf("first message after the cancellation: %s", resp)
	}
}

// TestCancelledStreamNotResumed: a request the host cancelled while its
// stream was still open is not resumed when the stream ends, and gets no
// answer.
func TestCancelledStreamNotResumed(t *testing.T) {
	t.Parallel()
	s := newResumeServer(t, "50")
	s.hold = make(chan struct{})
	c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
	callThrough(t, c)
	cc := c.(*conn)
	poll.Within(t, 10*time.Second, "the answer stream to be read", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return len(cc.resuming) == 1
	})
	rpc(t, c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"call-7"}}`)
	close(s.hold)
	poll.Within(t, 10*time.Second, "the stream's reader to be done", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return len(cc.resuming) == 0
	})
	if resp := rpc(t, c, `{"jsonrpc":"2.0","id":9,"method":"echo","params":{"ok":1}}`); !bytes.Contains(resp, []byte(`"id":9`)) {
		t.Fatalf("first message after the cancellation: %s", resp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.resumes) != 0 {
		t.Errorf("%d resuming GETs for a cancelled request, want none", len(s.resumes))
	}
}

// getStreamServer is a Streamable HTTP backend whose GET stream is
// scripted: the nth GET writes streams[n] (when there is one) and ends,
// after holding its headers back for headerDelay (or for good, with
// headerDelay < 0); GETs beyond the script stay open and silent.
type getStreamServer struct {
	*httptest.Server
	streams     []string
	headerDelay time.Duration

	mu sync.Mutex
	// gets are the GETs' Last-Event-ID headers and arrivals; ends are
	// when each scripted stream ended; answered is when the first GET's
	// headers started out; lists are the arrivals of tools/list POSTs.
	gets     []resumeGET
	ends     []time.Time
	answered time.Time
	lists    []time.Time
}

func newGetStreamServer(t *testing.T) *getStreamServer {
	s := &getStreamServer{}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *getStreamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		env, _ := jsonrpc.Peek(body)
		switch {
		case env.Method == "initialize":
			w.Header().Set("Mcp-Session-Id", "sess-1")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(jsonrpc.Result(env.ID, []byte(`{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"get","version":"1"}}`)))
		case env.Kind != jsonrpc.KindRequest:
			w.WriteHeader(http.StatusAccepted)
		default:
			s.mu.Lock()
			s.lists = append(s.lists, time.Now())
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(plugintest.Echo(body))
		}
		return
	}
	s.mu.Lock()
	n := len(s.gets)
	s.gets = append(s.gets, resumeGET{header: r.Header.Clone(), at: time.Now()})
	s.mu.Unlock()
	if n == 0 && s.headerDelay != 0 {
		if s.headerDelay < 0 {
			<-r.Context().Done()
			return
		}
		time.Sleep(s.headerDelay) // a server slow to send the headers is the case
	}
	if n == 0 {
		// Noted before the headers go: a request the client holds back
		// until it has them cannot arrive before.
		s.mu.Lock()
		s.answered = time.Now()
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	if n >= len(s.streams) {
		<-r.Context().Done()
		return
	}
	_, _ = io.WriteString(w, s.streams[n])
	w.(http.Flusher).Flush()
	s.mu.Lock()
	s.ends = append(s.ends, time.Now())
	s.mu.Unlock()
}

// TestGETStreamKeepsRetry: the GET stream reconnects no sooner than the
// last retry interval the server set, also when the stream it reconnects
// from did not set one, and resumes from the last event id.
func TestGETStreamKeepsRetry(t *testing.T) {
	t.Parallel()
	s := newGetStreamServer(t)
	s.streams = []string{"retry: 400\nid: a\ndata: \n\n", "id: b\ndata: \n\n"}
	c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
	rpc(t, c, initializeMsg)
	rpc(t, c, initializedMsg)
	poll.Within(t, 10*time.Second, "the third GET", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.gets) >= 3
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, want := range []string{"", "a", "b"} {
		if got := s.gets[i].header.Get("Last-Event-ID"); got != want {
			t.Errorf("GET %d Last-Event-ID = %q, want %q", i+1, got, want)
		}
	}
	for i := range 2 {
		if waited := s.gets[i+1].at.Sub(s.ends[i]); waited < 400*time.Millisecond {
			t.Errorf("GET %d came %v after stream %d ended, before the retry of 400ms", i+2, waited, i+1)
		}
	}
}

// TestRequestsWaitForGETStream: after initialization, requests wait until
// the GET stream has been answered, so that what the server sends on it
// right away is not lost; a GET that is never answered holds them back
// for at most streamOpenWait.
func TestRequestsWaitForGETStream(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{300 * time.Millisecond, -1} {
		t.Run(map[bool]string{true: "answered", false: "unanswered"}[delay > 0], func(t *testing.T) {
			t.Parallel()
			s := newGetStreamServer(t)
			s.headerDelay = delay
			c := plugintest.Open(t, New(quiet()), configFor(t, s.URL+"/mcp", nil), 0)
			rpc(t, c, initializeMsg)
			rpc(t, c, initializedMsg)
			start := time.Now()
			rpc(t, c, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.gets) == 0 || len(s.lists) != 1 {
				t.Fatalf("%d GETs and %d tools/list, want a GET and one tools/list", len(s.gets), len(s.lists))
			}
			if delay > 0 {
				if s.lists[0].Before(s.answered) {
					t.Errorf("tools/list came %v before the GET stream was answered", s.answered.Sub(s.lists[0]))
				}
			} else if waited := s.lists[0].Sub(start); waited < streamOpenWait {
				t.Errorf("tools/list came after %v, want it held back for %v", waited, streamOpenWait)
			}
		})
	}
}

// recvAnswer is the next message the connection gives, within 10 s.
func recvAnswer(t *testing.T, c transport.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return msg
}
