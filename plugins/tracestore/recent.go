package tracestore

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// Bounds of trace://responses/recent.
const (
	defaultRecentResponses = 50
	maxRecentResponses     = 200
	// recentTopContexts is how many of a response's contexts the list
	// shows (the heaviest); trace://response/{id} has them all.
	recentTopContexts = 5
)

// Origins of a response.
const (
	originClient = "client"
	// originAdmin marks a response to requests an operator made through
	// the host's admin API (tracing.IsOperatorCall of its session).
	originAdmin = "admin"
)

// origin says whose requests a response answered.
func origin(session string) string {
	if tracing.IsOperatorCall(session) {
		return originAdmin
	}
	return originClient
}

// recentContext is one of a listed response's heaviest contexts.
type recentContext struct {
	ContextID string  `json:"context_id"`
	Weight    float64 `json:"weight"`
	identityView
	ContextURI string `json:"context_uri"`
}

// recentResponse is one response of trace://responses/recent.
type recentResponse struct {
	ResponseID     string          `json:"response_id"`
	Session        string          `json:"session,omitempty"`
	Profile        string          `json:"profile,omitempty"`
	Origin         string          `json:"origin"`
	CreatedAt      string          `json:"created_at"`
	FinalizedAt    string          `json:"finalized_at"`
	UnitsDelivered uint32          `json:"units_delivered"`
	Contexts       int             `json:"contexts"`
	TokenEstimate  int64           `json:"token_estimate"`
	TopContexts    []recentContext `json:"top_contexts"`
	ResourceURI    string          `json:"resource_uri"`
}

// recentResponsesView is trace://responses/recent.
type recentResponsesView struct {
	Description string           `json:"description"`
	Limit       int              `json:"limit"`
	Responses   []recentResponse `json:"responses"`
}

// recentLimit reads the optional ?limit= of a trace://responses/recent URI;
// ok is false for any other URI.
func recentLimit(uri string) (limit int, ok bool, err error) {
	rest, found := strings.CutPrefix(uri, uriRecentResponses)
	if !found || (rest != "" && rest[0] != '?') {
		return 0, false, nil
	}
	limit = defaultRecentResponses
	if rest == "" {
		return limit, true, nil
	}
	q, err := url.ParseQuery(rest[1:])
	if err != nil {
		return 0, true, fmt.Errorf("resource %q: bad query: %w", uri, err)
	}
	for k := range q {
		if k != "limit" {
			return 0, true, fmt.Errorf("resource %q: unknown parameter %q (only limit)", uri, k)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRecentResponses {
			return 0, true, fmt.Errorf("resource %q: limit must be an integer from 1 to %d", uri, maxRecentResponses)
		}
		limit = n
	}
	return limit, true, nil
}

// recentResponses lists the newest finalized responses, newest first, up
// to limit. Responses finalized before the time index existed (stores
// written by an older plugin) are not listed.
func (r views) recentResponsesView(limit int) (*recentResponsesView, error) {
	v := &recentResponsesView{
		Description: "The latest finalized responses, newest first, each with its heaviest contexts; origin admin marks requests an operator made through the admin API.",
		Limit:       limit, Responses: []recentResponse{},
	}
	resps, err := r.recentResponses(limit)
	if err != nil {
		return nil, err
	}
	for _, resp := range resps {
		rr, err := r.recentEntry(resp)
		if err != nil {
			return nil, err
		}
		v.Responses = append(v.Responses, rr)
	}
	return v, nil
}

func (r views) recentEntry(resp *responseRec) (recentResponse, error) {
	rr := recentResponse{
		ResponseID: resp.ID, Session: shownSession(resp.Session), Profile: resp.Profile, Origin: origin(resp.Session),
		CreatedAt: timeString(resp.Created), FinalizedAt: timeString(resp.Finalized), UnitsDelivered: resp.Delivered,
		Contexts: len(resp.Units), TopContexts: []recentContext{}, ResourceURI: responseURI(resp.ID),
	}
	units := append([]responseUnit(nil), resp.Units...)
	sort.SliceStable(units, func(i, j int) bool {
		if units[i].Weight != units[j].Weight {
			return units[i].Weight > units[j].Weight
		}
		return units[i].ContextID < units[j].ContextID
	})
	for i, u := range units {
		if u.Version > 0 {
			ver, err := r.version(u.ContextID, u.Version)
			if err != nil {
				return rr, err
			}
			if ver != nil {
				rr.TokenEstimate += ver.TokenEstimate
			}
		}
		if i >= recentTopContexts {
			continue
		}
		head, err := r.head(u.ContextID)
		if err != nil {
			return rr, err
		}
		rr.TopContexts = append(rr.TopContexts, recentContext{
			ContextID: u.ContextID, Weight: u.Weight, identityView: identity(head), ContextURI: contextURI(u.ContextID),
		})
	}
	return rr, nil
}
