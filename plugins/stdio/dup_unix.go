//go:build unix

package stdio

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// dupRaw duplicates a descriptor, close-on-exec.
func dupRaw(fd uintptr) (uintptr, error) {
	dup, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	return uintptr(dup), nil
}

// closeFD closes a descriptor dupFD made.
func closeFD(fd uintptr) { _ = syscall.Close(int(fd)) }
