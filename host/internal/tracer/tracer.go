// Package tracer is the host's side of context tracing. The router tells
// it about every tool result, resource and prompt it delivers; the tracer
// groups them per client session into responses (turns), or by the W3C
// trace id of the request when it carries one (a response shared by every
// session, copy and instance the trace's requests come in on, which the
// tracing plugin's store merges), tags each result
// with its response id, and — off the message path, through a queue
// bounded in events and in bytes — works out each unit's features, asks
// the weighting plugin for weights when a response ends, and records units
// and responses with the tracing plugin. A full queue drops units
// (counted), never blocks a client.
//
// The message path hands over references, not copies: a queued unit keeps
// the delivered message alive, so the byte bound counts every byte the
// tracer references (arguments and result) from Delivered until the worker
// lets go of them: the result once its features are worked out (or, when
// content is sent, once recorded), the arguments once recorded.
package tracer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/host/internal/traceparent"
	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
)

// Options configure a Tracer.
type Options struct {
	// Tracing and Weighting return the plugins, starting them if needed.
	// Without Weighting the tracing plugin weighs (or every unit of a
	// response weighs the same).
	Tracing   func(ctx context.Context) (tracing.Tracing, error)
	Weighting func(ctx context.Context) (weighting.Weighting, error)
	// A response ends after IdleGap without a unit, after MaxUnits units,
	// or on Flush (feedback).
	IdleGap  time.Duration
	MaxUnits int
	// Queue bounds the events waiting for the worker (default 10000), and
	// QueueBytes the bytes of delivered messages the tracer holds on to
	// (default 16 MiB); a unit past either bound is dropped and counted,
	// and so is a unit larger than QueueBytes.
	Queue      int
	QueueBytes int64
	// Batch is the most events sent to the tracing plugin in one call
	// (default 256).
	Batch int
	// DefaultScore is the retrieval score when nothing gives one.
	DefaultScore float64
	// SendContent sends each unit's content to the tracing plugin (to
	// store); without it only sizes, hashes and summaries go.
	SendContent bool
	Logger      hclog.Logger
	// Changed, when set, is told the plugin's resources that changed.
	Changed func(uris []string)
	// Up, when set, says whether the tracing plugin can be used. While it
	// cannot, results are delivered untagged (nothing would record them)
	// and Tracing is expected to fail at once with ErrDown.
	Up func() bool
}

// ErrDown is what Options.Tracing returns, wrapped with the reason, while
// the tracing plugin cannot be used (its store unusable, say) and the
// host retries it: the tracing backend then lists what it last listed and
// answers calls with that error, never waiting for the plugin.
var ErrDown = errors.New("context tracing is down")

// Defaults of Options.
const (
	DefaultQueue      = 10000
	DefaultQueueBytes = 16 << 20
	DefaultBatch      = 256
)

// Stats are the tracer's counters, for metrics.
type Stats struct {
	Events, Dropped, Responses, RecordErrors uint64
	QueueDepth                               int
	// QueueBytes are the bytes of delivered messages the tracer holds.
	QueueBytes int64
}

// Tracer is safe for concurrent use.
type Tracer struct {
	opts Options
	log  hclog.Logger

	queue chan item
	// held is the bytes of delivered messages referenced by queued items
	// and by events the worker has not yet recorded (QueueBytes bounds it).
	held atomic.Int64
	// hurry wakes the worker before its pause ends.
	hurry chan struct{}
	// rewatch ends watchChanges' delay before its next watch.
	rewatch chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	turns map[string]*turn // open turn by session
	// profiles are the profiles of the sessions opened for one.
	profiles map[string]string
	conns    []*Conn // open connections of the tracing backend
	// lists are the plugin's last list results by method, served while
	// tracing is down.
	lists  map[string][]byte
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

// item is what goes through the queue: a delivered unit (with the bytes
// it holds), or the end of a response (with ack, when someone waits for
// it to be recorded).
type item struct {
	unit     Delivery
	isUnit   bool
	size     int64
	end      string // response id to finalize
	session  string
	ack      chan struct{}
	response string // the unit's response id
	context  string // the unit's context id
	// traced: the response is the request's trace's, not a turn.
	traced bool
}

// Delivery is one traced result on its way to a client.
type Delivery struct {
	Session, Server, Method string
	// Profile is the session's profile (SessionProfile); Delivered sets it.
	Profile string
	// Name is the tool or prompt name, URI the resource, as the backend
	// knows them.
	Name, URI string
	// ContextID is the unit's context id when already worked out (see
	// ContextID); empty, Delivered works it out.
	ContextID string
	// Response, when set, is the response the unit belongs to whatever
	// the session (TraceResponse of the request); empty, the session's
	// turn.
	Response string
	// Arguments and Result are referenced, not copied, and never
	// modified: they are slices of the messages being delivered.
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
		opts.Queue = DefaultQueue
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.MaxUnits <= 0 {
		opts.MaxUnits = 50
	}
	if opts.IdleGap <= 0 {
		opts.IdleGap = 30 * time.Second
	}
	t := &Tracer{
		opts: opts, log: opts.Logger, queue: make(chan item, opts.Queue), hurry: make(chan struct{}, 1),
		rewatch: make(chan struct{}, 1), done: make(chan struct{}), turns: map[string]*turn{}, lists: map[string][]byte{},
		profiles: map[string]string{},
	}
	t.wg.Add(3)
	go t.work()
	go t.watchIdle()
	go t.watchChanges()
	return t
}

// Stats reports the counters.
func (t *Tracer) Stats() Stats {
	return Stats{
		Events: t.events.Load(), Dropped: t.dropped.Load(), Responses: t.responses.Load(),
		RecordErrors: t.recordErrors.Load(), QueueDepth: len(t.queue), QueueBytes: t.held.Load(),
	}
}

// MetaKey is the _meta key under which a traced result carries its ids.
const MetaKey = "mcphost/trace"

// Delivered notes a result about to go to a client and returns the value
// for its _meta[MetaKey]: the response id and the unit's context id. It
// never blocks: when the queue is full, in events or in bytes, the unit is
// dropped and counted.
func (t *Tracer) Delivered(d Delivery) []byte {
	contextID := d.ContextID
	if contextID == "" {
		contextID = ContextID(d.Server, d.Method, d.Name, d.URI, d.Arguments)
	}
	if d.Response != "" {
		return t.deliveredInTrace(d, contextID)
	}
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
	d.Profile = t.profiles[d.Session]
	t.mu.Unlock()
	if ended != "" {
		t.enqueue(item{end: ended, session: d.Session})
	}
	t.enqueueUnit(item{
		unit: d, isUnit: true, size: int64(len(d.Arguments) + len(d.Result)),
		response: responseID, context: contextID, session: d.Session,
	})
	return traceMeta(responseID, contextID)
}

// deliveredInTrace is Delivered for a unit of a trace's response: it
// leaves the session's turn alone, and the worker records the response
// with each batch of its units, for the store to merge.
func (t *Tracer) deliveredInTrace(d Delivery, contextID string) []byte {
	t.mu.Lock()
	closed := t.closed
	d.Profile = t.profiles[d.Session]
	t.mu.Unlock()
	if closed {
		return nil
	}
	t.enqueueUnit(item{
		unit: d, isUnit: true, size: int64(len(d.Arguments) + len(d.Result)),
		response: d.Response, context: contextID, session: d.Session, traced: true,
	})
	return traceMeta(d.Response, contextID)
}

// traceMeta is the value of a traced result's _meta[MetaKey].
func traceMeta(responseID, contextID string) []byte {
	meta := make([]byte, 0, len(`{"response_id":"","context_id":""}`)+len(responseID)+len(contextID))
	meta = append(meta, `{"response_id":"`...)
	meta = append(meta, responseID...)
	meta = append(meta, `","context_id":"`...)
	meta = append(meta, contextID...)
	return append(meta, `"}`...)
}

// enqueueUnit queues a unit if it fits both bounds. The bytes are
// reserved before the send, so that concurrent deliveries never hold more
// than QueueBytes between them.
func (t *Tracer) enqueueUnit(it item) {
	if t.held.Add(it.size) > t.opts.QueueBytes {
		t.release(it.size)
		t.dropped.Add(1)
		return
	}
	select {
	case t.queue <- it:
		t.events.Add(1)
	default:
		t.release(it.size)
		t.dropped.Add(1)
		return
	}
	// The worker gathers units for a while between drains; it is woken
	// early once the queue is half full either way.
	if t.held.Load() > t.opts.QueueBytes/2 || len(t.queue) > cap(t.queue)/2 {
		t.wake()
	}
}

// enqueue queues the end of a response (no bytes held).
func (t *Tracer) enqueue(it item) {
	select {
	case t.queue <- it:
	default:
		t.dropped.Add(1)
		if it.ack != nil {
			close(it.ack)
		}
	}
}

func (t *Tracer) release(n int64) { t.held.Add(-n) }

// wake ends the worker's pause.
func (t *Tracer) wake() {
	select {
	case t.hurry <- struct{}{}:
	default:
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
	t.wake()
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
	delete(t.profiles, session)
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

// Traced is Delivered in the router's terms (router.Tracer); an empty
// contextID is worked out here.
func (t *Tracer) Traced(session, server, method, name, uri, contextID, response string, args, result []byte) []byte {
	if t.opts.Up != nil && !t.opts.Up() {
		return nil
	}
	return t.Delivered(Delivery{
		Session: session, Server: server, Method: method, Name: name, URI: uri, ContextID: contextID,
		Response: response, Arguments: args, Result: result, Time: time.Now(),
	})
}

// SessionProfile notes the profile session was opened for, which its
// events carry (router.Tracer); SessionClosed forgets it.
func (t *Tracer) SessionProfile(session, profile string) {
	t.mu.Lock()
	if !t.closed {
		t.profiles[session] = profile
	}
	t.mu.Unlock()
}

// TraceResponse is the response of the request's W3C trace (router.Tracer):
// TraceResponseID of the trace id in params._meta.traceparent, or "".
func (t *Tracer) TraceResponse(params []byte) string {
	tp, ok := traceparent.FromParams(params)
	if !ok {
		return ""
	}
	return TraceResponseID(tp)
}

// TraceResponseID is the response id of a trace: "resp_" and the trace
// id's 32 hex digits, the same in every process, so that the units of one
// trace form one response in a shared store. (A turn's random id has 24.)
func TraceResponseID(tp traceparent.TraceParent) string {
	return "resp_" + hex.EncodeToString(tp.TraceID[:])
}

// ContextID is the package's ContextID, for the router (router.Tracer).
func (t *Tracer) ContextID(server, method, name, uri string, args []byte) string {
	return ContextID(server, method, name, uri, args)
}

func newResponseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "resp_" + hex.EncodeToString(b[:])
}
