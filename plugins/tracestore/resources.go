package tracestore

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
)

const mimeJSON = "application/json"

// resourceDefs and templateDefs are the MCP Resource and ResourceTemplate
// objects the plugin lists.
var (
	resourceDefs = []js{
		{"uri": uriTopContexts, "name": "top-contexts", "title": "Top contexts", "mimeType": mimeJSON,
			"description": "Rated context units that are not deprecated, highest quality first: sources worth relying on."},
		{"uri": uriDeprecatedContexts, "name": "deprecated-contexts", "title": "Deprecated contexts", "mimeType": mimeJSON,
			"description": "Context units whose quality fell to the deprecation threshold after repeated feedback: sources to avoid or double-check."},
		{"uri": uriRecentFeedback, "name": "recent-feedback", "title": "Recent feedback", "mimeType": mimeJSON,
			"description": "The latest feedback on responses, newest first, with the quality change each made."},
		{"uri": uriRecentResponses, "name": "recent-responses", "title": "Recent responses", "mimeType": mimeJSON,
			"description": "The latest finalized responses, newest first (at most 50; ?limit=N for 1 to 200), each with its session, profile (when it has one), origin (client, or admin for the admin API's calls), times, units delivered, token estimate and heaviest contexts with their weights."},
		{"uri": uriToolQuality, "name": "tool-quality", "title": "Tool quality", "mimeType": mimeJSON,
			"description": "What feedback taught about each tool's results: the mean quality of the tool's rated contexts weighted by their feedback, and how many are deprecated."},
		{"uri": uriStatsCache, "name": "cache-stats", "title": "Cache and store statistics", "mimeType": mimeJSON,
			"description": "Hits, misses, entries and evictions of the in-memory cache; Badger LSM and value log sizes; counts of contexts, versions, responses and feedback."},
	}
	templateDefs = []js{
		{"uriTemplate": prefixResponse + "{id}", "name": "response", "title": "Response trace", "mimeType": mimeJSON,
			"description": "A response with its contexts, weights, versions, quality scores and feedback."},
		{"uriTemplate": prefixContext + "{id}", "name": "context", "title": "Context unit", "mimeType": mimeJSON,
			"description": "A context unit: identity, quality, head version, and content when store_content is on."},
		{"uriTemplate": prefixEvolution + "{id}", "name": "evolution", "title": "Context evolution", "mimeType": mimeJSON,
			"description": "Every version of a context unit, oldest first, with hashes, times and links."},
	}
)

func marshalAll(defs []js) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(defs))
	for _, d := range defs {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode resource %v: %w", d["name"], err)
		}
		out = append(out, b)
	}
	return out, nil
}

func (p *Plugin) ListResources(context.Context, tracing.ListResourcesRequest) (tracing.ListResourcesResponse, error) {
	res, err := marshalAll(resourceDefs)
	if err != nil {
		return tracing.ListResourcesResponse{}, err
	}
	tpl, err := marshalAll(templateDefs)
	if err != nil {
		return tracing.ListResourcesResponse{}, err
	}
	return tracing.ListResourcesResponse{Resources: res, Templates: tpl}, nil
}

// ReadResource reads one of the plugin's resources. An unknown URI or id is
// an error, which the host returns as a JSON-RPC error.
func (p *Plugin) ReadResource(ctx context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	return forward(ctx, p,
		func(t tracing.Tracing) (tracing.ReadResourceResponse, error) { return t.ReadResource(ctx, req) },
		func() (tracing.ReadResourceResponse, error) { return p.readResourceLocal(ctx, req) })
}

func (p *Plugin) readResourceLocal(ctx context.Context, req tracing.ReadResourceRequest) (tracing.ReadResourceResponse, error) {
	var v any
	err := p.withBackend(func(b backend) error {
		var err error
		v, err = p.resource(ctx, b, req)
		return err
	})
	if err != nil {
		return tracing.ReadResourceResponse{}, fmt.Errorf("read %s: %w", req.URI, err)
	}
	text, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return tracing.ReadResourceResponse{}, fmt.Errorf("encode %s: %w", req.URI, err)
	}
	b, err := json.Marshal(js{"contents": []js{{"uri": req.URI, "mimeType": mimeJSON, "text": string(text)}}})
	if err != nil {
		return tracing.ReadResourceResponse{}, fmt.Errorf("encode %s: %w", req.URI, err)
	}
	return tracing.ReadResourceResponse{Result: b}, nil
}

// resource builds the view behind a URI.
func (p *Plugin) resource(ctx context.Context, b backend, req tracing.ReadResourceRequest) (any, error) {
	switch req.URI {
	case uriStatsCache:
		return p.stats(b)
	case uriTopContexts:
		return viewIn(ctx, b, views.top)
	case uriDeprecatedContexts:
		return viewIn(ctx, b, views.deprecatedList)
	case uriRecentFeedback:
		return viewIn(ctx, b, views.recentFeedbackView)
	case uriToolQuality:
		return viewIn(ctx, b, views.toolQuality)
	}
	if limit, ok, err := recentLimit(req.URI); ok {
		if err != nil {
			return nil, err
		}
		return viewIn(ctx, b, func(r views) (*recentResponsesView, error) { return r.recentResponsesView(limit) })
	}
	for _, t := range []struct {
		prefix string
		read   func(r views, id string) (any, error)
	}{
		{prefixResponse, func(r views, id string) (any, error) { return r.trace(id, req.Session) }},
		{prefixContext, func(r views, id string) (any, error) { return r.contextDetail(id) }},
		{prefixEvolution, func(r views, id string) (any, error) { return r.evolution(id) }},
	} {
		id, ok, err := templateID(req.URI, t.prefix)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		return viewIn(ctx, b, func(r views) (any, error) { return t.read(r, id) })
	}
	return nil, notFound("resource %q not found: the tracing plugin serves %s, %s, %s, %s, %s, %s and %s{id}, %s{id}, %s{id}",
		req.URI, uriTopContexts, uriDeprecatedContexts, uriRecentFeedback, uriRecentResponses, uriToolQuality, uriStatsCache, prefixResponse, prefixContext, prefixEvolution)
}

// cacheView is the cache half of trace://stats/cache. The counters span
// the plugin process (across reconfigurations); entries and capacity are
// the current cache's.
type cacheView struct {
	Capacity  int     `json:"capacity"`
	Entries   int     `json:"entries"`
	Hits      uint64  `json:"hits"`
	Misses    uint64  `json:"misses"`
	HitRatio  float64 `json:"hit_ratio"`
	Evictions uint64  `json:"evictions"`
	Expired   uint64  `json:"expired"`
}

type storeView struct {
	Dir          string `json:"dir"`
	Engine       string `json:"engine"`
	Retention    string `json:"retention"`
	StoreContent bool   `json:"store_content"`
	SyncWrites   bool   `json:"sync_writes"`
	diskUsage
	storeCounts
	CountedAt string `json:"counted_at"`
}

type ingestView struct {
	EventsRecorded     map[string]uint64 `json:"events_recorded"`
	EventsSkipped      map[string]uint64 `json:"events_skipped"`
	VersionsCreated    uint64            `json:"versions_created"`
	ResponsesFinalized uint64            `json:"responses_finalized"`
	Feedback           uint64            `json:"feedback"`
}

type statsView struct {
	Cache  cacheView  `json:"cache"`
	Store  storeView  `json:"store"`
	Ingest ingestView `json:"ingest"`
}

func (p *Plugin) stats(b backend) (*statsView, error) {
	cv, sv, err := b.storeStats(p)
	if err != nil {
		return nil, err
	}
	v := &statsView{
		Cache: cv,
		Store: sv,
		Ingest: ingestView{
			EventsRecorded: map[string]uint64{}, EventsSkipped: map[string]uint64{},
			VersionsCreated: p.m.versions.Get(), ResponsesFinalized: p.m.finalized.Get(), Feedback: p.m.feedback.Get(),
		},
	}
	if total := v.Cache.Hits + v.Cache.Misses; total > 0 {
		v.Cache.HitRatio = float64(v.Cache.Hits) / float64(total)
	}
	for k, ctr := range p.m.recorded {
		v.Ingest.EventsRecorded[k] = ctr.Get()
	}
	for k, ctr := range p.m.skipped {
		v.Ingest.EventsSkipped[k] = ctr.Get()
	}
	return v, nil
}

func retentionString(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return d.String()
}

// sameDir reports whether dir (an open store's resolved directory) is
// where path points.
func sameDir(dir, path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return abs == dir
}
