package tracestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Version is the plugin's own version.
const Version = "0.1.0"

// defaultStopWait is how long Stop waits for the store to close when the
// host gives no deadline (or one already past): closing flushes the
// memtable, and skipping that would lose the latest writes.
const defaultStopWait = 2 * time.Second

// Plugin is the built-in tracing plugin.
type Plugin struct {
	// Described answers Info, Schema and Validate.
	base.Described
	logger hclog.Logger
	set    *metrics.Set
	m      pluginMetrics
	tools  []json.RawMessage

	// mu serializes Configure and Stop, and guards link and sup: the store
	// configured, and the supervisor of a forwarding plugin (share.go).
	mu   sync.Mutex
	link *link
	sup  *supervisor
	// The plugin's role (share.go), changed by Configure, Stop and the
	// supervisor under stMu: it owns the store (st, served to the other
	// copies by srv), or forwards to the copy that does (fwd); all nil
	// before Configure and after Stop. roleChanged is closed at each
	// change.
	stMu        sync.RWMutex
	st          *store
	srv         *ownerServer
	fwd         *forwarder
	roleChanged chan struct{}
	// host weighs responses: the weighting plugin, through the host.
	host atomic.Pointer[tracing.Host]
	// pg is the PostgreSQL store of a tracing-postgres plugin, set by its
	// Configure; such a plugin never has a Badger role.
	pg atomic.Pointer[pgStore]
}

// UseHost takes the host's services (tracing.HostUser): responses are
// weighed through it when they are recorded.
func (p *Plugin) UseHost(h tracing.Host) { p.host.Store(&h) }

// weigh asks the host for the weights of each response in the batch,
// from the features of its units: those in the same batch (the host sends
// a response's units with it, unless they hold too much to wait), else as
// recorded in the store. A response already stored (a trace's, recorded
// batch by batch) is weighed over all its units: the stored ones join the
// event's. A response whose weighing fails keeps the weights it came with.
func (p *Plugin) weigh(ctx context.Context, events []tracing.Event) {
	hp := p.host.Load()
	if hp == nil {
		return
	}
	p.joinStoredUnits(ctx, events)
	units := map[string]*tracing.Event{}
	for i := range events {
		if e := &events[i]; e.Kind != tracing.EventResponse && e.ContextID != "" {
			units[e.ContextID+"\x00"+e.ContentHash] = e
		}
	}
	for i := range events {
		e := &events[i]
		if e.Kind != tracing.EventResponse || len(e.Units) == 0 {
			continue
		}
		if len(e.Units) == 1 {
			e.Units[0].Weight = 1 // what Normalize makes of any one weight: no call
			continue
		}
		req := weighting.WeighRequest{NowUnixNano: e.TimeUnixNano}
		var recorded []int // units sent in an earlier batch
		for j, u := range e.Units {
			wu := weighting.Unit{ID: u.ContextID}
			if f := units[u.ContextID+"\x00"+u.ContentHash]; f != nil {
				wu.Type, wu.RetrievalScore, wu.CreatedUnixNano = f.ContextType, f.RetrievalScore, f.TimeUnixNano
				wu.SizeBytes, wu.TokenEstimate, wu.Source = f.SizeBytes, f.TokenEstimate, f.Server
			} else {
				recorded = append(recorded, j)
			}
			req.Units = append(req.Units, wu)
		}
		if len(recorded) > 0 {
			p.recordedFeatures(ctx, e.Units, recorded, req.Units)
		}
		r, err := (*hp).Weigh(ctx, req)
		if err == nil && len(r.Weights) != len(e.Units) {
			err = fmt.Errorf("%d weights for %d units", len(r.Weights), len(e.Units))
		}
		if err != nil {
			p.logger.Warn("weighing a response through the host failed; keeping the weights it came with",
				"response", e.ResponseID, "error", err)
			continue
		}
		for j, w := range weighting.Normalize(r.Weights) {
			e.Units[j].Weight = w
		}
	}
}

// joinStoredUnits adds to each response event the units of the response
// as stored that it does not carry, with the content hash they were
// recorded with, so that the response is weighed as a whole. The write
// that follows merges them again (finalize), so a unit another writer adds
// in between is kept, if not weighed with the rest.
func (p *Plugin) joinStoredUnits(ctx context.Context, events []tracing.Event) {
	var resps []int
	for i := range events {
		if events[i].Kind == tracing.EventResponse && events[i].ResponseID != "" {
			resps = append(resps, i)
		}
	}
	if len(resps) == 0 {
		return
	}
	err := p.withBackend(func(b backend) error {
		return b.view(ctx, func(r records) error {
			for _, i := range resps {
				e := &events[i]
				old, err := r.response(e.ResponseID)
				if err != nil {
					return err
				}
				if old == nil {
					continue
				}
				carried := make(map[string]bool, len(e.Units))
				for _, u := range e.Units {
					carried[u.ContextID] = true
				}
				var joined []tracing.ResponseUnit
				for _, u := range old.Units {
					if !carried[u.ContextID] {
						joined = append(joined, tracing.ResponseUnit{ContextID: u.ContextID, ContentHash: u.ContentHash, Weight: u.Weight})
					}
				}
				if len(joined) > 0 {
					// A copy: the host may keep the slice it sent.
					e.Units = append(append(make([]tracing.ResponseUnit, 0, len(e.Units)+len(joined)), e.Units...), joined...)
				}
			}
			return nil
		})
	})
	if err != nil {
		p.logger.Warn("reading stored responses to weigh them whole failed; weighing the batch's units", "error", err)
	}
}

// recordedFeatures fills in out[j], for each j in which, with the features
// recorded for units[j]: its context's type and server, and the size,
// token estimate and retrieval score of the version with its content hash,
// last seen when it was delivered. A unit with nothing recorded keeps no
// features.
func (p *Plugin) recordedFeatures(ctx context.Context, units []tracing.ResponseUnit, which []int, out []weighting.Unit) {
	err := p.withBackend(func(b backend) error {
		return b.view(ctx, func(r records) error {
			for _, j := range which {
				id := units[j].ContextID
				head, err := r.head(id)
				if err != nil {
					return err
				}
				if head == nil {
					continue
				}
				v, err := r.versionOf(id, units[j].ContentHash)
				if err != nil {
					return err
				}
				if v == 0 {
					continue
				}
				ver, err := r.version(id, v)
				if err != nil {
					return err
				}
				if ver == nil {
					continue
				}
				u := &out[j]
				u.Type, u.Source = head.Type, head.Server
				u.RetrievalScore, u.CreatedUnixNano = ver.RetrievalScore, ver.LastSeen
				u.SizeBytes, u.TokenEstimate = ver.SizeBytes, ver.TokenEstimate
			}
			return nil
		})
	})
	if err != nil {
		p.logger.Warn("reading the features of units recorded earlier failed; weighing without them", "error", err)
	}
}

var _ tracing.Tracing = (*Plugin)(nil)

type pluginMetrics struct {
	recorded        map[string]*metrics.Counter
	skipped         map[string]*metrics.Counter
	versions        *metrics.Counter
	finalized       *metrics.Counter
	feedback        *metrics.Counter
	toolCalls       *metrics.Counter
	toolErrors      *metrics.Counter
	recordDuration  *metrics.Histogram
	getTraceLatency *metrics.Histogram
	cache           cacheStats
	// takeovers counts the times this plugin took the store over from
	// the copy that owned it; ownerLost the forwarded calls that found
	// the owner gone.
	takeovers *metrics.Counter
	ownerLost *metrics.Counter
}

// Reasons an event is skipped, as in mcphost_tracing_events_skipped_total.
const (
	skipNoContextID  = "no_context_id"
	skipNoResponseID = "no_response_id"
	// Feedback is applied by submit_feedback, which the host forwards;
	// a feedback event only marks the end of a turn for the host.
	skipFeedbackEvent = "feedback_event"
	skipUnknownKind   = "unknown_kind"
)

// New returns the tracing plugin. A nil logger logs JSON to stderr, which
// is what the host collects from a plugin process. The plugin serves
// nothing from its store until Configure opens it.
func New(logger hclog.Logger) *Plugin {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "tracing", Output: os.Stderr, JSONFormat: true, Level: hclog.Info})
	}
	p := &Plugin{Described: base.DescribePlugin(base.InfoResponse{
		Name:         "tracing",
		Kind:         base.KindTracing,
		Version:      Version,
		APIMinor:     tracing.APIMinor,
		Capabilities: []string{tracing.CapabilityWeighsThroughHost, tracing.CapabilityOperatorLatest, tracing.CapabilityToolQuality},
		Description: "Records the context units delivered to clients in Badger, with versions, response lineage and " +
			"feedback-driven quality scores, and serves the mcp__proxy__tracing__* tools and trace:// resources.",
	}, configBlock), logger: logger, set: metrics.NewSet(), roleChanged: make(chan struct{})}
	p.m = pluginMetrics{
		recorded:        map[string]*metrics.Counter{},
		skipped:         map[string]*metrics.Counter{},
		versions:        p.set.NewCounter("mcphost_tracing_context_versions_created_total"),
		finalized:       p.set.NewCounter("mcphost_tracing_responses_finalized_total"),
		feedback:        p.set.NewCounter("mcphost_tracing_feedback_total"),
		toolCalls:       p.set.NewCounter("mcphost_tracing_tool_calls_total"),
		toolErrors:      p.set.NewCounter("mcphost_tracing_tool_errors_total"),
		recordDuration:  p.set.NewHistogram("mcphost_tracing_record_batch_duration_seconds"),
		getTraceLatency: p.set.NewHistogram("mcphost_tracing_get_trace_duration_seconds"),
		takeovers:       p.set.NewCounter("mcphost_tracing_store_takeovers_total"),
		ownerLost:       p.set.NewCounter("mcphost_tracing_store_owner_lost_total"),
		cache: cacheStats{
			hits:      p.set.NewCounter("mcphost_tracing_cache_hits_total"),
			misses:    p.set.NewCounter("mcphost_tracing_cache_misses_total"),
			evictions: p.set.NewCounter("mcphost_tracing_cache_evictions_total"),
			expired:   p.set.NewCounter("mcphost_tracing_cache_expired_total"),
		},
	}
	for _, k := range []string{tracing.EventToolResult, tracing.EventResource, tracing.EventPrompt, tracing.EventResponse} {
		p.m.recorded[k] = p.set.NewCounter(`mcphost_tracing_events_recorded_total{kind="` + base.LabelValue(k) + `"}`)
	}
	for _, r := range []string{skipNoContextID, skipNoResponseID, skipFeedbackEvent, skipUnknownKind} {
		p.m.skipped[r] = p.set.NewCounter(`mcphost_tracing_events_skipped_total{reason="` + base.LabelValue(r) + `"}`)
	}
	p.set.NewGauge("mcphost_tracing_store_owner", func() float64 {
		if p.owns() {
			return 1
		}
		return 0
	})
	p.set.NewGauge("mcphost_tracing_cache_entries", func() float64 {
		var n int
		_ = p.withStore(func(st *store) error { n = st.cache.len(); return nil })
		return float64(n)
	})
	p.set.NewGauge("mcphost_tracing_store_lsm_bytes", func() float64 {
		var n int64
		_ = p.withStore(func(st *store) error { n = st.usage().LSMBytes; return nil })
		return float64(n)
	})
	p.set.NewGauge("mcphost_tracing_store_vlog_bytes", func() float64 {
		var n int64
		_ = p.withStore(func(st *store) error { n = st.usage().VlogBytes; return nil })
		return float64(n)
	})
	for _, t := range toolDefs() {
		b, err := json.Marshal(t)
		if err != nil {
			// The definitions are static maps of strings and numbers.
			panic(fmt.Sprintf("tracing: encode tool %v: %v", t["name"], err))
		}
		p.tools = append(p.tools, b)
	}
	return p
}

// errNotConfigured is returned before Configure and after Stop.
var errNotConfigured = errors.New("tracing store is not open (the plugin is not configured, or stopping)")

// withBackend runs fn on the open store, PostgreSQL's when the plugin is
// tracing-postgres; Stop waits for it.
func (p *Plugin) withBackend(fn func(b backend) error) error {
	if pg := p.pg.Load(); pg != nil {
		return pg.use(func() error { return fn(pg) })
	}
	return p.withStore(func(st *store) error { return fn(st) })
}

// withStore runs fn on the open Badger store; Stop waits for it.
func (p *Plugin) withStore(fn func(st *store) error) error {
	p.stMu.RLock()
	st := p.st
	p.stMu.RUnlock()
	if st == nil {
		return errNotConfigured
	}
	err := st.use(func() error { return fn(st) })
	if errors.Is(err, errClosed) {
		return errNotConfigured
	}
	return err
}

// Configure opens the store of the config and serves it to the other
// copies of mcphost, or, when another copy holds it, connects to that copy
// and forwards to it (share.go). Configuring again (a reload) replaces
// the store: the same directory is left and joined again with the new
// settings; a different one is joined before an owned store is closed, so
// that a bad new directory leaves the old store serving.
func (p *Plugin) Configure(ctx context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	o, diags := configBlock.Decode(req.Config)
	if base.HasErrors(diags) {
		return base.ConfigureResponse{Diagnostics: diags}, nil
	}
	dir, err := storeDir(o.dir)
	var place sockPlace
	if err == nil {
		place, err = socketPlaceFor(dir)
	}
	if err != nil {
		return base.ConfigureResponse{Diagnostics: append(diags, base.Error("dir", "Cannot open tracing store", err.Error()))}, nil
	}
	l := &link{o: o, dir: dir, place: place}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sup.stop()
	p.sup = nil
	// Nothing else changes the role now that the supervisor has stopped.
	old := p.role()
	if old.fwd != nil || (p.link != nil && sameDir(p.link.dir, dir)) {
		p.install(role{})
		leaveCtx, cancel := context.WithTimeout(ctx, defaultStopWait)
		if err := p.leave(leaveCtx, old); err != nil {
			p.logger.Error("leave tracing store for reconfiguration", "dir", p.link.dir, "error", err)
		}
		cancel()
		old = role{}
	}
	// An owned store of another directory serves until the new one is
	// joined.
	joinCtx, cancel := context.WithTimeout(ctx, configureJoinWait)
	defer cancel()
	supCtx, supCancel := context.WithCancel(context.Background())
	r, err := p.joinRetry(joinCtx, supCtx, l, false)
	if err != nil {
		supCancel()
		summary := "Cannot open tracing store"
		if errors.Is(err, ErrStoreInUse) {
			summary = "Tracing store directory already in use"
		}
		return base.ConfigureResponse{Diagnostics: append(diags, base.Error("dir", summary, err.Error()))}, nil
	}
	p.install(r)
	prev := p.link
	p.link = l
	if r.fwd != nil {
		done := make(chan struct{})
		p.sup = &supervisor{cancel: supCancel, done: done}
		go p.supervise(supCtx, l, done)
		p.logger.Info("tracing store is owned by another copy of mcphost; forwarding to it", "dir", dir, "socket", place.path)
	} else {
		supCancel()
		p.logger.Info("tracing store open", "dir", dir, "socket", place.path, "retention", o.retention, "store_content", o.storeContent,
			"sync_writes", o.syncWrites, "cache_entries", o.cacheEntries)
	}
	if old.st != nil {
		leaveCtx, cancel := context.WithTimeout(context.Background(), defaultStopWait)
		if err := p.leave(leaveCtx, old); err != nil {
			p.logger.Error("close previous tracing store", "dir", prev.dir, "error", err)
		}
		cancel()
	}
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

// role is the plugin's current role.
func (p *Plugin) role() role {
	p.stMu.RLock()
	defer p.stMu.RUnlock()
	return role{st: p.st, srv: p.srv, fwd: p.fwd}
}

// takeRole empties the plugin's role and returns what it was.
func (p *Plugin) takeRole() role {
	r := p.role()
	if r != (role{}) {
		p.install(role{})
	}
	return r
}

// Stop stops serving the store to other copies and closes it, which
// flushes it, waiting for running operations; or closes the connection to
// the copy that owns it. If the deadline passes first, Stop returns an
// error and the close goes on in the background.
func (p *Plugin) Stop(_ context.Context, req base.StopRequest) (base.StopResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sup.stop()
	p.sup = nil
	r := p.takeRole()
	if r == (role{}) {
		return base.StopResponse{}, nil
	}
	wait := defaultStopWait
	if req.DeadlineUnixNano > 0 {
		if d := time.Until(time.Unix(0, req.DeadlineUnixNano)); d > 0 {
			wait = d
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.leave(ctx, r); err != nil {
		return base.StopResponse{}, fmt.Errorf("stop tracing: %w", err)
	}
	return base.StopResponse{}, nil
}

func (p *Plugin) Metrics(context.Context, base.MetricsRequest) (base.MetricsResponse, error) {
	return base.PrometheusText(p.set), nil
}

// Record stores a batch of events, in order, in as few Badger
// transactions as fit: in the plugin's store, or in the owner's.
func (p *Plugin) Record(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	return forward(ctx, p,
		func(t tracing.Tracing) (tracing.RecordResponse, error) { return t.Record(ctx, req) },
		func() (tracing.RecordResponse, error) { return p.recordLocal(ctx, req) })
}

// recordLocal records in the plugin's own store, weighing the responses
// through its host.
func (p *Plugin) recordLocal(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	if err := ctx.Err(); err != nil {
		return tracing.RecordResponse{}, fmt.Errorf("record: %w", err)
	}
	start := time.Now()
	p.weigh(ctx, req.Events)
	var changed uriSet
	var recorded, skipped map[string]int
	var versions, finalized int
	err := p.withBackend(func(b backend) error {
		return b.write(ctx, lockOrder(req.Events), func(tx recordWriter) error {
			// A shared store may run the transaction again: count afresh.
			changed, recorded, skipped, versions, finalized = uriSet{}, map[string]int{}, map[string]int{}, 0, 0
			if err := tx.lockResponses(responseIDs(req.Events)); err != nil {
				return err
			}
			w := newBatch(tx, b.options())
			for i := range req.Events {
				ev := &req.Events[i]
				switch ev.Kind {
				case tracing.EventToolResult, tracing.EventResource, tracing.EventPrompt:
					if ev.ContextID == "" {
						skipped[skipNoContextID]++
						continue
					}
					created, err := w.recordUnit(ev)
					if err != nil {
						return fmt.Errorf("event %d (%s %s): %w", i, ev.Kind, ev.ContextID, err)
					}
					recorded[ev.Kind]++
					if created {
						versions++
						changed.add(evolutionURI(ev.ContextID), contextURI(ev.ContextID))
					}
				case tracing.EventResponse:
					if ev.ResponseID == "" {
						skipped[skipNoResponseID]++
						continue
					}
					if err := w.finalize(ev); err != nil {
						return fmt.Errorf("event %d (response %s): %w", i, ev.ResponseID, err)
					}
					recorded[ev.Kind]++
					finalized++
					changed.add(responseURI(ev.ResponseID), uriRecentResponses)
				case tracing.EventFeedback:
					skipped[skipFeedbackEvent]++
				default:
					skipped[skipUnknownKind]++
				}
			}
			if len(changed.list) > 0 {
				changed.add(uriStatsCache)
			}
			tx.notify(changed.list)
			return nil
		})
	})
	if err != nil {
		return tracing.RecordResponse{}, fmt.Errorf("record %d events: %w", len(req.Events), err)
	}
	for k, n := range recorded {
		p.m.recorded[k].Add(n)
	}
	for r, n := range skipped {
		p.m.skipped[r].Add(n)
	}
	p.m.versions.Add(versions)
	p.m.finalized.Add(finalized)
	p.m.recordDuration.UpdateDuration(start)
	changed.add(uriStatsCache)
	return tracing.RecordResponse{ChangedURIs: changed.list}, nil
}

func (p *Plugin) ListTools(context.Context, tracing.ListToolsRequest) (tracing.ListToolsResponse, error) {
	return tracing.ListToolsResponse{Tools: p.tools}, nil
}

// CallTool runs a tracing tool, on the plugin's store or the owner's.
// Bad arguments, unknown ids and store failures are tool errors (isError)
// with a message for the model; only a tool name the plugin does not serve
// is a JSON-RPC error.
func (p *Plugin) CallTool(ctx context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	return forward(ctx, p,
		func(t tracing.Tracing) (tracing.CallToolResponse, error) { return t.CallTool(ctx, req) },
		func() (tracing.CallToolResponse, error) { return p.callToolLocal(ctx, req) })
}

func (p *Plugin) callToolLocal(ctx context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	h, ok := toolHandlers[req.Name]
	if !ok {
		return tracing.CallToolResponse{}, fmt.Errorf("unknown tool %q", req.Name)
	}
	p.m.toolCalls.Inc()
	start := time.Now()
	var out toolOutcome
	err := p.withBackend(func(b backend) error {
		var err error
		out, err = h(p, ctx, b, req)
		return err
	})
	if err != nil {
		p.m.toolErrors.Inc()
		if !userFacing(err) {
			p.logger.Error("tracing tool failed", "tool", req.Name, "error", err)
		}
		return tracing.CallToolResponse{Result: toolError(err.Error())}, nil
	}
	if req.Name == toolGetTrace {
		p.m.getTraceLatency.UpdateDuration(start)
	}
	res, err := toolResult(out)
	if err != nil {
		return tracing.CallToolResponse{}, err
	}
	return tracing.CallToolResponse{Result: res, ChangedURIs: out.changed}, nil
}
