package tracestore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/tracing"
)

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
