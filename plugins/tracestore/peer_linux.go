package tracestore

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// sockPathLimit is the size of sun_path, NUL included.
const sockPathLimit = 108

// checkPeer refuses a connection from a process of another user, from the
// credentials the kernel recorded when it connected (SO_PEERCRED).
func checkPeer(c *net.UnixConn, uid int) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return fmt.Errorf("peer credentials: %w", credErr)
	}
	if err := peerAllowed(cred.Uid, uid); err != nil {
		return fmt.Errorf("pid %d: %w", cred.Pid, err)
	}
	return nil
}
