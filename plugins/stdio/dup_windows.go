package stdio

import "golang.org/x/sys/windows"

// dupRaw duplicates a handle (not inheritable). Windows cannot pass
// handles to the host (sdk/transport's canPassPipes is false there), so
// the pipes are never handed over and this only keeps the build whole.
func dupRaw(h uintptr) (uintptr, error) {
	self := windows.CurrentProcess()
	var dup windows.Handle
	if err := windows.DuplicateHandle(self, windows.Handle(h), self, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		return 0, err
	}
	return uintptr(dup), nil
}

// closeFD closes a handle dupFD made.
func closeFD(h uintptr) { _ = windows.CloseHandle(windows.Handle(h)) }
