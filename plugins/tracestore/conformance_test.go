package tracestore

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/mcphost/mcphost/sdk/base"
	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// TestTracingSuite runs the SDK's tracing suite on the Badger store, in
// process and over gRPC, each subtest on a store of its own.
func TestTracingSuite(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name     string
		newStore func(t *testing.T) tracing.Tracing
	}{
		{"direct", func(t *testing.T) tracing.Tracing { return configure(t, t.TempDir(), nil) }},
		{"over gRPC", func(t *testing.T) tracing.Tracing {
			return plugintest.ServeTracing(t, configure(t, t.TempDir(), nil))
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			plugintest.TracingSuite(t, s.newStore)
		})
	}
	// The Badger store watches no changes; the suite's watcher check runs
	// on copies sharing one directory (a forwarder is the peer), each
	// wrapped in a watcher that hears the other copies' writes.
	t.Run("shared, watched", func(t *testing.T) {
		t.Parallel()
		plugintest.TracingSuite(t,
			func(t *testing.T) tracing.Tracing {
				dir := t.TempDir()
				return &watchedCopy{Plugin: configure(t, dir, nil), dir: dir, feed: &changeFeed{}}
			},
			plugintest.WithPeer(func(t *testing.T, first tracing.Tracing) tracing.Tracing {
				f := first.(*watchedCopy)
				return &watchedCopy{Plugin: configure(t, f.dir, nil), dir: f.dir, feed: f.feed}
			}))
	})
}

// changeFeed stands in for a shared database's change notifications: the
// changes one copy reports reach the watches of the others.
type changeFeed struct {
	mu      sync.Mutex
	watches map[chan tracing.WatchChangesResponse]*watchedCopy
}

func (f *changeFeed) publish(from *watchedCopy, uris []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, owner := range f.watches {
		if owner != from && len(uris) > 0 {
			ch <- tracing.WatchChangesResponse{ChangedURIs: slices.Clone(uris)}
		}
	}
}

// watchedCopy is one copy of the store with a tracing.ChangeWatcher.
type watchedCopy struct {
	*Plugin
	dir  string
	feed *changeFeed
}

func (c *watchedCopy) Info(ctx context.Context, req base.InfoRequest) (base.InfoResponse, error) {
	info, err := c.Plugin.Info(ctx, req)
	info.Capabilities = append(info.Capabilities, tracing.CapabilityWatchesChanges)
	return info, err
}

func (c *watchedCopy) Record(ctx context.Context, req tracing.RecordRequest) (tracing.RecordResponse, error) {
	r, err := c.Plugin.Record(ctx, req)
	c.feed.publish(c, r.ChangedURIs)
	return r, err
}

func (c *watchedCopy) CallTool(ctx context.Context, req tracing.CallToolRequest) (tracing.CallToolResponse, error) {
	r, err := c.Plugin.CallTool(ctx, req)
	c.feed.publish(c, r.ChangedURIs)
	return r, err
}

// WatchChanges buffers what the feed publishes (the suite's writes are
// few) and hands it on until ctx ends.
func (c *watchedCopy) WatchChanges(ctx context.Context, _ tracing.WatchChangesRequest) (<-chan tracing.WatchChangesResponse, error) {
	in, out := make(chan tracing.WatchChangesResponse, 64), make(chan tracing.WatchChangesResponse)
	c.feed.mu.Lock()
	if c.feed.watches == nil {
		c.feed.watches = map[chan tracing.WatchChangesResponse]*watchedCopy{}
	}
	c.feed.watches[in] = c
	c.feed.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			c.feed.mu.Lock()
			delete(c.feed.watches, in)
			c.feed.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case change := <-in:
				select {
				case out <- change:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
