package httptransport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSSEReader: the text/event-stream parser reads any stream as the
// WHATWG rules (lines ending in "\n" or "\r\n") read it line by line:
// the same events, data joined with "\n", events over the limit marked
// too large, the same last id and retry, and the same end (EOF between
// events, ErrUnexpectedEOF inside one). It never panics.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte(": comment\nretry: 1500\nid: 1\ndata: one\n\nid: 2\n\nevent: endpoint\r\ndata:/message?x=1\r\n\r\n"), uint16(30))
	f.Add([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"), uint16(1000))
	f.Add([]byte("data: multi\ndata:  line\ndata\nunknown: field\n\n"), uint16(30))
	f.Add([]byte("event: big\ndata: "+strings.Repeat("x", 40)+"\n\ndata: after\n\n"), uint16(30))
	f.Add([]byte("data: "+strings.Repeat("y", 200)+"\n\nid: 3\x00\ndata: a\n\ndata: unterminated"), uint16(30))
	f.Add([]byte("data: x\n\n: trailing comment\n"), uint16(10))
	f.Add([]byte("event: e\ndata: "+strings.Repeat("z", 100)+"\r\ndata: more\n\ndata: ok\n\n"), uint16(20))
	f.Add([]byte("retry: 99999999999\nretry: -1\ndata:\n\n\r\n"), uint16(0))
	f.Fuzz(func(t *testing.T, stream []byte, limit16 uint16) {
		limit := int(limit16)
		want, wantID, wantRetry := sseModel(stream, limit)
		r := newSSEReader(bytes.NewReader(stream), limit)
		var got []string
		for range len(stream) + 2 {
			ev, err := r.Next()
			if err != nil {
				if err == io.EOF {
					got = append(got, "EOF")
				} else if errors.Is(err, io.ErrUnexpectedEOF) {
					got = append(got, "unexpected EOF")
				} else {
					got = append(got, "error "+err.Error())
				}
				break
			}
			if !ev.TooLarge && ev.Size != len(ev.Data) {
				t.Fatalf("event of %d bytes has Size %d", len(ev.Data), ev.Size)
			}
			if ev.TooLarge && (len(ev.Data) != 0 || ev.Size <= limit) {
				t.Fatalf("too large event with %d bytes of data, Size %d, limit %d", len(ev.Data), ev.Size, limit)
			}
			got = append(got, sseString(ev.Type, string(ev.Data), ev.TooLarge))
		}
		if strings.Join(got, "\n--\n") != strings.Join(want, "\n--\n") {
			t.Fatalf("%q (limit %d):\n got %q\nwant %q", stream, limit, got, want)
		}
		if r.LastID != wantID || r.Retry != wantRetry {
			t.Fatalf("%q: LastID %q, Retry %v; want %q, %v", stream, r.LastID, r.Retry, wantID, wantRetry)
		}
	})
}

func sseString(typ, data string, tooLarge bool) string {
	if tooLarge {
		return fmt.Sprintf("%s: too large", typ)
	}
	return fmt.Sprintf("%s: %q", typ, data)
}

// sseModel reads a whole stream line by line, as the spec describes it.
func sseModel(stream []byte, limit int) (events []string, lastID string, retry time.Duration) {
	lines := strings.SplitAfter(string(stream), "\n")
	typ, data, hasData, tooLarge := "", "", false, false
	for _, raw := range lines {
		if raw == "" {
			continue // SplitAfter's empty tail
		}
		if !strings.HasSuffix(raw, "\n") {
			// A last line without an ending: the stream is cut short.
			return append(events, "unexpected EOF"), lastID, retry
		}
		if len(raw) > limit+fieldSlack {
			hasData, tooLarge = true, true // only a data line can be this long
			continue
		}
		line := strings.TrimSuffix(strings.TrimSuffix(raw, "\n"), "\r")
		if line == "" {
			if hasData {
				if typ == "" {
					typ = "message"
				}
				events = append(events, sseString(typ, data, tooLarge || len(data) > limit))
			}
			typ, data, hasData, tooLarge = "", "", false, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			typ = value
		case "data":
			if hasData {
				data += "\n"
			}
			data += value
			hasData = true
		case "id":
			if !strings.Contains(value, "\x00") {
				lastID = value
			}
		case "retry":
			if ms, err := strconv.ParseUint(value, 10, 31); err == nil {
				retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if hasData {
		return append(events, "unexpected EOF"), lastID, retry
	}
	return append(events, "EOF"), lastID, retry
}
