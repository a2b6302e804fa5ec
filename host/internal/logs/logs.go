// Package logs keeps one rotating log file per backend server (and one for
// the host itself), and lets the admin API read the last lines of a log and
// follow it live.
//
// Files, in Options.Dir (created 0o700; files are 0o600):
//
//	<name>.log     the current file
//	<name>.log.1   the most recent rotated file
//	<name>.log.N   older ones, up to Options.MaxFiles
//	.<name>.lock   flocked by writers, so that several processes (copies of
//	               one config) can write and rotate one log
//
// Numbered names rather than timestamped ones, so that the set of files for a
// log is bounded by construction and "older" is simply "higher number".
//
// Every line in a file is a whole line ending in '\n'. Backend lines are
// stored as "<time> <name> <stream>: <text>", where <time> is UTC with a fixed
// width (2006-01-02T15:04:05.000000Z) so that files sort and align; lines the
// host's hclog already formatted are stored as they are.
//
// Following a log does not read the file: writers hand each new line to the
// followers in memory, so rotation (which replaces the file under the reader,
// and made the system mcphost replaces stall for good) has no effect on a live
// stream. Each follower has a bounded queue: a follower that does not keep up
// loses lines, is told how many with one marker line, and never slows the
// writers down.
package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HostLog is the name of the host's own log.
const HostLog = "mcphost"

// Streams of backend lines, for WriteLine.
const (
	StreamStderr = "stderr"
	StreamStdout = "stdout"
	StreamPlugin = "plugin"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBytes     = 10 << 20
	DefaultMaxFiles     = 5
	DefaultFollowBuffer = 1024
)

// maxNameLen keeps file names well under every file system's limit, with
// room for the ".log.N" suffix.
const maxNameLen = 128

// ErrClosed is returned by every operation on a closed Manager or its Logs.
var ErrClosed = errors.New("logs: closed")

// Options configure a Manager.
type Options struct {
	// Dir holds the files. It is created with mode 0o700 if missing; an
	// existing directory keeps its mode, because it may be shared on purpose.
	Dir string
	// MaxBytes is the size a file may reach: a line that would take the
	// current file past it goes to a fresh file. A single line longer than
	// MaxBytes still gets written, alone in its file. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxFiles is how many rotated files are kept per log, besides the
	// current one. Zero means DefaultMaxFiles; negative keeps none.
	MaxFiles int
	// MaxAge deletes rotated files last modified longer ago than this, on
	// each rotation and in New. Zero means no age limit.
	MaxAge time.Duration
	// Only, when set, is the one log this Manager serves in Dir: New
	// prunes only its rotated files, leaving other logs that share the
	// directory to their own limits.
	Only string
	// FollowBuffer is how many lines a follower may fall behind before
	// lines are dropped for it. Zero means DefaultFollowBuffer.
	FollowBuffer int
	// Now is the clock for hclog entries and MaxAge; nil means time.Now.
	Now func() time.Time
	// Report, when set, is told when a log's file stops taking lines (err
	// set: a full disk, a read-only or vanished directory) and when it
	// takes them again (err nil, lost: the lines the file missed
	// meanwhile; followers got them all). It is called once per change,
	// with the log's lock held, so it must not write to this Manager's
	// logs: the host gives it a logger writing to stderr only.
	Report func(name, file string, err error, lost int64)
}

// Manager owns the logs of one proxy. It is safe for concurrent use.
type Manager struct {
	opts Options

	mu     sync.Mutex
	logs   map[string]*Log
	closed bool
}

// New prepares opts.Dir and deletes rotated files that the retention limits
// (MaxFiles, MaxAge) no longer allow, including ones left by earlier runs
// with other settings.
func New(opts Options) (*Manager, error) {
	if opts.Dir == "" {
		return nil, errors.New("logs: Options.Dir is empty")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	switch {
	case opts.MaxFiles == 0:
		opts.MaxFiles = DefaultMaxFiles
	case opts.MaxFiles < 0:
		opts.MaxFiles = 0
	}
	if opts.FollowBuffer <= 0 {
		opts.FollowBuffer = DefaultFollowBuffer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := makeDir(opts.Dir); err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, logs: make(map[string]*Log)}
	if err := m.prune(opts.Only); err != nil {
		return nil, err
	}
	return m, nil
}

// Log returns the log called name, opening (or creating) <Dir>/<name>.log on
// first use. name is a server name or HostLog; it must be 1 to 128 of
// [A-Za-z0-9_.-] and not start with '.', so it can never leave Dir.
func (m *Manager) Log(name string) (*Log, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if l, ok := m.logs[name]; ok {
		return l, nil
	}
	l := &Log{
		m:         m,
		name:      name,
		path:      filepath.Join(m.opts.Dir, name+".log"),
		followers: make(map[*follower]struct{}),
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	m.logs[name] = l
	return l, nil
}

// lookup returns an already opened log, without creating one.
func (m *Manager) lookup(name string) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logs[name]
	return l, ok && !m.closed
}

// Names returns the names of the logs opened through Log, sorted.
func (m *Manager) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.logs))
	for name := range m.logs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Close flushes and closes every log and ends every follow (after the lines
// already queued for it are delivered). Later calls do nothing.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	logs := m.logs
	m.mu.Unlock()

	var errs []error
	for _, l := range logs {
		errs = append(errs, l.close())
	}
	return errors.Join(errs...)
}

func validName(name string) error {
	if name == "" || len(name) > maxNameLen || name[0] == '.' {
		return fmt.Errorf("logs: invalid log name %q: want 1 to %d of [A-Za-z0-9_.-], not starting with '.'", name, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("logs: invalid log name %q: character %q is not in [A-Za-z0-9_.-]", name, c)
		}
	}
	return nil
}

// makeDir creates dir owner-only. The explicit Chmod is there because
// MkdirAll's mode is filtered by the umask.
func makeDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return fmt.Errorf("logs: %s is not a directory", dir)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("logs: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// rotatedName is the file name of a log's idx-th rotated file.
func rotatedName(name string, idx int) string {
	return name + ".log." + strconv.Itoa(idx)
}

// parseRotated splits "<name>.log.<idx>" into name and idx. The suffix is
// parsed from the end, so a server called "a.log.1" (file "a.log.1.log") is
// never mistaken for a rotation of "a".
func parseRotated(file string) (name string, idx int, ok bool) {
	i := strings.LastIndex(file, ".log.")
	if i <= 0 {
		return "", 0, false
	}
	digits := file[i+len(".log."):]
	if digits == "" || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return "", 0, false
	}
	idx, err := strconv.Atoi(digits)
	if err != nil {
		return "", 0, false
	}
	name = file[:i]
	if validName(name) != nil {
		return "", 0, false
	}
	return name, idx, true
}

// prune deletes rotated files of the log called only (every log when only is
// "") that are numbered beyond MaxFiles or older than MaxAge. Files that are
// not ours are left alone.
func (m *Manager) prune(only string) error {
	entries, err := os.ReadDir(m.opts.Dir)
	if err != nil {
		return fmt.Errorf("logs: prune: %w", err)
	}
	var cutoff time.Time
	if m.opts.MaxAge > 0 {
		cutoff = m.opts.Now().Add(-m.opts.MaxAge)
	}
	var errs []error
	for _, e := range entries {
		name, idx, ok := parseRotated(e.Name())
		if !ok || (only != "" && name != only) || !e.Type().IsRegular() {
			continue
		}
		remove := idx > m.opts.MaxFiles
		if !remove && !cutoff.IsZero() {
			fi, err := e.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				continue
			}
			remove = fi.ModTime().Before(cutoff)
		}
		if remove {
			if err := os.Remove(filepath.Join(m.opts.Dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logs: prune: %w", err)
	}
	return nil
}
