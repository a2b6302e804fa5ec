package router

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// catalogKeeper holds the catalog the proxy exposes now, and rebuilds it
// from the backends' lists when one changes, telling the sessions which
// lists changed. Readers load the current catalog without a lock; mu
// serializes rebuilds, so that the last catalog stored saw every change.
type catalogKeeper struct {
	opts     Options // the name templates
	log      hclog.Logger
	backends *backendSet
	sessions *sessionSet

	mu      sync.Mutex
	current atomic.Pointer[catalog]
}

func newCatalogKeeper(opts Options, backends *backendSet, sessions *sessionSet) *catalogKeeper {
	k := &catalogKeeper{opts: opts, log: opts.Logger, backends: backends, sessions: sessions}
	k.current.Store(buildCatalog(opts, nil))
	return k
}

// load is the current catalog.
func (k *catalogKeeper) load() *catalog { return k.current.Load() }

// rebuild recomputes the catalog and, when notify is set, tells every
// session which lists changed.
func (k *catalogKeeper) rebuild(notify bool) {
	k.mu.Lock()
	old := k.current.Load()
	c := buildCatalog(k.opts, k.backends.all())
	k.current.Store(c)
	k.mu.Unlock()
	known := make(map[string]bool, len(old.collisions))
	for _, col := range old.collisions {
		known[col.Detail] = true
	}
	for _, col := range c.collisions {
		if known[col.Detail] {
			continue // logged when it first appeared; rebuilds are frequent
		}
		if col.Unprefixed {
			k.log.Error("name collision between servers with prefix = false", "detail", col.Detail)
		} else {
			k.log.Warn("name collision", "detail", col.Detail)
		}
	}
	k.logNewWarnings(old, c)
	if !notify {
		return
	}
	changed := map[string]bool{}
	if !bytes.Equal(old.clientToolsResult(), c.clientToolsResult()) {
		changed[listChanged[listTools]] = true
	}
	if !bytes.Equal(old.promptsResult, c.promptsResult) {
		changed[listChanged[listPrompts]] = true
	}
	if !bytes.Equal(old.resourcesResult, c.resourcesResult) || !bytes.Equal(old.templResult, c.templResult) {
		changed[listChanged[listResources]] = true
	}
	for _, method := range []string{listChanged[listTools], listChanged[listPrompts], listChanged[listResources]} {
		if changed[method] {
			k.sessions.broadcast(jsonrpc.Notification(method, nil))
		}
	}
}

// setToolMode switches between listing every tool and search mode, and
// tells the sessions when their tools list changed.
func (k *catalogKeeper) setToolMode(mode string, pinned []string) {
	k.mu.Lock()
	k.opts.ToolMode, k.opts.PinnedTools = mode, slices.Clone(pinned)
	k.mu.Unlock()
	k.rebuild(true)
}

// logNewWarnings logs the filter warnings c has that old had not; like
// collisions, each is logged once when it appears, not on every rebuild.
func (k *catalogKeeper) logNewWarnings(old, c *catalog) {
	for server, warnings := range c.warnings {
		for _, w := range warnings {
			if !slices.Contains(old.warnings[server], w) {
				k.log.Warn("server config does not fit what it lists", "server", server, "detail", w)
			}
		}
	}
}
