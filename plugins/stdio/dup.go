package stdio

import "os"

// dupFD duplicates f's descriptor (a handle on Windows) with dupRaw,
// reaching it through SyscallConn rather than Fd, which would switch the
// pipe to blocking mode.
func dupFD(f *os.File) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var dup uintptr
	var dupErr error
	if err := rc.Control(func(fd uintptr) { dup, dupErr = dupRaw(fd) }); err != nil {
		return 0, err
	}
	return dup, dupErr
}
