package copies

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// deadPID is the pid of a process that has exited (and been reaped).
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// plant writes an entry file as some other process would have.
func plant(t *testing.T, dir string, e Entry) {
	t.Helper()
	b, _ := json.Marshal(e)
	if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(e.PID)+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterListRemove(t *testing.T) {
	t.Parallel()
	r := New(filepath.Join(t.TempDir(), ".mcphost", "copies"))
	g, err := r.Register(Entry{Mode: ModeStdio, Config: "/c/proxy.hcl", AdminSocket: "/run/x.sock"})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(r.Dir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("registry dir: %v %v", fi, err)
	}
	if err := g.Update(func(e *Entry) { e.Clients = 3 }); err != nil {
		t.Fatal(err)
	}
	res, err := r.List(t.Context(), ListRequest{Config: "/c/proxy.hcl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Copies) != 1 {
		t.Fatalf("copies: %+v", res.Copies)
	}
	e := res.Copies[0]
	if e.PID != os.Getpid() || e.Mode != ModeStdio || e.Clients != 3 || e.AdminSocket != "/run/x.sock" || e.Started.IsZero() {
		t.Errorf("entry: %+v", e)
	}
	if res, _ := r.List(t.Context(), ListRequest{Config: "/other/proxy.hcl"}); len(res.Copies) != 0 {
		t.Errorf("another config's copies: %+v", res.Copies)
	}
	fi, err = os.Stat(filepath.Join(r.Dir(), strconv.Itoa(os.Getpid())+".json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("entry file: %v %v", fi, err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if res, _ := r.List(t.Context(), ListRequest{}); len(res.Copies) != 0 {
		t.Errorf("after Remove: %+v", res.Copies)
	}
	if err := g.Update(func(e *Entry) { e.Clients = 4 }); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(r.Dir()); len(entries) != 0 {
		t.Errorf("Update after Remove wrote %v", entries)
	}
}

func TestListPrunesStaleEntries(t *testing.T) {
	t.Parallel()
	self, _ := startTicks(os.Getpid())
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string) int // returns how many should be pruned
		want  int                                // live entries left
		other int                                // files that are not entries
	}{
		{"dead process", func(t *testing.T, dir string) int {
			plant(t, dir, Entry{PID: deadPID(t), Mode: ModeHTTP, Config: "/c/proxy.hcl"})
			return 1
		}, 0, 0},
		{"pid reused by another process", func(t *testing.T, dir string) int {
			if self == 0 {
				t.Skip("no process start times on this platform")
			}
			plant(t, dir, Entry{PID: os.Getpid(), StartTicks: self + 1, Mode: ModeHTTP, Config: "/c/proxy.hcl"})
			return 1
		}, 0, 0},
		{"unreadable entry", func(t *testing.T, dir string) int {
			if err := os.WriteFile(filepath.Join(dir, "12345678.json"), []byte("{"), 0o600); err != nil {
				t.Fatal(err)
			}
			return 1
		}, 0, 0},
		{"live process", func(t *testing.T, dir string) int {
			plant(t, dir, Entry{PID: os.Getpid(), StartTicks: self, Mode: ModeHTTP, Config: "/c/proxy.hcl"})
			return 0
		}, 1, 0},
		{"other files are left alone", func(t *testing.T, dir string) int {
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return 0
		}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pruned := tc.plant(t, dir)
			res, err := New(dir).List(t.Context(), ListRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Pruned != pruned || len(res.Copies) != tc.want {
				t.Errorf("pruned %d, listed %+v; want %d pruned, %d listed", res.Pruned, res.Copies, pruned, tc.want)
			}
			left, _ := os.ReadDir(dir)
			if len(left) != tc.want+tc.other {
				t.Errorf("files left: %v", left)
			}
		})
	}
}

func TestHolderOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The holder must be another live process: the test binary's parent
	// (go test) stands in for it.
	ppid := os.Getppid()
	ticks, _ := startTicks(ppid)
	plant(t, dir, Entry{PID: ppid, StartTicks: ticks, Mode: ModeHTTP, Config: "/c/proxy.hcl",
		AdminURL: "http://127.0.0.1:3001", Listeners: []string{"http://127.0.0.1:3000/mcp"}})
	r := New(dir)
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:3000", true},
		{"localhost:3001", true},
		{"0.0.0.0:3000", true},
		{"127.0.0.1:3002", false},
		{"10.0.0.1:3000", false},
	} {
		e, ok, err := r.HolderOf(t.Context(), tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.want || (ok && e.PID != ppid) {
			t.Errorf("HolderOf(%s) = %+v, %v; want %v", tc.addr, e, ok, tc.want)
		}
	}
}

func TestPortOwner(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, cmdline, ok := PortOwner(ln.Addr().String())
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		if ok {
			t.Errorf("PortOwner found %d without /proc", pid)
		}
		return
	}
	if !ok || pid != os.Getpid() || cmdline == "" {
		t.Errorf("PortOwner = %d %q %v, want this process", pid, cmdline, ok)
	}
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := free.Addr().String()
	free.Close()
	if pid, _, ok := PortOwner(addr); ok {
		t.Errorf("PortOwner of a free port = %d", pid)
	}
}
