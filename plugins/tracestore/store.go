package tracestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
)

// ErrStoreInUse is returned when a store directory is already open, in this
// process or another: Badger allows one owner per directory.
var ErrStoreInUse = errors.New("tracing store directory is already in use")

// ErrStoreFull: the store's filesystem has too little room left to write.
var ErrStoreFull = errors.New("tracing store: not enough free disk space")

// diskReserve is the free space a write leaves untouched, besides twice
// its own bytes. Badger writes its memtable log, value log and tables
// through memory maps of sparse files, so a write the filesystem cannot
// hold is not an error it can return but a SIGBUS that kills the plugin
// (and again at each restart while the disk stays full). The reserve
// covers what Badger writes on its own after a commit: a memtable flushed
// to a level-0 table, and compactions.
const diskReserve = memTableSize + 16<<20

// freeBytes is the space an unprivileged writer may still use on dir's
// filesystem; ok is false where it cannot be told. A variable for tests.
var freeBytes = diskFree

// checkRoom refuses a write of about n bytes into dir when the filesystem
// cannot hold it with diskReserve to spare.
func checkRoom(dir string, n int64) error {
	free, ok := freeBytes(dir)
	if !ok {
		return nil
	}
	if need := 2*n + diskReserve; free < need {
		return fmt.Errorf("%w: %s has %d MiB free, and a write of %d KiB keeps %d MiB in reserve",
			ErrStoreFull, dir, free>>20, n>>10, diskReserve>>20)
	}
	return nil
}

// errClosed is returned by operations on a store being closed.
var errClosed = errors.New("tracing store is closed")

// Badger tuning. Badger's defaults are sized for a database server (five
// 64 MiB memtables, a 256 MiB block cache); a plugin beside a proxy gets
// less. The memtable size is what ingestion at scale depends on most (with
// 16 MiB memtables a store of 400k units ingested 25% slower, from level-0
// stalls and compactions), so it gives up the least. Anything above
// valueThreshold (stored content) goes to the value log, so that the LSM
// tree stays small and fast to scan.
const (
	memTableSize     = 32 << 20
	numMemtables     = 3
	blockCacheSize   = 64 << 20
	valueThreshold   = 32 << 10
	valueLogFileSize = 256 << 20
	// maxContentBytes is the largest content kept when store_content is
	// on; Badger refuses values larger than a value log file.
	maxContentBytes = valueLogFileSize / 2
	// gcInterval is how often the value log is garbage collected, which
	// reclaims space of expired or overwritten content.
	gcInterval = 5 * time.Minute
	// openTTL bounds how long an open response is kept when retention is
	// off, in case the host never finalizes it.
	openTTL = 24 * time.Hour
	// maxRecountEvery is the longest the entry counts go without a full
	// recount when entries can expire.
	maxRecountEvery = 30 * time.Second
)

// openDirs are the store directories open in this process. Badger's own
// flock also stops a second process, but its error is less clear, and the
// check here does not depend on the platform's lock semantics.
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// store is one open Badger directory and the cache in front of it.
type store struct {
	db     *badger.DB
	dir    string
	opts   options
	cache  *lruCache
	logger hclog.Logger

	// mu guards closed: operations hold it shared, close exclusively, so
	// that the database is never closed under a running operation.
	mu     sync.RWMutex
	closed bool

	// wmu serializes writers: there is one writer at a time, which is what
	// keeps the cache consistent and lets Badger skip conflict detection.
	wmu sync.Mutex

	// Entry counts: base is the last full count, delta what commits
	// created since. While a recount scans, sinceScan collects the commits
	// after its snapshot, which become the new delta. recountMu lets one
	// recount run at a time.
	countMu   sync.Mutex
	recountMu sync.Mutex
	base      storeCounts
	delta     storeCounts
	sinceScan *storeCounts
	counted   bool
	countedAt time.Time

	stopGC chan struct{}
	gcDone chan struct{}
}

// storeCounts are the numbers of entries of each kind.
type storeCounts struct {
	Contexts  int64 `json:"contexts"`
	Versions  int64 `json:"versions"`
	Responses int64 `json:"responses"`
	Open      int64 `json:"open_responses"`
	Feedback  int64 `json:"feedback"`
}

func (c *storeCounts) add(d storeCounts) {
	c.Contexts += d.Contexts
	c.Versions += d.Versions
	c.Responses += d.Responses
	c.Open += d.Open
	c.Feedback += d.Feedback
}

// badgerLogger routes Badger's log lines to the plugin's logger. Badger's
// info lines (tables opened, compactions) are routine, so they go to debug.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) line(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Errorf(f string, a ...any)     { b.l.Error(b.line(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any)   { b.l.Warn(b.line(f, a)) }
func (b badgerLogger) Infof(f string, a ...any)      { b.l.Debug(b.line(f, a)) }
func (b badgerLogger) Debugf(f string, a ...any)     { b.l.Trace(b.line(f, a)) }

// openStore opens (creating if needed) the Badger directory of o.
func openStore(o options, logger hclog.Logger, cs cacheStats) (*store, error) {
	dir, err := storeDir(o.dir)
	if err != nil {
		return nil, err
	}
	openDirs.Lock()
	if openDirs.m[dir] {
		openDirs.Unlock()
		return nil, fmt.Errorf("%w: %s is already open in this process (one owner per directory)", ErrStoreInUse, dir)
	}
	openDirs.m[dir] = true
	openDirs.Unlock()
	release := func() {
		openDirs.Lock()
		delete(openDirs.m, dir)
		openDirs.Unlock()
	}

	if err := checkRoom(dir, 0); err != nil {
		release()
		return nil, fmt.Errorf("open tracing store: %w", err)
	}
	bopts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger.Named("badger")}).
		WithSyncWrites(o.syncWrites).
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(valueLogFileSize)
	db, err := badger.Open(bopts)
	if err != nil {
		release()
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w: %s is locked by another process (one owner per directory): %w", ErrStoreInUse, dir, err)
		}
		return nil, fmt.Errorf("open tracing store %s: %w", dir, err)
	}
	if err := checkLayout(db); err != nil {
		_ = db.Close()
		release()
		return nil, fmt.Errorf("open tracing store %s: %w", dir, err)
	}
	s := &store{
		db: db, dir: dir, opts: o, logger: logger,
		cache:  newLRU(o.cacheEntries, cs),
		stopGC: make(chan struct{}), gcDone: make(chan struct{}),
	}
	go s.gcLoop()
	return s, nil
}

// storeDir creates the store directory if missing and returns it absolute,
// with symlinks resolved: the name every process opening it agrees on.
func storeDir(d string) (string, error) {
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("create tracing store directory %s: %w", d, err)
	}
	dir, err := filepath.Abs(d)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return "", fmt.Errorf("resolve tracing store directory %s: %w", d, err)
	}
	return dir, nil
}

// checkLayout stamps a new store with the key layout version and refuses a
// store written with another.
func checkLayout(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(metaLayoutKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(metaLayoutKey, []byte(layoutVersion))
		}
		if err != nil {
			return fmt.Errorf("read layout version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read layout version: %w", err)
		}
		if string(v) != layoutVersion {
			return fmt.Errorf("store has key layout %q, this plugin reads layout %q", v, layoutVersion)
		}
		return nil
	})
}

// gcLoop garbage-collects the value log until the store closes.
func (s *store) gcLoop() {
	defer close(s.gcDone)
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			// Each successful run rewrites one file; keep going while
			// there is garbage to reclaim.
			for s.db.RunValueLogGC(0.5) == nil {
				select {
				case <-s.stopGC:
					return
				default:
				}
			}
		}
	}
}

// close waits for running operations, then flushes and closes Badger.
func (s *store) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stopGC)
	<-s.gcDone
	err := s.db.Close()
	openDirs.Lock()
	delete(openDirs.m, s.dir)
	openDirs.Unlock()
	if err != nil {
		return fmt.Errorf("close tracing store %s: %w", s.dir, err)
	}
	return nil
}

// use runs fn unless the store is closing; close waits for it. Every
// access to the store goes through it exactly once.
func (s *store) use(fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	return fn()
}

// expiry is the Badger expiry (unix seconds) of an entry written now with
// ttl; 0 means never.
func expiry(ttl time.Duration) uint64 {
	if ttl <= 0 {
		return 0
	}
	return uint64(time.Now().Add(ttl).Unix())
}

// reader reads records in one Badger transaction, through the cache.
type reader struct {
	s   *store
	txn *badger.Txn
	seq uint64
	// pending are the cached-kind records the writer has set or deleted in
	// its current transaction; nil for a read-only reader.
	pending map[string]cacheWrite
}

// viewTxn runs fn in a read-only transaction. Like writeTxn, it runs inside use
// (the plugin's withStore), which it does not take again: a second shared
// lock would deadlock against a close waiting between the two.
func (s *store) viewTxn(fn func(r *reader) error) error {
	seq := s.cache.snapshot()
	return s.db.View(func(txn *badger.Txn) error {
		return fn(&reader{s: s, txn: txn, seq: seq})
	})
}

// load reads a cached-kind record (*contextHead, *versionRec or
// *responseRec); nil if there is none.
func load[T any](r *reader, key []byte) (*T, error) {
	k := string(key)
	if r.pending != nil {
		if w, ok := r.pending[k]; ok {
			if w.val == nil {
				return nil, nil
			}
			return w.val.(*T), nil
		}
	}
	if v, ok := r.s.cache.get(k); ok {
		if t, ok := v.(*T); ok {
			return t, nil
		}
	}
	item, err := r.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %c record: %w", key[0], err)
	}
	t := new(T)
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, t) }); err != nil {
		return nil, fmt.Errorf("decode %c record: %w", key[0], err)
	}
	r.s.cache.fill(k, t, item.ExpiresAt(), r.seq)
	return t, nil
}

// loadJSON reads an uncached JSON record; nil if there is none.
func loadJSON[T any](r *reader, key []byte) (*T, error) {
	item, err := r.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %c record: %w", key[0], err)
	}
	t := new(T)
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, t) }); err != nil {
		return nil, fmt.Errorf("decode %c record: %w", key[0], err)
	}
	return t, nil
}

// scan calls fn for each entry under prefix, newest (highest key) first
// when reverse, until fn returns false. Values are only fetched when
// values is set.
func (r *reader) scan(prefix []byte, reverse, values bool, fn func(key []byte, item *badger.Item) (bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.Reverse = reverse
	opts.PrefetchValues = values
	if values {
		opts.PrefetchSize = 16
	}
	it := r.txn.NewIterator(opts)
	defer it.Close()
	start := prefix
	if reverse {
		// Longer than any key under prefix, so reverse iteration starts at
		// the last of them.
		start = seekPast(prefix, 128)
	}
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		more, err := fn(item.Key(), item)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// writer changes the store in one Badger transaction at a time, splitting
// into several when a batch outgrows one.
type writer struct {
	reader
	delta storeCounts
	// size is about how many bytes the current transaction writes.
	size int64
}

// writeTxn runs fn as the only writer and commits what it did.
func (s *store) writeTxn(fn func(w *writer) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := &writer{
		reader: reader{s: s, txn: s.db.NewTransaction(true), seq: s.cache.snapshot(), pending: map[string]cacheWrite{}},
	}
	defer func() { w.txn.Discard() }()
	if err := fn(w); err != nil {
		return err
	}
	return w.commit()
}

// commit commits the current transaction and publishes its changes to the
// cache and the counts.
func (w *writer) commit() error {
	if err := checkRoom(w.s.dir, w.size); err != nil {
		return err
	}
	w.size = 0
	if err := w.txn.Commit(); err != nil {
		return fmt.Errorf("commit tracing store: %w", err)
	}
	w.s.cache.apply(w.pending)
	w.s.countMu.Lock()
	w.s.delta.add(w.delta)
	if w.s.sinceScan != nil {
		w.s.sinceScan.add(w.delta)
	}
	w.s.countMu.Unlock()
	w.pending = map[string]cacheWrite{}
	w.delta = storeCounts{}
	w.seq = w.s.cache.snapshot()
	return nil
}

// rotate commits the current transaction and starts another, for a batch
// too big for one.
func (w *writer) rotate() error {
	if err := w.commit(); err != nil {
		return err
	}
	w.txn.Discard()
	w.txn = w.s.db.NewTransaction(true)
	return nil
}

// set writes key = value with ttl; cached is the decoded record to publish
// to the cache, or nil for an uncached kind.
func (w *writer) set(key, value []byte, ttl time.Duration, cached any) error {
	e := badger.NewEntry(key, value)
	e.ExpiresAt = expiry(ttl)
	err := w.txn.SetEntry(e)
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err = w.rotate(); err == nil {
			err = w.txn.SetEntry(e)
		}
	}
	if err != nil {
		return fmt.Errorf("write %c record: %w", key[0], err)
	}
	w.size += int64(len(key) + len(value) + entryOverhead)
	if cached != nil {
		w.pending[string(key)] = cacheWrite{val: cached, expires: e.ExpiresAt}
	}
	return nil
}

// entryOverhead is about what Badger writes for an entry besides its key
// and value (header, checksum, value pointer).
const entryOverhead = 64

// put writes a JSON record with the retention TTL; cached says whether it
// is a cached kind.
func (w *writer) put(key []byte, rec any, cached bool) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode %c record: %w", key[0], err)
	}
	var c any
	if cached {
		c = rec
	}
	return w.set(key, b, w.s.opts.retention, c)
}

// del deletes key.
func (w *writer) del(key []byte) error {
	err := w.txn.Delete(key)
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err = w.rotate(); err == nil {
			err = w.txn.Delete(key)
		}
	}
	if err != nil {
		return fmt.Errorf("delete %c record: %w", key[0], err)
	}
	w.size += int64(len(key) + entryOverhead)
	switch key[0] {
	case tagContext, tagVersion, tagResponse:
		w.pending[string(key)] = cacheWrite{}
	}
	return nil
}

// counts returns the numbers of entries of each kind. They are exact
// between recounts (each commit adds what it created); entries expire
// silently, so when retention is on they are recounted by a key-only scan
// at least every maxRecountEvery (or half the retention, if shorter). The
// scan reads a snapshot, so writers only wait while it is taken, and while
// one caller recounts the others get the figures as they stand.
func (s *store) counts() (storeCounts, time.Time, error) {
	if c, at, ok := s.currentCounts(true); ok {
		return c, at, nil
	}
	if !s.recountMu.TryLock() {
		if c, at, ok := s.currentCounts(false); ok {
			return c, at, nil
		}
		// The very first count is running: wait for it.
		s.recountMu.Lock()
	}
	defer s.recountMu.Unlock()
	if c, at, ok := s.currentCounts(true); ok {
		return c, at, nil
	}
	return s.recount()
}

// currentCounts returns the counts as they stand; ok is false if there
// are none yet or, with fresh, if they are due for a recount.
func (s *store) currentCounts(fresh bool) (storeCounts, time.Time, bool) {
	every := maxRecountEvery
	if r := s.opts.retention; r > 0 && r/2 < every {
		every = max(r/2, time.Second)
	}
	s.countMu.Lock()
	defer s.countMu.Unlock()
	if !s.counted || fresh && s.opts.retention > 0 && time.Since(s.countedAt) >= every {
		return storeCounts{}, time.Time{}, false
	}
	c := s.base
	c.add(s.delta)
	return c, s.countedAt, true
}

// recount counts every kind of entry in a snapshot.
func (s *store) recount() (storeCounts, time.Time, error) {
	// Taking the snapshot under the writer lock puts every commit either
	// before it (in the scan) or after it (in sinceScan), never between.
	s.wmu.Lock()
	txn := s.db.NewTransaction(false)
	now := time.Now()
	s.countMu.Lock()
	s.sinceScan = &storeCounts{}
	s.countMu.Unlock()
	s.wmu.Unlock()
	defer txn.Discard()

	var c storeCounts
	r := &reader{s: s, txn: txn}
	var err error
	for _, k := range []struct {
		tag byte
		n   *int64
	}{{tagContext, &c.Contexts}, {tagVersion, &c.Versions}, {tagResponse, &c.Responses}, {tagOpen, &c.Open}, {tagFeedback, &c.Feedback}} {
		err = r.scan([]byte{k.tag}, false, false, func([]byte, *badger.Item) (bool, error) {
			*k.n++
			return true, nil
		})
		if err != nil {
			break
		}
	}
	s.countMu.Lock()
	defer s.countMu.Unlock()
	if err != nil {
		s.sinceScan = nil
		return storeCounts{}, time.Time{}, fmt.Errorf("count tracing store entries: %w", err)
	}
	s.base, s.delta, s.sinceScan, s.counted, s.countedAt = c, *s.sinceScan, nil, true, now
	total := c
	total.add(s.delta)
	return total, now, nil
}

// diskUsage is the space the store's files take.
type diskUsage struct {
	LSMBytes      int64 `json:"lsm_bytes"`
	LSMTables     int   `json:"lsm_tables"`
	LSMKeys       int64 `json:"lsm_keys"`
	VlogBytes     int64 `json:"vlog_bytes"`
	VlogFiles     int   `json:"vlog_files"`
	MemtableBytes int64 `json:"memtable_wal_bytes"`
}

// usage measures the store now. Badger's own Size() is refreshed once a
// minute and only with its expvar metrics on, so the files are measured
// directly; value log and memtable files are preallocated sparse files, so
// their allocated size is what counts.
func (s *store) usage() diskUsage {
	var u diskUsage
	for _, t := range s.db.Tables() {
		u.LSMTables++
		u.LSMBytes += int64(t.OnDiskSize)
		u.LSMKeys += int64(t.KeyCount)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return u
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		switch filepath.Ext(e.Name()) {
		case ".vlog":
			u.VlogFiles++
			u.VlogBytes += allocatedBytes(fi)
		case ".mem":
			u.MemtableBytes += allocatedBytes(fi)
		}
	}
	return u
}
