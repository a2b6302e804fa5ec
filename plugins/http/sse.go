package httptransport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	// Type is the event field, "message" when absent.
	Type string
	// Data is the data fields joined with "\n".
	Data []byte
	// TooLarge is set, and Data left empty, when the data exceeded the
	// reader's limit; the event was read to its end and can be skipped.
	TooLarge bool
	// Size is the length the data had, also when it was too large.
	Size int
}

// sseReader parses a text/event-stream (the WHATWG server-sent events
// format): fields event, data, id and retry; lines starting with ':' are
// comments. Lines end in "\n" or "\r\n". A line may be as long as the data
// limit allows; the data of one event is bounded by limit.
type sseReader struct {
	r     *bufio.Reader
	limit int

	// LastID is the last event id seen (the id field persists across
	// events, as the spec says).
	LastID string
	// Retry is the last reconnection delay the server asked for, or 0.
	Retry time.Duration

	line []byte
}

// fieldSlack is how much longer than limit a line may be: room for the
// field name and its separator.
const fieldSlack = 64

func newSSEReader(r io.Reader, limit int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// errLineTooLong is returned by readLine for a line over the limit; the
// rest of the line has been consumed.
var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its terminator. The slice is
// valid until the next call.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if !tooLong {
			if len(s.line)+len(chunk) > s.limit+fieldSlack {
				tooLong = true
				s.line = s.line[:0]
			} else {
				s.line = append(s.line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if err == io.EOF && (len(s.line) > 0 || tooLong) {
				// A last line without a terminator ends the stream
				// without dispatching, as the spec says.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if tooLong {
			return nil, errLineTooLong
		}
		line := bytes.TrimSuffix(s.line, []byte("\n"))
		return bytes.TrimSuffix(line, []byte("\r")), nil
	}
}

// Next returns the next event that carries data. It returns io.EOF when the
// stream ends cleanly, between events.
func (s *sseReader) Next() (sseEvent, error) {
	var ev sseEvent
	var data []byte
	hasData := false
	for {
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			// Only a data line can be this long; the event is unusable.
			ev.TooLarge, hasData = true, true
			ev.Size += s.limit + 1
			data = nil
			continue
		}
		if err != nil {
			if err == io.EOF && hasData {
				// The stream ended inside an event, which is discarded.
				err = io.ErrUnexpectedEOF
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				// An event without data (such as a priming event that only
				// sets the id) is not dispatched.
				ev = sseEvent{}
				continue
			}
			if ev.Type == "" {
				ev.Type = "message"
			}
			if !ev.TooLarge {
				ev.Data = data
			}
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(name) {
		case "event":
			ev.Type = string(value)
		case "data":
			if hasData {
				ev.Size++
			}
			ev.Size += len(value)
			if ev.Size > s.limit {
				ev.TooLarge = true
				data = nil
			}
			if !ev.TooLarge {
				if hasData {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				s.LastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil {
				s.Retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}
