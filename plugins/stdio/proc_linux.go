package stdio

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group, so that Close can
// signal it together with everything it spawned, and asks the kernel to
// SIGKILL it if the plugin process dies, so a child never outlives the
// plugin. (Pdeathsig follows the OS thread that started the child; the Go
// runtime only retires threads of goroutines that exit while locked with
// runtime.LockOSThread, which this package never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// reap waits for the child, kills whatever it left behind in its process
// group, then reaps it. Waiting without reaping first keeps the group id from
// being reused by an unrelated process while we signal it.
func reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	for {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	killGroup(pid, syscall.SIGKILL)
	return cmd.Wait()
}

// killGroup signals the process group led by pid. Errors (typically ESRCH,
// the group is already gone) are deliberately ignored.
func killGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}

// pipeSize is the capacity asked for the child's stdin and stdout: room for
// a large message in one write. 1 MiB is the default most systems allow
// without privileges (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe asks for a bigger pipe buffer; where the kernel refuses, the
// default (64 KiB) stays.
func growPipe(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
		})
	}
}
