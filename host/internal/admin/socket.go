package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// maxSocketPath keeps a socket path within sockaddr_un's sun_path on every
// Unix (104 bytes on the BSDs, 108 on Linux, with the terminating NUL).
const maxSocketPath = 103

// DefaultSocketPath is the Unix socket of the copy of mcphost with process
// id pid, in the directory of DefaultTokenFile (mode 0700, the current
// user's): copy-<pid>.sock. When that path would be too long for a socket,
// /tmp/mcphost-<uid> is used instead.
func DefaultSocketPath(pid int, getenv func(string) string) string {
	name := "copy-" + strconv.Itoa(pid) + ".sock"
	p := filepath.Join(filepath.Dir(DefaultTokenFile("0", getenv)), name)
	if len(p) <= maxSocketPath {
		return p
	}
	return filepath.Join("/tmp", "mcphost-"+strconv.Itoa(os.Getuid()), name)
}

// peerKey marks the context of a request that came over the copy's Unix
// socket from a process of the current user (or root).
type peerKey struct{}

// localPeer says whether r came over the Unix socket from the current user.
func localPeer(r *http.Request) bool {
	v, _ := r.Context().Value(peerKey{}).(bool)
	return v
}

// StartSocket serves the API on a Unix socket at path as well (made mode
// 0600 in a directory of mode 0700 that must belong to the current user).
// Requests over it need no token: only the current user (and root) can
// connect, the same people who can read the token file, and on Linux the
// peer's uid is checked on each connection as well (another uid is treated
// as a request over TCP: its POSTs need the token). The socket file is
// removed on Close.
func (s *Server) StartSocket(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("admin: server is closed")
	}
	if s.sockLn != nil {
		return errors.New("admin: socket already started")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("admin: socket directory: %w", err)
	}
	if err := checkPrivateDir(dir, true); err != nil {
		return fmt.Errorf("admin: socket directory: %w", err)
	}
	// The name holds our pid, which no live process shares: a file there
	// is a dead process's socket.
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return fmt.Errorf("admin: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("admin: remove a stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return fmt.Errorf("admin: %w", err)
	}
	s.sockLn, s.sockPath = ln, path
	s.sockSrv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, peerIsCurrentUser(c))
		},
		ErrorLog: s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	s.sockConns.Track(s.sockSrv)
	s.sockServed = make(chan struct{})
	srv, served := s.sockSrv, s.sockServed
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin API socket stopped", "error", err)
		}
	}()
	s.log.Info("admin API listening", "socket", path)
	return nil
}

// SocketPath is the Unix socket being served, or "".
func (s *Server) SocketPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sockPath
}
