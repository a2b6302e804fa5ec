package httptransport

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSSEReader(t *testing.T) {
	t.Parallel()
	stream := ": comment\n" +
		"retry: 1500\n" +
		"id: 1\n" +
		"data: one\n\n" +
		"id: 2\n\n" + // priming: no data, not dispatched
		"event: endpoint\r\n" +
		"data:/message?x=1\r\n\r\n" +
		"data: multi\n" +
		"data:  line\n" +
		"data\n" +
		"unknown: field\n\n" +
		"event: big\n" +
		"data: " + strings.Repeat("x", 40) + "\n\n" +
		"data: " + strings.Repeat("y", 200) + "\n\n" +
		"id: 3\x00\n" +
		"data: after\n\n" +
		"data: unterminated"
	r := newSSEReader(strings.NewReader(stream), 30)
	want := []struct {
		typ, data, lastID string
		tooLarge          bool
	}{
		{"message", "one", "1", false},
		{"endpoint", "/message?x=1", "2", false},
		{"message", "multi\n line\n", "2", false},
		{"big", "", "2", true},
		{"message", "", "2", true},
		{"message", "after", "2", false}, // an id with NUL is ignored
	}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != w.typ || string(ev.Data) != w.data || r.LastID != w.lastID || ev.TooLarge != w.tooLarge {
			t.Errorf("event %d = %q %q (id %q, too large %v), want %q %q (id %q, too large %v)",
				i, ev.Type, ev.Data, r.LastID, ev.TooLarge, w.typ, w.data, w.lastID, w.tooLarge)
		}
	}
	if r.Retry != 1500*time.Millisecond {
		t.Errorf("Retry = %v", r.Retry)
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("unterminated event: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := newSSEReader(strings.NewReader("data: x\n\n"), 10).Next(); err != nil {
		t.Errorf("clean event: %v", err)
	}
	r = newSSEReader(strings.NewReader("data: x\n\n: trailing comment\n"), 10)
	_, _ = r.Next()
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("clean end: %v, want io.EOF", err)
	}
}

func TestSSEReaderLongLines(t *testing.T) {
	t.Parallel()
	// Lines longer than bufio's buffer, up to the limit, are read whole.
	big := strings.Repeat("z", 200<<10)
	r := newSSEReader(strings.NewReader("data: "+big+"\n\n"), len(big))
	ev, err := r.Next()
	if err != nil || string(ev.Data) != big {
		t.Fatalf("long line: %v, %d bytes", err, len(ev.Data))
	}
}
