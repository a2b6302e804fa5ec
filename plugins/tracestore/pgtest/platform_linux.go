package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// credential is whom a cluster's commands run as.
type credential = *syscall.Credential

// postgresUser is the postgres user, whom PostgreSQL runs as when the
// test runs as root (it refuses to run as root).
func postgresUser() (credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user ids: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// giveTo makes cred the owner of dir.
func giveTo(dir string, cred credential) error { return os.Chown(dir, int(cred.Uid), int(cred.Gid)) }

// procAttr runs a command as cred (nil: as this process), dying with the
// test process, even one killed by a timeout.
func procAttr(cred credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
