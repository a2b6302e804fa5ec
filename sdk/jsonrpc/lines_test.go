package jsonrpc

import (
	"errors"
	"fmt"
	"io"
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
