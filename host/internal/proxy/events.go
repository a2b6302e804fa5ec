package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/admin"
)

// eventHub fans the admin API's events (state changes, reloads) out to
// subscribers; a subscriber that falls behind loses events rather than
// slowing the proxy.
type eventHub struct {
	mu   sync.Mutex
	subs map[chan admin.Event]struct{}
}

// subscribeBuffer is how many events a subscriber may lag behind.
const subscribeBuffer = 256

func (h *eventHub) publish(e admin.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// subscribed says whether anyone listens to the events now.
func (h *eventHub) subscribed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// Events streams events until ctx ends, then closes the channel.
func (p *Proxy) Events(ctx context.Context) <-chan admin.Event {
	ch := make(chan admin.Event, subscribeBuffer)
	h := &p.events
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan admin.Event]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, ch)
		close(ch)
		h.mu.Unlock()
	}()
	return ch
}
