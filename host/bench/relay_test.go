package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// relayEnv, when set, makes the test binary a relay instead of running
// tests (see TestMain and runRelay).
const relayEnv = "MCPHOST_BENCH_RELAY"

// relayExitGrace is how long a relay whose stdin ended waits for its child
// to finish writing before killing it.
const relayExitGrace = 5 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(relayEnv) != "" {
		os.Exit(runRelay(os.Args[1:]))
	}
	testMain(m)
}

// runRelay is a do-nothing process hop: it starts argv with pipes and
// copies bytes both ways (stdin to the child's stdin, the child's stdout to
// stdout; the child's stderr is stderr) until either side ends. The relay
// setups measure it so that the proxy setups can be compared with a floor
// that has the same number of processes between client and server.
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
		io.Copy(childIn, os.Stdin)
		childIn.Close()
	}()
	go func() {
		defer close(outDone)
		io.Copy(os.Stdout, childOut)
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
	cmd.Process.Kill()
	cmd.Wait()
	return 0
}
