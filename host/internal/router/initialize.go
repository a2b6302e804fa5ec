package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/mcphost/mcphost/sdk/jsonrpc"
)

// backendProtocolVersion is what the proxy asks backends for: the newest
// initialize-era revision. Backends answer with the one they speak.
const backendProtocolVersion = "2025-11-25"

// proxyCapabilities are the client capabilities the proxy declares to
// backends: it can carry each of these to a client that has it.
const proxyCapabilities = `{"sampling":{},"elicitation":{"form":{},"url":{}},"roots":{"listChanged":true}}`

// era is what a backend was found to speak, learnt once and kept across
// reconnects (the spec's "cache the era per server").
type probedEra int

const (
	eraUnknown probedEra = iota
	eraLegacy            // initialize-based, 2025-11-25 and older
	eraModern            // 2026-07-28: server/discover, per-request _meta
)

// proxyMeta is the per-request _meta the proxy sends a 2026-07-28 backend
// for its own requests (discover, lists, health checks).
func (b *backend) proxyMeta() []byte {
	return []byte(`{"io.modelcontextprotocol/protocolVersion":"` + ModernVersion + `",` +
		`"io.modelcontextprotocol/clientCapabilities":` + proxyCapabilities + `,` +
		`"io.modelcontextprotocol/clientInfo":{"name":"mcphost","version":` + string(jsonrpc.String(b.router.opts.Version)) + `}}`)
}

// withProxyMeta adds the proxy's _meta to params, keeping other members.
func (b *backend) withProxyMeta(params []byte) []byte {
	if len(params) == 0 || string(params) == "null" {
		params = []byte(`{}`)
	}
	out, err := jsonrpc.Set(params, "_meta", b.proxyMeta())
	if err != nil {
		return params
	}
	return out
}

// initialize learns the backend's era and version and loads its lists: a
// 2026-07-28 backend answers server/discover; any other answer (or none
// in time) means an initialize-era backend, which gets the handshake.
func (b *backend) initialize(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.router.opts.StartTimeout)
	defer cancel()
	known := b.sup.knownEra()
	pinned := b.spec.ProtocolVersion
	if pinned == ModernVersion || pinned == "" && known != eraLegacy {
		ok, err := b.discover(ctx)
		if ok {
			return err
		}
		if ctx.Err() != nil || pinned == ModernVersion {
			return err
		}
		b.log.Debug("server/discover failed; using initialize", "error", err)
	}
	asked := backendProtocolVersion
	if pinned != "" {
		asked = pinned
	}
	params := `{"protocolVersion":"` + asked + `",` +
		`"capabilities":` + proxyCapabilities + `,` +
		`"clientInfo":{"name":"mcphost","version":` + string(jsonrpc.String(b.router.opts.Version)) + `}}`
	res, err := b.call(ctx, "initialize", []byte(params))
	if err != nil {
		return err
	}
	version := normalizeVersion(gjson.GetBytes(res, "protocolVersion").Str)
	if version == "" {
		return fmt.Errorf("initialize result has no protocolVersion")
	}
	b.sup.spoke(eraLegacy, "")
	caps := jsonrpc.Get(res, "capabilities")
	if err := b.send(ctx, jsonrpc.Notification("notifications/initialized", nil)); err != nil {
		return err
	}
	if level := b.router.levels.lowest(); level != "" && gjson.GetBytes(caps, "logging").Exists() && eraOf(version).stateful() {
		// A reconnected backend starts at its default level: restore the
		// one the sessions asked for.
		if _, err := b.call(ctx, "logging/setLevel", []byte(`{"level":`+string(jsonrpc.String(level))+`}`)); err != nil {
			b.log.Debug("logging/setLevel", "error", err)
		}
	}
	b.version.store(version)
	b.sup.useHealthMethod("ping")
	return b.loadLists(ctx, caps, jsonrpc.Get(res, "serverInfo"))
}

// loadLists fetches every list the backend's capabilities promise.
func (b *backend) loadLists(ctx context.Context, caps, serverInfo []byte) error {
	var lists [numLists][][]byte
	for k := listKind(0); k < numLists; k++ {
		if !hasListCapability(caps, k) {
			continue
		}
		var err error
		if lists[k], err = b.fetchList(ctx, k); err != nil {
			return err
		}
	}
	b.sup.learnt(caps, serverInfo, lists)
	return nil
}

// discoverTimeout bounds the server/discover probe: some initialize-era
// servers ignore methods they do not know instead of answering.
const discoverTimeout = 3 * time.Second

// discover probes the backend with server/discover. ok is true when it
// is a 2026-07-28 backend, and err then says whether setting it up
// worked. A legacy answer of any kind gives ok false.
func (b *backend) discover(ctx context.Context) (ok bool, err error) {
	probeCtx, cancel := context.WithTimeout(ctx, discoverTimeout)
	res, err := b.call(probeCtx, "server/discover", b.withProxyMeta(nil))
	cancel()
	if err != nil {
		var rerr *rpcError
		if !errors.As(err, &rerr) && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			// The connection failed: some legacy servers exit on a method
			// they do not know. Go straight to initialize next time.
			b.sup.spoke(eraLegacy, "")
		}
		return false, err
	}
	modern := false
	gjson.GetBytes(res, "supportedVersions").ForEach(func(_, v gjson.Result) bool {
		modern = v.Str == ModernVersion
		return !modern
	})
	if !modern {
		return false, fmt.Errorf("server/discover offers none of the versions the proxy speaks: %s", jsonrpc.Get(res, "supportedVersions"))
	}
	b.version.store(ModernVersion)
	b.sup.spoke(eraModern, "server/discover")
	if err := b.loadLists(ctx, jsonrpc.Get(res, "capabilities"), jsonrpc.Get(res, "_meta.io\\.modelcontextprotocol/serverInfo")); err != nil {
		// Perhaps not the server it was: probe again on the next attempt.
		b.sup.spoke(eraUnknown, "")
		return true, err
	}
	return true, nil
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
	caps, _ := b.sup.capabilities()
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
	if b.sup.relisted(fresh) {
		b.router.catalog.rebuild(true)
	}
}
