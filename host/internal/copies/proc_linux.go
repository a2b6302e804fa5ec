package copies

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// startTicks is when process pid started, in clock ticks since boot
// (field 22 of /proc/<pid>/stat).
func startTicks(pid int) (uint64, error) {
	st, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return st.start, nil
}

type stat struct {
	state byte
	start uint64
}

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: the fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22; f[0] is field 3
	if err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return stat{state: f[0][0], start: start}, nil
}

// running says whether pid is a live process that started at ticks (any
// start time when ticks is 0). A zombie is not running.
func running(pid int, ticks uint64) bool {
	st, err := procStat(pid)
	if err != nil {
		return false
	}
	return st.state != 'Z' && st.state != 'X' && (ticks == 0 || st.start == ticks)
}

// PortOwner finds the process listening on TCP addr (host:port) from
// /proc/net/tcp{,6} and the processes' descriptors: its pid and command
// line. ok is false when it cannot be found (another user's process, when
// not root, cannot be seen).
func PortOwner(addr string) (pid int, cmdline string, ok bool) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, "", false
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, "", false
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		listeningInodes(table, uint16(port), inodes)
	}
	if len(inodes) == 0 {
		return 0, "", false
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fds, err := os.ReadDir(filepath.Join(p, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(p, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				pid, _ = strconv.Atoi(filepath.Base(p))
				b, _ := os.ReadFile(filepath.Join(p, "cmdline"))
				return pid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")), true
			}
		}
	}
	return 0, "", false
}

// listeningInodes adds the socket inodes of the listening sockets on port
// in a /proc/net/tcp table.
func listeningInodes(table string, port uint16, into map[string]bool) {
	f, err := os.Open(table)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, portHex, found := strings.Cut(fields[1], ":")
		b, err := hex.DecodeString(portHex)
		if !found || err != nil || len(b) != 2 || uint16(b[0])<<8|uint16(b[1]) != port {
			continue
		}
		into[fields[9]] = true
	}
}
