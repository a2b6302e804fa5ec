package listen

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// streamEnds fails unless events ends with nothing more.
func streamEnds(t *testing.T, events <-chan sseEvent) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if ok {
			t.Fatalf("event after the end: %+v", ev)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the stream did not end")
	}
}

// resumeGET opens a GET stream with Last-Event-ID.
func resumeGET(t *testing.T, h *HTTP, session, lastID string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	req.Header.Set("Accept", acceptSSE)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// postAsync POSTs body as JSON only and sends the answer on the channel
// (nil on failure), for a call that waits.
func postAsync(h *HTTP, session, body string) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.URL(), strings.NewReader(body))
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Accept", acceptJSON)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			ch <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- b
	}()
	return ch
}

func isProgress(ev sseEvent, n string) bool {
	m, _ := jsonrpc.GetString([]byte(ev.data), "method")
	return m == "notifications/progress" && string(jsonrpc.Get([]byte(ev.data), "params.progress")) == n
}

// primed reads the stream's first event, which on 2025-11-25 is a priming
// one (an id, empty data, the retry), and returns the first with data.
func primed(t *testing.T, events <-chan sseEvent, version string) (priming, first sseEvent) {
	t.Helper()
	first = nextEvent(t, events, "the first event")
	if version == "2025-11-25" {
		priming = first
		if priming.data != "" || !strings.HasSuffix(priming.id, "-0") || priming.retry != "1000" {
			t.Fatalf("priming event %+v, want an id ending -0, empty data, retry 1000", priming)
		}
		first = nextEvent(t, events, "the first message")
	}
	if first.retry != "1000" || first.id == "" {
		t.Fatalf("first event %+v, want an id and retry 1000 before it", first)
	}
	return priming, first
}

// A POST's response stream cut after its first progress notification is
// resumed with GET and Last-Event-ID: the client gets exactly the events
// after that one and the response, whether the response came while it was
// away or after it came back, and the stream then ends and is freed.
func TestResumePOSTStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, version string
		answerAway    bool
	}{
		{"2025-03-26, answer after the resume", "2025-03-26", false},
		{"2025-06-18, answer while away", "2025-06-18", true},
		{"2025-11-25, answer after the resume", "2025-11-25", false},
		{"2025-11-25, answer while away", "2025-11-25", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, f := startHTTP(t, "gated")
			session := initSessionAt(t, h, tc.version)
			resp := do(t, http.MethodPost, h.URL(), session, acceptBoth,
				callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("Content-Type %q", ct)
			}
			events := readEvents(resp.Body)
			_, p1 := primed(t, events, tc.version)
			if !isProgress(p1, "1") {
				t.Fatalf("first event %+v", p1)
			}
			// The connection breaks; the second progress may or may not
			// have been written to it.
			resp.Body.Close()
			if tc.answerAway {
				f.release()
			}
			get := resumeGET(t, h, session, p1.id)
			if ct := get.Header.Get("Content-Type"); get.StatusCode != http.StatusOK || ct != "text/event-stream" {
				t.Fatalf("resume: %d %q: %s", get.StatusCode, ct, readAll(t, get))
			}
			resumed := readEvents(get.Body)
			p2 := nextEvent(t, resumed, "the second progress")
			key := strings.TrimSuffix(p1.id, "-1")
			if !isProgress(p2, "2") || p2.id != key+"-2" || p2.retry != "1000" {
				t.Fatalf("after resuming: %+v, want progress 2 with id %s-2", p2, key)
			}
			if !tc.answerAway {
				f.release()
			}
			final := nextEvent(t, resumed, "the response")
			if string(jsonrpc.Get([]byte(final.data), "id")) != `"c"` || jsonrpc.Get([]byte(final.data), "result") == nil || final.id != key+"-3" {
				t.Fatalf("final event %+v", final)
			}
			streamEnds(t, resumed)
			// A response written live may not have reached the client: the
			// stream is kept until it is replayed, then freed. (Answered
			// while away, the response may have been written to the broken
			// connection, and the resume was its replay.)
			switch again := resumeGET(t, h, session, p2.id); {
			case again.StatusCode == http.StatusOK:
				replayed := readEvents(again.Body)
				if ev := nextEvent(t, replayed, "the response again"); ev != final {
					t.Fatalf("replayed response %+v, want %+v", ev, final)
				}
				streamEnds(t, replayed)
			case again.StatusCode != http.StatusBadRequest || !tc.answerAway:
				t.Fatalf("resuming after the response: %d", again.StatusCode)
			}
			if n := h.resumeBytes.Load(); n != 0 {
				t.Fatalf("%d bytes still kept after the stream ended", n)
			}
			if again := resumeGET(t, h, session, p1.id); again.StatusCode != http.StatusBadRequest {
				t.Fatalf("resuming a finished stream: %d, want 400", again.StatusCode)
			}
		})
	}
}

// The session's GET stream, cut, is resumed with the events after
// Last-Event-ID, then continues live.
func TestResumeGETStream(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"2025-06-18", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			h, f := startHTTP(t, "gated")
			session := initSessionAt(t, h, version)
			get := do(t, http.MethodGet, h.URL(), session, acceptSSE, "")
			events := readEvents(get.Body)
			var priming sseEvent
			if version == "2025-11-25" {
				if priming = nextEvent(t, events, "the priming event"); priming.data != "" || !strings.HasSuffix(priming.id, "-0") {
					t.Fatalf("priming event %+v", priming)
				}
			}
			// A JSON-only call's progress goes to the GET stream.
			answer := postAsync(h, session, callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
			p1 := nextEvent(t, events, "progress 1")
			if !isProgress(p1, "1") || p1.retry != "1000" || (priming.id != "" && !strings.HasPrefix(p1.id, strings.TrimSuffix(priming.id, "0"))) {
				t.Fatalf("first event %+v (priming %+v)", p1, priming)
			}
			get.Body.Close()
			resumed := readEvents(resumeGET(t, h, session, p1.id).Body)
			p2 := nextEvent(t, resumed, "progress 2")
			key := strings.TrimSuffix(p1.id, "-1")
			if !isProgress(p2, "2") || p2.id != key+"-2" {
				t.Fatalf("after resuming: %+v", p2)
			}
			f.release()
			if b := <-answer; string(jsonrpc.Get(b, "id")) != `"c"` {
				t.Fatalf("answer %s", b)
			}
			// Live again: a second call's progress follows, numbered on.
			answer = postAsync(h, session, callMsg(`"d"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok2"}`))
			for i, want := range []string{key + "-3", key + "-4"} {
				ev := nextEvent(t, resumed, "live progress")
				if !isProgress(ev, string(jsonrpc.Int(int64(i+1)))) || ev.id != want {
					t.Fatalf("live event %+v, want id %s", ev, want)
				}
			}
			f.release()
			<-answer
			if second := do(t, http.MethodGet, h.URL(), session, acceptSSE, ""); second.StatusCode != http.StatusConflict {
				t.Fatalf("a second plain GET: %d, want 409", second.StatusCode)
			}
		})
	}
}

// A Last-Event-ID that names no stream of the session, or events that
// were never sent, is refused with 400 (404 would say the session is
// gone); an unknown session still gets 404.
func TestResumeRefused(t *testing.T) {
	t.Parallel()
	h, _ := startHTTP(t, "gated")
	a := initSessionAt(t, h, "2025-11-25")
	b := initSessionAt(t, h, "2025-11-25")
	resp := do(t, http.MethodPost, h.URL(), a, acceptBoth, callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
	events := readEvents(resp.Body)
	priming, p1 := primed(t, events, "2025-11-25")
	get := do(t, http.MethodGet, h.URL(), a, acceptSSE, "")
	getPriming := nextEvent(t, readEvents(get.Body), "the GET priming event")
	getKey := strings.TrimSuffix(getPriming.id, "-0")
	tests := []struct {
		name, session, lastID string
		status                int
	}{
		{"garbage", a, "nope", http.StatusBadRequest},
		{"no sequence", a, strings.TrimSuffix(p1.id, "-1"), http.StatusBadRequest},
		{"unknown stream", a, "0123456789abcdef-1", http.StatusBadRequest},
		{"another session's stream", b, p1.id, http.StatusBadRequest},
		{"another session's priming id", b, priming.id, http.StatusBadRequest},
		{"an event not sent yet", a, getKey + "-99", http.StatusBadRequest},
		{"unknown session", "nope", p1.id, http.StatusNotFound},
		{"no session", "", p1.id, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := resumeGET(t, h, tc.session, tc.lastID)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status || jsonrpc.Get(body, "error") == nil {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
		})
	}
	// None of that disturbed the streams.
	if ev := nextEvent(t, events, "progress 2"); !isProgress(ev, "2") {
		t.Fatalf("the POST stream after the refusals: %+v", ev)
	}
}

// A stream keeps only the last ResumeBufferBytes of what it wrote:
// resuming after an event still kept works, resuming after one dropped is
// refused, and ends the stream.
func TestResumeBufferBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		from   func(priming, p1 sseEvent) string
		status int
	}{
		{"after the kept event's predecessor", func(_, p1 sseEvent) string { return p1.id }, http.StatusOK},
		{"after a dropped event", func(priming, _ sseEvent) string { return priming.id }, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A progress notification is about 100 bytes: the buffer holds one.
			h, f := startListener(t, HTTPOptions{ResumeBufferBytes: 150}, "gated")
			session := initSessionAt(t, h, "2025-11-25")
			resp := do(t, http.MethodPost, h.URL(), session, acceptBoth,
				callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
			events := readEvents(resp.Body)
			priming, p1 := primed(t, events, "2025-11-25")
			if p2 := nextEvent(t, events, "progress 2"); !isProgress(p2, "2") {
				t.Fatalf("second event %+v", p2)
			}
			if n := h.resumeBytes.Load(); n <= 0 || n > 150 {
				t.Fatalf("%d bytes kept, want one event's, at most 150", n)
			}
			resp.Body.Close()
			get := resumeGET(t, h, session, tc.from(priming, p1))
			if get.StatusCode != tc.status {
				t.Fatalf("resume: %d, want %d", get.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				// The request's messages can no longer all be delivered:
				// the stream is gone, and its buffer with it.
				if again := resumeGET(t, h, session, p1.id); again.StatusCode != http.StatusBadRequest {
					t.Fatalf("resuming after a refused resume: %d, want 400", again.StatusCode)
				}
				poll.Until(t, "nothing is kept", func() bool { return h.resumeBytes.Load() == 0 })
				return
			}
			resumed := readEvents(get.Body)
			if ev := nextEvent(t, resumed, "progress 2"); !isProgress(ev, "2") {
				t.Fatalf("after resuming: %+v", ev)
			}
			f.release()
			if ev := nextEvent(t, resumed, "the response"); string(jsonrpc.Get([]byte(ev.data), "id")) != `"c"` {
				t.Fatalf("final event %+v", ev)
			}
			streamEnds(t, resumed)
		})
	}
}

// The bounds of the replay buffers, step by step: each stream's, then all
// streams' together.
func TestResumeKeepBounds(t *testing.T) {
	t.Parallel()
	h := &HTTP{opts: HTTPOptions{ResumeBufferBytes: 100, ResumeTotalBytes: 250}}
	sess := &httpSession{}
	var streams []*eventStream
	for range 4 {
		streams = append(streams, h.openStream(sess, nil))
	}
	steps := []struct {
		stream, size int
		total        int64
		// after which sequences the stream can resume once the step is
		// done, and after which not
		from, refused []uint64
	}{
		{0, 60, 60, []uint64{0, 1}, []uint64{2}},
		{0, 60, 60, []uint64{1, 2}, []uint64{0, 3}}, // the first is dropped to fit
		{1, 90, 150, []uint64{0, 1}, nil},
		{2, 95, 245, []uint64{0, 1}, nil},
		{3, 10, 245, []uint64{1}, []uint64{0}},       // over the total: stream 3 keeps nothing
		{0, 200, 185, []uint64{3}, []uint64{1, 2}},   // larger than a stream's bound
		{0, 50, 235, []uint64{3, 4}, []uint64{1, 2}}, // kept again after it
	}
	for i, st := range steps {
		es := streams[st.stream]
		es.keep(make([]byte, st.size))
		if got := h.resumeBytes.Load(); got != st.total {
			t.Fatalf("step %d: %d bytes kept in all, want %d", i, got, st.total)
		}
		for _, seq := range st.from {
			if _, ok := es.since(seq); !ok {
				t.Fatalf("step %d: stream %d cannot resume after %d", i, st.stream, seq)
			}
		}
		for _, seq := range st.refused {
			if _, ok := es.since(seq); ok {
				t.Fatalf("step %d: stream %d resumes after %d", i, st.stream, seq)
			}
		}
	}
	if evs, _ := streams[0].since(3); len(evs) != 1 || evs[0].seq != 4 {
		t.Fatalf("stream 0 after 3: %+v", evs)
	}
	sess.freeStreams()
	if got := h.resumeBytes.Load(); got != 0 {
		t.Fatalf("%d bytes kept after the session ended", got)
	}
}

// Streams that wrote their response hold at most a quarter of the
// listener's bound, oldest dropped first, and go first when live streams
// need room.
func TestResumeEvictsDoneStreams(t *testing.T) {
	t.Parallel()
	type step struct {
		stream, size int
		done         bool
	}
	tests := []struct {
		name   string
		total  int
		steps  []step
		freed  []bool // per stream, at the end
		kept   int64
		resume int // a stream that must still resume from 0
	}{
		{"finished streams' share", 400, []step{{0, 80, true}, {1, 80, true}}, []bool{true, false}, 80, 1},
		{"room for a live stream", 200, []step{{0, 40, true}, {1, 100, false}, {2, 70, false}}, []bool{true, false, false}, 170, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &HTTP{opts: HTTPOptions{ResumeBufferBytes: 100, ResumeTotalBytes: tc.total}}
			sess := &httpSession{}
			streams := make([]*eventStream, len(tc.freed))
			for i := range streams {
				streams[i] = h.openStream(sess, nil)
			}
			for _, st := range tc.steps {
				streams[st.stream].keep(make([]byte, st.size))
				if st.done {
					streams[st.stream].markDone()
				}
			}
			for i, es := range streams {
				if es.isFreed() != tc.freed[i] {
					t.Errorf("stream %d freed %v, want %v", i, es.isFreed(), tc.freed[i])
				}
				sess.mu.Lock()
				_, listed := sess.streams[es.key]
				sess.mu.Unlock()
				if listed == tc.freed[i] {
					t.Errorf("stream %d still in its session: %v", i, listed)
				}
			}
			if got := h.resumeBytes.Load(); got != tc.kept {
				t.Fatalf("%d bytes kept, want %d", got, tc.kept)
			}
			if _, ok := streams[tc.resume].since(0); !ok {
				t.Fatalf("stream %d lost events", tc.resume)
			}
			sess.freeStreams()
			if got, done := h.resumeBytes.Load(), h.doneBytes.Load(); got != 0 || done != 0 {
				t.Fatalf("%d bytes kept (%d finished) after the session ended", got, done)
			}
		})
	}
}

// A response stream nobody resumes is dropped after the resume window, and
// every stream goes with its session; nothing stays kept or queued.
func TestResumeStreamsFreed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		window time.Duration
		status int // of a resume afterwards
		end    func(t *testing.T, h *HTTP, session string)
	}{
		{"expired", 20 * time.Millisecond, http.StatusBadRequest, func(*testing.T, *HTTP, string) {}},
		{"session deleted", time.Hour, http.StatusNotFound, func(t *testing.T, h *HTTP, session string) {
			if resp := do(t, http.MethodDelete, h.URL(), session, "", ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: %d", resp.StatusCode)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, f := startListener(t, HTTPOptions{resumeWindow: tc.window}, "gated")
			session := initSessionAt(t, h, "2025-11-25")
			get := do(t, http.MethodGet, h.URL(), session, acceptSSE, "")
			nextEvent(t, readEvents(get.Body), "the GET priming event")
			resp := do(t, http.MethodPost, h.URL(), session, acceptBoth,
				callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
			events := readEvents(resp.Body)
			_, p1 := primed(t, events, "2025-11-25")
			h.mu.Lock()
			sess := h.sessions[session]
			h.mu.Unlock()
			resp.Body.Close()
			f.release()
			tc.end(t, h, session)
			poll.Until(t, "the response stream is dropped", func() bool {
				sess.mu.Lock()
				defer sess.mu.Unlock()
				_, ok := sess.streams[strings.TrimSuffix(p1.id, "-1")]
				return !ok
			})
			poll.Until(t, "nothing is kept or queued", func() bool {
				return h.resumeBytes.Load() == 0 && h.router.QueuedBytes() == 0
			})
			if tc.status == http.StatusNotFound {
				poll.Until(t, "the session is gone", func() bool { return h.Sessions() == 0 && h.router.SessionCount() == 0 })
			}
			if again := resumeGET(t, h, session, p1.id); again.StatusCode != tc.status {
				t.Fatalf("resuming a dropped stream: %d, want %d", again.StatusCode, tc.status)
			}
		})
	}
}

// Streams of a 2024-11-05 session carry no ids (the revision has no
// resumption), nor do any when resumption is off.
func TestResumeOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, version string
		opts          HTTPOptions
	}{
		{"2024-11-05", "2024-11-05", HTTPOptions{}},
		{"disabled", "2025-11-25", HTTPOptions{ResumeBufferBytes: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, f := startListener(t, tc.opts, "gated")
			session := initSessionAt(t, h, tc.version)
			resp := do(t, http.MethodPost, h.URL(), session, acceptBoth,
				callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`))
			events := readEvents(resp.Body)
			ev := nextEvent(t, events, "progress 1")
			if !isProgress(ev, "1") || ev.id != "" || ev.retry != "" {
				t.Fatalf("event %+v, want progress without id or retry", ev)
			}
			f.release()
			nextEvent(t, events, "progress 2")
			if ev := nextEvent(t, events, "the response"); ev.id != "" {
				t.Fatalf("response event %+v", ev)
			}
			if h.resumeBytes.Load() != 0 {
				t.Fatal("events kept")
			}
		})
	}
}

// TestResumeLeavesNoGoroutines is not parallel, so that no other test
// starts or ends goroutines while it counts: a resumed stream, a stream
// left to expire and one whose session is deleted leave nothing running
// once the listener is shut down.
func TestResumeLeavesNoGoroutines(t *testing.T) {
	client.CloseIdleConnections()
	before := runtime.NumGoroutine()
	t.Run("streams", func(t *testing.T) {
		h, f := startListener(t, HTTPOptions{resumeWindow: 20 * time.Millisecond}, "gated")
		call := callMsg(`"c"`, "mcp__proxy__srv__gated", `{}`, `{"progressToken":"tok"}`)
		// Resumed to its end.
		session := initSessionAt(t, h, "2025-11-25")
		resp := do(t, http.MethodPost, h.URL(), session, acceptBoth, call)
		_, p1 := primed(t, readEvents(resp.Body), "2025-11-25")
		resp.Body.Close()
		resumed := readEvents(resumeGET(t, h, session, p1.id).Body)
		nextEvent(t, resumed, "progress 2")
		f.release()
		nextEvent(t, resumed, "the response")
		streamEnds(t, resumed)
		// Left to expire, and left with its session deleted.
		for _, deleted := range []bool{false, true} {
			session := initSessionAt(t, h, "2025-11-25")
			resp := do(t, http.MethodPost, h.URL(), session, acceptBoth, call)
			primed(t, readEvents(resp.Body), "2025-11-25")
			resp.Body.Close()
			if deleted {
				do(t, http.MethodDelete, h.URL(), session, "", "")
			}
		}
		f.release()
		f.release()
		poll.Until(t, "nothing is kept", func() bool { return h.resumeBytes.Load() == 0 && h.router.QueuedBytes() == 0 })
	})
	client.CloseIdleConnections()
	poll.GoroutinesBackTo(t, before)

}

// A resume takes a stream over from a writer still attached (a connection
// the proxy has not yet seen break): the writer is told to let go; a plain
// attach is refused instead.
func TestResumeTakeover(t *testing.T) {
	t.Parallel()
	h := &HTTP{opts: HTTPOptions{ResumeBufferBytes: 100, ResumeTotalBytes: 1000}}
	es := h.openStream(&httpSession{}, nil)
	kick, ok := es.attach(false)
	if !ok {
		t.Fatal("the first writer cannot attach")
	}
	if _, ok := es.attach(false); ok {
		t.Fatal("a second writer attached without taking over")
	}
	let := make(chan struct{})
	go func() {
		<-kick
		es.detach()
		close(let)
	}()
	kick2, ok := es.attach(true)
	if !ok {
		t.Fatal("the takeover failed")
	}
	<-let
	select {
	case <-kick2:
		t.Fatal("the new writer is told to let go")
	default:
	}
	es.detach()
}
