package tracestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mcphost/mcphost/plugins/tracestore/pgtest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// loadGen produces realistic traffic: responses of about ten tool results
// drawn from a pool of contexts, a fifth of which change content between
// sightings, with random weights summing to 1.
type loadGen struct {
	rng      *rand.Rand
	pool     int
	gens     []uint16 // content generation of each context
	start    time.Time
	next     int // responses produced
	units    int
	body     string
	sessions int
}

func newLoadGen(seed uint64, pool int) *loadGen {
	body := make([]byte, 1500)
	for i := range body {
		body[i] = "abcdefghij klmnopqrstuvwxyz"[i%27]
	}
	return &loadGen{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), pool: pool, gens: make([]uint16, pool),
		start: time.Now(), body: string(body), sessions: 50,
	}
}

func (g *loadGen) contextID(n int) string {
	return fmt.Sprintf("server%d/tool%d {\"query\":\"q%08d\"}", n%8, n%40, n)
}

// responseID is the id of the i-th response produced.
func responseID(i int) string { return fmt.Sprintf("resp_%09d", i) }

// batch returns the events of n responses.
func (g *loadGen) batch(n int) []tracing.Event {
	evs := make([]tracing.Event, 0, n*12)
	for range n {
		id := responseID(g.next)
		session := fmt.Sprintf("session-%d", g.next%g.sessions)
		at := g.start.Add(time.Duration(g.next) * time.Millisecond)
		g.next++
		k := 8 + g.rng.IntN(5) // 8..12 units, about 10
		units := make([]tracing.ResponseUnit, 0, k)
		var sum float64
		seen := map[int]bool{}
		for j := range k {
			c := g.rng.IntN(g.pool)
			if seen[c] {
				continue
			}
			seen[c] = true
			if g.rng.IntN(5) == 0 {
				g.gens[c]++
			}
			text := fmt.Sprintf("result of %d generation %d: %s", c, g.gens[c], g.body)
			content := toolContent(text)
			ctx := g.contextID(c)
			evs = append(evs, tracing.Event{
				Kind: tracing.EventToolResult, TimeUnixNano: at.Add(time.Duration(j) * time.Microsecond).UnixNano(),
				Session: session, Server: fmt.Sprintf("server%d", c%8), Method: "tools/call", Name: fmt.Sprintf("tool%d", c%40),
				Arguments: []byte(fmt.Sprintf(`{"query":"q%08d"}`, c)), Content: content, ContentHash: hashOf(content),
				SizeBytes: int64(len(content)), ResponseID: id, ContextID: ctx, ContextType: tracing.TypeExternal,
				RetrievalScore: g.rng.Float64(), RetrievalSource: "lexical", TokenEstimate: int64(len(text) / 4),
				Summary: text[:200],
			})
			w := g.rng.Float64() + 0.01
			sum += w
			units = append(units, tracing.ResponseUnit{ContextID: ctx, ContentHash: hashOf(content), Weight: w})
		}
		for i := range units {
			units[i].Weight /= sum
		}
		g.units += len(units)
		evs = append(evs, tracing.Event{Kind: tracing.EventResponse, ResponseID: id, Session: session, TimeUnixNano: at.Add(time.Second).UnixNano(), Units: units})
	}
	return evs
}

// BenchmarkRecord measures ingestion into Badger: unit events (with their
// response events) per second, in batches of 10 responses as the host
// sends them; weighed through a host (which answers at once), with the
// units in the batch or, as the host sends them when they hold too much
// to wait, in the batch before.
func BenchmarkRecord(b *testing.B) {
	for _, tc := range []struct {
		name         string
		cfg          map[string]any
		weigh, ahead bool
	}{
		{"default", nil, false, false},
		{"store_content", map[string]any{"store_content": true}, false, false},
		{"sync_writes", map[string]any{"sync_writes": true}, false, false},
		{"weighed", nil, true, false},
		{"weighed_units_ahead", nil, true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := configure(b, b.TempDir(), tc.cfg)
			if tc.weigh {
				p.UseHost(&weighHost{})
			}
			benchIngest(b, p, tc.ahead)
		})
	}
}

// benchIngest records b.N units of loadGen's traffic through p in batches
// of 10 responses, each batch at once or, with ahead, its units in one
// Record and its responses in the next, and reports units/s.
func benchIngest(b *testing.B, p tracing.Tracing, ahead bool) {
	g := newLoadGen(1, 100_000)
	b.ResetTimer()
	for g.units < b.N {
		b.StopTimer()
		evs := g.batch(10)
		var units, responses []tracing.Event
		for _, ev := range evs {
			if ev.Kind == tracing.EventResponse {
				responses = append(responses, ev)
			} else {
				units = append(units, ev)
			}
		}
		b.StartTimer()
		if ahead {
			record(b, p, units...)
			record(b, p, responses...)
		} else {
			record(b, p, evs...)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(g.units)/b.Elapsed().Seconds(), "units/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPostgresRecord is BenchmarkRecord's default case on
// tracing-postgres: the same batches, into a throw-away PostgreSQL
// cluster (fsync off, as pgtest runs it) over a Unix socket.
func BenchmarkPostgresRecord(b *testing.B) {
	benchIngest(b, configurePostgres(b, pgtest.Start(b).NewDatabase(b), nil), false)
}

// TestMillionUnits loads 1,000,000 context units (responses of about ten
// units, in batches) and measures get_trace over 1000 random responses. It
// takes minutes, so it only runs with MCPHOST_BENCH=1.
func TestMillionUnits(t *testing.T) {
	if os.Getenv("MCPHOST_BENCH") != "1" {
		t.Skip("set MCPHOST_BENCH=1 to load 1,000,000 units")
	}
	const total = 1_000_000
	p := configure(t, t.TempDir(), nil)
	g := newLoadGen(7, 200_000)
	var recording time.Duration
	for g.units < total {
		evs := g.batch(100)
		start := time.Now()
		record(t, p, evs...)
		recording += time.Since(start)
	}
	t.Logf("loaded %d units in %d responses: %.0f units/s (Record time only, %v)", g.units, g.next, float64(g.units)/recording.Seconds(), recording.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(3, 4))
	measure := func(label string, n int) {
		lat := make([]time.Duration, 0, n)
		for range n {
			id := responseID(rng.IntN(g.next))
			start := time.Now()
			res := call(t, p, "", toolGetTrace, map[string]any{"response_id": id})
			lat = append(lat, time.Since(start))
			if res.IsError {
				t.Fatalf("get_trace %s: %s", id, res.text())
			}
		}
		slices.Sort(lat)
		pct := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
		t.Logf("get_trace %s over %d random responses: p50 %v, p99 %v, max %v", label, n, pct(0.5), pct(0.99), lat[len(lat)-1])
	}
	// The first pass runs while Badger still compacts the level-0 tables
	// the load left behind; the second shows the settled store.
	measure("right after loading (compactions running)", 1000)
	measure("second pass (settled)", 1000)

	start := time.Now()
	stats := readJSON[statsView](t, p, "", uriStatsCache)
	t.Logf("trace://stats/cache with a full recount: %v; counts %+v; lsm %d bytes in %d tables, vlog %d bytes, memtable %d bytes",
		time.Since(start).Round(time.Millisecond), stats.Store.storeCounts, stats.Store.LSMBytes, stats.Store.LSMTables, stats.Store.VlogBytes, stats.Store.MemtableBytes)
	start = time.Now()
	readJSON[topView](t, p, "", uriTopContexts)
	t.Logf("top-contexts: %v", time.Since(start).Round(time.Microsecond))
	if _, err := p.Record(context.Background(), tracing.RecordRequest{}); err != nil {
		t.Fatal(err)
	}
}
