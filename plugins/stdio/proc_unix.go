//go:build unix && !linux

package stdio

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so that Close can
// signal it together with everything it spawned. Only Linux can also tie the
// child's life to the plugin process (Pdeathsig).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// reap waits for the child, then kills whatever it left behind in its
// process group. Without a portable non-reaping wait the group is signalled
// just after the leader is reaped.
func reap(cmd *exec.Cmd) error {
	err := cmd.Wait()
	killGroup(cmd.Process.Pid, syscall.SIGKILL)
	return err
}

// killGroup signals the process group led by pid. Errors (typically ESRCH,
// the group is already gone) are deliberately ignored.
func killGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}

// growPipe leaves the pipe's size alone: only Linux can change it.
func growPipe(*os.File) {}
