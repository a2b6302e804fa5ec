//go:build unix

package stdio

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dupFD duplicates f's descriptor (close-on-exec), reaching it through
// SyscallConn rather than Fd, which would switch the pipe to blocking mode.
func dupFD(f *os.File) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	dup := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		dup, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return 0, err
	}
	if dupErr != nil {
		return 0, dupErr
	}
	return uintptr(dup), nil
}

// closeFD closes a descriptor dupFD made.
func closeFD(fd uintptr) { _ = syscall.Close(int(fd)) }
