package jsonrpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned for a line longer than the reader's limit; the
// line has been consumed, so reading can go on with the next one.
var ErrTooLarge = errors.New("message too large")

// LineReader reads newline-delimited messages (the stdio framing) with no
// limit but the one it is given: no 64 KiB scanner cap.
type LineReader struct {
	r   *bufio.Reader
	max int
}

// NewLineReader reads lines of at most max bytes from r.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next non-empty line without its line ending, in a fresh
// slice. A line over the limit is skipped whole and reported with an error
// wrapping ErrTooLarge.
func (l *LineReader) Next() ([]byte, error) {
	for {
		line, err := l.line()
		if err != nil {
			return nil, err
		}
		if len(line) > 0 {
			return line, nil
		}
	}
}

func (l *LineReader) line() ([]byte, error) {
	var buf []byte
	over := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !over {
			if len(buf)+len(chunk) > l.max+2 { // +2 for a CRLF ending
				over, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if over {
				return nil, fmt.Errorf("%w: a line exceeds %d bytes", ErrTooLarge, l.max)
			}
			return trimEOL(buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0 && !over:
			return trimEOL(buf), nil
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && len(b) < cap(b)/4 && cap(b) > 1<<20 {
		// Don't pin a huge buffer for a small message.
		return append([]byte(nil), b...)
	}
	return b
}
