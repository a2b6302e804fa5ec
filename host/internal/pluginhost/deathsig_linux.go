package pluginhost

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the plugin if the host dies, even by
// SIGKILL; the plugin's own parent watch is the fallback elsewhere.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
