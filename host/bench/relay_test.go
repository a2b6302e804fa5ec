package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// relayExitGrace is how long a relay whose stdin ended waits for its child
// to finish writing before killing it.
const relayExitGrace = 5 * time.Second

// runRelay is a do-nothing process hop: it starts argv with pipes and
// copies bytes both ways (stdin to the child's stdin, the child's stdout to
// stdout; the child's stderr is stderr) until either side ends. The relay
// cells put one and two of them between the client and the echo backend:
// the same number of processes as the stdio front with the stdio plugin
// in-process and as a subprocess, so the proxy can be compared with the
// floor that many hops cost on this machine.
func runRelay(argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "relay: no command")
		return 2
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	childIn, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 1
	}
	childOut, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 1
	}
	inDone := make(chan struct{})
	outDone := make(chan struct{})
	go func() {
		defer close(inDone)
		_, _ = io.Copy(childIn, os.Stdin)
		childIn.Close()
	}()
	go func() {
		defer close(outDone)
		_, _ = io.Copy(os.Stdout, childOut)
	}()
	select {
	case <-outDone:
	case <-inDone:
		// The child saw EOF on its stdin; let it flush and exit.
		select {
		case <-outDone:
		case <-time.After(relayExitGrace):
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return 0
}
