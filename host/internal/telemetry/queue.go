package telemetry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// queue is the span processor between the message path and the
// collector: ended spans go into a bounded channel without waiting (a
// full queue drops the span and counts it), and one goroutine, owned by
// the queue and stopped by Shutdown, exports them in batches. A collector
// that is down costs a logged warning now and then, and dropped spans.
type queue struct {
	exporter sdktrace.SpanExporter
	log      hclog.Logger
	spans    chan sdktrace.ReadOnlySpan
	batch    int
	interval time.Duration
	timeout  time.Duration

	// flush asks the exporting goroutine to export what it holds now;
	// it answers on the channel it is given.
	flush chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	dropped, exported, failed atomic.Uint64
	onDrop, onFail            func()
	lastWarn                  time.Time // the exporting goroutine's own
}

// warnEvery bounds how often a failing export is logged.
const warnEvery = 30 * time.Second

func newQueue(exporter sdktrace.SpanExporter, log hclog.Logger, size, batch int, interval, timeout time.Duration) *queue {
	q := &queue{
		exporter: exporter, log: log, spans: make(chan sdktrace.ReadOnlySpan, size), batch: batch,
		interval: interval, timeout: timeout,
		flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go q.run()
	return q
}

func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues an ended span, never waiting.
func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case q.spans <- s:
	default:
		q.dropped.Add(1)
		if q.onDrop != nil {
			q.onDrop()
		}
	}
}

// ForceFlush exports every span queued so far, waiting until ctx ends.
func (q *queue) ForceFlush(ctx context.Context) error {
	answer := make(chan struct{})
	select {
	case q.flush <- answer:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-answer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued, waiting until ctx ends, and stops the
// exporting goroutine.
func (q *queue) Shutdown(ctx context.Context) error {
	q.once.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.exporter.Shutdown(ctx)
}

func (q *queue) run() {
	defer close(q.done)
	ticker := time.NewTicker(q.interval)
	defer ticker.Stop()
	batch := make([]sdktrace.ReadOnlySpan, 0, q.batch)
	for {
		select {
		case s := <-q.spans:
			if batch = append(batch, s); len(batch) >= q.batch {
				batch = q.export(batch)
			}
		case <-ticker.C:
			batch = q.export(batch)
		case answer := <-q.flush:
			batch = q.export(q.drain(batch))
			close(answer)
		case <-q.stop:
			q.export(q.drain(batch))
			return
		}
	}
}

// drain takes every span queued now.
func (q *queue) drain(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for {
		select {
		case s := <-q.spans:
			batch = append(batch, s)
		default:
			return batch
		}
	}
}

// export sends batch (in parts of at most q.batch) and returns it emptied.
func (q *queue) export(batch []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	for start := 0; start < len(batch); start += q.batch {
		part := batch[start:min(start+q.batch, len(batch))]
		ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
		err := q.exporter.ExportSpans(ctx, part)
		cancel()
		if err != nil {
			q.failed.Add(uint64(len(part)))
			if q.onFail != nil {
				q.onFail()
			}
			if now := time.Now(); now.Sub(q.lastWarn) >= warnEvery {
				q.lastWarn = now
				q.log.Warn("exporting spans failed; they are dropped (this is logged at most every 30s)",
					"spans", len(part), "failed_so_far", q.failed.Load(), "error", err)
			}
			continue
		}
		q.exported.Add(uint64(len(part)))
	}
	clear(batch)
	return batch[:0]
}
