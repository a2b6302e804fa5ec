package tracestore

import (
	"fmt"
	"net/url"
	"strings"
)

// Fixed resources.
const (
	uriTopContexts        = "trace://quality/top-contexts"
	uriDeprecatedContexts = "trace://quality/deprecated-contexts"
	uriRecentFeedback     = "trace://quality/recent-feedback"
	uriStatsCache         = "trace://stats/cache"
	// uriRecentResponses takes an optional ?limit=N (1 to
	// maxRecentResponses).
	uriRecentResponses = "trace://responses/recent"
)

// Prefixes of the templated resources.
const (
	prefixResponse  = "trace://response/"
	prefixContext   = "trace://context/"
	prefixEvolution = "trace://evolution/"
)

// qualityURIs are the resources every feedback changes.
var qualityURIs = []string{uriTopContexts, uriDeprecatedContexts, uriRecentFeedback}

// escapeID percent-encodes everything but RFC 3986's unreserved characters,
// exactly as an RFC 6570 simple expansion of {id} does, so the URIs the
// plugin hands out are the ones a client expanding the template would
// build.
func escapeID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func responseURI(id string) string  { return prefixResponse + escapeID(id) }
func contextURI(id string) string   { return prefixContext + escapeID(id) }
func evolutionURI(id string) string { return prefixEvolution + escapeID(id) }

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
