package bench

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// deathSignal makes a child get SIGKILL when the test binary dies, so
// that nothing outlives a test binary that is killed (a plugin or backend
// exits by itself when its host dies).
func deathSignal() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// reapStragglers waits up to grace for the processes in ds to exit (a
// plugin or backend exits by itself when its parent is gone), then kills
// those still running. It returns the pids it had to kill. A pidfd both
// tells when a process that is not our child exits and makes sure a
// signal cannot reach a process that reused its pid.
func reapStragglers(ds []descendant, grace time.Duration) []int {
	deadline := time.Now().Add(grace)
	var killed []int
	for _, d := range ds {
		fd, err := unix.PidfdOpen(d.pid, 0)
		if err != nil {
			continue // already gone
		}
		if d.alive() && !waitPidfd(fd, time.Until(deadline)) {
			if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
				killed = append(killed, d.pid)
			}
		}
		unix.Close(fd)
	}
	return killed
}

// waitPidfd waits up to d for the process of a pidfd to exit.
func waitPidfd(fd int, d time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(max(d, 0).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}
