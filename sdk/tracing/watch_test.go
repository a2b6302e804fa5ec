package tracing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcphost/mcphost/sdk/plugintest"
	"github.com/mcphost/mcphost/sdk/tracing"
)

// watching is memory plus a ChangeWatcher that emits what the test feeds
// it, as a store shared with other hosts would emit their writes.
type watching struct {
	*memory
	feed     chan []string
	watchErr error
	// watchEnded gets one value each time a watch's goroutine ends.
	watchEnded chan struct{}
}

func newWatching() *watching {
	return &watching{memory: &memory{}, feed: make(chan []string), watchEnded: make(chan struct{}, 4)}
}

func (w *watching) WatchChanges(ctx context.Context, _ tracing.WatchChangesRequest) (<-chan tracing.WatchChangesResponse, error) {
	if w.watchErr != nil {
		return nil, w.watchErr
	}
	out := make(chan tracing.WatchChangesResponse)
	go func() {
		defer func() { w.watchEnded <- struct{}{} }()
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case uris, ok := <-w.feed:
				if !ok {
					return
				}
				select {
				case out <- tracing.WatchChangesResponse{ChangedURIs: uris}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func TestWatchChangesOverGRPC(t *testing.T) {
	t.Parallel()
	impl := newWatching()
	watcher, ok := plugintest.ServeTracing(t, impl).(tracing.ChangeWatcher)
	if !ok {
		t.Fatal("the gRPC client is not a ChangeWatcher")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes, err := watcher.WatchChanges(ctx, tracing.WatchChangesRequest{})
	if err != nil {
		t.Fatalf("WatchChanges: %v", err)
	}
	for _, uris := range [][]string{{"trace://context/a"}, {"trace://response/r1", tracing.ResourceRecentResponses}} {
		impl.feed <- uris
		got, ok := <-changes
		if !ok {
			t.Fatal("changes closed while watching")
		}
		if !slices.Equal(got.ChangedURIs, uris) {
			t.Errorf("ChangedURIs = %q, want %q", got.ChangedURIs, uris)
		}
	}

	// Cancelling the host's ctx ends the plugin's watch and closes the
	// host's channel.
	cancel()
	<-impl.watchEnded
	for range changes {
	}
}

func TestWatchChangesEndsWithThePluginsWatch(t *testing.T) {
	t.Parallel()
	impl := newWatching()
	watcher := plugintest.ServeTracing(t, impl).(tracing.ChangeWatcher)
	changes, err := watcher.WatchChanges(context.Background(), tracing.WatchChangesRequest{})
	if err != nil {
		t.Fatalf("WatchChanges: %v", err)
	}
	close(impl.feed)
	if got, ok := <-changes; ok {
		t.Fatalf("got %q after the plugin ended its watch, want a closed channel", got.ChangedURIs)
	}
	<-impl.watchEnded
}

func TestWatchChangesErrors(t *testing.T) {
	t.Parallel()
	failing := newWatching()
	failing.watchErr = errors.New("no listener connection")
	tests := []struct {
		name     string
		impl     tracing.Tracing
		wantCode codes.Code
		want     string
	}{
		{"without a ChangeWatcher", &memory{}, codes.Unimplemented, "does not watch changes"},
		{"failing to watch", failing, codes.Unknown, "no listener connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			watcher := plugintest.ServeTracing(t, tt.impl).(tracing.ChangeWatcher)
			changes, err := watcher.WatchChanges(context.Background(), tracing.WatchChangesRequest{})
			if err == nil {
				t.Fatalf("WatchChanges succeeded (channel %v), want an error", changes)
			}
			if !strings.Contains(err.Error(), "tracing watch changes") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to name the call and contain %q", err, tt.want)
			}
			if code := status.Code(errors.Unwrap(err)); code != tt.wantCode {
				t.Errorf("wrapped status code = %v, want %v", code, tt.wantCode)
			}
		})
	}
}
