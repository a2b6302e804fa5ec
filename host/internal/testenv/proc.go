package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// CountProcesses returns how many live processes other than the test process
// itself have a command line (/proc/<pid>/cmdline, arguments joined with
// spaces) containing pattern. Zombies, whose command line is empty, are not
// counted. It is meant for leak tests: count before, run, count after. The
// test is skipped where /proc is unavailable (not Linux).
func CountProcesses(t testing.TB, pattern string) int {
	t.Helper()
	return len(FindProcesses(t, pattern))
}

// FindProcesses returns the pids CountProcesses counts.
func FindProcesses(t testing.TB, pattern string) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("skipping: FindProcesses needs Linux /proc (GOOS=%s)", runtime.GOOS)
	}
	pids, err := procPIDs()
	if err != nil {
		t.Fatalf("testenv.FindProcesses: %v", err)
	}
	self := os.Getpid()
	var out []int
	for _, pid := range pids {
		if pid == self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue // exited meanwhile, or a zombie / kernel thread
		}
		cmdline := string(bytes.ReplaceAll(bytes.TrimRight(raw, "\x00"), []byte{0}, []byte{' '}))
		if strings.Contains(cmdline, pattern) {
			out = append(out, pid)
		}
	}
	return out
}

// Descendants returns the pids of all live descendants of pid (children,
// grandchildren, …), found through the parent pid in /proc/<pid>/stat, in
// breadth-first order, each level sorted. It returns nil where /proc is
// unavailable or pid has no descendants.
func Descendants(pid int) []int {
	pids, err := procPIDs()
	if err != nil {
		return nil
	}
	children := make(map[int][]int)
	for _, p := range pids {
		ppid, ok := parentPID(p)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		kids := children[cur]
		sort.Ints(kids)
		for _, k := range kids {
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// procPIDs lists the numeric entries of /proc.
func procPIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parentPID reads the parent pid from /proc/<pid>/stat.
func parentPID(pid int) (int, bool) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	return parseStatPPID(string(raw))
}

// parseStatPPID extracts the ppid from the text of /proc/<pid>/stat:
// "pid (comm) state ppid …". comm may itself contain spaces and parentheses,
// so parsing starts after the last ')'.
func parseStatPPID(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, false
	}
	return ppid, true
}
