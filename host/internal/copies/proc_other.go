//go:build unix && !linux

package copies

import (
	"errors"
	"syscall"
)

// startTicks is not known outside Linux: a reused pid then passes for the
// copy until that process exits.
func startTicks(int) (uint64, error) { return 0, errors.ErrUnsupported }

// running says whether pid is a live process.
func running(pid int, _ uint64) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// PortOwner is only implemented on Linux.
func PortOwner(string) (int, string, bool) { return 0, "", false }
