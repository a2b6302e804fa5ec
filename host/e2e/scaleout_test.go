//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcphost/mcphost/host/internal/testenv"
	"github.com/mcphost/mcphost/plugins/tracestore/pgtest"
	"github.com/mcphost/mcphost/sdk/plugintest/poll"
)

// The scale-out set-up of examples/configs: three instances of
// scaleout.hcl behind haproxy.cfg, tracing into one PostgreSQL database.
var scaleIDs = []string{"mcp-a", "mcp-b", "mcp-c"}

// scaleBackend is haproxy.cfg's backend of the instances.
const scaleBackend = "mcphost"

type scaleOut struct {
	t     *testing.T
	pg    *pgtest.Cluster
	dsn   string // the database the instances trace into
	cfg   string // the copy of scaleout.hcl the instances run
	env   []string
	addr  map[string]string // MCP listener address by instance id
	admin map[string]string
	procs map[string]*proxyProcess
	lb    *haproxy
	lbURL string
}

// copyExample copies examples/configs/name into dir, so that what an
// instance writes beside its config stays out of the repository.
func copyExample(t *testing.T, dir, name string) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "examples", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startScaleOut starts PostgreSQL, the three instances at the same moment
// on its empty database, and HAProxy in front of them.
func startScaleOut(t *testing.T) *scaleOut {
	t.Helper()
	haproxyBinary(t) // skip before starting anything where it is missing
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := &scaleOut{t: t, pg: pg, dsn: dsn, cfg: copyExample(t, dir, "scaleout.hcl"),
		addr: map[string]string{}, admin: map[string]string{}, procs: map[string]*proxyProcess{}}
	lbAddr := freeAddr(t)
	s.lbURL = "http://" + lbAddr + "/mcp"
	s.env = []string{"MCPHOST_TRACE_DSN=" + dsn, "MCPHOST_STATE_KEY=" + hex.EncodeToString(key), "MCPHOST_LB_ADDR=" + lbAddr}
	for _, id := range scaleIDs {
		s.addr[id], s.admin[id] = freeAddr(t), freeAddr(t)
		s.env = append(s.env, "MCPHOST_"+string(id[len(id)-1]-'a'+'A')+"_ADDR="+s.addr[id])
	}
	for _, id := range scaleIDs {
		s.procs[id] = s.spawn(id)
	}
	for _, id := range scaleIDs {
		s.procs[id].waitStarted(t, s.procs[id].Metrics)
	}
	s.lb = startHAProxy(t, copyExample(t, dir, "haproxy.cfg"), s.env)
	s.lb.waitServers(t, scaleBackend, map[string]string{"mcp-a": "UP", "mcp-b": "UP", "mcp-c": "UP"})
	return s
}

// spawn starts instance id without waiting for it.
func (s *scaleOut) spawn(id string) *proxyProcess {
	env := append(slices.Clone(s.env), "MCPHOST_INSTANCE="+id, "MCPHOST_ADDR="+s.addr[id], "MCPHOST_ADMIN_ADDR="+s.admin[id])
	metrics := listenerMetricsOf(s.t, s.cfg, s.url(id), env)
	p := spawnProxy(s.t, s.cfg, s.url(id), env)
	p.Metrics = metrics
	return p
}

// url is instance id's own MCP endpoint, bypassing HAProxy.
func (s *scaleOut) url(id string) string { return "http://" + s.addr[id] + "/mcp" }

func (s *scaleOut) logs() string {
	var out string
	for _, id := range scaleIDs {
		out += fmt.Sprintf("--- %s\n%s\n", id, tail(s.procs[id].Stderr.String(), 3000))
	}
	return out + "--- haproxy\n" + tail(s.lb.stderr.String(), 2000)
}

// TestScaleOut runs the scale-out example as an operator would and shows
// what it promises: sessions stay on their instance with no shared table;
// 2026-07-28 requests spread over all; tracing is one store (a response
// recorded through one instance reads through another, feedback from all
// three at once loses no update, and subscribers of one instance hear of
// another's changes); a kill -9 under load fails at most the requests
// outstanding on the killed instance, whose sessions start again on the
// others; and a restarted instance takes work again, while draining another
// costs clients nothing.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	s := startScaleOut(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	steps := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, s *scaleOut)
	}{
		{"schema applied once", scaleSchemaOnce},
		{"sessions stay, stateless requests spread", scaleRouting},
		{"one trace store", scaleSharedTracing},
		{"kill -9 under load", scaleKill},
		{"restart and drain", scaleRestartAndDrain},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, ctx, s) }) {
			t.Logf("instances' logs:\n%s", s.logs())
			return // the later steps build on this one
		}
	}
}

// scaleSchemaOnce: the three instances started together on an empty
// database, and exactly one applied the schema: every migration was
// recorded by one process (host/pid/random), which is one instance's
// tracing plugin.
func scaleSchemaOnce(t *testing.T, _ context.Context, s *scaleOut) {
	rows := s.pg.Exec(t, s.dsn, "SELECT version || ' ' || applied_by FROM schema_migrations ORDER BY version")
	appliers := map[string]bool{}
	for _, row := range strings.Split(rows, "\n") {
		if _, by, ok := strings.Cut(row, " "); ok {
			appliers[by] = true
		}
	}
	if len(appliers) != 1 {
		t.Fatalf("migrations applied by %d processes, want exactly one:\n%s", len(appliers), rows)
	}
	var pid int
	for by := range appliers {
		if parts := strings.Split(by, "/"); len(parts) == 3 {
			pid, _ = strconv.Atoi(parts[1])
		}
	}
	var owners []string
	for _, id := range scaleIDs {
		root := s.procs[id].cmd.Process.Pid
		if pid == root || slices.Contains(testenv.Descendants(root), pid) {
			owners = append(owners, id)
		}
	}
	if len(owners) != 1 {
		t.Fatalf("the schema was applied by process %d, which belongs to instances %v, want one:\n%s", pid, owners, rows)
	}
	t.Logf("every migration applied by %s (process %d):\n%s", owners[0], pid, rows)
}

// scaleRouting: legacy sessions over streamable HTTP, HTTP+SSE and
// WebSocket through HAProxy are each answered by one instance only; new
// sessions and 2026-07-28 requests are spread over all three.
func scaleRouting(t *testing.T, ctx context.Context, s *scaleOut) {
	sessionsOn := map[string]int{}
	for i := range 6 {
		ls, err := openLegacy(ctx, s.lbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer ls.close()
		sessionsOn[ls.instance()]++
		list, err := ls.request(ctx, "resources/list", map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		resources, _ := list["resources"].([]any)
		if len(resources) == 0 {
			t.Fatalf("session %s lists no resources: %v", ls.id, list)
		}
		first, _ := resources[0].(map[string]any)
		if read, err := ls.request(ctx, "resources/read", map[string]any{"uri": first["uri"]}); err != nil || read["contents"] == nil {
			t.Fatalf("session %s reading %v: %v %v", ls.id, first["uri"], read, err)
		}
		for j := range 5 {
			if _, err := ls.call(ctx, "mcp__proxy__example__echo", map[string]any{"text": fmt.Sprintf("s%d c%d", i, j)}); err != nil {
				t.Fatalf("session %s, call %d: %v", ls.id, j, err)
			}
		}
	}
	if len(sessionsOn) != len(scaleIDs) {
		t.Errorf("6 new sessions landed on %v, want all three instances", sessionsOn)
	}

	// HTTP+SSE: the POSTs reach the instance holding the stream, or the
	// calls fail.
	sse, err := client.NewSSEMCPClient(sseURL(s.lbURL))
	if err != nil {
		t.Fatal(err)
	}
	connect(t, sse, clientOptions{})
	for j := range 5 {
		callText(ctx, t, sse, "mcp__proxy__example__echo", map[string]any{"text": fmt.Sprintf("sse %d", j)})
	}
	if tr, ok := sse.GetTransport().(*transport.SSE); !ok || !slices.Contains(scaleIDs, instanceOfSession(tr.GetEndpoint().Query().Get("sessionId"))) {
		t.Errorf("the HTTP+SSE endpoint's sessionId does not start with an instance id (transport %T)", sse.GetTransport())
	}

	ws := rpcCell{dialWS(t, wsURL(s.lbURL))}
	for j := range 5 {
		if _, err := ws.c.call(ctx, "tools/call", map[string]any{"name": "mcp__proxy__example__echo", "arguments": map[string]any{"text": fmt.Sprintf("ws %d", j)}}); err != nil {
			t.Fatalf("WebSocket call %d: %v", j, err)
		}
	}

	answeredBy := map[string]int{}
	for j := range 9 {
		_, inst, err := modernCall(ctx, s.lbURL, "mcp__proxy__example__echo", map[string]any{"text": fmt.Sprintf("modern %d", j)})
		if err != nil {
			t.Fatalf("2026-07-28 call %d: %v", j, err)
		}
		answeredBy[inst]++
	}
	if len(answeredBy) != len(scaleIDs) {
		t.Errorf("9 stateless calls were answered by %v, want all three instances", answeredBy)
	}
	t.Logf("legacy sessions by instance %v; stateless calls by instance %v", sessionsOn, answeredBy)
}

type scaleTrace struct {
	ResponseID string `json:"response_id"`
	Contexts   []struct {
		ContextID     string  `json:"context_id"`
		Weight        float64 `json:"weight"`
		Quality       float64 `json:"quality"`
		FeedbackCount int     `json:"feedback_count"`
	} `json:"contexts"`
}

func (tr scaleTrace) weightSum() float64 {
	var sum float64
	for _, c := range tr.Contexts {
		sum += c.Weight
	}
	return sum
}

// getTraceAt reads response id through instance url as a 2026-07-28
// client.
func getTraceAt(ctx context.Context, url, id string) (scaleTrace, string, error) {
	res, inst, err := modernCall(ctx, url, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": id})
	if err != nil {
		return scaleTrace{}, inst, err
	}
	var tr scaleTrace
	return tr, inst, structuredOf(res, &tr)
}

// scaleSharedTracing: a response recorded through one instance is read
// through another; a subscriber on a third hears of feedback given through
// the first; and feedback with one score from all three at once leaves
// each context's quality exactly where as many sequential ones would.
func scaleSharedTracing(t *testing.T, ctx context.Context, s *scaleOut) {
	ls, err := openLegacy(ctx, s.lbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.close()
	x := ls.instance()
	others := slices.DeleteFunc(slices.Clone(scaleIDs), func(id string) bool { return id == x })
	y, z := others[0], others[1]
	nonce := hex.EncodeToString([]byte(time.Now().Format(time.RFC3339Nano)))
	r1, err := ls.call(ctx, "mcp__proxy__example__echo", map[string]any{"text": "scale-out " + nonce})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.call(ctx, "mcp__proxy__example__add", map[string]any{"a": len(nonce), "b": time.Now().Nanosecond()}); err != nil {
		t.Fatal(err)
	}
	id := traceResponseID(r1)
	res, err := ls.call(ctx, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": "latest"})
	if err != nil {
		t.Fatal(err)
	}
	var recorded scaleTrace
	if err := structuredOf(res, &recorded); err != nil || recorded.ResponseID != id || len(recorded.Contexts) != 2 {
		t.Fatalf("get_trace latest on %s: %+v (%v), want response %s with 2 contexts", x, recorded, err, id)
	}

	var read scaleTrace
	poll.Within(t, 30*time.Second, fmt.Sprintf("response %s, recorded through %s, read through %s", id, x, y), func() error {
		var err error
		read, _, err = getTraceAt(ctx, s.url(y), id)
		return err
	})
	if len(read.Contexts) != 2 || math.Abs(read.weightSum()-1) > 1e-9 {
		t.Fatalf("through %s: %+v, want 2 contexts weighing 1 in all", y, read)
	}
	for i, c := range read.Contexts {
		if c.ContextID != recorded.Contexts[i].ContextID || c.Weight != recorded.Contexts[i].Weight {
			t.Fatalf("through %s context %d is %+v, through %s %+v", y, i, c, x, recorded.Contexts[i])
		}
	}

	updated := make(chan string, 64)
	sub := httpClient(t, s.url(z), clientOptions{notifications: func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/resources/updated" {
			uri, _ := n.Params.AdditionalFields["uri"].(string)
			select {
			case updated <- uri:
			default:
			}
		}
	}})
	//lint:ignore SA1019 a legacy session subscribes with resources/subscribe
	if err := sub.Subscribe(ctx, mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: "trace://quality/recent-feedback"}}); err != nil {
		t.Fatalf("subscribe on %s: %v", z, err)
	}
	const score = -1.0
	if _, _, err := modernCall(ctx, s.url(x), "mcp__proxy__tracing__submit_feedback", map[string]any{"response_id": id, "score": score}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-updated:
	case <-time.After(30 * time.Second):
		t.Fatalf("a subscriber on %s was not told of feedback given through %s", z, x)
	}

	const perInstance = 3
	var wg sync.WaitGroup
	errs := make(chan error, perInstance*len(scaleIDs))
	for _, inst := range scaleIDs {
		for range perInstance {
			wg.Go(func() {
				if _, _, err := modernCall(ctx, s.url(inst), "mcp__proxy__tracing__submit_feedback", map[string]any{"response_id": id, "score": score}); err != nil {
					errs <- fmt.Errorf("feedback through %s: %w", inst, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 1 + perInstance*len(scaleIDs)
	final, _, err := getTraceAt(ctx, s.url(z), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range final.Contexts {
		// From q = 0, n feedbacks of score s each move q by w·(s − q):
		// q_n = s·(1 − (1 − w)^n), whatever their order.
		want := score * (1 - math.Pow(1-c.Weight, float64(n)))
		if math.Abs(c.Quality-want) > 1e-9 || c.FeedbackCount != n {
			t.Errorf("context %s (weight %v): quality %v after %d feedbacks, want %v; feedback_count %d", c.ContextID, c.Weight, c.Quality, n, want, c.FeedbackCount)
		}
	}
}

// scaleLoad is the clients' load during a kill or a drain: legacy sessions
// calling echo (and get_trace now and then), and 2026-07-28 callers.
type scaleLoad struct {
	url  string
	stop chan struct{}
	wg   sync.WaitGroup

	mu sync.Mutex
	// inflight counts legacy calls in flight by the instance holding
	// their session; modernInflight the stateless ones, whose instance is
	// known only from the answer.
	inflight       map[string]int
	modernInflight int
	failures       []scaleFailure
	reinits        map[string]int // sessions started again, by the instance they had been on
	answered       map[string]int // answers, by Mcphost-Instance
	traced         []tracedAt
}

type scaleFailure struct {
	instance string // the session's; "" for a stateless call
	err      error
}

type tracedAt struct {
	id string
	at time.Time
}

// startLoad opens perInstance legacy sessions on every instance (through
// the load balancer) and modern stateless callers, all calling until stop.
func startLoad(t *testing.T, ctx context.Context, url string, perInstance, modern int) *scaleLoad {
	t.Helper()
	l := &scaleLoad{url: url, stop: make(chan struct{}), inflight: map[string]int{}, reinits: map[string]int{}, answered: map[string]int{}}
	on := map[string][]*legacySession{}
	for tries := 0; ; tries++ {
		full := true
		for _, id := range scaleIDs {
			full = full && len(on[id]) >= perInstance
		}
		if full {
			break
		}
		if tries > 20*perInstance*len(scaleIDs) {
			t.Fatalf("sessions by instance after %d tries: %v", tries, len(on))
		}
		ls, err := openLegacy(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if len(on[ls.instance()]) >= perInstance {
			ls.close()
			continue
		}
		on[ls.instance()] = append(on[ls.instance()], ls)
	}
	for _, list := range on {
		for _, ls := range list {
			l.wg.Go(func() { l.legacyWorker(ctx, ls) })
		}
	}
	for range modern {
		l.wg.Go(func() { l.modernWorker(ctx) })
	}
	return l
}

func (l *scaleLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *scaleLoad) begin(instance string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if instance == "" {
		l.modernInflight++
	} else {
		l.inflight[instance]++
	}
}

// end records a call's outcome; a lost session is not a failure (the
// client starts again), anything else that is not an answer is.
func (l *scaleLoad) end(instance, answeredBy string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if instance == "" {
		l.modernInflight--
	} else {
		l.inflight[instance]--
	}
	switch {
	case errors.Is(err, errSessionGone):
		l.reinits[instance]++
	case err != nil:
		l.failures = append(l.failures, scaleFailure{instance: instance, err: err})
	default:
		l.answered[answeredBy]++
	}
}

func (l *scaleLoad) legacyWorker(ctx context.Context, ls *legacySession) {
	calls := 0
	for i := 0; !l.stopped(); i++ {
		inst := ls.instance()
		l.begin(inst)
		var err error
		if calls >= 3 && i%5 == 0 {
			var res map[string]any
			res, err = ls.call(ctx, "mcp__proxy__tracing__get_trace", map[string]any{"response_id": "latest"})
			var tr scaleTrace
			if err == nil {
				if err = structuredOf(res, &tr); err == nil && math.Abs(tr.weightSum()-1) > 1e-9 {
					err = fmt.Errorf("get_trace %s: weights sum to %v", tr.ResponseID, tr.weightSum())
				}
			}
			if err == nil {
				l.mu.Lock()
				l.traced = append(l.traced, tracedAt{id: tr.ResponseID, at: time.Now()})
				l.mu.Unlock()
				calls = 0
			}
		} else {
			_, err = ls.call(ctx, "mcp__proxy__example__echo", map[string]any{"text": fmt.Sprintf("load %d", i)})
			calls++
		}
		l.end(inst, inst, err)
		if errors.Is(err, errSessionGone) {
			fresh, err := openLegacy(ctx, l.url)
			if err != nil {
				l.mu.Lock()
				l.failures = append(l.failures, scaleFailure{instance: inst, err: fmt.Errorf("start again: %w", err)})
				l.mu.Unlock()
				return
			}
			ls, calls = fresh, 0
		}
	}
	ls.close()
}

func (l *scaleLoad) modernWorker(ctx context.Context) {
	for i := 0; !l.stopped(); i++ {
		l.begin("")
		_, inst, err := modernCall(ctx, l.url, "mcp__proxy__example__echo", map[string]any{"text": fmt.Sprintf("modern load %d", i)})
		l.end("", inst, err)
	}
}

// waitAnswered waits until every instance in ids has answered n more
// calls of the load than when it was called.
func (l *scaleLoad) waitAnswered(t *testing.T, ids []string, n int) {
	t.Helper()
	l.mu.Lock()
	base := maps.Clone(l.answered)
	l.mu.Unlock()
	poll.Within(t, 60*time.Second, fmt.Sprintf("%d more answers from each of %v", n, ids), func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, id := range ids {
			if l.answered[id]-base[id] < n {
				return fmt.Errorf("answers %v (from %v), failures %d", l.answered, base, len(l.failures))
			}
		}
		return nil
	})
}

func (l *scaleLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// scaleKill: kill -9 one instance under load. The failures are at most the
// requests outstanding through it at that moment; its sessions get 404 and
// start again on the others; sessions on the others see no error; and
// every response get_trace returned before the kill is stored once, with
// weights summing to 1.
func scaleKill(t *testing.T, ctx context.Context, s *scaleOut) {
	const victim = "mcp-a"
	const perInstance = 2
	load := startLoad(t, ctx, s.lbURL, perInstance, 3)
	load.waitAnswered(t, scaleIDs, 60)

	// No call starts or ends from the moment the outstanding calls are
	// counted until the instance is dead (a signal takes effect a little
	// later than it is sent).
	load.mu.Lock()
	outstanding := load.inflight[victim] + load.modernInflight
	outstandingLegacy := load.inflight[victim]
	killedAt := time.Now()
	err := s.procs[victim].cmd.Process.Signal(syscall.SIGKILL)
	if err == nil {
		<-s.procs[victim].done
	}
	load.mu.Unlock()
	if err != nil {
		load.finish()
		t.Fatal(err)
	}
	survivors := slices.DeleteFunc(slices.Clone(scaleIDs), func(id string) bool { return id == victim })
	poll.Within(t, 60*time.Second, "every session of the killed instance to start again elsewhere", func() error {
		load.mu.Lock()
		defer load.mu.Unlock()
		if load.reinits[victim] < perInstance {
			return fmt.Errorf("restarted sessions %v, failures %d", load.reinits, len(load.failures))
		}
		return nil
	})
	load.waitAnswered(t, survivors, 20)
	load.finish()

	var onSurvivors, failures []string
	for _, f := range load.failures {
		failures = append(failures, fmt.Sprintf("[%s] %v", f.instance, f.err))
		if f.instance != "" && f.instance != victim {
			onSurvivors = append(onSurvivors, f.err.Error())
		}
	}
	t.Logf("failures: %q", failures)
	t.Logf("kill -9 of %s: %d failures; outstanding through it at the kill: %d legacy + at most %d stateless; sessions started again: %v; answers: %v",
		victim, len(load.failures), outstandingLegacy, outstanding-outstandingLegacy, load.reinits, load.answered)
	if len(onSurvivors) > 0 {
		t.Errorf("sessions on the surviving instances saw errors: %q", onSurvivors)
	}
	if len(load.failures) > outstanding {
		t.Errorf("%d failures, more than the %d requests outstanding through %s at the kill: %q", len(load.failures), outstanding, victim, failures)
	}

	var before []string
	for _, tr := range load.traced {
		if tr.at.Before(killedAt) {
			before = append(before, tr.id)
		}
	}
	if len(before) == 0 {
		t.Fatalf("no get_trace answered before the kill (%d after)", len(load.traced))
	}
	for _, id := range before {
		tr, _, err := getTraceAt(ctx, s.url(survivors[0]), id)
		if err != nil || math.Abs(tr.weightSum()-1) > 1e-9 {
			t.Errorf("response %s, traced before the kill, through %s: %+v %v", id, survivors[0], tr, err)
		}
		if strings.ContainsAny(id, `'\`) {
			t.Fatalf("response id %q cannot be quoted in SQL as is", id)
		}
		if n := s.pg.Exec(t, s.dsn, "SELECT count(*) FROM responses WHERE id = '"+id+"'"); n != "1" {
			t.Errorf("response %s is stored %s times, want once", id, n)
		}
	}
	t.Logf("%d responses traced before the kill: each stored once, weights summing to 1", len(before))
}

// scaleRestartAndDrain: the killed instance restarts, becomes ready and
// takes new sessions; then draining another (SIGTERM: /readyz 503 for
// drain_delay, then drain) under load causes no client error.
func scaleRestartAndDrain(t *testing.T, ctx context.Context, s *scaleOut) {
	const restarted, drained = "mcp-a", "mcp-b"
	s.procs[restarted] = s.spawn(restarted)
	s.procs[restarted].waitStarted(t, s.procs[restarted].Metrics)
	s.lb.waitServers(t, scaleBackend, map[string]string{restarted: "UP"})
	poll.Within(t, 30*time.Second, "a new session through the load balancer on the restarted instance", func() error {
		ls, err := openLegacy(ctx, s.lbURL)
		if err != nil {
			return err
		}
		defer ls.close()
		if ls.instance() != restarted {
			return fmt.Errorf("landed on %s", ls.instance())
		}
		_, err = ls.call(ctx, "mcp__proxy__example__echo", map[string]any{"text": "back"})
		return err
	})

	load := startLoad(t, ctx, s.lbURL, 2, 3)
	load.waitAnswered(t, scaleIDs, 20)
	p := s.procs[drained]
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		load.finish()
		t.Fatal(err)
	}
	s.lb.waitServers(t, scaleBackend, map[string]string{drained: "DOWN"})
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM", drained, err)
		}
	case <-time.After(90 * time.Second):
		t.Errorf("%s did not exit within 90 s of SIGTERM", drained)
	}
	load.waitAnswered(t, []string{"mcp-a", "mcp-c"}, 20)
	load.finish()
	if len(load.failures) > 0 {
		var msgs []string
		for _, f := range load.failures {
			msgs = append(msgs, fmt.Sprintf("[%s] %v", f.instance, f.err))
		}
		t.Errorf("draining %s: %d client errors: %q", drained, len(load.failures), msgs)
	}
	t.Logf("drain of %s: no client error; sessions started again: %v; answers: %v", drained, load.reinits, load.answered)
}
