package router

import (
	"testing"
)

// TestReplyWriterKeepsItsMessageCharged: each request of a client has a
// writer of its own, so the message a reply's writer has taken (and may
// be stuck writing to a client that does not read) stays in the session's
// budget until the writer takes the next one or closes the reply.
func TestReplyWriterKeepsItsMessageCharged(t *testing.T) {
	t.Parallel()
	r := startRouter(t, Options{})
	s := r.OpenSession("http")
	defer s.Close()
	reply := s.NewReply(true)
	reply.put(outItem{msg: make([]byte, 1000)})
	reply.put(outItem{msg: make([]byte, 500), final: true})
	if got := s.QueuedBytes(); got != 1500 {
		t.Fatalf("queued %d bytes before the writer took anything, want 1500", got)
	}
	if _, ok := reply.TryNext(); !ok {
		t.Fatal("no first message")
	}
	if got := s.QueuedBytes(); got != 1500 {
		t.Errorf("queued %d bytes while the first is being written, want 1500", got)
	}
	if _, ok := reply.TryNext(); !ok {
		t.Fatal("no second message")
	}
	if got := s.QueuedBytes(); got != 500 {
		t.Errorf("queued %d bytes while the second is being written, want 500", got)
	}
	reply.Close()
	if got := s.QueuedBytes(); got != 0 {
		t.Errorf("queued %d bytes after the reply closed, want 0", got)
	}
}
