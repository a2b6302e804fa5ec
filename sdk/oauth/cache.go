package oauth

import (
	"sync"
	"time"
)

// storeRecheck is how long Token trusts the record it last read before it
// reads the Store again: often enough to see a sign-in or sign-out made by
// another process without a challenge, seldom enough that the requests to
// a server read no file. A challenge, and every save or delete through the
// Client, make it read again at once.
const storeRecheck = 2 * time.Second

// recordCache holds the record Token last read. Its records are never
// changed in place (load returns a new one each time), so one may be shared.
type recordCache struct {
	mu  sync.Mutex
	rec *Record // nil: no record in the Store
	at  time.Time
	ok  bool
	// gen counts invalidations, so that a read that raced with a save
	// does not put the older record back.
	gen uint64
}

func (rc *recordCache) get() (rec *Record, gen uint64, ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.ok && time.Since(rc.at) < storeRecheck {
		return rc.rec, rc.gen, true
	}
	return nil, rc.gen, false
}

func (rc *recordCache) put(rec *Record, gen uint64, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gen == gen {
		rc.rec, rc.at, rc.ok = rec, at, true
	}
}

func (rc *recordCache) invalidate() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gen++
	rc.ok = false
	rc.rec = nil
}

// cachedLoad is load through the cache, for Token's callers: the requests.
// The record it returns must not be changed.
func (c *Client) cachedLoad() (*Record, error) {
	rec, gen, ok := c.cache.get()
	if ok {
		return rec, nil
	}
	read := time.Now()
	rec, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cache.put(rec, gen, read)
	return rec, nil
}

// save stores rec and makes Token read it.
func (c *Client) save(rec *Record) error {
	defer c.cache.invalidate()
	return c.opts.Store.Save(c.key, rec)
}

// delete removes the record and makes Token see that.
func (c *Client) delete() error {
	defer c.cache.invalidate()
	return c.opts.Store.Delete(c.key)
}
