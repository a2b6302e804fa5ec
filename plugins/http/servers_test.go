package httptransport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest"
)

// streamServer is a minimal Streamable HTTP backend answering as
// plugintest.Echo does: initialize mints a session; requests are answered
// alternately with a JSON body and with an SSE stream (whose data is split
// over two lines); everything else gets 202.
type streamServer struct {
	*httptest.Server
	n atomic.Int64

	mu       sync.Mutex
	sessions map[string]bool
	// posts are the headers of every POST, gets of every GET.
	posts, gets []http.Header
	deleted     []string
	// failWith answers a request of this method with this status.
	failMethod string
	failStatus int
	failBody   string // a JSON body for the failure, if any
	// expiredStatus answers a request for an unknown session; 0 means 404.
	expiredStatus int
	// stream, when set, is offered as the GET stream: each GET sends what
	// the channel yields (one message, with event id eN), until it yields
	// nil, which ends that stream.
	stream chan []byte
}

func newStreamServer(t *testing.T) *streamServer {
	s := &streamServer{sessions: map[string]bool{}}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *streamServer) config(t *testing.T, extra map[string]any) json.RawMessage {
	return configFor(t, s.URL+"/mcp", extra)
}

func configFor(t *testing.T, url string, extra map[string]any) json.RawMessage {
	t.Helper()
	cfg := map[string]any{"url": url}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expireSessions forgets every session, as a restarted server would.
func (s *streamServer) expireSessions() {
	s.mu.Lock()
	s.sessions = map[string]bool{}
	s.mu.Unlock()
}

func (s *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch r.Method {
	case http.MethodPost:
		s.posts = append(s.posts, r.Header.Clone())
	case http.MethodGet:
		s.gets = append(s.gets, r.Header.Clone())
	}
	sid := r.Header.Get("Mcp-Session-Id")
	known := sid == "" || s.sessions[sid]
	s.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		s.post(w, r, known)
	case http.MethodGet:
		s.get(w, r, known)
	case http.MethodDelete:
		s.mu.Lock()
		s.deleted = append(s.deleted, sid)
		delete(s.sessions, sid)
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *streamServer) post(w http.ResponseWriter, r *http.Request, known bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json, text/event-stream" {
		http.Error(w, "bad content type or accept", http.StatusNotAcceptable)
		return
	}
	env, _ := jsonrpc.Peek(body)
	s.mu.Lock()
	failMethod, failStatus, failBody := s.failMethod, s.failStatus, s.failBody
	s.mu.Unlock()
	if failMethod != "" && env.Method == failMethod {
		if failBody != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(failStatus)
			_, _ = io.WriteString(w, failBody)
			return
		}
		http.Error(w, "no luck", failStatus)
		return
	}
	if env.Method == "initialize" {
		sid := fmt.Sprintf("session-%d", s.n.Add(1))
		s.mu.Lock()
		s.sessions[sid] = true
		s.mu.Unlock()
		w.Header().Set("Mcp-Session-Id", sid)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jsonrpc.Result(env.ID, []byte(`{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"test","version":"1"}}`)))
		return
	}
	if !known {
		s.mu.Lock()
		status := s.expiredStatus
		s.mu.Unlock()
		if status == 0 {
			status = http.StatusNotFound
		}
		// What the TypeScript SDK's servers answer for a 400.
		http.Error(w, `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}`, status)
		return
	}
	resp := plugintest.Echo(body)
	if resp == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if s.n.Add(1)%2 == 0 {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(resp)
		return
	}
	// jsonrpc.Result starts every response with this prefix: splitting
	// there exercises multi-line data without touching the params.
	prefix := []byte(`{"jsonrpc":"2.0",`)
	w.Header().Set("Content-Type", "text/event-stream")
	var buf bytes.Buffer
	buf.WriteString(": a comment\r\nid: p1\r\nevent: ping\r\ndata: ignored\r\n\r\n")
	buf.WriteString("id: p2\nretry: 100\n\n") // a priming event: no data, not dispatched
	buf.WriteString("event: message\ndata: ")
	buf.Write(prefix)
	buf.WriteString("\ndata:")
	buf.Write(bytes.TrimPrefix(resp, prefix))
	buf.WriteString("\n\n")
	_, _ = w.Write(buf.Bytes())
}

func (s *streamServer) get(w http.ResponseWriter, r *http.Request, known bool) {
	if s.stream == nil {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !known {
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for {
		select {
		case msg := <-s.stream:
			if msg == nil {
				return
			}
			fmt.Fprintf(w, "id: e%d\ndata: %s\n\n", s.n.Add(1), msg)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// legacyServer is a minimal HTTP+SSE (2024-11-05) backend answering as
// plugintest.Echo does: GET /sse opens the stream, whose first event names
// /message?sessionId=N, where the client POSTs.
type legacyServer struct {
	*httptest.Server
	n atomic.Int64

	mu       sync.Mutex
	sessions map[string]chan []byte
	headers  []http.Header
}

func newLegacyServer(t *testing.T) *legacyServer {
	s := &legacyServer{sessions: map[string]chan []byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sse", s.stream)
	mux.HandleFunc("POST /message", s.message)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *legacyServer) record(r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
}

// endStreams ends every open event stream, as a server going away would.
func (s *legacyServer) endStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid, ch := range s.sessions {
		close(ch)
		delete(s.sessions, sid)
	}
}

func (s *legacyServer) stream(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	sid := strconv.FormatInt(s.n.Add(1), 10)
	ch := make(chan []byte, 1024)
	s.mu.Lock()
	s.sessions[sid] = ch
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, ": hello\n\nevent: endpoint\ndata: /message?sessionId=%s\n\n", sid)
	w.(http.Flusher).Flush()
	for {
		select {
		case msg, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			s.mu.Lock()
			delete(s.sessions, sid)
			s.mu.Unlock()
			return
		}
	}
}

func (s *legacyServer) message(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// The send happens under mu so that endStreams cannot close ch under it.
	s.mu.Lock()
	ch, ok := s.sessions[r.URL.Query().Get("sessionId")]
	if ok {
		if resp := plugintest.Echo(body); resp != nil {
			ch <- resp
		}
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
