package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/testenv"
)

// What the harness reads from /proc: the CPU time of a process tree
// (utime+stime of every live process in it, children's included, from
// /proc/PID/stat), a process's resident set (VmRSS), and who holds a
// backend's pipes.

// clockTick is the unit of the times in /proc/PID/stat (USER_HZ, 100 on
// every Linux the project runs on).
const clockTick = 10 * time.Millisecond

// procStat is what the harness takes from /proc/PID/stat.
type procStat struct {
	state     byte
	ppid      int
	own       time.Duration // utime+stime
	cpu       time.Duration // utime+stime+cutime+cstime
	startTime uint64        // clock ticks after boot, to tell a reused pid apart
}

func readProcStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(raw))
}

// parseProcStat parses "pid (comm) state ppid …"; comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseProcStat(stat string) (procStat, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, errors.New("no ')' in /proc/PID/stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, cstime 17, starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("short /proc/PID/stat: %d fields", len(f)+2)
	}
	num := func(k int) uint64 {
		n, _ := strconv.ParseUint(f[k], 10, 64)
		return n
	}
	own := num(11) + num(12)
	all := own + num(13) + num(14)
	ppid, _ := strconv.Atoi(f[1])
	return procStat{state: f[0][0], ppid: ppid, own: time.Duration(own) * clockTick, cpu: time.Duration(all) * clockTick, startTime: num(19)}, nil
}

// cpuSample is the CPU time a system has used so far.
type cpuSample struct {
	// tree is the root and its live descendants, each one's reaped
	// children included (so a child that exits between two samples moves
	// its time to its parent instead of losing it).
	tree time.Duration
	// host is the root process's own time: for a proxy, mcphost without
	// its plugins and backend.
	host time.Duration
}

func sampleCPU(pid int) cpuSample {
	var s cpuSample
	if st, err := readProcStat(pid); err == nil {
		s.tree, s.host = st.cpu, st.own
	}
	for _, p := range testenv.Descendants(pid) {
		if st, err := readProcStat(p); err == nil {
			s.tree += st.cpu
		}
	}
	return s
}

// vmRSS returns VmRSS of pid in bytes, or -1.
func vmRSS(pid int) int64 {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(raw)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return -1
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// rssSampler records the largest VmRSS of a process while it runs.
type rssSampler struct {
	stopc chan struct{}
	done  chan struct{}
	max   int64
}

// rssEvery is how often the sampler reads VmRSS.
const rssEvery = 20 * time.Millisecond

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan struct{}), max: vmRSS(pid)}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(rssEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				s.max = max(s.max, vmRSS(pid))
				return
			case <-tick.C:
				s.max = max(s.max, vmRSS(pid))
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the largest VmRSS seen, in bytes.
func (s *rssSampler) stop() int64 {
	close(s.stopc)
	<-s.done
	return s.max
}

// cmdline returns pid's arguments.
func cmdline(pid int) []string {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(raw) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
}

// backendPID finds the backend process under root: the descendant whose
// first argument is the echo role or the example server.
func backendPID(root int) (int, bool) {
	for _, p := range testenv.Descendants(root) {
		args := cmdline(p)
		if len(args) > 1 && (args[1] == "echo" || args[1] == "example-server") {
			return p, true
		}
	}
	return 0, false
}

// holdsStdioOf says whether process host has open the pipe (or socket)
// that process backend reads as stdin or writes as stdout: then messages
// go between the host and the backend with no process in between, the
// data path the stdio front's tighter target is for.
func holdsStdioOf(host, backend int) bool {
	want := map[string]bool{}
	for _, fd := range []string{"0", "1"} {
		if l, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(backend), "fd", fd)); err == nil {
			want[l] = true
		}
	}
	dir := filepath.Join("/proc", strconv.Itoa(host), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && want[l] {
			return true
		}
	}
	return false
}

// descendant is a process found under a system's root, recorded so that
// it can be stopped by pid later without hitting a process that reused
// the pid.
type descendant struct {
	pid       int
	startTime uint64
}

func snapshotDescendants(root int) []descendant {
	var out []descendant
	for _, p := range testenv.Descendants(root) {
		if st, err := readProcStat(p); err == nil {
			out = append(out, descendant{pid: p, startTime: st.startTime})
		}
	}
	return out
}

// alive says whether d is still running (and is still the same process).
func (d descendant) alive() bool {
	st, err := readProcStat(d.pid)
	return err == nil && st.startTime == d.startTime && st.state != 'Z'
}

// tailBuffer keeps the last bytes a process wrote to stderr, for failure
// messages and for the lines the harness waits for; changed() is closed
// on every write.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	changed chan struct{}
}

const tailMax = 64 << 10

func newTailBuffer() *tailBuffer { return &tailBuffer{changed: make(chan struct{})} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailMax; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	close(t.changed)
	t.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns the text so far and a channel closed on the next write.
func (t *tailBuffer) snapshot() (string, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf), t.changed
}

func (t *tailBuffer) String() string {
	s, _ := t.snapshot()
	return s
}
