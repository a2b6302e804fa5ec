package tracestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/mcphost/mcphost/plugins/tracestore/pgtest"
	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// badgerOnly are config attributes tracing-postgres does not take.
var badgerOnly = []string{"dir", "cache_entries", "sync_writes"}

// configurePostgres opens a tracing-postgres plugin on dsn with cfg (dsn
// is added; Badger-only attributes are dropped) and stops it when the
// test ends.
func configurePostgres(t testing.TB, dsn string, cfg map[string]any) *PostgresPlugin {
	t.Helper()
	p := NewPostgres(hclog.NewNullLogger())
	if diags := configurePostgresDiags(t, p, dsn, cfg); base.HasErrors(diags) {
		t.Fatalf("Configure: %+v", diags)
	}
	t.Cleanup(func() {
		if _, err := p.Stop(context.Background(), base.StopRequest{}); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

func configurePostgresDiags(t testing.TB, p *PostgresPlugin, dsn string, cfg map[string]any) []base.Diagnostic {
	t.Helper()
	c := map[string]any{"dsn": dsn}
	for k, v := range cfg {
		c[k] = v
	}
	for _, k := range badgerOnly {
		delete(c, k)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Configure(context.Background(), base.ConfigureRequest{Config: raw})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return res.Diagnostics
}

// postgresStore opens each plugin on a fresh database of c.
func postgresStore(c *pgtest.Cluster) storeUnderTest {
	return storeUnderTest{name: "postgres", open: func(t testing.TB, cfg map[string]any) testPlugin {
		return configurePostgres(t, c.NewDatabase(t), cfg)
	}}
}

// TestPostgresSurface runs the tests of the MCP surface against
// tracing-postgres: the same tools, resources and views as the Badger
// plugin's.
func TestPostgresSurface(t *testing.T) {
	t.Parallel()
	pg := postgresStore(pgtest.Start(t))
	for _, tc := range []struct {
		name string
		run  func(*testing.T, storeUnderTest)
	}{
		{"GetTraceLatest", testGetTraceLatest},
		{"LatestIsPerSession", testLatestIsPerSession},
		{"Evolution", testEvolution},
		{"FeedbackDeprecatesAndPromotes", testFeedbackDeprecatesAndPromotes},
		{"FeedbackLatestAndErrors", testFeedbackLatestAndErrors},
		{"ResponseContextsFilter", testResponseContextsFilter},
		{"Resources", testResources},
		{"ContentNotStoredByDefault", testContentNotStoredByDefault},
		{"SkippedEvents", testSkippedEvents},
		{"ResponseUnitsNotRecorded", testResponseUnitsNotRecorded},
		{"ConcurrentUse", testConcurrentUse},
		{"RecentResponses", testRecentResponses},
		{"RecentResponsesBadURIs", testRecentResponsesBadURIs},
		{"RecentResponsesListed", testRecentResponsesListed},
		{"Conformance", testConformance},
		{"OutputSchemas", testOutputSchemas},
		{"WeighsUnitsSentAheadOfTheirResponse", testWeighsUnitsSentAheadOfTheirResponse},
		{"WeighsAResponseRecordedAgainWhole", testWeighsAResponseRecordedAgainWhole},
		{"ArgumentsSize", testArgumentsSize},
		{"RetentionExpires", testRetentionExpires},
		{"ToolQualityAggregates", testToolQualityAggregates},
		{"ResponseProfileShown", testResponseProfileShown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, pg)
		})
	}
}

// queryDB runs one query on dsn and returns its rows' first columns.
func queryDB[T any](t testing.TB, dsn, sql string, args ...any) []T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// TestPostgresMigrationsAppliedOnce starts several plugins at the same
// moment on an empty database: each migration is applied exactly once,
// by one of them, and all of them serve.
func TestPostgresMigrationsAppliedOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	const instances = 5
	plugins := make([]*PostgresPlugin, instances)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range plugins {
		plugins[i] = NewPostgres(hclog.NewNullLogger())
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if diags := configurePostgresDiags(t, plugins[i], dsn, nil); base.HasErrors(diags) {
				t.Errorf("instance %d: Configure: %+v", i, diags)
			}
		}()
	}
	close(start)
	wg.Wait()
	origins := map[string]bool{}
	for _, p := range plugins {
		t.Cleanup(func() { _, _ = p.Stop(context.Background(), base.StopRequest{}) })
		if st := p.pg.Load(); st != nil {
			origins[st.origin] = true
		}
	}
	if len(origins) != instances {
		t.Fatalf("%d instances open, want %d", len(origins), instances)
	}
	applied := queryDB[string](t, dsn, "SELECT version || ' ' || applied_by FROM schema_migrations ORDER BY version")
	names, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(names) {
		t.Fatalf("schema_migrations %v, want one row for each of %d migrations", applied, len(names))
	}
	for _, row := range applied {
		_, by, _ := strings.Cut(row, " ")
		if !origins[by] {
			t.Errorf("migration applied by %q, not one of the instances %v", by, origins)
		}
	}
	// Every instance serves the one schema.
	for i, p := range plugins {
		record(t, p, turn{session: "s", resp: fmt.Sprintf("r%d", i), ctxs: []string{"x/shared"}, texts: []string{"t"}, weights: []float64{1}}.events(t0)...)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM responses"); n[0] != instances {
		t.Errorf("%d responses, want %d", n[0], instances)
	}
}

// sharedResponse is a response of three contexts whose quality the
// feedback tests move.
var sharedResponse = turn{
	session: "s", resp: "r_shared", ctxs: []string{"a/one", "b/two", "c/three"},
	texts: []string{"1", "2", "3"}, weights: []float64{0.5, 0.3, 0.2},
}

// qualities reads the quality and feedback count of the shared
// response's contexts through p.
func qualities(t *testing.T, p tracing.Tracing) map[string]traceContext {
	t.Helper()
	tv, _ := callOK[traceView](t, p, tracing.OperatorSession, toolGetTrace, map[string]any{"response_id": sharedResponse.resp})
	out := map[string]traceContext{}
	for _, c := range tv.Contexts {
		out[c.ContextID] = c
	}
	return out
}

// TestPostgresConcurrentFeedbackLosesNothing: K feedbacks with the same
// score, given at once through several plugins (separate connection
// pools) on one database, leave every context's quality exactly where K
// feedbacks one after another do.
func TestPostgresConcurrentFeedbackLosesNothing(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	const (
		instances = 3
		k         = 24
		score     = -0.8
	)
	cfg := map[string]any{"learning_rate": 0.5}

	seqDSN := c.NewDatabase(t)
	seq := configurePostgres(t, seqDSN, cfg)
	record(t, seq, sharedResponse.events(t0)...)
	for range k {
		feedbackOn(t, seq, "s", sharedResponse.resp, score)
	}
	want := qualities(t, seq)

	dsn := c.NewDatabase(t)
	plugins := make([]*PostgresPlugin, instances)
	for i := range plugins {
		plugins[i] = configurePostgres(t, dsn, cfg)
	}
	record(t, plugins[0], sharedResponse.events(t0)...)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			feedbackOn(t, plugins[i%instances], "s", sharedResponse.resp, score)
		}()
	}
	close(start)
	wg.Wait()
	for i, p := range plugins {
		got := qualities(t, p)
		for id, w := range want {
			g := got[id]
			if d := g.Quality - w.Quality; d > 1e-9 || d < -1e-9 || g.FeedbackCount != k || w.FeedbackCount != k {
				t.Errorf("instance %d: %s quality %v after %d feedbacks, sequentially %v after %d",
					i, id, g.Quality, g.FeedbackCount, w.Quality, w.FeedbackCount)
			}
		}
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM feedback"); n[0] != k {
		t.Errorf("%d feedback rows, want %d", n[0], k)
	}
}

// TestPostgresConcurrentRecordLosesNothing: plugins on one database record
// batches at once whose contexts overlap in different orders; none fails
// (no deadlock) and every response, version and lineage entry is there.
func TestPostgresConcurrentRecordLosesNothing(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	const (
		instances = 3
		batches   = 15
	)
	plugins := make([]*PostgresPlugin, instances)
	for i := range plugins {
		plugins[i] = configurePostgres(t, dsn, nil)
	}
	shared := []string{"s/a", "s/b", "s/c", "s/d"}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range batches {
				// Each instance lists the shared contexts in its own order.
				ctxs := append([]string(nil), shared[i%len(shared):]...)
				ctxs = append(ctxs, shared[:i%len(shared)]...)
				ctxs = append(ctxs, fmt.Sprintf("own%d/x", i))
				tr := turn{session: fmt.Sprintf("s%d", i), resp: fmt.Sprintf("r%d_%d", i, j), ctxs: ctxs,
					texts: []string{"same", "same", "same", "same", fmt.Sprintf("v%d", j)}, weights: []float64{0.2, 0.2, 0.2, 0.2, 0.2}}
				if _, err := p.Record(context.Background(), tracing.RecordRequest{Events: tr.events(t0.Add(time.Duration(j) * time.Second))}); err != nil {
					t.Errorf("instance %d batch %d: %v", i, j, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	total := instances * batches
	imp, _ := callOK[impactView](t, plugins[0], "s", toolContextImpact, map[string]any{"context_id": "s/a"})
	if imp.TotalResponses != total || imp.HeadVersion != 1 {
		t.Errorf("s/a fed %d responses at head version %d, want %d at 1", imp.TotalResponses, imp.HeadVersion, total)
	}
	ev, _ := callOK[evolutionView](t, plugins[1], "s", toolEvolution, map[string]any{"context_id": "own2/x"})
	if ev.HeadVersion != batches || len(ev.Versions) != batches {
		t.Errorf("own2/x has %d versions, head %d, want %d", len(ev.Versions), ev.HeadVersion, batches)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM responses"); n[0] != int64(total) {
		t.Errorf("%d responses, want %d", n[0], total)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM open_responses"); n[0] != 0 {
		t.Errorf("%d responses left open", n[0])
	}
}

// nextChange waits for the next change a watcher reports.
func nextChange(t *testing.T, ch <-chan tracing.WatchChangesResponse) []string {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return r.ChangedURIs
	case <-time.After(30 * time.Second):
		t.Fatal("no change reported in 30s")
	}
	return nil
}

// TestPostgresWatchChanges: a feedback or a new version recorded through
// one plugin is reported by the other plugins' WatchChanges, not by its
// own; and a listener whose connection drops reconnects.
func TestPostgresWatchChanges(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	a := configurePostgres(t, dsn, nil)
	b := configurePostgres(t, dsn, nil)
	if info, err := a.Info(context.Background(), base.InfoRequest{}); err != nil || info.Name != "tracing-postgres" ||
		!contains(info.Capabilities, tracing.CapabilityWatchesChanges) {
		t.Errorf("Info %+v, %v: want tracing-postgres with %s", info, err, tracing.CapabilityWatchesChanges)
	}
	for _, p := range []*PostgresPlugin{a, b} {
		<-p.pg.Load().watch.listening
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchA, err := a.WatchChanges(ctx, tracing.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	watchB, err := b.WatchChanges(ctx, tracing.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}

	own := record(t, a, sharedResponse.events(t0)...)
	got := nextChange(t, watchB)
	for _, want := range []string{responseURI(sharedResponse.resp), evolutionURI("a/one"), uriRecentResponses} {
		if !contains(got, want) || !contains(own, want) {
			t.Errorf("B saw %v, A's Record reported %v; both should have %s", got, own, want)
		}
	}
	fb, _ := feedbackOn(t, a, "s", sharedResponse.resp, 1)
	got = nextChange(t, watchB)
	for _, want := range []string{uriTopContexts, contextURI("b/two"), responseURI(fb.ResponseID)} {
		if !contains(got, want) {
			t.Errorf("B saw %v after A's feedback, missing %s", got, want)
		}
	}
	// A skips its own writes: the first change it reports is B's.
	record(t, b, turn{session: "t", resp: "r_b", ctxs: []string{"only/b"}, texts: []string{"b"}, weights: []float64{1}}.events(t0)...)
	if got := nextChange(t, watchA); !contains(got, responseURI("r_b")) || contains(got, responseURI(sharedResponse.resp)) {
		t.Errorf("A saw %v, want only B's response", got)
	}

	// Drop every listening connection (waiting until they are gone); both
	// listeners come back: connected, and done with LISTEN.
	listening := "datname = current_database() AND query = 'LISTEN " + notifyChannel + "' AND state = 'idle'"
	queryDB[bool](t, dsn, "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity WHERE "+listening)
	// Each check is a round trip to the server, which paces the loop.
	for queryDB[int64](t, dsn, "SELECT count(*) FROM pg_stat_activity WHERE "+listening)[0] != 2 {
	}
	feedbackOn(t, a, "s", sharedResponse.resp, 0.5)
	if got := nextChange(t, watchB); !contains(got, uriTopContexts) {
		t.Errorf("after reconnecting, B saw %v", got)
	}

	// The channel closes when the plugin stops.
	if _, err := b.Stop(context.Background(), base.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	for range watchB {
	}
}

// TestPostgresSecretsNotShown: the DSN's password appears in no log line,
// diagnostic, error or view, whether the database is reachable or not.
func TestPostgresSecretsNotShown(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	const secret = "s3cr3t-Pa55"
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := hclog.New(&hclog.LoggerOptions{Output: &lockedWriter{w: &logs, mu: &mu}, Level: hclog.Trace})
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the password: %s", what, s)
		}
	}
	// The cluster trusts its socket, so the password is accepted unused.
	good := c.NewDatabase(t) + " password=" + secret
	p := NewPostgres(logger)
	diags := configurePostgresDiags(t, p, good, nil)
	if base.HasErrors(diags) {
		t.Fatalf("Configure: %+v", diags)
	}
	defer func() { _, _ = p.Stop(context.Background(), base.StopRequest{}) }()
	record(t, p, sharedResponse.events(t0)...)
	stats := readJSON[statsView](t, p, "s", uriStatsCache)
	raw, _ := json.Marshal(stats)
	check("trace://stats/cache", string(raw))
	if !strings.Contains(stats.Store.Dir, "dbname=") {
		t.Errorf("stats name no database: %+v", stats.Store)
	}

	for _, dsn := range []string{
		"host=" + t.TempDir() + " port=5432 user=nobody dbname=none password=" + secret + " connect_timeout=5",
		"postgres://user:" + secret + "@localhost:notaport/db",
		"host=/nonexistent password=" + secret + " sslmode=bogus",
	} {
		q := NewPostgres(logger)
		diags := configurePostgresDiags(t, q, dsn, nil)
		if !base.HasErrors(diags) {
			_, _ = q.Stop(context.Background(), base.StopRequest{})
			t.Errorf("Configure %q succeeded", dsn)
		}
		raw, _ := json.Marshal(diags)
		check("diagnostics", string(raw))
		cfg, _ := json.Marshal(map[string]any{"dsn": dsn})
		v, err := q.Validate(context.Background(), base.ValidateRequest{Config: cfg})
		vraw, _ := json.Marshal(v)
		check("Validate", fmt.Sprint(string(vraw), err))
	}
	mu.Lock()
	check("logs", logs.String())
	mu.Unlock()
}

// TestPostgresRetentionOneAtATime: expired rows are deleted by one
// instance at a time; an instance finding another deleting skips its
// round.
func TestPostgresRetentionOneAtATime(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	p := configurePostgres(t, dsn, map[string]any{"retention": "1h"})
	record(t, p, sharedResponse.events(t0)...)
	feedbackOn(t, p, "s", sharedResponse.resp, 1)
	// Everything but one context has expired.
	for _, table := range expiringTables {
		queryDB[int64](t, dsn, "WITH u AS (UPDATE "+table+" SET expires_at = 1 RETURNING 1) SELECT count(*) FROM u")
	}
	queryDB[int64](t, dsn, "WITH u AS (UPDATE contexts SET expires_at = NULL WHERE id = 'a/one' RETURNING 1) SELECT count(*) FROM u")

	st := p.pg.Load()
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Close(ctx) }()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", retentionLockKey); err != nil {
		t.Fatal(err)
	}
	if ran, err := st.deleteExpired(ctx); ran || err != nil {
		t.Fatalf("deleteExpired while another instance holds the lock: ran %v, %v", ran, err)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM responses"); n[0] != 1 {
		t.Fatalf("responses deleted by an instance without the lock")
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", retentionLockKey); err != nil {
		t.Fatal(err)
	}
	if ran, err := st.deleteExpired(ctx); !ran || err != nil {
		t.Fatalf("deleteExpired: ran %v, %v", ran, err)
	}
	for _, table := range expiringTables {
		want := int64(0)
		if table == "contexts" {
			want = 1
		}
		if n := queryDB[int64](t, dsn, "SELECT count(*) FROM "+table); n[0] != want {
			t.Errorf("%s has %d rows after retention, want %d", table, n[0], want)
		}
	}
	if res := call(t, p, "s", toolGetTrace, map[string]any{"response_id": sharedResponse.resp}); !res.IsError {
		t.Errorf("get_trace of an expired response: %s", res.text())
	}
	if cv := readJSON[contextView](t, p, "s", contextURI("a/one")); cv.FeedbackCount != 1 {
		t.Errorf("kept context %+v", cv)
	}
}

func TestPostgresConfig(t *testing.T) {
	t.Parallel()
	p := NewPostgres(hclog.NewNullLogger())
	tests := []struct {
		name string
		cfg  string
		attr string
	}{
		{"dsn required", `{}`, "dsn"},
		{"max_conns zero", `{"dsn": "host=/tmp", "max_conns": 0}`, "max_conns"},
		{"max_conns fraction", `{"dsn": "host=/tmp", "max_conns": 1.5}`, "max_conns"},
		{"learning_rate as for badger", `{"dsn": "host=/tmp", "learning_rate": 2}`, "learning_rate"},
		{"no badger dir", `{"dsn": "host=/tmp", "dir": "/x"}`, "dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := p.Validate(context.Background(), base.ValidateRequest{Config: json.RawMessage(tc.cfg)})
			if err != nil {
				t.Fatal(err)
			}
			diags := v.Diagnostics
			found := false
			for _, d := range diags {
				found = found || d.Severity == base.SeverityError && d.Attribute == tc.attr
			}
			if !found {
				t.Errorf("diagnostics %+v lack an error at %s", diags, tc.attr)
			}
		})
	}
	o, diags := pgConfigBlock.Decode(json.RawMessage(`{"dsn": "host=/tmp"}`))
	if base.HasErrors(diags) || o.retention != DefaultRetention || o.pool.MaxConns != DefaultMaxConns || o.learningRate != DefaultLearningRate {
		t.Errorf("defaults %+v %+v", o.options, diags)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// A driver error carrying the password is masked, and still matches what
// it wraps.
func TestRedactErr(t *testing.T) {
	t.Parallel()
	cause := &notFoundError{msg: "connect as user:hunter2@db"}
	tests := []struct {
		name   string
		err    error
		secret string
		want   string
	}{
		{"masked", cause, "hunter2", "connect as user:xxxxx@db"},
		{"no secret", cause, "", cause.msg},
		{"not in the text", cause, "other", cause.msg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := fmt.Errorf("open: %w", redactErr(tc.err, tc.secret))
			var nf *notFoundError
			if err.Error() != "open: "+tc.want || !errors.As(err, &nf) {
				t.Errorf("error %q (notFoundError kept: %v), want %q", err, errors.As(err, &nf), "open: "+tc.want)
			}
		})
	}
	if redactErr(nil, "x") != nil {
		t.Error("redactErr(nil) is not nil")
	}
}

// A plugin configured again on a database finds what an earlier one
// recorded, and applies no migration twice.
func TestPostgresPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	first := NewPostgres(hclog.NewNullLogger())
	if diags := configurePostgresDiags(t, first, dsn, nil); base.HasErrors(diags) {
		t.Fatalf("Configure: %+v", diags)
	}
	origin := first.pg.Load().origin
	record(t, first, sharedResponse.events(t0)...)
	feedbackOn(t, first, "s", sharedResponse.resp, -1)
	if _, err := first.Stop(context.Background(), base.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	if res := call(t, first, "s", toolGetTrace, map[string]any{}); !res.IsError {
		t.Errorf("get_trace after Stop: %s", res.text())
	}

	second := configurePostgres(t, dsn, nil)
	tv, _ := callOK[traceView](t, second, "s", toolGetTrace, map[string]any{})
	if tv.ResponseID != sharedResponse.resp || tv.FeedbackCount != 1 || len(tv.Contexts) != 3 || tv.Contexts[0].FeedbackCount != 1 {
		t.Errorf("trace after restart %+v", tv)
	}
	if by := queryDB[string](t, dsn, "SELECT DISTINCT applied_by FROM schema_migrations"); len(by) != 1 || by[0] != origin {
		t.Errorf("migrations applied by %v, want only the first plugin %s", by, origin)
	}
}

// A context past retention but not deleted yet is hidden, and seen again
// it starts anew, unrated, as in the Badger store.
func TestPostgresExpiredContextStartsAgain(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	p := configurePostgres(t, dsn, nil)
	one := turn{session: "s", resp: "r1", ctxs: []string{"x/ctx"}, texts: []string{"old"}, weights: []float64{1}}
	record(t, p, one.events(t0)...)
	feedbackOn(t, p, "s", "r1", -1)
	if cv := readJSON[contextView](t, p, "s", contextURI("x/ctx")); cv.FeedbackCount != 1 || cv.Quality != -1 {
		t.Fatalf("rated context %+v", cv)
	}
	for _, table := range expiringTables {
		queryDB[int64](t, dsn, "WITH u AS (UPDATE "+table+" SET expires_at = 1 RETURNING 1) SELECT count(*) FROM u")
	}
	if res := call(t, p, "s", toolEvolution, map[string]any{"context_id": "x/ctx"}); !res.IsError {
		t.Errorf("evolution of an expired context: %s", res.text())
	}
	two := turn{session: "s", resp: "r2", ctxs: []string{"x/ctx"}, texts: []string{"new"}, weights: []float64{1}}
	record(t, p, two.events(t0.Add(time.Hour))...)
	cv := readJSON[contextView](t, p, "s", contextURI("x/ctx"))
	if cv.FeedbackCount != 0 || cv.Quality != 0 || cv.HeadVersion != 1 || cv.Head == nil || cv.Head.Summary != "new" {
		t.Errorf("context seen again after retention %+v", cv)
	}
	res, _ := feedbackOn(t, p, "s", "r2", 1)
	if len(res.Contexts) != 1 || res.Contexts[0].QualityBefore != 0 || res.Contexts[0].FeedbackCount != 1 {
		t.Errorf("first feedback after retention %+v", res)
	}
}

// TestPostgresTracingSuite runs the SDK's tracing suite on tracing-postgres,
// in process and over gRPC, each subtest on a database of its own, with a
// second plugin on the same database as the peer whose writes the
// watcher must report.
func TestPostgresTracingSuite(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t)
	var mu sync.Mutex
	dsns := map[tracing.Tracing]string{} // each plugin's database, for its peer
	for _, mode := range []struct {
		name string
		wrap func(t *testing.T, p tracing.Tracing) tracing.Tracing
	}{
		{"direct", func(_ *testing.T, p tracing.Tracing) tracing.Tracing { return p }},
		{"over gRPC", func(t *testing.T, p tracing.Tracing) tracing.Tracing { return plugintest.ServeTracing(t, p) }},
	} {
		open := func(t *testing.T, dsn string) tracing.Tracing {
			p := mode.wrap(t, configurePostgres(t, dsn, nil))
			mu.Lock()
			dsns[p] = dsn
			mu.Unlock()
			return p
		}
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			plugintest.TracingSuite(t,
				func(t *testing.T) tracing.Tracing { return open(t, c.NewDatabase(t)) },
				plugintest.WithPeer(func(t *testing.T, first tracing.Tracing) tracing.Tracing {
					mu.Lock()
					dsn := dsns[first]
					mu.Unlock()
					return open(t, dsn)
				}))
		})
	}
}

// TestPostgresConcurrentTraceMergesLoseNothing: instances on one database
// record, at once, batches of one trace's response (one id), each with
// units of its own; the response ends up with every unit, once, weighing
// 1 in all, whichever order the merges took.
func TestPostgresConcurrentTraceMergesLoseNothing(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)
	const (
		instances = 3
		batches   = 8
		resp      = "resp_4bf92f3577b34da6a3ce929d0e0e4736"
	)
	plugins := make([]*PostgresPlugin, instances)
	for i := range plugins {
		plugins[i] = configurePostgres(t, dsn, nil)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range batches {
				tr := turn{session: fmt.Sprintf("s%d_%d", i, j), resp: resp,
					ctxs:  []string{fmt.Sprintf("i%d/b%d/x", i, j), fmt.Sprintf("i%d/b%d/y", i, j)},
					texts: []string{"x", "y"}, weights: []float64{0.75, 0.25}}
				if _, err := p.Record(context.Background(), tracing.RecordRequest{Events: tr.events(t0.Add(time.Duration(j) * time.Second))}); err != nil {
					t.Errorf("instance %d batch %d: %v", i, j, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	tv, _ := callOK[traceView](t, plugins[0], "s", toolGetTrace, map[string]any{"response_id": resp})
	want := instances * batches * 2
	sum := 0.0
	seen := map[string]bool{}
	for _, c := range tv.Contexts {
		sum += c.Weight
		if seen[c.ContextID] {
			t.Errorf("context %s twice in the response", c.ContextID)
		}
		seen[c.ContextID] = true
	}
	if len(tv.Contexts) != want || math.Abs(sum-1) > 1e-9 {
		t.Fatalf("the response has %d contexts weighing %v, want %d weighing 1", len(tv.Contexts), sum, want)
	}
	if tv.UnitsDelivered != uint32(want) {
		t.Errorf("units_delivered %d, want %d", tv.UnitsDelivered, want)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM lineage WHERE response_id = $1", resp); n[0] != int64(want) {
		t.Errorf("%d lineage rows, want %d", n[0], want)
	}
	if n := queryDB[int64](t, dsn, "SELECT count(*) FROM open_responses"); n[0] != 0 {
		t.Errorf("%d responses left open", n[0])
	}
}
