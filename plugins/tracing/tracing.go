package tracing

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
	logger hclog.Logger
	set    *metrics.Set
	m      pluginMetrics
	tools  []json.RawMessage

	// mu serializes Configure and Stop; st is the open store, nil before
	// Configure and after Stop.
	mu sync.Mutex
	st *store
	// stMu guards reads of st by operations.
	stMu sync.RWMutex
	// host weighs responses: the weighting plugin, through the host.
	host atomic.Pointer[tracing.Host]
}

// UseHost takes the host's services (tracing.HostUser): responses are
// weighed through it when they are recorded.
func (p *Plugin) UseHost(h tracing.Host) { p.host.Store(&h) }

// weigh asks the host for the weights of each response in the batch,
// from the features of its units: those in the same batch (the host sends
// a response's units with it, unless they hold too much to wait), else as
// recorded in the store. A response whose weighing fails keeps the weights
// it came with.
func (p *Plugin) weigh(ctx context.Context, events []tracing.Event) {
	hp := p.host.Load()
	if hp == nil {
		return
	}
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
			p.recordedFeatures(e.Units, recorded, req.Units)
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

// recordedFeatures fills in out[j], for each j in which, with the features
// recorded for units[j]: its context's type and server, and the size,
// token estimate and retrieval score of the version with its content hash,
// last seen when it was delivered. A unit with nothing recorded keeps no
// features.
func (p *Plugin) recordedFeatures(units []tracing.ResponseUnit, which []int, out []weighting.Unit) {
	err := p.withStore(func(st *store) error {
		return st.view(func(r *reader) error {
			for _, j := range which {
				id := units[j].ContextID
				head, err := load[contextHead](r, contextKey(id))
				if err != nil {
					return err
				}
				if head == nil || head.ID != id {
					continue
				}
				v, err := r.versionOf(id, units[j].ContentHash)
				if err != nil {
					return err
				}
				if v == 0 {
					continue
				}
				ver, err := load[versionRec](r, versionKey(id, v))
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
	p := &Plugin{logger: logger, set: metrics.NewSet()}
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

// withStore runs fn on the open store; Stop waits for it.
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

func (p *Plugin) Info(context.Context, base.InfoRequest) (base.InfoResponse, error) {
	return base.InfoResponse{
		Name:         "tracing",
		Kind:         base.KindTracing,
		Version:      Version,
		APIMinor:     tracing.APIMinor,
		Capabilities: []string{tracing.CapabilityWeighsThroughHost},
		Description: "Records the context units delivered to clients in Badger, with versions, response lineage and " +
			"feedback-driven quality scores, and serves the mcp__proxy__tracing__* tools and trace:// resources.",
	}, nil
}

func (p *Plugin) Schema(context.Context, base.SchemaRequest) (base.SchemaResponse, error) {
	return base.SchemaResponse{Plugin: schema()}, nil
}

// Validate checks a plugin config without opening anything.
func (p *Plugin) Validate(_ context.Context, req base.ValidateRequest) (base.ValidateResponse, error) {
	_, diags := parseConfig(req.Config)
	return base.ValidateResponse{Diagnostics: diags}, nil
}

// Configure opens the store of the config. Configuring again (a reload)
// replaces the store: the same directory is closed and reopened with the
// new settings, a different one is opened before the old one is closed so
// that a bad new directory leaves the old store serving.
func (p *Plugin) Configure(_ context.Context, req base.ConfigureRequest) (base.ConfigureResponse, error) {
	o, diags := parseConfig(req.Config)
	if hasErrors(diags) {
		return base.ConfigureResponse{Diagnostics: diags}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.st
	if old != nil && sameDir(old.dir, o.dir) {
		p.swap(nil)
		if err := old.close(); err != nil {
			p.logger.Error("close tracing store for reconfiguration", "dir", old.dir, "error", err)
		}
		old = nil
	}
	st, err := openStore(o, p.logger, p.m.cache)
	if err != nil {
		summary := "Cannot open tracing store"
		if errors.Is(err, ErrStoreInUse) {
			summary = "Tracing store directory already in use"
		}
		return base.ConfigureResponse{Diagnostics: append(diags, base.Error("dir", summary, err.Error()))}, nil
	}
	p.swap(st)
	if old != nil {
		if err := old.close(); err != nil {
			p.logger.Error("close previous tracing store", "dir", old.dir, "error", err)
		}
	}
	p.logger.Info("tracing store open", "dir", st.dir, "retention", o.retention, "store_content", o.storeContent,
		"sync_writes", o.syncWrites, "cache_entries", o.cacheEntries)
	return base.ConfigureResponse{Diagnostics: diags}, nil
}

func (p *Plugin) swap(st *store) {
	p.stMu.Lock()
	p.st = st
	p.stMu.Unlock()
}

// Stop closes the store, which flushes it, waiting for running operations.
// If the deadline passes first, Stop returns an error and the close goes
// on in the background.
func (p *Plugin) Stop(_ context.Context, req base.StopRequest) (base.StopResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	if st == nil {
		return base.StopResponse{}, nil
	}
	p.swap(nil)
	done := make(chan error, 1)
	go func() { done <- st.close() }()
	wait := defaultStopWait
	if req.DeadlineUnixNano > 0 {
		if d := time.Until(time.Unix(0, req.DeadlineUnixNano)); d > 0 {
			wait = d
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return base.StopResponse{}, fmt.Errorf("stop tracing: %w", err)
		}
		return base.StopResponse{}, nil
	case <-t.C:
		return base.StopResponse{}, fmt.Errorf("stop tracing: store %s still closing after %v", st.dir, wait)
	}
}

func (p *Plugin) Metrics(context.Context, base.MetricsRequest) (base.MetricsResponse, error) {
	return base.PrometheusText(p.set), nil
}

// Record stores a batch of events, in order, in as few Badger
// transactions as fit.
func (p *Plugin) Record(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	if err := ctx.Err(); err != nil {
		return tracing.RecordResponse{}, fmt.Errorf("record: %w", err)
	}
	start := time.Now()
	p.weigh(ctx, req.Events)
	var changed uriSet
	recorded := map[string]int{}
	skipped := map[string]int{}
	versions, finalized := 0, 0
	err := p.withStore(func(st *store) error {
		return st.write(func(w *writer) error {
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
					changed.add(responseURI(ev.ResponseID))
				case tracing.EventFeedback:
					skipped[skipFeedbackEvent]++
				default:
					skipped[skipUnknownKind]++
				}
			}
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

// CallTool runs a tracing tool. Bad arguments, unknown ids and store
// failures are tool errors (isError) with a message for the model; only a
// tool name the plugin does not serve is a JSON-RPC error.
func (p *Plugin) CallTool(_ context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	h, ok := toolHandlers[req.Name]
	if !ok {
		return tracing.CallToolResponse{}, fmt.Errorf("unknown tool %q", req.Name)
	}
	p.m.toolCalls.Inc()
	start := time.Now()
	var out toolOutcome
	err := p.withStore(func(st *store) error {
		var err error
		out, err = h(p, st, req)
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
