package oauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// VersionedStore is a Store that can say cheaply whether a record
// changed. Token then reads the record only when its version is not the
// one it last read, so the requests to a server read no file while
// another process's sign-in or sign-out is seen by the next request.
type VersionedStore interface {
	Store
	// Version identifies the record's current content; "" when there is
	// none. Any change gives a different version.
	Version(key string) (string, error)
}

// Version is the file's size and modification time: Save replaces the
// file (a new one, written then renamed), Delete removes it.
func (s FileStore) Version(key string) (string, error) {
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("oauth: %s: %w", key, err)
	}
	return fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// storeRecheck is, for a Store that is not a VersionedStore, how long
// Token trusts the record it last read before reading it again. A
// challenge, and every save or delete through the Client, make it read
// again at once.
const storeRecheck = 2 * time.Second

// recordCache holds the record Token last read. Its records are never
// changed in place (load returns a new one each time), so one may be
// shared.
type recordCache struct {
	mu      sync.Mutex
	rec     *Record // nil: no record in the Store
	version string
	at      time.Time
	ok      bool
	// gen counts invalidations, so that a read that raced with a save
	// does not put the older record back.
	gen uint64
}

// get returns the cached record when it is still the Store's: of version
// (when versioned), else read less than storeRecheck ago.
func (rc *recordCache) get(version string, versioned bool) (rec *Record, gen uint64, ok bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fresh := time.Since(rc.at) < storeRecheck
	if versioned {
		fresh = rc.version == version
	}
	if rc.ok && fresh {
		return rc.rec, rc.gen, true
	}
	return nil, rc.gen, false
}

func (rc *recordCache) put(rec *Record, version string, gen uint64, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gen == gen {
		rc.rec, rc.version, rc.at, rc.ok = rec, version, at, true
	}
}

func (rc *recordCache) invalidate() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.gen++
	rc.ok = false
	rc.rec = nil
}

// cachedLoad is load through the cache, for Token's callers: the
// requests. The record it returns must not be changed.
func (c *Client) cachedLoad() (*Record, error) {
	vs, versioned := c.opts.Store.(VersionedStore)
	var version string
	if versioned {
		v, err := vs.Version(c.key)
		if err != nil {
			return c.load()
		}
		version = v
	}
	rec, gen, ok := c.cache.get(version, versioned)
	if ok {
		return rec, nil
	}
	read := time.Now()
	rec, err := c.load()
	if err != nil {
		return nil, err
	}
	// A version read before the record: if the record changed in
	// between, the next version differs and it is read again.
	c.cache.put(rec, version, gen, read)
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
