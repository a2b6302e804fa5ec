package jsonrpc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is wrapped by the error for a line longer than the reader's
// limit; the line has been consumed, so reading can go on with the next one.
var ErrTooLarge = errors.New("message too large")

// TooLargeError reports one skipped line and its size.
type TooLargeError struct {
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("a message of %d bytes exceeds the limit of %d", e.Size, e.Limit)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// LineReader reads newline-delimited messages (the stdio framing) with no
// limit but the one it is given: no 64 KiB scanner cap.
//
// A read that fails mid-line (a deadline set on the underlying file to
// cancel a wait, say) keeps what it has read: the next call to Next resumes
// the same line, so a cancelled read loses nothing.
type LineReader struct {
	r   *bufio.Reader
	max int
	// The line being read: its bytes so far (nil once it is over the
	// limit), its full length so far, and whether it is over the limit.
	buf  []byte
	n    int
	over bool
}

// NewLineReader reads lines of at most max bytes (line ending excluded) from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next non-blank line without its line ending, in a fresh
// slice; a last line without a newline is returned at EOF. A line over the
// limit is skipped whole and reported as a *TooLargeError. On any other
// error the line read so far is kept for the next call.
func (l *LineReader) Next() ([]byte, error) {
	for {
		line, err := l.line()
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			return line, nil
		}
	}
}

func (l *LineReader) line() ([]byte, error) {
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.n += len(chunk)
		if !l.over {
			if l.n > l.max+2 { // +2 for a "\r\n" ending
				l.over, l.buf = true, nil
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || l.n == 0) {
			return nil, err
		}
		buf, n, over := l.buf, l.n, l.over
		l.buf, l.n, l.over = nil, 0, false
		buf = bytes.TrimSuffix(buf, []byte{'\n'})
		buf = bytes.TrimSuffix(buf, []byte{'\r'})
		if over || len(buf) > l.max {
			return nil, &TooLargeError{Size: n, Limit: l.max}
		}
		if buf == nil {
			buf = []byte{}
		}
		return buf, nil
	}
}
