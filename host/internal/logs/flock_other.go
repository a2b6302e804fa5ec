//go:build !unix

package logs

import "os"

type lockMode int

const (
	unlock lockMode = iota
	lockShared
	lockExclusive
)

// flock does nothing where there is no flock: one process per log there.
func flock(*os.File, lockMode) error { return nil }
