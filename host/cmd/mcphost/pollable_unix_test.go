//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_NONBLOCK != 0
}

func TestPollable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// open returns a blocking file, as a client's stdin would be.
		open         func(t *testing.T) *os.File
		wantPollable bool
	}{
		{"pipe", func(t *testing.T) *os.File {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			// Fd switches the pipe to blocking mode; the duplicate shares it.
			fd, err := unix.FcntlInt(r.Fd(), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f := os.NewFile(uintptr(fd), "blocking pipe")
			t.Cleanup(func() { f.Close() })
			return f
		}, true},
		{"socket", func(t *testing.T) *os.File {
			// macOS has no SOCK_CLOEXEC: close-on-exec is set after.
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			unix.CloseOnExec(fds[0])
			unix.CloseOnExec(fds[1])
			a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
			t.Cleanup(func() { a.Close(); b.Close() })
			return a
		}, true},
		{"regular file", func(t *testing.T) *os.File {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.open(t)
			p, restore := pollable(f, "test")
			if got := p != f; got != tt.wantPollable {
				t.Fatalf("pollable made a new file: %v, want %v", got, tt.wantPollable)
			}
			if tt.wantPollable {
				// A deadline works only on a file the poller waits on.
				if err := p.SetReadDeadline(time.Now()); err != nil {
					t.Fatalf("SetReadDeadline: %v", err)
				}
				if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
				}
			}
			restore()
			if nonblocking(t, f) {
				t.Error("the descriptor is still non-blocking after restore")
			}
			// f itself stays open and usable.
			if _, err := f.Stat(); err != nil {
				t.Errorf("Stat after restore: %v", err)
			}
		})
	}
}
