package tracer

import (
	"context"
	"fmt"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// drainPause is how long the worker lets units gather between drains
// unless hurried: a wake-up per pause instead of one per unit keeps the
// host's CPU per traced call low, and delays a record by at most this.
const drainPause = 20 * time.Millisecond

// recordTimeout bounds one weighing and one Record call.
const recordTimeout = 30 * time.Second

// worker is the state of the goroutine that turns queued items into
// Record calls. A response's unit events wait with it until it ends and
// then go with it, weighed, in one call, unless they hold too much (more
// than Batch units, or a quarter of QueueBytes, wait): then they go ahead,
// and the plugin finds them in its store when the response comes.
type worker struct {
	t    *Tracer
	open map[string]*openResponse
	// waiting are the unit events in open responses, and the bytes of
	// delivered messages they reference.
	waiting      int
	waitingBytes int64
	// ready are groups of events to send: a finished response's units and
	// the response, or units sent ahead of their response.
	ready [][]tracing.Event
	// traces are the open responses of trace ids: they are finished at
	// every drain, and the store merges each into what it has.
	traces  []string
	scratch scratch
}

// openResponse is a response being assembled: its units' features for
// weighing, and its unit events not yet sent.
type openResponse struct {
	session string
	units   []weighting.Unit
	hashes  []string
	events  []tracing.Event
	last    int64 // time of its latest unit
}

func (t *Tracer) work() {
	defer t.wg.Done()
	w := &worker{t: t, open: map[string]*openResponse{}}
	// A response whose end was dropped (full queue) is still recorded
	// once it has been quiet for twice the idle gap.
	sweep := time.NewTicker(t.opts.IdleGap)
	defer sweep.Stop()
	pause := time.NewTimer(drainPause)
	defer pause.Stop()
	for {
		select {
		case it := <-t.queue:
			w.handle(it)
			w.drain()
		case now := <-sweep.C:
			w.sweep(now)
			w.send()
		case <-t.done:
			w.drain()
			w.traces = w.traces[:0]
			for id := range w.open {
				w.finish(id)
			}
			w.send()
			return
		}
		pause.Reset(drainPause)
		select {
		case <-pause.C:
		case <-t.hurry:
		case <-t.done:
		}
	}
}

// drain handles every queued item, then sends what is ready.
func (w *worker) drain() {
	for {
		select {
		case it := <-w.t.queue:
			w.handle(it)
		default:
			w.finishTraces()
			w.send()
			return
		}
	}
}

func (w *worker) handle(it item) {
	t := w.t
	switch {
	case it.isUnit:
		p := w.open[it.response]
		if p == nil {
			n := min(t.opts.MaxUnits, t.opts.Batch) // a response's units, usually
			p = &openResponse{session: it.session, units: make([]weighting.Unit, 0, n), hashes: make([]string, 0, n),
				events: make([]tracing.Event, 0, n)}
			w.open[it.response] = p
			if it.traced {
				w.traces = append(w.traces, it.response)
			}
		}
		ev, u := w.unitEvent(&it)
		p.events = append(p.events, ev)
		p.units = append(p.units, u)
		p.hashes = append(p.hashes, ev.ContentHash)
		p.last = ev.TimeUnixNano
		w.waiting++
		w.waitingBytes += heldBy(&ev)
		if w.waiting >= t.opts.Batch || w.waitingBytes >= t.opts.QueueBytes/4 {
			w.sendAhead()
		}
	case it.end != "":
		if w.open[it.end] != nil {
			w.finish(it.end)
		}
	}
	if len(w.ready) >= t.opts.Batch {
		w.send()
	}
	if it.ack != nil {
		// Flush waits for the session's units to be recorded.
		w.finishTraces()
		w.send()
		close(it.ack)
	}
}

// unitEvent works out a unit's features and lets go of what it does not
// send: the result, unless sent as content, and arguments too large to
// send.
func (w *worker) unitEvent(it *item) (tracing.Event, weighting.Unit) {
	t, d := w.t, &it.unit
	f := w.scratch.features(d, t.opts.DefaultScore)
	kind, typ := tracing.EventToolResult, tracing.TypeExternal
	switch d.Method {
	case "resources/read":
		kind, typ = tracing.EventResource, tracing.TypeSystem
	case "prompts/get":
		kind, typ = tracing.EventPrompt, tracing.TypeUser
	}
	ev := tracing.Event{
		Kind: kind, TimeUnixNano: d.Time.UnixNano(), Session: d.Session, Server: d.Server, Method: d.Method,
		Name: d.Name, URI: d.URI, Arguments: d.Arguments, ContentHash: f.contentHash,
		SizeBytes: int64(len(d.Result)), Meta: f.meta, ResponseID: it.response, ContextID: it.context, ContextType: typ,
		RetrievalScore: f.retrievalScore, RetrievalSource: f.retrievalSource, TokenEstimate: f.tokenEstimate, Summary: f.summary,
	}
	if t.opts.SendContent {
		ev.Content = d.Result
	} else {
		t.release(int64(len(d.Result)))
	}
	ev.ArgumentsBytes = int64(len(d.Arguments))
	if len(d.Arguments) > tracing.MaxEventArgumentsBytes {
		ev.Arguments = nil
		t.release(int64(len(d.Arguments)))
	}
	u := weighting.Unit{
		ID: ev.ContextID, Type: typ, RetrievalScore: ev.RetrievalScore, CreatedUnixNano: ev.TimeUnixNano,
		SizeBytes: ev.SizeBytes, TokenEstimate: ev.TokenEstimate, Source: ev.Server,
	}
	return ev, u
}

// heldBy is the bytes of delivered messages an event references.
func heldBy(ev *tracing.Event) int64 { return int64(len(ev.Arguments) + len(ev.Content)) }

// sendAhead sends every waiting unit event now, ahead of its response.
func (w *worker) sendAhead() {
	for _, p := range w.open {
		if len(p.events) > 0 {
			w.ready = append(w.ready, p.events)
			p.events = nil
		}
	}
	w.waiting, w.waitingBytes = 0, 0
	w.send()
}

// finish ends a response: it is weighed and made ready with its waiting
// units.
func (w *worker) finish(id string) {
	p := w.open[id]
	delete(w.open, id)
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	now := time.Now()
	weights := w.t.weigh(ctx, now, p.units)
	resp := tracing.Event{Kind: tracing.EventResponse, TimeUnixNano: now.UnixNano(), Session: p.session, ResponseID: id,
		Units: make([]tracing.ResponseUnit, len(p.units))}
	for i, u := range p.units {
		resp.Units[i] = tracing.ResponseUnit{ContextID: u.ID, ContentHash: p.hashes[i], Weight: weights[i]}
	}
	w.waiting -= len(p.events)
	for i := range p.events {
		w.waitingBytes -= heldBy(&p.events[i])
	}
	w.ready = append(w.ready, append(p.events, resp))
}

// finishTraces finishes the open responses of trace ids. A trace has no
// end the host could see (its requests come on any session, copy or
// instance), so each drain's units of it are recorded with the response
// as far as they go, weighed; the tracing plugin merges them into the
// response it has and weighs it again over all its units.
func (w *worker) finishTraces() {
	for _, id := range w.traces {
		if w.open[id] != nil {
			w.finish(id)
		}
	}
	clear(w.traces)
	w.traces = w.traces[:0]
}

// sweep finishes the responses quiet for twice the idle gap.
func (w *worker) sweep(now time.Time) {
	for id, p := range w.open {
		if now.UnixNano()-p.last > 2*int64(w.t.opts.IdleGap) {
			w.finish(id)
		}
	}
}

// send records the ready events, in calls of at most Batch events that
// keep each response with its units where they fit.
func (w *worker) send() {
	var call []tracing.Event
	for _, group := range w.ready {
		if len(call) > 0 && len(call)+len(group) > w.t.opts.Batch {
			w.record(call)
			call = nil // the plugin may keep what it was sent
		}
		for len(group) > w.t.opts.Batch {
			w.record(group[:w.t.opts.Batch])
			group = group[w.t.opts.Batch:]
		}
		call = append(call, group...)
	}
	if len(call) > 0 {
		w.record(call)
	}
	clear(w.ready)
	w.ready = w.ready[:0]
}

// record sends events to the tracing plugin, then lets go of the bytes
// they reference, recorded or not.
func (w *worker) record(events []tracing.Event) {
	t := w.t
	var held int64
	var responses []string
	for i := range events {
		held += heldBy(&events[i])
		if events[i].Kind == tracing.EventResponse {
			responses = append(responses, events[i].ResponseID)
		}
	}
	defer t.release(held)
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	plugin, err := t.opts.Tracing(ctx)
	if err == nil {
		var r tracing.RecordResponse
		if r, err = plugin.Record(ctx, tracing.RecordRequest{Events: events}); err == nil {
			if len(responses) > 0 {
				t.responses.Add(uint64(len(responses)))
				t.last.Store(responses[len(responses)-1])
			}
			t.NotifyChanged(r.ChangedURIs)
			return
		}
	}
	t.recordErrors.Add(1)
	t.log.Warn("tracing: recording failed", "events", len(events), "responses", len(responses), "error", err)
}

// weigh asks the weighting plugin; without it every unit weighs the same.
func (t *Tracer) weigh(ctx context.Context, now time.Time, units []weighting.Unit) []float64 {
	uniform := weighting.Normalize(make([]float64, len(units)))
	if t.opts.Weighting == nil || len(units) == 1 {
		// One unit weighs 1 whatever a plugin says (Normalize), and most
		// responses are one tool result: no call for them.
		return uniform
	}
	w, err := t.opts.Weighting(ctx)
	if err == nil && w == nil {
		return uniform // the tracing plugin weighs (through the host)
	}
	if err == nil {
		var r weighting.WeighResponse
		if r, err = w.Weigh(ctx, weighting.WeighRequest{NowUnixNano: now.UnixNano(), Units: units}); err == nil {
			if len(r.Weights) == len(units) {
				return weighting.Normalize(r.Weights)
			}
			err = fmt.Errorf("%d weights for %d units", len(r.Weights), len(units))
		}
	}
	t.log.Warn("tracing: weighting failed; using equal weights", "error", err)
	return uniform
}
