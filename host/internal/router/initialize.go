package router

import (
	"context"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// backendProtocolVersion is what the proxy asks backends for: the newest
// initialize-era revision. Backends answer with the one they speak.
const backendProtocolVersion = "2025-11-25"

// initialize performs the MCP handshake with the backend and loads its lists.
func (b *backend) initialize(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.router.opts.StartTimeout)
	defer cancel()
	params := `{"protocolVersion":"` + backendProtocolVersion + `",` +
		`"capabilities":{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{"listChanged":true}},` +
		`"clientInfo":{"name":"mcphost","version":` + string(jsonrpc.String(b.router.opts.Version)) + `}}`
	res, err := b.call(ctx, "initialize", []byte(params))
	if err != nil {
		return err
	}
	version := gjson.GetBytes(res, "protocolVersion").Str
	if version == "" {
		return fmt.Errorf("initialize result has no protocolVersion")
	}
	caps := jsonrpc.Get(res, "capabilities")
	if err := b.send(jsonrpc.Notification("notifications/initialized", nil)); err != nil {
		return err
	}
	if level := b.router.minLogLevel(); level != "" && gjson.GetBytes(caps, "logging").Exists() {
		// A reconnected backend starts at its default level: restore the
		// one the sessions asked for.
		if _, err := b.call(ctx, "logging/setLevel", []byte(`{"level":`+string(jsonrpc.String(level))+`}`)); err != nil {
			b.log.Debug("logging/setLevel", "error", err)
		}
	}
	var lists [numLists][][]byte
	for k := listKind(0); k < numLists; k++ {
		if !hasListCapability(caps, k) {
			continue
		}
		if lists[k], err = b.fetchList(ctx, k); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.version, b.caps, b.serverInfo, b.lists = version, caps, jsonrpc.Get(res, "serverInfo"), lists
	b.mu.Unlock()
	return nil
}

func hasListCapability(caps []byte, k listKind) bool {
	switch k {
	case listTools:
		return gjson.GetBytes(caps, "tools").Exists()
	case listPrompts:
		return gjson.GetBytes(caps, "prompts").Exists()
	default:
		return gjson.GetBytes(caps, "resources").Exists()
	}
}

// fetchList reads a whole list, following the backend's pagination.
func (b *backend) fetchList(ctx context.Context, k listKind) ([][]byte, error) {
	var items [][]byte
	cursor := ""
	for page := 0; ; page++ {
		params := []byte(`{}`)
		if cursor != "" {
			params = []byte(`{"cursor":` + string(jsonrpc.String(cursor)) + `}`)
		}
		res, err := b.call(ctx, listMethods[k], params)
		if err != nil {
			if k == listTemplates && page == 0 {
				// Servers with resources but no templates may not know the method.
				return nil, nil
			}
			return nil, err
		}
		gjson.GetBytes(res, listFields[k]).ForEach(func(_, v gjson.Result) bool {
			items = append(items, []byte(v.Raw))
			return true
		})
		next := gjson.GetBytes(res, "nextCursor").Str
		if next == "" || next == cursor || page > 10000 {
			return items, nil
		}
		cursor = next
	}
}

// relist reloads some lists after the backend said they changed.
func (b *backend) relist(kinds ...listKind) {
	ctx, cancel := context.WithTimeout(context.Background(), b.spec.Timeout)
	defer cancel()
	b.mu.Lock()
	caps := b.caps
	b.mu.Unlock()
	fresh := map[listKind][][]byte{}
	for _, k := range kinds {
		if !hasListCapability(caps, k) {
			continue
		}
		items, err := b.fetchList(ctx, k)
		if err != nil {
			b.log.Warn("re-listing after list_changed failed", "list", listMethods[k], "error", err)
			continue
		}
		fresh[k] = items
	}
	b.mu.Lock()
	if b.state != StateRunning {
		b.mu.Unlock()
		return
	}
	for k, items := range fresh {
		b.lists[k] = items
	}
	b.mu.Unlock()
	b.router.rebuild(true)
}
