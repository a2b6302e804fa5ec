//go:build unix

package stdio

import "os/exec"

// adopt has nothing to do on Unix: sysProcAttr already made the child the
// leader of its own process group, which killGroup signals.
func adopt(*exec.Cmd) error { return nil }
