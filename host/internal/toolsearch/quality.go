package toolsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// DefaultQualityRefresh is how often a QualityKeeper rereads the tool
// quality when nothing told it of a change (a change another instance
// made to a shared store is told through the plugin's change watcher).
const DefaultQualityRefresh = 30 * time.Second

// QualityKeeperOptions configure a QualityKeeper.
type QualityKeeperOptions struct {
	// Read returns the tracing plugin's tracing.ResourceToolQuality
	// resource, a raw ReadResourceResult; ErrUnsupported (wrapped) when
	// the plugin does not serve it.
	Read func(ctx context.Context) ([]byte, error)
	// Active says whether anyone ranks tools now (search mode); while it
	// does not, nothing is read.
	Active  func() bool
	Refresh time.Duration // DefaultQualityRefresh when 0
	Logger  hclog.Logger
}

// ErrUnsupported is what Read wraps when the tracing plugin has no tool
// quality to give (an older plugin).
var ErrUnsupported = fmt.Errorf("the tracing plugin serves no %s", tracing.ResourceToolQuality)

// QualityKeeper holds the per-tool quality aggregates tracing has learned,
// reread periodically and when told the resource changed, on a goroutine
// of its own (Close stops it): search_tools only loads a pointer.
type QualityKeeper struct {
	opts    QualityKeeperOptions
	current atomic.Pointer[map[QualityKey]Quality]
	poke    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewQualityKeeper starts a keeper.
func NewQualityKeeper(opts QualityKeeperOptions) *QualityKeeper {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultQualityRefresh
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &QualityKeeper{opts: opts, poke: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go k.run(ctx)
	return k
}

// ToolQuality is the latest aggregates (nil before the first read).
func (k *QualityKeeper) ToolQuality() map[QualityKey]Quality {
	if m := k.current.Load(); m != nil {
		return *m
	}
	return nil
}

// Changed is told the tracing plugin's resources that changed; a change
// of the tool quality rereads it soon.
func (k *QualityKeeper) Changed(uris []string) {
	if slices.Contains(uris, tracing.ResourceToolQuality) {
		k.Poke()
	}
}

// Poke asks for a reread (at most one waits).
func (k *QualityKeeper) Poke() {
	select {
	case k.poke <- struct{}{}:
	default:
	}
}

// Close stops the keeper and waits for its goroutine.
func (k *QualityKeeper) Close() {
	k.cancel()
	<-k.done
}

// Refreshed is for tests: it rereads now, and reports what failed.
func (k *QualityKeeper) Refreshed(ctx context.Context) error { return k.refresh(ctx) }

func (k *QualityKeeper) run(ctx context.Context) {
	defer close(k.done)
	tick := time.NewTicker(k.opts.Refresh)
	defer tick.Stop()
	for {
		if k.opts.Active == nil || k.opts.Active() {
			if err := k.refresh(ctx); err != nil && ctx.Err() == nil {
				k.opts.Logger.Debug("tool quality not read", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-k.poke:
		}
	}
}

func (k *QualityKeeper) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	raw, err := k.opts.Read(ctx)
	if err != nil {
		return err
	}
	m, err := ParseToolQuality(raw)
	if err != nil {
		return err
	}
	k.current.Store(&m)
	return nil
}

// ParseToolQuality decodes a ReadResourceResult of
// tracing.ResourceToolQuality into per-tool qualities.
func ParseToolQuality(readResult []byte) (map[QualityKey]Quality, error) {
	var res struct {
		Contents []struct {
			Text string `json:"text"`
		} `json:"contents"`
	}
	if err := json.Unmarshal(readResult, &res); err != nil {
		return nil, fmt.Errorf("decode %s: %w", tracing.ResourceToolQuality, err)
	}
	if len(res.Contents) != 1 {
		return nil, fmt.Errorf("decode %s: %d contents, want 1", tracing.ResourceToolQuality, len(res.Contents))
	}
	var v tracing.ToolQualityView
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", tracing.ResourceToolQuality, err)
	}
	m := make(map[QualityKey]Quality, len(v.Tools))
	for _, t := range v.Tools {
		q := max(-1, min(1, t.Quality))
		m[QualityKey{Server: t.Server, Tool: t.Name}] = Quality{Score: q, Deprecated: t.Deprecated}
	}
	return m, nil
}
