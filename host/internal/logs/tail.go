package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tailBlock is how much is read at a time, from the end of a file backwards.
const tailBlock = 64 << 10

// Tail returns the last n lines of the log, oldest first, going back into the
// rotated files when the current one holds fewer than n. Only the end of the
// files is read, not whole files.
func (l *Log) Tail(n int) ([]string, error) {
	if n <= 0 {
		return []string{}, nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	snap, err := l.snapshot()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer snap.close()
	return snap.lastLines(n)
}

// snapshot is a consistent view of a log's files: all of them are opened
// while l.mu is held, so a rotation cannot happen between reading the
// current file and the rotated ones (which would repeat or skip lines), and
// the reading itself happens after l.mu is released, so writers never wait
// for a reader. An open file keeps its contents across the renames and
// deletions of later rotations.
type snapshot struct {
	files []*os.File // newest first
	sizes []int64    // bytes to read of each
}

// snapshot opens the log's files. Called with l.mu held.
func (l *Log) snapshot() (*snapshot, error) {
	s := &snapshot{}
	f, err := os.Open(l.path)
	switch {
	case err == nil:
		// Only what has been written so far: lines written after this
		// point reach a follower through the fan-out instead. Other
		// processes writing this log (copies of one config) may have
		// added lines since our last write, so the file's own size counts.
		size := l.size
		if fi, err := f.Stat(); err == nil {
			size = max(size, fi.Size())
		}
		s.files, s.sizes = append(s.files, f), append(s.sizes, size)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("logs: tail %s: %w", l.name, err)
	}
	for i := 1; i <= l.m.opts.MaxFiles; i++ {
		f, err := os.Open(filepath.Join(l.m.opts.Dir, rotatedName(l.name, i)))
		if errors.Is(err, fs.ErrNotExist) {
			// MaxAge may have removed some files and not others.
			continue
		}
		if err == nil {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil {
				s.files, s.sizes = append(s.files, f), append(s.sizes, fi.Size())
				continue
			}
			f.Close()
		}
		s.close()
		return nil, fmt.Errorf("logs: tail %s: %w", l.name, err)
	}
	return s, nil
}

func (s *snapshot) close() {
	for _, f := range s.files {
		f.Close()
	}
}

// lastLines returns the last n lines across the snapshot, oldest first.
func (s *snapshot) lastLines(n int) ([]string, error) {
	var parts [][]string // newest file first
	total := 0
	for i, f := range s.files {
		lines, err := lastLinesOf(f, s.sizes[i], n-total)
		if err != nil {
			return nil, fmt.Errorf("logs: tail %s: %w", filepath.Base(f.Name()), err)
		}
		parts = append(parts, lines)
		total += len(lines)
		if total >= n {
			break
		}
	}
	out := make([]string, 0, total)
	for i := len(parts) - 1; i >= 0; i-- {
		out = append(out, parts[i]...)
	}
	return out, nil
}

// lastLinesOf returns the last n lines of the first size bytes of f. It reads
// blocks backwards until it has seen n+1 newlines (the one ending the last
// line, and the one before the n-th line from the end) or the file's start.
// A last line without its newline, as a crash can leave, still counts.
func lastLinesOf(f *os.File, size int64, n int) ([]string, error) {
	if size <= 0 || n <= 0 {
		return nil, nil
	}
	var blocks [][]byte // newest first
	newlines, off := 0, size
	for off > 0 && newlines <= n {
		k := min(int64(tailBlock), off)
		off -= k
		b := make([]byte, k)
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		newlines += bytes.Count(b, []byte{'\n'})
		blocks = append(blocks, b)
	}
	var sb strings.Builder
	sb.Grow(int(size - off))
	for i := len(blocks) - 1; i >= 0; i-- {
		sb.Write(blocks[i])
	}
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	if off > 0 {
		// The first piece is the end of a line that started earlier.
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}
