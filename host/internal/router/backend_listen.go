package router

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// A 2026-07-28 backend sends list_changed and resources/updated only on a
// subscriptions/listen stream. The proxy keeps one open per such backend,
// asking for every list change and for the union of the resources its
// sessions subscribed to, and opens it again when that union changes.

// startListen opens the backend's listen stream, replacing any open one.
func (b *backend) startListen() {
	b.sup.mu.Lock()
	b.conn.mu.Lock()
	if b.sup.era != eraModern || b.conn.conn == nil || b.sup.state != StateRunning {
		b.conn.mu.Unlock()
		b.sup.mu.Unlock()
		return
	}
	c := b.conn
	old := c.listenID
	id := c.nextID.Add(1)
	c.listenID = id
	// No timer: the stream stays open until the proxy cancels it or the
	// connection ends.
	c.pending[id] = &pending{method: "subscriptions/listen", done: make(chan []byte, 1)}
	uris := make([]string, 0, len(c.subs))
	for u := range c.subs {
		uris = append(uris, u)
	}
	caps := b.sup.caps
	c.mu.Unlock()
	b.sup.mu.Unlock()
	sort.Strings(uris)
	if old != 0 {
		b.conn.drop(old)
		b.cancelRequest(old, "subscriptions changed")
	}
	filter := `{"toolsListChanged":` + strconv.FormatBool(gjson.GetBytes(caps, "tools.listChanged").Bool()) +
		`,"promptsListChanged":` + strconv.FormatBool(gjson.GetBytes(caps, "prompts.listChanged").Bool()) +
		`,"resourcesListChanged":` + strconv.FormatBool(gjson.GetBytes(caps, "resources.listChanged").Bool())
	if len(uris) > 0 {
		list, _ := json.Marshal(uris)
		filter += `,"resourceSubscriptions":` + string(list)
	}
	params := b.withProxyMeta([]byte(`{"notifications":` + filter + `}}`))
	if err := b.sendBounded(jsonrpc.Request(jsonrpc.Int(id), "subscriptions/listen", params)); err != nil {
		b.log.Debug("subscriptions/listen", "error", err)
	}
}

// subscribeModern adds or removes a session's interest in one of the
// backend's resources (by the backend's URI), re-listening when the union
// changes.
func (b *backend) subscribeModern(uri string, add bool) {
	c := b.conn
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[string]int{}
	}
	before := len(c.subs)
	if add {
		c.subs[uri]++
	} else if c.subs[uri] > 1 {
		c.subs[uri]--
	} else {
		delete(c.subs, uri)
	}
	changed := len(c.subs) != before
	c.mu.Unlock()
	if changed {
		b.startListen()
	}
}
