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
	b.mu.Lock()
	if b.era != eraModern || b.conn == nil || b.state != StateRunning {
		b.mu.Unlock()
		return
	}
	old := b.listenID
	id := b.nextID.Add(1)
	b.listenID = id
	// No timer: the stream stays open until the proxy cancels it or the
	// connection ends.
	b.pending[id] = &pending{method: "subscriptions/listen", done: make(chan []byte, 1)}
	uris := make([]string, 0, len(b.subs))
	for u := range b.subs {
		uris = append(uris, u)
	}
	caps := b.caps
	b.mu.Unlock()
	sort.Strings(uris)
	if old != 0 {
		b.drop(old)
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
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[string]int{}
	}
	before := len(b.subs)
	if add {
		b.subs[uri]++
	} else if b.subs[uri] > 1 {
		b.subs[uri]--
	} else {
		delete(b.subs, uri)
	}
	changed := len(b.subs) != before
	b.mu.Unlock()
	if changed {
		b.startListen()
	}
}
