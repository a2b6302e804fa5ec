package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// startGroup starts argv in a new process group and kills the whole group at
// the end of the test.
func startGroup(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %q: %v", argv, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func TestDescendants(t *testing.T) {
	t.Parallel()
	child := startGroup(t, "sleep", "5")
	if got := Descendants(os.Getpid()); !slices.Contains(got, child.Process.Pid) {
		t.Errorf("Descendants(self) = %v, want it to contain the sleep child %d", got, child.Process.Pid)
	}

	// A grandchild: sh forks sleep and waits for it.
	sh := startGroup(t, "sh", "-c", "sleep 5 & wait")
	var kids []int
	poll.Within(t, 5*time.Second, "sh starting its sleep child", func() bool {
		kids = Descendants(sh.Process.Pid)
		return len(kids) > 0
	})
	if all := Descendants(os.Getpid()); !slices.Contains(all, kids[0]) {
		t.Errorf("Descendants(self) = %v, want it to contain grandchild %d", all, kids[0])
	}
}

func TestCountProcesses(t *testing.T) {
	t.Parallel()
	// A sleep duration nobody else uses doubles as the marker.
	marker := fmt.Sprintf("1000.%d%09d", os.Getpid(), time.Now().UnixNano()%1e9)
	if n := CountProcesses(t, marker); n != 0 {
		t.Fatalf("before start: %d processes match %q", n, marker)
	}
	a := startGroup(t, "sleep", marker)
	b := startGroup(t, "sleep", marker)
	if n := CountProcesses(t, marker); n != 2 {
		t.Errorf("after starting two: %d processes match %q, want 2", n, marker)
	}
	for _, c := range []*exec.Cmd{a, b} {
		c.Process.Kill()
		c.Wait()
	}
	if n := CountProcesses(t, marker); n != 0 {
		t.Errorf("after killing both: %d processes match %q, want 0", n, marker)
	}
}
