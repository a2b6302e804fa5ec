package router

import (
	"context"
	"time"

	"github.com/tidwall/gjson"
)

// Start-up. A client's initialize is answered at once, whatever the
// backends are doing: clients give their server only a few seconds to
// start. What needs the backends waits instead: while backends are making
// their first attempt, a list request (tools/list, prompts/list,
// resources/list, resources/templates/list), and a call naming a tool,
// prompt or resource the catalog does not hold yet, wait until every
// backend has made its first attempt or the start-up wait is over; then
// they are answered from the catalog as it is. A backend that comes up
// later is announced with list_changed, as any change is.

// startup is one start of the router's backends; done is closed when
// every backend has made its first attempt or the wait is over.
type startup struct {
	done chan struct{}
}

// Launch connects every backend in parallel and returns at once. The
// channel it returns is closed when each backend has either become ready
// or failed its first attempt, or when wait has passed (at once when wait
// is 0 or less); until then, the requests that need the backends wait
// (see above). Backends that failed keep retrying in the background.
func (r *Router) Launch(wait time.Duration) <-chan struct{} {
	ctx, cancel := context.WithTimeout(r.ctx, max(wait, 0))
	return r.launchAll(ctx, cancel)
}

// Start connects every backend in parallel and returns once each has
// either become ready or failed its first attempt (or ctx ends). Backends
// that failed keep retrying in the background.
func (r *Router) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	<-r.launchAll(ctx, cancel)
}

// launchAll launches every backend and, on a goroutine of the router's,
// waits for their first attempts until ctx ends; cancel is called then.
func (r *Router) launchAll(ctx context.Context, cancel context.CancelFunc) <-chan struct{} {
	st := &startup{done: make(chan struct{})}
	var firsts []chan struct{}
	r.backends.holding(func(list []*backend) {
		r.startup.Store(st)
		for _, b := range list {
			first := make(chan struct{})
			firsts = append(firsts, first)
			r.launch(b, first)
		}
	})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		defer close(st.done)
		for _, f := range firsts {
			select {
			case <-f:
			case <-ctx.Done():
				return
			case <-r.ctx.Done():
				return
			}
		}
	}()
	return st.done
}

// starting is the channel to wait on while the backends are still making
// their first attempt, or nil once they have (or were never started).
func (r *Router) starting() <-chan struct{} {
	st := r.startup.Load()
	if st == nil {
		return nil
	}
	select {
	case <-st.done:
		return nil
	default:
		return st.done
	}
}

// waitsForStartup says whether a request must wait for the backends'
// first attempts: a list request, or one naming what cat does not hold.
func waitsForStartup(method string, params []byte, cat *catalog) bool {
	switch method {
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
		return true
	case "tools/call":
		_, ok := cat.tools[gjson.GetBytes(params, "name").Str]
		return !ok
	case "prompts/get":
		_, ok := cat.prompts[gjson.GetBytes(params, "name").Str]
		return !ok
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		_, ok := cat.resolveURI(gjson.GetBytes(params, "uri").Str)
		return !ok
	}
	return false
}

// afterStartup runs dispatch once the backends have made their first
// attempt (or the wait is over), on a goroutine the session owns: it ends
// with the session, unanswered, if the session ends first.
func (s *Session) afterStartup(starting <-chan struct{}, dispatch func()) {
	s.markInitialized()
	go func() {
		select {
		case <-starting:
			dispatch()
		case <-s.ctx.Done():
		}
	}()
}
