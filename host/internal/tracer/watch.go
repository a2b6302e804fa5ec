package tracer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// Delays between watches of a tracing plugin that watches changes
// (tracing.ChangeWatcher): doubling from the first to the last while
// watching fails or ends at once, back to the first after a watch that
// lasted.
const (
	watchRetryFirst = 500 * time.Millisecond
	watchRetryMax   = 30 * time.Second
)

// errNotWatching is a plugin that does not list
// tracing.CapabilityWatchesChanges: nothing to watch, though the plugin
// is asked again after the delay (a restart may have replaced it).
var errNotWatching = errors.New("the tracing plugin does not watch changes")

// watchChanges is the goroutine, owned by the tracer, that reports the
// changes a tracing plugin sharing its store with other hosts sees them
// make: each reaches subscribed clients as the ChangedURIs of this host's
// own calls do (NotifyChanged). It watches again after a watch ends,
// while tracing is up, until Close.
func (t *Tracer) watchChanges() {
	defer t.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Ends with the tracer or with watchChanges, whichever is first.
		select {
		case <-t.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	delay := watchRetryFirst
	for {
		began := time.Now()
		err := t.watchOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil && time.Since(began) >= watchRetryMax {
			delay = watchRetryFirst
		}
		if err != nil && !errors.Is(err, errNotWatching) && !errors.Is(err, ErrDown) {
			t.log.Debug("watching the tracing store for other hosts' changes", "error", err, "retry_in", delay)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-t.rewatch:
			timer.Stop()
			delay = watchRetryFirst
		case <-timer.C:
			delay = min(delay*2, watchRetryMax)
		}
	}
}

// watchOnce watches the tracing plugin until its watch ends, if it
// watches changes; it returns nil when a watch ran and ended.
func (t *Tracer) watchOnce(ctx context.Context) error {
	if t.opts.Up != nil && !t.opts.Up() {
		return ErrDown
	}
	p, err := t.opts.Tracing(ctx)
	if err != nil {
		return err
	}
	// In-process the plugin is the implementation itself; from a process
	// it is a *tracing.GRPCClient, a ChangeWatcher whatever the plugin
	// implements, so the capability decides.
	watcher, ok := p.(tracing.ChangeWatcher)
	if !ok {
		return errNotWatching
	}
	info, err := p.Info(ctx, base.InfoRequest{})
	if err != nil {
		return fmt.Errorf("tracing plugin info: %w", err)
	}
	if !slices.Contains(info.Capabilities, tracing.CapabilityWatchesChanges) {
		return errNotWatching
	}
	changes, err := watcher.WatchChanges(ctx, tracing.WatchChangesRequest{})
	if err != nil {
		return err
	}
	for change := range changes {
		t.NotifyChanged(change.ChangedURIs)
	}
	return nil
}

// watchAgain has the watch start again at once (tracing came up again),
// rather than after the delay it is waiting out.
func (t *Tracer) watchAgain() {
	select {
	case t.rewatch <- struct{}{}:
	default:
	}
}
