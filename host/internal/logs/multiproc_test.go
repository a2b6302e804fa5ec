package logs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// writerEnv makes the test binary, re-executed by
// TestSeveralProcessesRotateOneLog, a writer: "DIR ID COUNT START".
const writerEnv = "MCPHOST_LOGS_TEST_WRITER"

// Settings every writer of the shared log uses: small files, so that the
// writers rotate all the time, and enough of them that no line falls off.
const (
	sharedMaxBytes = 2048
	sharedMaxFiles = 400
	linesPerWriter = 1500
)

// writeShared writes count lines tagged id to the log "alpha" in dir through
// its own Manager (its own file handles and lock), alternating Write and
// WriteLine.
func writeShared(dir, id string, count int) error {
	m, err := New(Options{Dir: dir, MaxBytes: sharedMaxBytes, MaxFiles: sharedMaxFiles})
	if err != nil {
		return err
	}
	l, err := m.Log("alpha")
	if err != nil {
		return err
	}
	for i := range count {
		s := fmt.Sprintf("%s-%05d-%s", id, i, strings.Repeat("x", i%40))
		if i%2 == 0 {
			err = l.WriteLine(t0, StreamStderr, s)
		} else {
			_, err = l.Write([]byte(s + "\n"))
		}
		if err != nil {
			return err
		}
	}
	return m.Close()
}

// TestSeveralProcessesRotateOneLog: writers with their own file handles
// (other processes, or other Managers in this one) write and rotate one
// server's log at the same time; every line ends up in exactly one file,
// whole.
func TestSeveralProcessesRotateOneLog(t *testing.T) {
	if spec := os.Getenv(writerEnv); spec != "" {
		// The re-executed writer: wait for the start signal, so that the
		// writers really overlap, then write.
		f := strings.Fields(spec)
		count, _ := strconv.Atoi(f[2])
		poll.Within(t, time.Minute, "the start signal", func() error {
			_, err := os.Stat(f[3])
			return err
		})
		if err := writeShared(f[0], f[1], count); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Parallel()
	for _, tc := range []struct {
		name      string
		processes bool
		writers   int
	}{
		{"two processes", true, 2},
		{"three processes", true, 3},
		{"two managers in one process", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			start := filepath.Join(t.TempDir(), "go")
			var wg sync.WaitGroup
			errs := make(chan error, tc.writers)
			// begin is the start signal for the writers in this process.
			begin := make(chan struct{})
			release := sync.OnceFunc(func() { close(begin) })
			defer release()
			for w := range tc.writers {
				id := "w" + strconv.Itoa(w)
				if !tc.processes {
					wg.Go(func() {
						<-begin
						errs <- writeShared(dir, id, linesPerWriter)
					})
					continue
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestSeveralProcessesRotateOneLog$", "-test.count=1")
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %s", writerEnv, dir, id, linesPerWriter, start))
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					if err := cmd.Wait(); err != nil {
						errs <- fmt.Errorf("writer %s: %w\n%s", id, err, out)
						return
					}
					errs <- nil
				})
			}
			if err := os.WriteFile(start, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			release()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}

			files, err := filepath.Glob(filepath.Join(dir, "alpha.log*"))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			if _, err := os.Stat(filepath.Join(dir, ".alpha.lock")); err != nil {
				t.Errorf("lock file: %v", err)
			}
			rotated := 0
			for _, f := range files {
				if f != filepath.Join(dir, "alpha.log") {
					rotated++
				}
				for _, line := range fileLines(t, f) {
					line = strings.TrimPrefix(line, "2024-05-06T07:08:09.000000Z alpha stderr: ")
					seen[line]++
				}
			}
			if rotated < 10 {
				t.Errorf("only %d rotated files: the writers hardly rotated", rotated)
			}
			for w := range tc.writers {
				for i := range linesPerWriter {
					s := fmt.Sprintf("w%d-%05d-%s", w, i, strings.Repeat("x", i%40))
					if n := seen[s]; n != 1 {
						t.Errorf("line %q is in the files %d times, want once", s, n)
					}
					delete(seen, s)
				}
			}
			for s, n := range seen {
				t.Errorf("unexpected or torn line (%d times): %.80q", n, s)
			}
		})
	}
}
