package toolsearch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcphost/mcphost/sdk/plugintest/poll"
	"github.com/mcphost/mcphost/sdk/tracing"
)

const oneToolQuality = `{"contents":[{"text":"{\"tools\":[{\"server\":\"s\",\"name\":\"t\",\"quality\":0.4}]}"}]}`

// TestQualityKeeperReadsWhenActiveAndTold: nothing is read while search
// mode is off; a change notice of the tool quality resource rereads it at
// once; other notices do not; a failed read keeps what was known.
func TestQualityKeeperReadsWhenActiveAndTold(t *testing.T) {
	t.Parallel()
	var active atomic.Bool
	var reads atomic.Int32
	var fail atomic.Bool
	k := NewQualityKeeper(QualityKeeperOptions{
		Read: func(context.Context) ([]byte, error) {
			reads.Add(1)
			if fail.Load() {
				return nil, errors.New("store down")
			}
			return []byte(oneToolQuality), nil
		},
		Active:  active.Load,
		Refresh: time.Hour,
	})
	t.Cleanup(k.Close)

	k.Changed([]string{tracing.ResourceToolQuality})
	// The keeper has taken the notice (the buffered poke is empty again)
	// and, inactive, read nothing.
	poll.Until(t, "the keeper took the notice", func() bool { return len(k.poke) == 0 })
	if n := reads.Load(); n != 0 || k.ToolQuality() != nil {
		t.Fatalf("inactive keeper read %d times, holds %v", n, k.ToolQuality())
	}

	active.Store(true)
	k.Changed([]string{"trace://quality/top-contexts"})
	k.Changed([]string{tracing.ResourceToolQuality})
	poll.Until(t, "the quality read", func() bool { return k.ToolQuality() != nil })
	if q := k.ToolQuality()[QualityKey{"s", "t"}]; q.Score != 0.4 {
		t.Errorf("quality %+v, want 0.4", q)
	}

	fail.Store(true)
	before := reads.Load()
	k.Poke()
	poll.Until(t, "a failed reread", func() bool { return reads.Load() > before })
	if q := k.ToolQuality()[QualityKey{"s", "t"}]; q.Score != 0.4 {
		t.Errorf("after a failed read the quality is %+v, want the last known", q)
	}
}
