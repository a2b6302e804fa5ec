//go:build !unix

package transport

import (
	"errors"
	"net"
	"os"
)

// canPassPipes says this platform can pass descriptors on a Unix socket.
const canPassPipes = false

var errNoPipes = errors.New("passing descriptors is not supported on this platform")

func sendPipes(*net.UnixConn, *os.File, *os.File) error { return errNoPipes }

func recvPipes(*net.UnixConn) (*os.File, *os.File, error) { return nil, nil, errNoPipes }
