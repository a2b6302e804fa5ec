package tracestore

import (
	"container/list"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// lruCache holds decoded records (*contextHead, *versionRec, *responseRec)
// by Badger key. Cached values are never mutated: writers store a new value.
//
// Consistency with the store: only the writer changes the store, and it
// applies its changes here after committing, bumping seq. A reader fills the
// cache only if seq is what it was before its Badger transaction began, so a
// value read from a snapshot older than the latest commit never lands on top
// of that commit's value.
type lruCache struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List
	items map[string]*list.Element
	seq   uint64

	hits, misses, evictions, expired *metrics.Counter
}

type lruEntry struct {
	key string
	val any
	// expires is the Badger expiry (unix seconds) of the stored value; 0
	// means never.
	expires uint64
}

// cacheStats are the counters the plugin keeps across reconfigurations.
type cacheStats struct {
	hits, misses, evictions, expired *metrics.Counter
}

func newLRU(capacity int, st cacheStats) *lruCache {
	return &lruCache{
		cap: capacity, ll: list.New(), items: make(map[string]*list.Element),
		hits: st.hits, misses: st.misses, evictions: st.evictions, expired: st.expired,
	}
}

// expiredAt reports whether a Badger expiry (unix seconds) has passed, by
// Badger's own rule.
func expiredAt(expires uint64, now time.Time) bool {
	return expires != 0 && expires <= uint64(now.Unix())
}

// get returns the cached value of key, counting a hit or a miss. An entry
// whose store expiry has passed is dropped and counts as a miss, so the
// cache never serves what Badger no longer would.
func (c *lruCache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry)
		if !expiredAt(e.expires, time.Now()) {
			c.ll.MoveToFront(el)
			c.hits.Inc()
			return e.val, true
		}
		c.ll.Remove(el)
		delete(c.items, key)
		c.expired.Inc()
	}
	c.misses.Inc()
	return nil, false
}

// snapshot returns the commit sequence a reader must quote to fill.
func (c *lruCache) snapshot() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// fill caches a value read from the store, unless a commit happened since
// the reader's snapshot.
func (c *lruCache) fill(key string, val any, expires uint64, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq != c.seq {
		return
	}
	c.setLocked(key, val, expires)
}

// cacheWrite is one committed change: a new value, or a deletion when val
// is nil.
type cacheWrite struct {
	val     any
	expires uint64
}

// apply records a commit's changes.
func (c *lruCache) apply(writes map[string]cacheWrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for k, w := range writes {
		if w.val == nil {
			if el, ok := c.items[k]; ok {
				c.ll.Remove(el)
				delete(c.items, k)
			}
			continue
		}
		c.setLocked(k, w.val, w.expires)
	}
}

func (c *lruCache) setLocked(key string, val any, expires uint64) {
	if c.cap <= 0 {
		return
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry)
		e.val, e.expires = val, expires
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&lruEntry{key: key, val: val, expires: expires})
	for c.ll.Len() > c.cap {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
		c.evictions.Inc()
	}
}

// len is the number of cached entries.
func (c *lruCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
