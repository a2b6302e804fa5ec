//go:build !linux

package pgtest

import (
	"errors"
	"syscall"
)

// credential is whom a cluster's commands run as: outside Linux, always
// this process's user.
type credential = *struct{}

func postgresUser() (credential, error) {
	return nil, errors.New("running PostgreSQL for a test run as root is supported on Linux only")
}

func giveTo(string, credential) error { return nil }

// procAttr: the cluster stops at the test's cleanup.
func procAttr(credential) *syscall.SysProcAttr { return nil }
