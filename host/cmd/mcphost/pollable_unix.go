//go:build unix

package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pollable returns r (or w) as a file that the Go runtime's network poller
// waits on, when it is a pipe or a socket in blocking mode, as a client's
// stdin and stdout usually are; restore puts the descriptor back as it was.
//
// A read or write on a blocking descriptor holds its thread, and the
// scheduler's P, inside the system call. The stdio front's reader waits
// like that for the client's next request right after sending the
// previous one to the backend; when that send had itself waited for the
// backend's pipe to drain (a message larger than the pipe), the reader
// was woken by the poller and took the poller's thread along, and nothing
// else watched the backend's output until the runtime's monitor polled,
// up to 10ms later: that was a 100 KB call's latency through the stdio
// front with the stdio plugin in-process, or with its pipes handed over.
// A pollable file parks the goroutine instead.
func pollable(f *os.File, name string) (p *os.File, restore func()) {
	keep := func() {}
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return f, keep
	}
	if kind := st.Mode & unix.S_IFMT; kind != unix.S_IFIFO && kind != unix.S_IFSOCK {
		return f, keep // a terminal or a file: leave it alone
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK != 0 {
		return f, keep
	}
	// A duplicate, so that the new File can own and close its descriptor
	// without closing f's. Non-blocking mode belongs to the open file,
	// shared by both, and is restored on the way out.
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return f, keep
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return f, keep
	}
	p = os.NewFile(uintptr(dup), name)
	return p, func() {
		_ = unix.SetNonblock(dup, false)
		p.Close()
	}
}

// pollableStdio applies pollable to the stdio front's input and output
// when they are files.
func pollableStdio(in io.Reader, out io.Writer) (io.Reader, io.Writer, func()) {
	restoreIn, restoreOut := func() {}, func() {}
	if f, ok := in.(*os.File); ok {
		in, restoreIn = pollable(f, "stdin")
	}
	if f, ok := out.(*os.File); ok {
		out, restoreOut = pollable(f, "stdout")
	}
	return in, out, func() {
		restoreOut()
		restoreIn()
	}
}
