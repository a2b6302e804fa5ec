//go:build unix

package logs

import (
	"errors"
	"os"
	"syscall"
)

type lockMode int

const (
	unlock lockMode = iota
	lockShared
	lockExclusive
)

// flock takes or releases an advisory lock on f, waiting for it (and
// retrying when a signal interrupts the wait).
func flock(f *os.File, how lockMode) error {
	op := syscall.LOCK_UN
	switch how {
	case lockShared:
		op = syscall.LOCK_SH
	case lockExclusive:
		op = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), op)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
