//go:build unix

package e2e

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// netExample is the example server serving one network transport.
type netExample struct {
	cmd     *exec.Cmd
	addr    string
	drained chan struct{}
}

// startNetExample runs `mcphost example-server -<kind> addr -name name`,
// kind being tcp, http, sse or ws, and waits for the address it reports.
func startNetExample(t *testing.T, kind, addr, name string) *netExample {
	t.Helper()
	cmd := exec.Command(mcphost(t), "example-server", "-"+kind, addr, "-name", name)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &netExample{cmd: cmd, drained: make(chan struct{})}
	addrc := make(chan string, 1)
	var log strings.Builder
	go func() {
		defer close(e.drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), "listening on "+kind+" "); ok {
				select {
				case addrc <- strings.TrimSpace(a):
				default:
				}
			} else if log.Len() < 4096 {
				log.WriteString(sc.Text() + "\n")
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(e.kill)
	select {
	case e.addr = <-addrc:
		return e
	case <-e.drained:
		_ = cmd.Wait()
		t.Fatalf("the %s example server exited before listening:\n%s", kind, log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the %s example server did not report its address", kind)
	}
	return nil
}

// startWSExample runs the example server with -ws on addr.
func startWSExample(t *testing.T, addr, name string) *netExample {
	t.Helper()
	return startNetExample(t, "ws", addr, name)
}

// kill ends the server abruptly, as a crash would; later calls do nothing.
func (e *netExample) kill() {
	if e.cmd.ProcessState != nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.drained
	_ = e.cmd.Wait()
}
