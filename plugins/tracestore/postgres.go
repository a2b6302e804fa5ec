package tracestore

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock keys of the tracing store, fixed so that every instance
// on a database takes the same ones ("mcphost" "trace" in ASCII, then
// the purpose).
const (
	migrationLockKey int64 = 0x6d6370747261_01
	retentionLockKey int64 = 0x6d6370747261_02
)

// notifyChannel is the LISTEN/NOTIFY channel on which every write that
// changes resources announces them.
const notifyChannel = "mcphost_tracing"

// Transaction retries: a batch that PostgreSQL aborts to break a deadlock
// or a serialization conflict is run again, a few times.
const (
	maxTxAttempts = 5
	txRetryDelay  = 5 * time.Millisecond
)

// pgStore is the tracing store in a PostgreSQL database, shared by every
// mcphost instance configured with it.
type pgStore struct {
	pool   *pgxpool.Pool
	opts   pgOptions
	logger hclog.Logger
	// origin identifies this store (one per Configure) in notifications,
	// so that its listener can skip its own.
	origin string

	// mu guards closed: operations hold it shared, close exclusively.
	mu     sync.RWMutex
	closed bool

	// stop ends the retention loop and the listener, which loops counts.
	stop  context.CancelFunc
	loops sync.WaitGroup
	watch *watchers
}

var _ backend = (*pgStore)(nil)

// openPostgres connects, applies the migrations this database lacks, and
// starts the retention loop and the change listener.
func openPostgres(ctx context.Context, o pgOptions, logger hclog.Logger) (*pgStore, error) {
	origin, err := newOrigin()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, o.pool)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.where, redactErr(err, o.password))
	}
	if err := migrate(ctx, pool, origin); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate tracing schema in %s: %w", o.where, redactErr(err, o.password))
	}
	loopCtx, stop := context.WithCancel(context.Background())
	s := &pgStore{pool: pool, opts: o, logger: logger, origin: origin, stop: stop, watch: newWatchers()}
	s.loops.Add(2)
	go func() { defer s.loops.Done(); s.retentionLoop(loopCtx) }()
	go func() { defer s.loops.Done(); s.listen(loopCtx) }()
	// Changes are watched from Configure on: wait (a little) for the
	// listener, which otherwise keeps trying in the background.
	wait, cancel := context.WithTimeout(ctx, listenWait)
	defer cancel()
	select {
	case <-s.watch.listening:
	case <-wait.Done():
		logger.Warn("not yet listening for other instances' changes; retrying in the background", "database", o.where)
	}
	return s, nil
}

// listenWait is how long Configure waits for the change listener.
const listenWait = 5 * time.Second

// newOrigin names this store in notifications and in schema_migrations:
// host, process and a random suffix.
func newOrigin() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("origin id: %w", err)
	}
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:]), nil
}

// close stops the loops, waits for running operations and closes the
// pool.
func (s *pgStore) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.loops.Wait()
	s.watch.closeAll()
	s.pool.Close()
}

// use runs fn unless the store is closing; close waits for it.
func (s *pgStore) use(fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errNotConfigured
	}
	return fn()
}

func (s *pgStore) options() options { return s.opts.options }

// migrate applies the embedded migrations this database lacks, in order,
// under an advisory lock, so that instances starting together apply each
// exactly once; schema_migrations records which instance applied which.
func migrate(ctx context.Context, pool *pgxpool.Pool, origin string) error {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// A lock left behind would end with the connection anyway; an
		// unlock failing is only logged by the caller's next error.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		applied_by text NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and '_'", base)
		}
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&done); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if done {
			continue
		}
		sql, err := migrationFiles.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_by) VALUES ($1, $2, $3)", version, base, origin)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s: %w", base, err)
		}
	}
	return nil
}

// retryable reports whether PostgreSQL aborted a transaction that may
// succeed when run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// inTx runs fn in a transaction, again if PostgreSQL aborts it for a
// deadlock or serialization conflict.
func (s *pgStore) inTx(ctx context.Context, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = pgx.BeginTxFunc(ctx, s.pool, opts, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * txRetryDelay):
		}
	}
	return redactErr(err, s.opts.password)
}

// view runs fn in a read-only transaction on one snapshot.
func (s *pgStore) view(ctx context.Context, fn func(r records) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return fn(&pgReader{ctx: ctx, tx: tx})
	})
}

// write runs fn in one transaction: it first locks the contexts of lock
// in their (sorted) order, creating rows for new ones, so that
// concurrent batches touching the same contexts wait for each other
// instead of deadlocking; then fn reads and queues its writes, which are
// sent together with the notification of what changed, and committed.
func (s *pgStore) write(ctx context.Context, lock []string, fn func(w recordWriter) error) error {
	return s.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		w := newPgWriter(ctx, tx, s)
		if err := w.lock(lock); err != nil {
			return err
		}
		if err := fn(w); err != nil {
			return err
		}
		return w.flush()
	})
}

// expiresAt is the expires_at of a row written now with ttl; nil for
// never.
func expiresAt(ttl time.Duration) any {
	if ttl <= 0 {
		return nil
	}
	return time.Now().Add(ttl).UnixNano()
}

// retentionEvery is how often the retention loop deletes expired rows:
// a tenth of the retention, between a second and a minute.
func retentionEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), time.Minute)
}

// expiringTables are the tables whose rows carry expires_at.
var expiringTables = []string{"lineage", "feedback", "versions", "responses", "open_responses", "contexts"}

// retentionLoop deletes expired rows until ctx ends. Open responses
// expire even with retention off (after openTTL), so it always runs.
func (s *pgStore) retentionLoop(ctx context.Context) {
	t := time.NewTicker(retentionEvery(s.opts.retention))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.deleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("deleting expired tracing rows failed; retrying at the next round", "error", redactErr(err, s.opts.password))
		}
	}
}

// deleteExpired deletes the rows past retention, unless another instance
// is doing it (one at a time, under an advisory lock held only while
// deleting). It reports whether it ran.
func (s *pgStore) deleteExpired(ctx context.Context) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", retentionLockKey).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", retentionLockKey)
	}()
	now := time.Now().UnixNano()
	for _, table := range expiringTables {
		// Rows locked by a running batch are left for the next round.
		if _, err := conn.Exec(ctx, "DELETE FROM "+table+" WHERE expires_at < $1", now); err != nil {
			return true, fmt.Errorf("delete expired %s: %w", table, err)
		}
	}
	return true, nil
}

func (s *pgStore) storeStats(p *Plugin) (cacheView, storeView, error) {
	ctx := context.Background()
	var c storeCounts
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM contexts WHERE first_seen <> 0 AND mcphost_live(expires_at)),
		(SELECT count(*) FROM versions WHERE mcphost_live(expires_at)),
		(SELECT count(*) FROM responses WHERE mcphost_live(expires_at)),
		(SELECT count(*) FROM open_responses WHERE mcphost_live(expires_at)),
		(SELECT count(*) FROM feedback WHERE mcphost_live(expires_at))`).Scan(&c.Contexts, &c.Versions, &c.Responses, &c.Open, &c.Feedback)
	if err != nil {
		return cacheView{}, storeView{}, fmt.Errorf("count tracing rows: %w", redactErr(err, s.opts.password))
	}
	sv := storeView{
		Dir: s.opts.where, Engine: "postgresql", Retention: retentionString(s.opts.retention),
		StoreContent: s.opts.storeContent, SyncWrites: true, storeCounts: c,
		CountedAt: time.Now().UTC().Format(time.RFC3339Nano),
	}
	return cacheView{}, sv, nil
}
