package tracestore

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestStoreRefusesWritesWhenDiskIsFull: with less free space than a write
// and the reserve need, the store refuses the write (and a new store
// refuses to open) with ErrStoreFull, and writes again once there is
// room. Before, Badger wrote on through its memory maps, and the plugin
// died of SIGBUS on a full disk, and again at each restart (found by the
// chaos test on a full tmpfs).
func TestStoreRefusesWritesWhenDiskIsFull(t *testing.T) {
	var free atomic.Int64
	free.Store(1 << 40)
	old := freeBytes
	freeBytes = func(string) (int64, bool) { return free.Load(), true }
	t.Cleanup(func() { freeBytes = old })

	dir := t.TempDir()
	p := configure(t, dir, nil)
	at := time.Now()
	record(t, p, turn{session: "s", resp: "resp_1", ctxs: []string{"srv/a"}, texts: []string{"one"}, weights: []float64{1}}.events(at)...)

	free.Store(diskReserve - 1)
	_, err := p.Record(context.Background(), tracing.RecordRequest{Events: turn{session: "s", resp: "resp_2",
		ctxs: []string{"srv/b"}, texts: []string{"two"}, weights: []float64{1}}.events(at.Add(time.Minute))})
	if err == nil || !strings.Contains(err.Error(), "not enough free disk space") {
		t.Fatalf("Record on a full disk: %v, want the store full error", err)
	}
	if _, err := openStore(options{dir: t.TempDir(), cacheEntries: 1}, hclog.NewNullLogger(), newTestLRU(0).stats()); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("openStore on a full disk: %v, want ErrStoreFull", err)
	}

	free.Store(1 << 40)
	record(t, p, turn{session: "s", resp: "resp_3", ctxs: []string{"srv/c"}, texts: []string{"three"}, weights: []float64{1}}.events(at.Add(2*time.Minute))...)
}
