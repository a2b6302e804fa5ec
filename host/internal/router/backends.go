package router

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// backendSet is the router's backends, in config order. The list is
// replaced, never edited, when a backend is added or removed (under mu),
// so readers take a snapshot without a lock. mu is a leaf: what runs under
// it (launching a backend's run) only starts a goroutine.
type backendSet struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*backend]
}

func newBackendSet(list []*backend) *backendSet {
	bs := &backendSet{}
	bs.list.Store(&list)
	return bs
}

// all is a snapshot of the backends, in config order.
func (bs *backendSet) all() []*backend { return *bs.list.Load() }

// named finds the backend with the given server name.
func (bs *backendSet) named(name string) (*backend, error) {
	for _, b := range bs.all() {
		if b.spec.Name == name {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w named %q", ErrUnknownBackend, name)
}

// add appends b, unless a backend named as it is exists already, and then
// calls start(b). b is in the set before it starts, so that its first
// catalog rebuild (when it is running) already sees it; start runs under
// mu, so that b is launched exactly once even while every backend is being
// launched, and before a remove can look for it.
func (bs *backendSet) add(b *backend, start func(*backend)) error {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	old := bs.all()
	for _, o := range old {
		if o.spec.Name == b.spec.Name {
			return fmt.Errorf("a server named %q already exists", b.spec.Name)
		}
	}
	list := append(append(make([]*backend, 0, len(old)+1), old...), b)
	bs.list.Store(&list)
	start(b)
	return nil
}

// remove takes the named backend out of the set and returns it.
func (bs *backendSet) remove(name string) (*backend, error) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	old := bs.all()
	var gone *backend
	list := make([]*backend, 0, len(old))
	for _, b := range old {
		if b.spec.Name == name {
			gone = b
			continue
		}
		list = append(list, b)
	}
	if gone == nil {
		return nil, fmt.Errorf("%w named %q", ErrUnknownBackend, name)
	}
	bs.list.Store(&list)
	return gone, nil
}

// holding runs fn with the backends as they are, none added or removed
// until fn returns.
func (bs *backendSet) holding(fn func(list []*backend)) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	fn(bs.all())
}

// tasksCapability is the proxy's tasks capability: what any running
// backend offers, or nil when none supports tasks.
func (bs *backendSet) tasksCapability() []byte {
	var found, list, cancel, call bool
	for _, b := range bs.all() {
		caps, running := b.sup.capabilities()
		t := gjson.GetBytes(caps, "tasks")
		if !running || !t.Exists() {
			continue
		}
		found = true
		list = list || t.Get("list").Exists()
		cancel = cancel || t.Get("cancel").Exists()
		call = call || t.Get("requests.tools.call").Exists()
	}
	if !found {
		return nil
	}
	out := []byte(`{}`)
	if list {
		out, _ = jsonrpc.Set(out, "list", []byte(`{}`))
	}
	if cancel {
		out, _ = jsonrpc.Set(out, "cancel", []byte(`{}`))
	}
	if call {
		out, _ = jsonrpc.Set(out, "requests", []byte(`{"tools":{"call":{}}}`))
	}
	return out
}
