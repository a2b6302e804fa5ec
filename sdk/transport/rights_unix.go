//go:build unix

package transport

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// canPassPipes says this platform can pass descriptors on a Unix socket.
const canPassPipes = true

// sendPipes sends the 'P' frame carrying in and out. The descriptors are
// reached through SyscallConn rather than Fd, which would switch them, and
// with them the host's copies, to blocking mode.
func sendPipes(sock *net.UnixConn, in, out *os.File) error {
	var sendErr error
	err := withFD(in, func(inFD int) error {
		return withFD(out, func(outFD int) error {
			hdr := [frameHeader]byte{framePipes}
			n, _, err := sock.WriteMsgUnix(hdr[:], unix.UnixRights(inFD, outFD), nil)
			if err == nil && n != len(hdr) {
				err = fmt.Errorf("short write of the pipes frame: %d bytes", n)
			}
			sendErr = err
			return nil
		})
	})
	if err != nil {
		return err
	}
	return sendErr
}

// withFD calls fn with f's descriptor, which stays open meanwhile.
func withFD(f *os.File, fn func(fd int) error) error {
	if f == nil {
		return os.ErrInvalid
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

// recvPipes reads the 'P' frame and returns the pipes it carries, as
// pollable files so that deadlines (and so ctx) work on them. The socket
// has the close-on-exec flag set on them as they arrive.
func recvPipes(sock *net.UnixConn) (in, out *os.File, err error) {
	var hdr [frameHeader]byte
	oob := make([]byte, unix.CmsgSpace(2*4))
	n, oobn, flags, _, err := sock.ReadMsgUnix(hdr[:], oob)
	if err != nil {
		return nil, nil, err
	}
	fds, parseErr := parseRights(oob[:oobn])
	closeAll := func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
	}
	// The descriptors ride on the frame's first byte; the rest of the
	// header may come on its own.
	for n < len(hdr) && err == nil {
		var m int
		m, err = sock.Read(hdr[n:])
		n += m
	}
	switch {
	case err != nil:
	case parseErr != nil:
		err = parseErr
	case flags&unix.MSG_CTRUNC != 0:
		err = errors.New("descriptors truncated")
	case hdr != [frameHeader]byte{framePipes}:
		err = fmt.Errorf("unexpected frame %q", hdr[0])
	case len(fds) != 2:
		err = fmt.Errorf("got %d descriptors, want 2", len(fds))
	}
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	return os.NewFile(uintptr(fds[0]), "backend-input"), os.NewFile(uintptr(fds[1]), "backend-output"), nil
}

// parseRights returns the descriptors in a control message.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	return fds, nil
}
