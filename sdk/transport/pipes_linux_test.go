package transport

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// unixPipeSize is the capacity of f's pipe.
func unixPipeSize(f *os.File) (int, error) {
	var size int
	err := withFD(f, func(fd int) error {
		var err error
		size, err = unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
		return err
	})
	return size, err
}

// pipeBuffered is how many bytes wait in f's pipe (TIOCINQ is FIONREAD).
func pipeBuffered(t *testing.T, f *os.File) int {
	t.Helper()
	var n int
	if err := withFD(f, func(fd int) error {
		var err error
		n, err = unix.IoctlGetInt(fd, unix.TIOCINQ)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
