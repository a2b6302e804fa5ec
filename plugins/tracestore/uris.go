package tracestore

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// Fixed resources.
const (
	uriTopContexts        = "trace://quality/top-contexts"
	uriDeprecatedContexts = "trace://quality/deprecated-contexts"
	uriRecentFeedback     = "trace://quality/recent-feedback"
	uriStatsCache         = "trace://stats/cache"
	uriToolQuality        = tracing.ResourceToolQuality
	// uriRecentResponses takes an optional ?limit=N (1 to
	// maxRecentResponses).
	uriRecentResponses = tracing.ResourceRecentResponses
)

// Prefixes of the templated resources (the SDK's contract).
const (
	prefixResponse  = tracing.ResourceResponsePrefix
	prefixContext   = tracing.ResourceContextPrefix
	prefixEvolution = tracing.ResourceEvolutionPrefix
)

// qualityURIs are the resources every feedback changes.
var qualityURIs = []string{uriTopContexts, uriDeprecatedContexts, uriRecentFeedback, uriToolQuality}

// The URIs the plugin hands out are the ones a client expanding the
// templates would build (tracing.ResourceURI).
func responseURI(id string) string  { return tracing.ResourceURI(prefixResponse, id) }
func contextURI(id string) string   { return tracing.ResourceURI(prefixContext, id) }
func evolutionURI(id string) string { return tracing.ResourceURI(prefixEvolution, id) }

// templateID returns the id of a templated resource URI under prefix.
func templateID(uri, prefix string) (string, bool, error) {
	rest, ok := strings.CutPrefix(uri, prefix)
	if !ok {
		return "", false, nil
	}
	id, err := url.PathUnescape(rest)
	if err != nil {
		return "", true, fmt.Errorf("resource %q: bad escape in id: %w", uri, err)
	}
	if id == "" {
		return "", true, fmt.Errorf("resource %q: empty id", uri)
	}
	return id, true, nil
}

// uriSet collects changed URIs in first-seen order.
type uriSet struct {
	seen map[string]bool
	list []string
}

func (s *uriSet) add(uris ...string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, u := range uris {
		if !s.seen[u] {
			s.seen[u] = true
			s.list = append(s.list, u)
		}
	}
}
