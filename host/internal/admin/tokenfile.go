package admin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultTokenFile is where a generated admin token for the listener on
// port is written, and where `mcphost ctl` looks for it:
//
//	$XDG_RUNTIME_DIR/mcphost/admin-<port>.token      when XDG_RUNTIME_DIR is set (an absolute path)
//	<os.TempDir()>/mcphost-<uid>/admin-<port>.token  otherwise
//
// The directory is made (or tightened to) mode 0700 and must be a real
// directory belonging to the current user; the file is mode 0600 and is
// removed when the admin server closes. getenv reads the environment (nil:
// os.Getenv).
func DefaultTokenFile(port string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	name := "admin-" + port + ".token"
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "mcphost", name)
	}
	sub := "mcphost"
	if uid := os.Getuid(); uid >= 0 {
		sub += "-" + strconv.Itoa(uid)
	}
	return filepath.Join(os.TempDir(), sub, name)
}

// writeTokenFile writes token to path atomically (a reader never sees a
// partial token), mode 0600, after making sure the directory is private:
// made with mode 0700, or, when it exists, owned by the current user and
// not writable by anyone else. With tighten (the default, mcphost-only
// directory), an existing directory is also made 0700.
func writeTokenFile(path, token string, tighten bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := checkPrivateDir(dir, tighten); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".admin-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(token + "\n")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// checkPrivateDir refuses a directory that is a symlink (in a shared
// temporary directory anyone could have planted one), that belongs to
// another user, or that others may write to (and so replace the file).
func checkPrivateDir(dir string, tighten bool) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; refusing to write the admin token there", dir)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case !ownedByCurrentUser(fi):
		return fmt.Errorf("%s belongs to another user; refusing to write the admin token there", dir)
	}
	perm := fi.Mode().Perm()
	if perm == 0o700 || (!tighten && perm&0o022 == 0) {
		return nil
	}
	if !tighten {
		return fmt.Errorf("%s is writable by other users (mode %04o); refusing to write the admin token there", dir, perm)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return errors.Join(fmt.Errorf("make %s private", dir), err)
	}
	return nil
}

// removeTokenFile removes the token file at path only if it still holds
// token: never another process's token (one that took the port over after
// this one, or wrote the same path).
func removeTokenFile(path, token string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) != token {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
