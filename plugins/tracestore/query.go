package tracestore

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Bounds on list outputs, so that one read stays small enough for a
// client's context window.
const (
	maxTraceFeedback    = 20
	defaultImpactLimit  = 100
	maxImpactLimit      = 1000
	topLimit            = 50
	deprecatedLimit     = 200
	recentFeedbackLimit = 50
)

// Status of a context in a response.
const (
	statusCurrent    = "current"    // the response used the context's head version
	statusSuperseded = "superseded" // a newer version has been delivered since
	statusExpired    = "expired"    // the version record is past retention
	statusUnrecorded = "unrecorded" // no unit event with this content was recorded
)

// qualityView is how a context's quality appears in every output.
type qualityView struct {
	Quality       float64 `json:"quality"`
	FeedbackCount uint32  `json:"feedback_count"`
	Deprecated    bool    `json:"deprecated"`
}

func (o options) quality(head *contextHead) qualityView {
	if head == nil {
		return qualityView{}
	}
	return qualityView{Quality: head.Quality, FeedbackCount: head.FeedbackCount, Deprecated: o.deprecated(head.Quality, head.FeedbackCount)}
}

// identityView says where a context came from.
type identityView struct {
	Type   string `json:"type,omitempty"`
	Server string `json:"server,omitempty"`
	Method string `json:"method,omitempty"`
	Name   string `json:"name,omitempty"`
	URI    string `json:"uri,omitempty"`
}

func identity(head *contextHead) identityView {
	if head == nil {
		return identityView{}
	}
	return identityView{Type: head.Type, Server: head.Server, Method: head.Method, Name: head.Name, URI: head.URI}
}

// traceContext is one context of a response.
type traceContext struct {
	ContextID   string  `json:"context_id"`
	Weight      float64 `json:"weight"`
	Version     uint32  `json:"version"`
	HeadVersion uint32  `json:"head_version"`
	Status      string  `json:"status"`
	identityView
	ContentHash     string  `json:"content_hash,omitempty"`
	Summary         string  `json:"summary,omitempty"`
	SizeBytes       int64   `json:"size_bytes"`
	TokenEstimate   int64   `json:"token_estimate"`
	RetrievalScore  float64 `json:"retrieval_score"`
	RetrievalSource string  `json:"retrieval_source,omitempty"`
	qualityView
	ContextURI string `json:"context_uri"`
}

type feedbackBrief struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
	Time  string  `json:"time"`
	User  string  `json:"user,omitempty"`
	Text  string  `json:"text,omitempty"`
}

// traceView is a response with its contexts: get_trace and
// trace://response/{id}.
type traceView struct {
	ResponseID     string          `json:"response_id"`
	Session        string          `json:"session,omitempty"`
	Profile        string          `json:"profile,omitempty"`
	Origin         string          `json:"origin"` // "client", or "admin" for the admin API's calls
	CreatedAt      string          `json:"created_at"`
	FinalizedAt    string          `json:"finalized_at"`
	UnitsDelivered uint32          `json:"units_delivered"`
	TokenEstimate  int64           `json:"token_estimate"`
	Contexts       []traceContext  `json:"contexts"`
	FeedbackCount  int             `json:"feedback_count"`
	Feedback       []feedbackBrief `json:"feedback"`
	ResourceURI    string          `json:"resource_uri"`
}

// trace builds the view of response id ("latest" resolved against
// session).
func (r views) trace(id, session string) (*traceView, error) {
	id, err := r.resolveResponse(id, session)
	if err != nil {
		return nil, err
	}
	resp, err := r.loadResponse(id)
	if err != nil {
		return nil, err
	}
	o := r.o
	tv := &traceView{
		ResponseID: resp.ID, Session: shownSession(resp.Session), Profile: resp.Profile, Origin: origin(resp.Session),
		CreatedAt: timeString(resp.Created), FinalizedAt: timeString(resp.Finalized),
		UnitsDelivered: resp.Delivered, Contexts: make([]traceContext, 0, len(resp.Units)), Feedback: []feedbackBrief{},
		ResourceURI: responseURI(resp.ID),
	}
	for _, u := range resp.Units {
		head, err := r.head(u.ContextID)
		if err != nil {
			return nil, err
		}
		tc := traceContext{
			ContextID: u.ContextID, Weight: u.Weight, Version: u.Version, ContentHash: u.ContentHash,
			identityView: identity(head), qualityView: o.quality(head), ContextURI: contextURI(u.ContextID),
		}
		if head != nil {
			tc.HeadVersion = head.HeadVersion
		}
		var ver *versionRec
		if u.Version > 0 {
			if ver, err = r.version(u.ContextID, u.Version); err != nil {
				return nil, err
			}
		}
		switch {
		case u.Version == 0:
			tc.Status = statusUnrecorded
		case ver == nil:
			tc.Status = statusExpired
		case u.Version == tc.HeadVersion:
			tc.Status = statusCurrent
		default:
			tc.Status = statusSuperseded
		}
		if ver != nil {
			tc.ContentHash, tc.Summary, tc.SizeBytes, tc.TokenEstimate = ver.ContentHash, ver.Summary, ver.SizeBytes, ver.TokenEstimate
			tc.RetrievalScore, tc.RetrievalSource = ver.RetrievalScore, ver.RetrievalSource
			tv.TokenEstimate += ver.TokenEstimate
		}
		tv.Contexts = append(tv.Contexts, tc)
	}
	sort.SliceStable(tv.Contexts, func(i, j int) bool {
		a, b := tv.Contexts[i], tv.Contexts[j]
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		return a.ContextID < b.ContextID
	})
	fbs, total, err := r.responseFeedback(resp.ID, maxTraceFeedback)
	if err != nil {
		return nil, err
	}
	tv.FeedbackCount = total
	for _, f := range fbs {
		tv.Feedback = append(tv.Feedback, feedbackBrief{ID: f.ID, Score: f.Score, Time: timeString(f.Time), User: f.User, Text: f.Text})
	}
	return tv, nil
}

// impactResponse is one response a context fed.
type impactResponse struct {
	ResponseID string  `json:"response_id"`
	Weight     float64 `json:"weight"`
	Version    uint32  `json:"version"`
	Time       string  `json:"time"`
}

// impactView is query_context_impact.
type impactView struct {
	ContextID   string `json:"context_id"`
	HeadVersion uint32 `json:"head_version"`
	identityView
	qualityView
	TotalResponses int              `json:"total_responses"`
	AvgWeight      float64          `json:"avg_weight"`
	MaxWeight      float64          `json:"max_weight"`
	Responses      []impactResponse `json:"responses"`
	Truncated      bool             `json:"truncated"`
	ContextURI     string           `json:"context_uri"`
}

// impact lists the responses ctx fed, newest first, up to limit (all are
// counted).
func (r views) impact(ctx string, limit int) (*impactView, error) {
	head, err := r.head(ctx)
	if err != nil {
		return nil, err
	}
	v := &impactView{
		ContextID: ctx, identityView: identity(head), qualityView: r.o.quality(head),
		Responses: []impactResponse{}, ContextURI: contextURI(ctx),
	}
	if head != nil {
		v.HeadVersion = head.HeadVersion
	}
	lin, err := r.lineage(ctx, limit)
	if err != nil {
		return nil, err
	}
	v.TotalResponses, v.MaxWeight = lin.Total, lin.Max
	for _, ir := range lin.Recent {
		v.Responses = append(v.Responses, impactResponse{ResponseID: ir.ResponseID, Weight: ir.Weight, Version: ir.Version, Time: timeString(ir.Time)})
	}
	if head == nil && v.TotalResponses == 0 {
		return nil, notFound("context %q not found (unknown or past retention)", ctx)
	}
	if v.TotalResponses > 0 {
		v.AvgWeight = lin.Sum / float64(v.TotalResponses)
	}
	v.Truncated = v.TotalResponses > len(v.Responses)
	return v, nil
}

// versionView is one version in an evolution history or context view.
type versionView struct {
	Version         uint32          `json:"version"`
	PreviousVersion uint32          `json:"previous_version,omitempty"`
	NextVersion     uint32          `json:"next_version,omitempty"`
	Current         bool            `json:"current"`
	ContentHash     string          `json:"content_hash"`
	CreatedAt       string          `json:"created_at"`
	LastSeenAt      string          `json:"last_seen_at"`
	SeenCount       uint32          `json:"seen_count"`
	Summary         string          `json:"summary,omitempty"`
	SizeBytes       int64           `json:"size_bytes"`
	TokenEstimate   int64           `json:"token_estimate"`
	RetrievalScore  float64         `json:"retrieval_score"`
	RetrievalSource string          `json:"retrieval_source,omitempty"`
	Meta            json.RawMessage `json:"meta,omitempty"`
	FirstResponseID string          `json:"first_response_id,omitempty"`
	FirstSession    string          `json:"first_session,omitempty"`
	ContentStored   bool            `json:"content_stored"`
}

func newVersionView(v *versionRec, head uint32) versionView {
	return versionView{
		Version: v.Version, PreviousVersion: v.Previous, Current: v.Version == head, ContentHash: v.ContentHash,
		CreatedAt: timeString(v.Created), LastSeenAt: timeString(v.LastSeen), SeenCount: v.SeenCount,
		Summary: v.Summary, SizeBytes: v.SizeBytes, TokenEstimate: v.TokenEstimate,
		RetrievalScore: v.RetrievalScore, RetrievalSource: v.RetrievalSource, Meta: v.Meta,
		FirstResponseID: v.FirstResponse, FirstSession: shownSession(v.FirstSession), ContentStored: v.ContentStored,
	}
}

// evolutionView is get_evolution_history and trace://evolution/{id}.
type evolutionView struct {
	ContextID   string `json:"context_id"`
	HeadVersion uint32 `json:"head_version"`
	identityView
	qualityView
	// ExpiredVersions counts versions before the oldest kept one that
	// are past retention.
	ExpiredVersions uint32        `json:"expired_versions"`
	Versions        []versionView `json:"versions"`
	EvolutionURI    string        `json:"evolution_uri"`
}

// evolution lists ctx's versions, oldest first, each linked to its
// neighbours.
func (r views) evolution(ctx string) (*evolutionView, error) {
	head, err := r.head(ctx)
	if err != nil {
		return nil, err
	}
	v := &evolutionView{
		ContextID: ctx, identityView: identity(head), qualityView: r.o.quality(head),
		Versions: []versionView{}, EvolutionURI: evolutionURI(ctx),
	}
	if head != nil {
		v.HeadVersion = head.HeadVersion
	}
	vers, err := r.versions(ctx)
	if err != nil {
		return nil, err
	}
	for _, vr := range vers {
		v.Versions = append(v.Versions, newVersionView(vr, v.HeadVersion))
	}
	if head == nil && len(v.Versions) == 0 {
		return nil, notFound("context %q not found (unknown or past retention)", ctx)
	}
	for i := range v.Versions {
		if i+1 < len(v.Versions) && v.Versions[i+1].PreviousVersion == v.Versions[i].Version {
			v.Versions[i].NextVersion = v.Versions[i+1].Version
		}
	}
	if len(v.Versions) > 0 {
		v.ExpiredVersions = v.Versions[0].Version - 1
	}
	return v, nil
}

// contextView is trace://context/{id}: the unit's identity, quality and
// head version, with its content when stored.
type contextView struct {
	ContextID string `json:"context_id"`
	identityView
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	ArgumentsBytes int             `json:"arguments_bytes,omitempty"`
	HeadVersion    uint32          `json:"head_version"`
	qualityView
	FirstSeenAt    string          `json:"first_seen_at"`
	LastSeenAt     string          `json:"last_seen_at"`
	LastFeedbackAt string          `json:"last_feedback_at,omitempty"`
	Head           *versionView    `json:"head,omitempty"`
	Content        json.RawMessage `json:"content,omitempty"`
	EvolutionURI   string          `json:"evolution_uri"`
}

func (r views) contextDetail(ctx string) (*contextView, error) {
	head, err := r.head(ctx)
	if err != nil {
		return nil, err
	}
	if head == nil {
		return nil, notFound("context %q not found (unknown or past retention)", ctx)
	}
	v := &contextView{
		ContextID: ctx, identityView: identity(head), Arguments: head.Arguments, ArgumentsBytes: head.ArgumentsBytes,
		HeadVersion: head.HeadVersion, qualityView: r.o.quality(head),
		FirstSeenAt: timeString(head.FirstSeen), LastSeenAt: timeString(head.LastSeen), LastFeedbackAt: timeString(head.LastFeedback),
		EvolutionURI: evolutionURI(ctx),
	}
	if head.HeadVersion == 0 {
		return v, nil
	}
	ver, err := r.version(ctx, head.HeadVersion)
	if err != nil || ver == nil {
		return v, err
	}
	hv := newVersionView(ver, head.HeadVersion)
	v.Head = &hv
	if ver.ContentStored {
		b, err := r.content(ctx, ver.Version)
		if err != nil {
			return nil, fmt.Errorf("read content of %s: %w", ctx, err)
		}
		if b != nil && !json.Valid(b) {
			// The host sends JSON; anything else is kept as a string.
			if b, err = json.Marshal(string(b)); err != nil {
				return nil, fmt.Errorf("encode content of %s: %w", ctx, err)
			}
		}
		v.Content = b
	}
	return v, nil
}

// rankedContext is a context in a quality list.
type rankedContext struct {
	ContextID string `json:"context_id"`
	qualityView
	identityView
	HeadVersion    uint32 `json:"head_version"`
	Summary        string `json:"summary,omitempty"`
	LastFeedbackAt string `json:"last_feedback_at,omitempty"`
	ContextURI     string `json:"context_uri"`
}

func (r views) ranked(head *contextHead) (rankedContext, error) {
	rc := rankedContext{
		ContextID: head.ID, qualityView: r.o.quality(head), identityView: identity(head), HeadVersion: head.HeadVersion,
		LastFeedbackAt: timeString(head.LastFeedback), ContextURI: contextURI(head.ID),
	}
	if head.HeadVersion > 0 {
		ver, err := r.version(head.ID, head.HeadVersion)
		if err != nil {
			return rc, err
		}
		if ver != nil {
			rc.Summary = ver.Summary
		}
	}
	return rc, nil
}

// topView is trace://quality/top-contexts.
type topView struct {
	Description string          `json:"description"`
	Limit       int             `json:"limit"`
	Contexts    []rankedContext `json:"contexts"`
}

func (r views) top() (*topView, error) {
	v := &topView{
		Description: "Rated contexts that are not deprecated, highest quality first.",
		Limit:       topLimit, Contexts: []rankedContext{},
	}
	err := r.rated(true, func(head *contextHead) (bool, error) {
		if r.o.deprecated(head.Quality, head.FeedbackCount) {
			return true, nil
		}
		rc, err := r.ranked(head)
		if err != nil {
			return false, err
		}
		v.Contexts = append(v.Contexts, rc)
		return len(v.Contexts) < topLimit, nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// deprecatedView is trace://quality/deprecated-contexts.
type deprecatedView struct {
	Description    string          `json:"description"`
	DeprecateBelow float64         `json:"deprecate_below"`
	MinFeedback    uint32          `json:"min_feedback"`
	Limit          int             `json:"limit"`
	Truncated      bool            `json:"truncated"`
	Contexts       []rankedContext `json:"contexts"`
}

func (r views) deprecatedList() (*deprecatedView, error) {
	o := r.o
	v := &deprecatedView{
		Description:    "Contexts whose quality is at or below deprecate_below after at least min_feedback feedbacks, lowest first.",
		DeprecateBelow: o.deprecateBelow, MinFeedback: o.minFeedback, Limit: deprecatedLimit, Contexts: []rankedContext{},
	}
	err := r.rated(false, func(head *contextHead) (bool, error) {
		if head.Quality > o.deprecateBelow {
			return false, nil
		}
		if head.FeedbackCount < o.minFeedback {
			return true, nil
		}
		if len(v.Contexts) == deprecatedLimit {
			v.Truncated = true
			return false, nil
		}
		rc, err := r.ranked(head)
		if err != nil {
			return false, err
		}
		v.Contexts = append(v.Contexts, rc)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// feedbackUpdateView is one quality update a feedback made, with the
// context's quality now.
type feedbackUpdateView struct {
	qualityUpdate
	Current qualityView `json:"current"`
}

// feedbackView is one feedback in trace://quality/recent-feedback.
type feedbackView struct {
	ID           string               `json:"id"`
	ResponseID   string               `json:"response_id"`
	Session      string               `json:"session,omitempty"`
	Score        float64              `json:"score"`
	Text         string               `json:"text,omitempty"`
	User         string               `json:"user,omitempty"`
	Time         string               `json:"time"`
	LearningRate float64              `json:"learning_rate"`
	Updates      []feedbackUpdateView `json:"updates"`
}

type recentFeedbackView struct {
	Description string         `json:"description"`
	Limit       int            `json:"limit"`
	Feedback    []feedbackView `json:"feedback"`
}

func (r views) recentFeedbackView() (*recentFeedbackView, error) {
	v := &recentFeedbackView{Description: "The latest feedback, newest first, with the quality updates each made.", Limit: recentFeedbackLimit, Feedback: []feedbackView{}}
	fbs, err := r.recentFeedback(recentFeedbackLimit)
	if err != nil {
		return nil, err
	}
	for _, f := range fbs {
		fv := feedbackView{
			ID: f.ID, ResponseID: f.ResponseID, Session: shownSession(f.Session), Score: f.Score, Text: f.Text, User: f.User,
			Time: timeString(f.Time), LearningRate: f.LearningRate, Updates: make([]feedbackUpdateView, 0, len(f.Updates)),
		}
		for _, u := range f.Updates {
			head, err := r.head(u.ContextID)
			if err != nil {
				return nil, err
			}
			fv.Updates = append(fv.Updates, feedbackUpdateView{qualityUpdate: u, Current: r.o.quality(head)})
		}
		v.Feedback = append(v.Feedback, fv)
	}
	return v, nil
}

// shownSessionLen is how much of a session id the views show. On HTTP a
// session's id is what lets a request into it, and any client may read
// these views, so they show the id's time prefix and a few random
// characters: enough to tell sessions apart, far too little to join one.
// Operators see whole ids in the admin API.
const shownSessionLen = 14

// shownSession is a session id as the views show it. An instance id
// before it ("<instance>.<id>", see proxy.instance_id) is shown whole: it
// tells which instance held the session and lets nobody in.
func shownSession(id string) string {
	instance, own := "", id
	if i := strings.LastIndex(id, "."); i >= 0 {
		instance, own = id[:i+1], id[i+1:]
	}
	return instance + own[:min(len(own), shownSessionLen)]
}
