package stdio

import (
	"os"

	"golang.org/x/sys/windows"
)

// dupFD duplicates f's handle (not inheritable). Windows cannot pass
// handles to the host (sdk/transport's canPassPipes is false there), so
// the pipes are never handed over and this only keeps the build whole.
func dupFD(f *os.File) (uintptr, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var dup windows.Handle
	var dupErr error
	if err := rc.Control(func(h uintptr) {
		self := windows.CurrentProcess()
		dupErr = windows.DuplicateHandle(self, windows.Handle(h), self, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS)
	}); err != nil {
		return 0, err
	}
	if dupErr != nil {
		return 0, dupErr
	}
	return uintptr(dup), nil
}

// closeFD closes a handle dupFD made.
func closeFD(h uintptr) { _ = windows.CloseHandle(windows.Handle(h)) }
