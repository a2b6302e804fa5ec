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

// lineBuffer is a LineReader's read buffer: a line that fits in it is
// copied once, straight into the slice Next returns.
const lineBuffer = 256 << 10

// NewLineReader reads lines of at most max bytes (line ending excluded) from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, lineBuffer), max: max}
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
		if err == nil && len(l.buf) == 0 && !l.over && l.n <= l.max+2 {
			// The whole line is in the reader's buffer: one exact copy.
			l.n = 0
			return finishLine(chunk, len(chunk), l.max)
		}
		if !l.over {
			if l.n > l.max+2 { // +2 for a "\r\n" ending
				l.over, l.buf = true, l.buf[:0]
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
		n, over := l.n, l.over
		l.n, l.over = 0, false
		if over {
			l.buf = l.buf[:0]
			return nil, &TooLargeError{Size: n, Limit: l.max}
		}
		line, lerr := finishLine(l.buf, n, l.max)
		// The buffer a long line was gathered in is kept for the next one,
		// unless it has grown beyond what is worth holding on to.
		if cap(l.buf) > keepLineBuffer {
			l.buf = nil
		} else {
			l.buf = l.buf[:0]
		}
		return line, lerr
	}
}

// keepLineBuffer bounds the buffer a LineReader keeps between lines.
const keepLineBuffer = 1 << 20

// finishLine copies a line without its ending into a slice of its own;
// size is the line's length as read, ending included.
func finishLine(raw []byte, size, max int) ([]byte, error) {
	raw = bytes.TrimSuffix(raw, []byte{'\n'})
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	if len(raw) > max {
		return nil, &TooLargeError{Size: size, Limit: max}
	}
	out := make([]byte, len(raw))
	copy(out, raw)
	return out, nil
}
