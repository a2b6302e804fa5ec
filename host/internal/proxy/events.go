package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/mcphost/mcphost/host/internal/router"
)

// Event types.
const (
	EventState  = "state"
	EventReload = "reload"
)

// Event is a change the admin event stream reports.
type Event struct {
	Time   time.Time     `json:"time"`
	Type   string        `json:"type"`
	Server string        `json:"server,omitempty"`
	State  router.State  `json:"state,omitempty"`
	Reason string        `json:"reason,omitempty"`
	Reload *ReloadResult `json:"reload,omitempty"`
}

// eventHub fans events out to subscribers; a subscriber that falls behind
// loses events rather than slowing the proxy.
type eventHub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// subscribeBuffer is how many events a subscriber may lag behind.
const subscribeBuffer = 256

func (h *eventHub) publish(e Event) {
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

// Events streams events until ctx ends, then closes the channel.
func (p *Proxy) Events(ctx context.Context) <-chan Event {
	ch := make(chan Event, subscribeBuffer)
	h := &p.events
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
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
