package tracing

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// envHold makes the test binary, run as a helper process, hold a store
// open until its stdin closes.
const envHold = "MCPHOST_TRACING_TEST_HOLD_DIR"

// TestSecondProcessFails opens a store in another process and checks that
// this one is refused with a clear error (Badger's directory lock), then
// gets the directory once the other has let go.
func TestSecondProcessFails(t *testing.T) {
	if dir := os.Getenv(envHold); dir != "" {
		holdStore(t, dir)
		return
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessFails$")
	cmd.Env = append(os.Environ(), envHold+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "holding" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = openStore(options{dir: dir, cacheEntries: 1}, hclog.NewNullLogger(), newTestLRU(0).stats())
	if !errors.Is(err, ErrStoreInUse) || !strings.Contains(err.Error(), "locked by another process (one owner per directory)") {
		t.Fatalf("open while another process holds the store: %v", err)
	}
	p := New(hclog.NewNullLogger())
	diags := configureDiags(t, p, dir, nil)
	if len(diags) != 1 || diags[0].Attribute != "dir" || !strings.Contains(diags[0].Detail, "locked by another process") {
		t.Fatalf("Configure diagnostics %+v", diags)
	}

	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	configureOn(t, p, dir, nil)
	stop(t, p)
}

// holdStore is the helper process's side.
func holdStore(t *testing.T, dir string) {
	p := New(hclog.NewNullLogger())
	configureOn(t, p, dir, nil)
	os.Stdout.WriteString("holding\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop(t, p)
}

func (c *lruCache) stats() cacheStats {
	return cacheStats{hits: c.hits, misses: c.misses, evictions: c.evictions, expired: c.expired}
}

// TestStopUnderLoad stops the plugin while calls are running: they either
// complete or fail cleanly, and nothing runs against a closed store.
func TestStopUnderLoad(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger())
	configureOn(t, p, t.TempDir(), nil)
	record(t, p, threeContexts.events(t0)...)
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				once.Do(func() { close(started) })
				var err error
				switch (g + i) % 3 {
				case 0:
					tr := turn{session: "s1", resp: "r" + string(rune('a'+g)), ctxs: []string{"x/y"}, texts: []string{"t"}, weights: []float64{1}}
					_, err = p.Record(context.Background(), tracing.RecordRequest{Events: tr.events(t0)})
				case 1:
					var res tracing.CallToolResponse
					res, err = p.CallTool(context.Background(), tracing.CallToolRequest{Session: "s1", Name: toolSubmitFeedback, Arguments: []byte(`{"score":0.5}`)})
					if err == nil && strings.Contains(string(res.Result), `"isError":true`) {
						err = errors.New(string(res.Result))
					}
				default:
					_, err = p.ReadResource(context.Background(), tracing.ReadResourceRequest{Session: "s1", URI: uriStatsCache})
				}
				if err != nil {
					if !strings.Contains(err.Error(), "not open") {
						t.Errorf("call failed with %v", err)
					}
					return
				}
			}
		}()
	}
	<-started
	stop(t, p)
	wg.Wait()
}
