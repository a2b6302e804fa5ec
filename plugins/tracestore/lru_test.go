package tracestore

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func newTestLRU(capacity int) *lruCache {
	s := metrics.NewSet()
	return newLRU(capacity, cacheStats{
		hits: s.NewCounter("h"), misses: s.NewCounter("m"), evictions: s.NewCounter("e"), expired: s.NewCounter("x"),
	})
}

func TestLRU(t *testing.T) {
	t.Parallel()
	future := uint64(time.Now().Add(time.Hour).Unix())
	past := uint64(time.Now().Add(-time.Second).Unix())
	tests := []struct {
		name string
		run  func(t *testing.T, c *lruCache)
	}{
		{"evicts least recently used", func(t *testing.T, c *lruCache) {
			seq := c.snapshot()
			c.fill("a", 1, 0, seq)
			c.fill("b", 2, 0, seq)
			c.get("a") // a is now the most recent
			c.fill("c", 3, 0, seq)
			if _, ok := c.get("b"); ok {
				t.Error("b should have been evicted")
			}
			if v, ok := c.get("a"); !ok || v != 1 {
				t.Errorf("a = %v, %v", v, ok)
			}
			if c.evictions.Get() != 1 || c.len() != 2 {
				t.Errorf("evictions %d, len %d", c.evictions.Get(), c.len())
			}
		}},
		{"expired entries are misses", func(t *testing.T, c *lruCache) {
			c.fill("old", 1, past, c.snapshot())
			c.fill("new", 2, future, c.snapshot())
			if _, ok := c.get("old"); ok {
				t.Error("served an expired entry")
			}
			if _, ok := c.get("new"); !ok {
				t.Error("missed a live entry")
			}
			if c.expired.Get() != 1 || c.hits.Get() != 1 || c.misses.Get() != 1 || c.len() != 1 {
				t.Errorf("expired %d hits %d misses %d len %d", c.expired.Get(), c.hits.Get(), c.misses.Get(), c.len())
			}
		}},
		{"a fill from before a commit is dropped", func(t *testing.T, c *lruCache) {
			seq := c.snapshot()
			c.apply(map[string]cacheWrite{"k": {val: "committed"}})
			c.fill("k", "stale", 0, seq)
			if v, _ := c.get("k"); v != "committed" {
				t.Errorf("k = %v, want the committed value", v)
			}
		}},
		{"a committed delete removes the entry", func(t *testing.T, c *lruCache) {
			c.fill("k", 1, 0, c.snapshot())
			c.apply(map[string]cacheWrite{"k": {}})
			if _, ok := c.get("k"); ok {
				t.Error("deleted entry served")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newTestLRU(2))
		})
	}
	t.Run("capacity 0 disables the cache", func(t *testing.T) {
		t.Parallel()
		c := newTestLRU(0)
		c.fill("k", 1, 0, c.snapshot())
		if _, ok := c.get("k"); ok || c.len() != 0 {
			t.Error("a disabled cache kept an entry")
		}
	})
}
