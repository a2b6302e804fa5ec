// Package tracer is the host's side of context tracing. The router tells
// it about every tool result, resource and prompt it delivers; the tracer
// groups them per client session into responses (turns), tags each result
// with its response id, and — off the message path, through a bounded
// queue — works out each unit's features, asks the weighting plugin for
// weights when a response ends, and records units and responses with the
// tracing plugin. A full queue drops events (counted), never blocks a
// client.
package tracer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Options configure a Tracer.
type Options struct {
	// Tracing and Weighting return the plugins, starting them if needed.
	Tracing   func(ctx context.Context) (tracing.Tracing, error)
	Weighting func(ctx context.Context) (weighting.Weighting, error)
	// A response ends after IdleGap without a unit, after MaxUnits units,
	// or on Flush (feedback).
	IdleGap  time.Duration
	MaxUnits int
	// Queue bounds the events waiting for the worker.
	Queue int
	// DefaultScore is the retrieval score when nothing gives one.
	DefaultScore float64
	// SendContent sends each unit's content to the tracing plugin (to
	// store); without it only sizes, hashes and summaries go.
	SendContent bool
	Logger      hclog.Logger
	// Changed, when set, is told the plugin's resources that changed.
	Changed func(uris []string)
}

// Stats are the tracer's counters, for metrics.
type Stats struct {
	Events, Dropped, Responses, RecordErrors uint64
	QueueDepth                               int
}

// Tracer is safe for concurrent use.
type Tracer struct {
	opts Options
	log  hclog.Logger

	queue chan item
	done  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	turns  map[string]*turn // open turn by session
	conns  []*Conn          // open connections of the tracing backend
	closed bool

	events, dropped, responses, recordErrors atomic.Uint64
	// last is the most recently recorded response of any session.
	last atomic.Value
}

// LastResponse is the id of the most recently recorded response of any
// session ("" before the first), which `mcphost trace` means by latest.
func (t *Tracer) LastResponse() string {
	s, _ := t.last.Load().(string)
	return s
}

// turn is the open response of one session, as the delivering side sees it.
type turn struct {
	id    string
	count int
	last  time.Time
}

// item is what goes through the queue: a delivered unit, or the end of a
// response (with ack, when someone waits for it to be recorded).
type item struct {
	unit     *Delivery
	end      string // response id to finalize
	session  string
	ack      chan struct{}
	response string // the unit's response id
	context  string // the unit's context id
}

// Delivery is one traced result on its way to a client.
type Delivery struct {
	Session, Server, Method string
	// Name is the tool or prompt name, URI the resource, as the backend
	// knows them.
	Name, URI string
	Arguments []byte
	// Result is the JSON-RPC result member delivered.
	Result []byte
	Time   time.Time
}

// New starts a tracer; Close stops it.
func New(opts Options) *Tracer {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Queue <= 0 {
		opts.Queue = 10000
	}
	if opts.MaxUnits <= 0 {
		opts.MaxUnits = 50
	}
	if opts.IdleGap <= 0 {
		opts.IdleGap = 30 * time.Second
	}
	t := &Tracer{opts: opts, log: opts.Logger, queue: make(chan item, opts.Queue), done: make(chan struct{}), turns: map[string]*turn{}}
	t.wg.Add(2)
	go t.work()
	go t.watchIdle()
	return t
}

// Stats reports the counters.
func (t *Tracer) Stats() Stats {
	return Stats{
		Events: t.events.Load(), Dropped: t.dropped.Load(), Responses: t.responses.Load(),
		RecordErrors: t.recordErrors.Load(), QueueDepth: len(t.queue),
	}
}

// MetaKey is the _meta key under which a traced result carries its ids.
const MetaKey = "mcphost/trace"

// Delivered notes a result about to go to a client and returns the value
// for its _meta[MetaKey]: the response id and the unit's context id. It
// never blocks: when the queue is full the unit is dropped and counted.
func (t *Tracer) Delivered(d Delivery) []byte {
	contextID := ContextID(d.Server, d.Method, d.Name, d.URI, d.Arguments)
	now := d.Time
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	cur := t.turns[d.Session]
	var ended string
	if cur != nil && (now.Sub(cur.last) > t.opts.IdleGap || cur.count >= t.opts.MaxUnits) {
		ended, cur = cur.id, nil
	}
	if cur == nil {
		cur = &turn{id: newResponseID()}
		t.turns[d.Session] = cur
	}
	cur.count++
	cur.last = now
	responseID := cur.id
	t.mu.Unlock()
	if ended != "" {
		t.enqueue(item{end: ended, session: d.Session})
	}
	t.enqueue(item{unit: &d, response: responseID, context: contextID, session: d.Session})
	return []byte(`{"response_id":"` + responseID + `","context_id":"` + contextID + `"}`)
}

func (t *Tracer) enqueue(it item) {
	select {
	case t.queue <- it:
		if it.unit != nil {
			t.events.Add(1)
		}
	default:
		t.dropped.Add(1)
		if it.ack != nil {
			close(it.ack)
		}
	}
}

// Flush ends the session's open response and waits (until ctx ends) for it
// to be recorded, so that "latest" names it. Feedback ends a turn this way.
func (t *Tracer) Flush(ctx context.Context, session string) {
	t.mu.Lock()
	cur := t.turns[session]
	delete(t.turns, session)
	t.mu.Unlock()
	ack := make(chan struct{})
	end := ""
	if cur != nil {
		end = cur.id
	}
	// An item even without a turn: it waits for the session's earlier
	// units to be recorded.
	t.enqueue(item{end: end, session: session, ack: ack})
	select {
	case <-ack:
	case <-ctx.Done():
	}
}

// SessionClosed ends the session's open response.
func (t *Tracer) SessionClosed(session string) {
	t.mu.Lock()
	cur := t.turns[session]
	delete(t.turns, session)
	t.mu.Unlock()
	if cur != nil {
		t.enqueue(item{end: cur.id, session: session})
	}
}

// Close ends every open response, records what is queued (until ctx ends),
// and stops.
func (t *Tracer) Close(ctx context.Context) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	var ends []item
	for s, cur := range t.turns {
		ends = append(ends, item{end: cur.id, session: s})
	}
	t.turns = map[string]*turn{}
	t.mu.Unlock()
	for _, it := range ends {
		t.enqueue(it)
	}
	close(t.done)
	finished := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		t.log.Warn("tracing not flushed before the deadline", "queued", len(t.queue))
	}
}

// watchIdle ends responses that saw no unit for IdleGap.
func (t *Tracer) watchIdle() {
	defer t.wg.Done()
	tick := time.NewTicker(max(t.opts.IdleGap/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case now := <-tick.C:
			var ends []item
			t.mu.Lock()
			for s, cur := range t.turns {
				if now.Sub(cur.last) > t.opts.IdleGap {
					ends = append(ends, item{end: cur.id, session: s})
					delete(t.turns, s)
				}
			}
			t.mu.Unlock()
			for _, it := range ends {
				t.enqueue(it)
			}
		}
	}
}

// pendingResponse is a response being assembled by the worker.
type pendingResponse struct {
	session string
	units   []tracing.Event
}

// work turns queued items into Record calls: units wait with their
// response until it ends, then go with it, weighed, in one batch.
func (t *Tracer) work() {
	defer t.wg.Done()
	open := map[string]*pendingResponse{}
	handle := func(it item) {
		switch {
		case it.unit != nil:
			p := open[it.response]
			if p == nil {
				p = &pendingResponse{session: it.session}
				open[it.response] = p
			}
			p.units = append(p.units, t.unitEvent(it))
		case it.end != "":
			if p := open[it.end]; p != nil {
				delete(open, it.end)
				t.record(it.end, p)
			}
		}
		if it.ack != nil {
			close(it.ack)
		}
	}
	// A response whose end was dropped (full queue) is still recorded
	// once it has been quiet for twice the idle gap.
	sweep := time.NewTicker(t.opts.IdleGap)
	defer sweep.Stop()
	for {
		select {
		case it := <-t.queue:
			handle(it)
		case now := <-sweep.C:
			for id, p := range open {
				last := p.units[len(p.units)-1].TimeUnixNano
				if now.UnixNano()-last > 2*int64(t.opts.IdleGap) {
					delete(open, id)
					t.record(id, p)
				}
			}
		case <-t.done:
			for {
				select {
				case it := <-t.queue:
					handle(it)
				default:
					for id, p := range open {
						t.record(id, p)
					}
					return
				}
			}
		}
	}
}

// record weighs a response's units and sends them with the response.
func (t *Tracer) record(id string, p *pendingResponse) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	units := make([]weighting.Unit, len(p.units))
	for i, u := range p.units {
		units[i] = weighting.Unit{
			ID: u.ContextID, Type: u.ContextType, RetrievalScore: u.RetrievalScore, CreatedUnixNano: u.TimeUnixNano,
			SizeBytes: u.SizeBytes, TokenEstimate: u.TokenEstimate, Source: u.Server,
		}
	}
	weights := t.weigh(ctx, now, units)
	resp := tracing.Event{Kind: tracing.EventResponse, TimeUnixNano: now.UnixNano(), Session: p.session, ResponseID: id}
	for i, u := range p.units {
		resp.Units = append(resp.Units, tracing.ResponseUnit{ContextID: u.ContextID, ContentHash: u.ContentHash, Weight: weights[i]})
	}
	events := append(p.units, resp)
	plugin, err := t.opts.Tracing(ctx)
	if err == nil {
		var r tracing.RecordResponse
		if r, err = plugin.Record(ctx, tracing.RecordRequest{Events: events}); err == nil {
			t.responses.Add(1)
			t.last.Store(id)
			t.NotifyChanged(r.ChangedURIs)
			return
		}
	}
	t.recordErrors.Add(1)
	t.log.Warn("tracing: recording a response failed", "response", id, "units", len(p.units), "error", err)
}

// weigh asks the weighting plugin; without it every unit weighs the same.
func (t *Tracer) weigh(ctx context.Context, now time.Time, units []weighting.Unit) []float64 {
	uniform := weighting.Normalize(make([]float64, len(units)))
	if t.opts.Weighting == nil {
		return uniform
	}
	w, err := t.opts.Weighting(ctx)
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

// unitEvent works out a delivered unit's features.
func (t *Tracer) unitEvent(it item) tracing.Event {
	d := it.unit
	sum := sha256.Sum256(d.Result)
	text := resultText(d.Method, d.Result)
	score, source := t.retrievalScore(d.Result, d.Arguments, d.URI, text)
	kind, typ := tracing.EventToolResult, tracing.TypeExternal
	switch d.Method {
	case "resources/read":
		kind, typ = tracing.EventResource, tracing.TypeSystem
	case "prompts/get":
		kind, typ = tracing.EventPrompt, tracing.TypeUser
	}
	var content []byte
	if t.opts.SendContent {
		content = d.Result
	}
	return tracing.Event{
		Kind: kind, TimeUnixNano: d.Time.UnixNano(), Session: d.Session, Server: d.Server, Method: d.Method,
		Name: d.Name, URI: d.URI, Arguments: d.Arguments, Content: content, ContentHash: hex.EncodeToString(sum[:]),
		SizeBytes: int64(len(d.Result)), Meta: []byte(gjson.GetBytes(d.Result, "_meta").Raw),
		ResponseID: it.response, ContextID: it.context, ContextType: typ,
		RetrievalScore: score, RetrievalSource: source, TokenEstimate: int64((len(text) + 3) / 4), Summary: summarize(text),
	}
}

// retrievalScore takes the backend's own score from the result's _meta,
// else measures how many of the request's words the content contains,
// else falls back to the configured default.
func (t *Tracer) retrievalScore(result, args []byte, uri, text string) (float64, string) {
	meta := gjson.GetBytes(result, "_meta")
	for _, k := range []string{"retrieval_score", "relevance", "score", `mcphost/retrieval_score`} {
		if v := meta.Get(strings.ReplaceAll(k, ".", `\.`)); v.Type == gjson.Number && v.Num >= 0 && v.Num <= 1 {
			return v.Num, "meta"
		}
	}
	words := wordsOf(string(argumentText(args)) + " " + uri)
	if len(words) == 0 {
		return t.opts.DefaultScore, "default"
	}
	have := map[string]bool{}
	for _, w := range wordsOf(text) {
		have[w] = true
	}
	hits := 0
	for _, w := range words {
		if have[w] {
			hits++
		}
	}
	return float64(hits) / float64(len(words)), "lexical"
}

// argumentText is the string values of the arguments, space separated.
func argumentText(args []byte) []byte {
	var out []byte
	var walk func(v gjson.Result)
	walk = func(v gjson.Result) {
		switch {
		case v.Type == gjson.String:
			out = append(append(out, v.Str...), ' ')
		case v.IsObject() || v.IsArray():
			v.ForEach(func(_, c gjson.Result) bool { walk(c); return true })
		}
	}
	walk(gjson.ParseBytes(args))
	return out
}

// wordsOf splits text into lowercase words of three or more letters or
// digits, each once.
func wordsOf(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) >= 3 && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// resultText is the human-readable text of a result: text contents,
// resource texts, prompt message texts; the raw JSON when it has none.
func resultText(method string, result []byte) string {
	var b strings.Builder
	add := func(v gjson.Result) bool {
		if s := v.Get("text"); s.Type == gjson.String {
			b.WriteString(s.Str)
			b.WriteByte('\n')
		}
		return true
	}
	r := gjson.ParseBytes(result)
	switch method {
	case "resources/read":
		r.Get("contents").ForEach(func(_, c gjson.Result) bool { return add(c) })
	case "prompts/get":
		r.Get("messages").ForEach(func(_, m gjson.Result) bool { return add(m.Get("content")) })
	default:
		r.Get("content").ForEach(func(_, c gjson.Result) bool { return add(c) })
	}
	if b.Len() == 0 {
		return string(result)
	}
	return b.String()
}

// summaryRunes bounds a unit's summary.
const summaryRunes = 240

func summarize(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > summaryRunes {
		return string(r[:summaryRunes-1]) + "…"
	}
	return text
}

func newResponseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "resp_" + hex.EncodeToString(b[:])
}

// Traced is Delivered in the router's terms (router.Tracer).
func (t *Tracer) Traced(session, server, method, name, uri string, args, result []byte) []byte {
	return t.Delivered(Delivery{
		Session: session, Server: server, Method: method, Name: name, URI: uri,
		Arguments: args, Result: result, Time: time.Now(),
	})
}
