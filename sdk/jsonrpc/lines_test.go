package jsonrpc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string // "!N" means a skipped line of N bytes
	}{
		{"short lines", "a\nbb\n", 10, []string{"a", "bb"}},
		{"blank lines skipped", "a\n\n  \r\nb\n", 10, []string{"a", "b"}},
		{"exactly the limit", "abcd\r\nabcde\n", 4, []string{"abcd", "!6"}},
		{"longer than the read buffer", strings.Repeat("x", 100<<10) + "\nok\n", 200 << 10, []string{strings.Repeat("x", 100<<10), "ok"}},
		{"over the limit and the buffer", strings.Repeat("x", 100<<10) + "\nok\n", 50, []string{fmt.Sprintf("!%d", 100<<10+1), "ok"}},
		{"unterminated last line", "a\nlast", 10, []string{"a", "last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewLineReader(strings.NewReader(tt.in), tt.limit)
			var got []string
			for {
				line, err := r.Next()
				var tooLarge *TooLargeError
				if errors.As(err, &tooLarge) {
					got = append(got, fmt.Sprintf("!%d", tooLarge.Size))
					continue
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(line))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d: got %.20q, want %.20q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// scriptedReader returns its steps one Read at a time: a string is data, an
// error is returned as is (a deadline, say), then reading goes on.
type scriptedReader struct{ steps []any }

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	switch step := r.steps[0].(type) {
	case error:
		r.steps = r.steps[1:]
		return 0, step
	case string:
		n := copy(p, step)
		if n == len(step) {
			r.steps = r.steps[1:]
		} else {
			r.steps[0] = step[n:]
		}
		return n, nil
	}
	panic("bad step")
}

func TestLineReaderResumesAfterAnError(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("y", 150<<10)
	tests := []struct {
		name  string
		steps []any
		limit int
		want  []string // "!N" is a skipped line of N bytes, "E" the interruption
	}{
		{"mid line", []any{"ab", os.ErrDeadlineExceeded, "c\nd\n"}, 10, []string{"E", "abc", "d"}},
		{"between lines", []any{"a\n", os.ErrDeadlineExceeded, "b\n"}, 10, []string{"a", "E", "b"}},
		{"before the newline", []any{"abc", os.ErrDeadlineExceeded, "\n"}, 10, []string{"E", "abc"}},
		{"a line longer than the buffer", []any{big[:100<<10], os.ErrDeadlineExceeded, big[100<<10:] + "\nok\n"}, 200 << 10, []string{"E", big, "ok"}},
		{"an oversized line", []any{big[:100<<10], os.ErrDeadlineExceeded, big[100<<10:] + "\nok\n"}, 1000, []string{"E", fmt.Sprintf("!%d", 150<<10+1), "ok"}},
		{"unterminated last line", []any{"ab", os.ErrDeadlineExceeded, "c"}, 10, []string{"E", "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewLineReader(&scriptedReader{steps: tt.steps}, tt.limit)
			var got []string
			for {
				line, err := r.Next()
				var tooLarge *TooLargeError
				switch {
				case errors.As(err, &tooLarge):
					got = append(got, fmt.Sprintf("!%d", tooLarge.Size))
					continue
				case errors.Is(err, os.ErrDeadlineExceeded):
					got = append(got, "E")
					continue
				case errors.Is(err, io.EOF):
				case err != nil:
					t.Fatal(err)
				default:
					got = append(got, string(line))
					continue
				}
				break
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %.200q, want %.200q", got, tt.want)
			}
		})
	}
}
