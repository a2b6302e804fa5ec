//go:build !linux

package bench

import (
	"syscall"
	"time"
)

// The harness measures through /proc, so only Linux runs it; elsewhere
// these only keep the package building.

func deathSignal() *syscall.SysProcAttr { return nil }

func reapStragglers([]descendant, time.Duration) []int { return nil }
