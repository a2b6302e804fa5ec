//go:build !unix

package copies

import "errors"

// startTicks is not known here.
func startTicks(int) (uint64, error) { return 0, errors.ErrUnsupported }

// running cannot tell here: an entry stays until its copy removes it.
func running(int, uint64) bool { return true }

// PortOwner is only implemented on Linux.
func PortOwner(string) (int, string, bool) { return 0, "", false }
