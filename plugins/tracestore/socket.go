package tracestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// sockName is the owner's socket in the store directory.
const sockName = "mcphost-tracing.sock"

// maxSockPath is the longest Unix socket path: sun_path is 108 bytes on
// Linux and 104 on the BSDs and macOS, both counting the NUL.
const maxSockPath = sockPathLimit - 1

// maxTmpSuffix is the longest suffix of the name the socket is made under
// before it is renamed into place (tmpSocket).
const maxTmpSuffix = len(".~") + 6

// tmpSocket is the name the socket at path is made under: the pid in base
// 36 (six digits reach past Linux's largest pid).
func tmpSocket(path string) string {
	return path + ".~" + strconv.FormatInt(int64(os.Getpid()), 36)
}

// sockPlace is where the owner's socket of a store lives.
type sockPlace struct {
	// path is the socket.
	path string
	// private is the directory the owner creates (0700) and checks before
	// listening in it, when the socket is not in the store directory.
	private string
	// others are where an owner started with another environment (with or
	// without $XDG_RUNTIME_DIR) listens; a forwarder tries them after path.
	others []string
}

// paths are the places a forwarder looks for the owner's socket, in order.
func (p sockPlace) paths() []string { return append([]string{p.path}, p.others...) }

// socketPlace returns where the socket of the store in dir (absolute,
// symlinks resolved, so that every copy agrees) lives: in dir, or, when
// that path is too long for a socket, in runtimeDir/mcphost (runtimeDir is
// $XDG_RUNTIME_DIR) or else tmpDir/mcphost-<uid>, named by a hash of dir.
func socketPlace(dir, runtimeDir, tmpDir string, uid int) (sockPlace, error) {
	if p := filepath.Join(dir, sockName); len(p)+maxTmpSuffix <= maxSockPath {
		return sockPlace{path: p}, nil
	}
	sum := sha256.Sum256([]byte(dir))
	name := "tracing-" + hex.EncodeToString(sum[:8]) + ".sock"
	var privates []string
	if runtimeDir != "" && filepath.IsAbs(runtimeDir) {
		privates = append(privates, filepath.Join(runtimeDir, "mcphost"))
	}
	privates = append(privates, filepath.Join(tmpDir, "mcphost-"+strconv.Itoa(uid)))
	var place sockPlace
	for _, private := range privates {
		p := filepath.Join(private, name)
		switch {
		case len(p)+maxTmpSuffix > maxSockPath:
		case place.path == "":
			place.path, place.private = p, private
		default:
			place.others = append(place.others, p)
		}
	}
	if place.path == "" {
		return sockPlace{}, fmt.Errorf("no socket path for tracing store %s short enough (%d bytes at most): %s is too long too",
			dir, maxSockPath, filepath.Join(privates[len(privates)-1], name))
	}
	return place, nil
}

// socketPlaceFor is socketPlace for this process's environment.
func socketPlaceFor(dir string) (sockPlace, error) {
	return socketPlace(dir, os.Getenv("XDG_RUNTIME_DIR"), os.TempDir(), os.Getuid())
}

// ensurePrivateDir creates dir with mode 0700 if missing, and checks that
// it is a directory (not a symlink) owned by uid that nobody else may enter:
// in a shared place such as /tmp, another user could have made it first.
func ensurePrivateDir(dir string, uid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create socket directory %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("socket directory %s has mode %v; it must be private to its owner (0700)", dir, fi.Mode().Perm())
	}
	if owner, ok := fileOwner(fi); ok && owner != uid {
		return fmt.Errorf("socket directory %s belongs to uid %d, not to this user (uid %d)", dir, owner, uid)
	}
	return nil
}

// listenSocket listens on the socket at place, replacing a stale socket
// file there. The caller holds the store, so no live owner listens there.
// The socket is made under a temporary name, given mode 0600, and renamed
// into place, so that it is never reachable with a wider mode.
func listenSocket(place sockPlace) (*net.UnixListener, error) {
	if place.private != "" {
		if err := ensurePrivateDir(place.private, os.Getuid()); err != nil {
			return nil, err
		}
	}
	tmp := tmpSocket(place.path)
	_ = os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", tmp, err)
	}
	// The file is renamed, so the listener must not remove it by its
	// first name; the owner removes it by its final name (closeListener).
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		_ = l.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("restrict socket %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, place.path); err != nil {
		_ = l.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("put socket in place at %s: %w", place.path, err)
	}
	return l, nil
}

// peerListener accepts only connections from processes of uid.
type peerListener struct {
	*net.UnixListener
	uid    int
	logger hclog.Logger
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c, l.uid); err != nil {
			l.logger.Warn("refused a connection to the tracing store socket", "error", err)
			_ = c.Close()
			continue
		}
		return c, nil
	}
}

// peerAllowed says whether a peer of peerUID may use the store of a
// process running as uid: only the same user.
func peerAllowed(peerUID uint32, uid int) error {
	if uid < 0 || peerUID != uint32(uid) {
		return fmt.Errorf("peer runs as uid %d, the store's owner as uid %d", peerUID, uid)
	}
	return nil
}

// dialTimeout bounds connecting to the owner's socket.
const dialTimeout = time.Second
