package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// timeLayout is RFC 3339 in UTC with a fixed number of fractional digits:
// RFC3339Nano trims trailing zeros, which makes columns ragged and breaks
// sorting lines as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// maxPartial bounds the unterminated tail Write keeps waiting for its
// newline, so a writer that never sends one cannot grow it without limit.
const maxPartial = 64 << 10

// maxIdleBuffer is the largest scratch buffer a Log keeps between writes;
// one huge line should not pin its memory for the life of the process.
const maxIdleBuffer = 1 << 20

// Log is one named log: its current file, its rotated files and its
// followers. It is safe for concurrent use; each call's lines reach the file
// and the followers together, so lines from concurrent calls never mix.
type Log struct {
	m    *Manager
	name string
	path string

	mu        sync.Mutex
	f         *os.File    // nil only after a failed reopen; the next write retries
	fi        os.FileInfo // f's identity, to notice another process's rotation
	lock      *os.File    // .<name>.lock, flocked to coordinate with other processes
	size      int64       // bytes in the current file, as of our last write
	closed    bool
	pending   []byte   // whole lines of the current call not yet written
	lines     []string // the same lines for followers, kept only when there are any
	partial   []byte   // Write: the bytes after the last newline so far
	scratch   []byte   // WriteLine's line being formatted
	followers map[*follower]struct{}
	// failing: the last write to the file failed; lost counts the lines
	// it missed since (see Options.Report).
	failing bool
	lost    int64
}

// Name returns the log's name.
func (l *Log) Name() string { return l.name }

// Write stores text that is already formatted, such as the host's hclog
// output, one file line per input line with no prefix added. A line may
// arrive over several calls: bytes after the last newline wait for the next
// call (or Close). It always reports len(p), since the bytes have been taken
// even when writing the file failed; the error says the file missed them.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	data := p
	if len(l.partial) > 0 {
		l.partial = append(l.partial, p...)
		data = l.partial
	}
	// errors.Join of nils allocates nothing, unlike collecting a slice:
	// this is the hot path.
	var err error
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		err = errors.Join(err, l.emit(bytes.TrimSuffix(data[:i], []byte{'\r'})))
		data = data[i+1:]
	}
	if len(data) > maxPartial {
		err = errors.Join(err, l.emit(data))
		data = nil
	}
	// data may alias l.partial; append copies with memmove semantics.
	l.partial = append(l.partial[:0], data...)
	if err = errors.Join(err, l.flush()); err != nil {
		return len(p), fmt.Errorf("logs: %s: %w", l.name, err)
	}
	return len(p), nil
}

// WriteLine stores a line a backend printed, read at t, on stream (one of the
// Stream constants), as "<t> <name> <stream>: <line>". Trailing newlines are
// dropped, carriage returns removed, and a line holding newlines becomes
// several lines with the same prefix, so one file line is always one line.
func (l *Log) WriteLine(t time.Time, stream, line string) error {
	if stream == "" || strings.ContainsAny(stream, " \r\n") {
		return fmt.Errorf("logs: %s: invalid stream %q", l.name, stream)
	}
	// Room beyond the layout's width: AppendFormat writes all nine
	// fractional digits before cutting them to six.
	var stamp [len(timeLayout) + 8]byte
	ts := t.UTC().AppendFormat(stamp[:0], timeLayout)
	line = strings.TrimRight(line, "\r\n")

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var err error
	for {
		seg, rest, more := strings.Cut(line, "\n")
		b := append(l.scratch[:0], ts...)
		b = append(b, ' ')
		b = append(b, l.name...)
		b = append(b, ' ')
		b = append(b, stream...)
		b = append(b, ':', ' ')
		for i := 0; i < len(seg); i++ {
			if seg[i] != '\r' {
				b = append(b, seg[i])
			}
		}
		l.scratch = b
		err = errors.Join(err, l.emit(b))
		if !more {
			break
		}
		line = rest
	}
	if cap(l.scratch) > maxIdleBuffer {
		l.scratch = nil
	}
	if err = errors.Join(err, l.flush()); err != nil {
		return fmt.Errorf("logs: %s: %w", l.name, err)
	}
	return nil
}

// writeEntry stores one preformatted line (no newline inside).
func (l *Log) writeEntry(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	err := errors.Join(l.emit(line), l.flush())
	if err != nil {
		return fmt.Errorf("logs: %s: %w", l.name, err)
	}
	return nil
}

// emit queues one line (without its newline), first writing out what is
// queued and rotating if the line would take the file past MaxBytes. The
// check counts queued bytes too, so a call's lines are split across files at
// line boundaries exactly where the limit falls. Called with l.mu held.
func (l *Log) emit(line []byte) error {
	var err error
	need := int64(len(line)) + 1
	if cur := l.size + int64(len(l.pending)); cur > 0 && cur+need > l.m.opts.MaxBytes {
		err = errors.Join(l.flush(), l.rotate(need))
	}
	l.pending = append(l.pending, line...)
	l.pending = append(l.pending, '\n')
	if len(l.followers) > 0 {
		l.lines = append(l.lines, string(line))
	}
	return err
}

// flush writes the queued lines to the file with one O_APPEND write, so
// that another process appending to the file cannot split a line, and hands
// them to the followers. Followers get the lines even if the file write
// fails: a full disk should not also blind the live view. Called with l.mu
// held.
//
// Several mcphost processes may write one log (copies of one config). The
// write happens under a shared flock of the log's lock file, after checking
// that the path still names the file we hold open: a process that rotates
// takes the lock exclusively, so no line is ever written to a file after it
// was renamed away (where a later rotation could delete it).
func (l *Log) flush() error {
	var err error
	if len(l.pending) > 0 {
		err = l.withLock(lockShared, func() error { return l.write(true) })
		if errors.Is(err, errNoRoom) {
			// Another process filled the file since we last looked: rotate
			// (or find it rotated) first. Whatever happens meanwhile, the
			// lines go out on the second try.
			err = errors.Join(l.rotate(int64(len(l.pending))),
				l.withLock(lockShared, func() error { return l.write(false) }))
		}
		l.noteWrite(err)
		l.pending = l.pending[:0]
		if cap(l.pending) > maxIdleBuffer {
			l.pending = nil
		}
	}
	if len(l.lines) > 0 {
		for f := range l.followers {
			f.push(l.lines)
		}
		clear(l.lines)
		l.lines = l.lines[:0]
	}
	return err
}

// noteWrite tracks whether the file takes the queued lines, and reports
// each change (Options.Report). Called with l.mu held and l.pending not
// yet cleared.
func (l *Log) noteWrite(err error) {
	switch {
	case err != nil:
		l.lost += int64(bytes.Count(l.pending, []byte{'\n'}))
		if !l.failing {
			l.failing = true
			if r := l.m.opts.Report; r != nil {
				r(l.name, l.path, err, 0)
			}
		}
	case l.failing:
		l.failing = false
		lost := l.lost
		l.lost = 0
		if r := l.m.opts.Report; r != nil {
			r(l.name, l.path, nil, lost)
		}
	}
}

// errNoRoom says that the queued lines would take the file past MaxBytes.
var errNoRoom = errors.New("no room left in the file")

// write appends the queued lines to the current file; with checkRoom, it
// returns errNoRoom instead when they would take a non-empty file past
// MaxBytes. Called with l.mu and the lock file held.
func (l *Log) write(checkRoom bool) error {
	if err := l.current(); err != nil {
		return err
	}
	if checkRoom && l.size > 0 && l.size+int64(len(l.pending)) > l.m.opts.MaxBytes {
		return errNoRoom
	}
	n, err := l.f.Write(l.pending)
	l.size += int64(n)
	return err
}

// current makes l.f the file at l.path (re-opening it when another process
// rotated it away, or when an earlier open failed) and l.size its size.
// Called with l.mu and the lock file held.
func (l *Log) current() error {
	if l.f != nil {
		fi, err := os.Stat(l.path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil // cannot tell: keep appending where we were
		}
		if err == nil && os.SameFile(fi, l.fi) {
			if fi, err := l.f.Stat(); err == nil {
				l.size = fi.Size()
			}
			return nil
		}
		l.f.Close()
		l.f, l.fi = nil, nil
	}
	return l.open()
}

// withLock runs fn holding the log's lock file in mode how. The lock file
// is opened on first use; when it cannot be, fn runs unlocked (a single
// process needs no lock) and the error is returned with fn's. Called with
// l.mu held.
func (l *Log) withLock(how lockMode, fn func() error) error {
	if l.lock == nil {
		f, err := os.OpenFile(filepath.Join(l.m.opts.Dir, "."+l.name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return errors.Join(fmt.Errorf("logs: lock %s: %w", l.name, err), fn())
		}
		l.lock = f
	}
	if err := flock(l.lock, how); err != nil {
		return errors.Join(fmt.Errorf("logs: lock %s: %w", l.name, err), fn())
	}
	err := fn()
	if uerr := flock(l.lock, unlock); uerr != nil {
		err = errors.Join(err, fmt.Errorf("logs: unlock %s: %w", l.name, uerr))
	}
	return err
}

// open opens the current file for appending, creating it 0o600, and learns
// its size. A file left by an earlier run is made 0o600 too, and the umask
// cannot widen the mode but may narrow it, hence the Chmod in both cases.
// Called with l.mu held, or before the Log is shared.
func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logs: open %s: %w", l.name, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("logs: open %s: %w", l.name, err)
	}
	l.f, l.fi, l.size = f, fi, fi.Size()
	return nil
}

// rotate shifts <name>.log.i to .i+1 (the last one falls off), renames the
// current file to .1, opens a fresh current file and applies MaxAge; need is
// the size of the line that is to go into the fresh file. It holds the lock
// file exclusively, and first checks whether another process has rotated
// already (the path names another file, or the file has room for need after
// all): then it only re-opens. If the current file could not be renamed
// away, writing goes on appending to it, so nothing is lost, and the next
// line retries the rotation. Called with l.mu held.
func (l *Log) rotate(need int64) error {
	err := l.withLock(lockExclusive, func() error {
		if err := l.current(); err != nil {
			return err
		}
		if l.size == 0 || l.size+need <= l.m.opts.MaxBytes {
			return nil
		}
		var errs []error
		errs = append(errs, l.f.Close())
		l.f, l.fi = nil, nil
		dir, keep := l.m.opts.Dir, l.m.opts.MaxFiles
		if keep == 0 {
			errs = append(errs, ignoreNotExist(os.Remove(l.path)))
		} else {
			errs = append(errs, ignoreNotExist(os.Remove(filepath.Join(dir, rotatedName(l.name, keep)))))
			for i := keep - 1; i >= 1; i-- {
				errs = append(errs, ignoreNotExist(os.Rename(
					filepath.Join(dir, rotatedName(l.name, i)),
					filepath.Join(dir, rotatedName(l.name, i+1)))))
			}
			errs = append(errs, ignoreNotExist(os.Rename(l.path, filepath.Join(dir, rotatedName(l.name, 1)))))
		}
		errs = append(errs, l.open())
		if l.m.opts.MaxAge > 0 {
			errs = append(errs, l.m.prune(l.name))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

// close writes out a pending partial line, closes the file and ends the
// follows.
func (l *Log) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	var errs []error
	if len(l.partial) > 0 {
		errs = append(errs, l.emit(l.partial))
		l.partial = nil
	}
	errs = append(errs, l.flush())
	l.closed = true
	if l.f != nil {
		errs = append(errs, l.f.Close())
		l.f, l.fi = nil, nil
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
		l.lock = nil
	}
	for f := range l.followers {
		close(f.done)
	}
	l.followers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logs: close %s: %w", l.name, err)
	}
	return nil
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
