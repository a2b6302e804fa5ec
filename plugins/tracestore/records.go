package tracestore

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Bounds on what one record keeps, so that a single odd event cannot bloat
// every read of its context.
const (
	maxSummaryBytes   = 500
	maxArgumentsBytes = 16 << 10
	maxMetaBytes      = 4 << 10
	maxTextBytes      = 4096
	maxUserBytes      = 256
)

// contextHead is a context unit's identity and current state. Quality lives
// here, not on a version: feedback judges the source, and a new version of
// it inherits its standing.
type contextHead struct {
	ID     string `json:"id"`
	Type   string `json:"type,omitempty"`
	Server string `json:"server,omitempty"`
	Method string `json:"method,omitempty"`
	Name   string `json:"name,omitempty"`
	URI    string `json:"uri,omitempty"`
	// Arguments are kept only up to maxArgumentsBytes; ArgumentsBytes is
	// always the full size.
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	ArgumentsBytes int             `json:"arguments_bytes,omitempty"`
	HeadVersion    uint32          `json:"head_version"`
	HeadHash       string          `json:"head_hash,omitempty"`
	FirstSeen      int64           `json:"first_seen"`
	LastSeen       int64           `json:"last_seen"`
	Quality        float64         `json:"quality"`
	FeedbackCount  uint32          `json:"feedback_count"`
	LastFeedback   int64           `json:"last_feedback,omitempty"`
}

// versionRec is one version of a context unit.
type versionRec struct {
	ContextID string `json:"context_id"`
	Version   uint32 `json:"version"`
	// Previous is the version this one replaced; 0 for the first.
	Previous        uint32          `json:"previous,omitempty"`
	ContentHash     string          `json:"content_hash"`
	Summary         string          `json:"summary,omitempty"`
	SizeBytes       int64           `json:"size_bytes"`
	TokenEstimate   int64           `json:"token_estimate"`
	RetrievalScore  float64         `json:"retrieval_score"`
	RetrievalSource string          `json:"retrieval_source,omitempty"`
	Meta            json.RawMessage `json:"meta,omitempty"`
	Created         int64           `json:"created"`
	LastSeen        int64           `json:"last_seen"`
	SeenCount       uint32          `json:"seen_count"`
	FirstResponse   string          `json:"first_response,omitempty"`
	FirstSession    string          `json:"first_session,omitempty"`
	ContentStored   bool            `json:"content_stored,omitempty"`
}

// openResponse tracks a response whose units are arriving: the response
// event that finalizes it carries only weights.
type openResponse struct {
	Session string `json:"session,omitempty"`
	Profile string `json:"profile,omitempty"`
	First   int64  `json:"first"`
	Units   uint32 `json:"units"`
}

// responseRec is a finalized response.
type responseRec struct {
	ID      string `json:"id"`
	Session string `json:"session,omitempty"`
	// Profile is the profile its session was opened for; "" on the main
	// path.
	Profile   string `json:"profile,omitempty"`
	Created   int64  `json:"created"`
	Finalized int64  `json:"finalized"`
	// Delivered counts the unit events recorded for the response, which
	// may differ from len(Units) if the host dropped some.
	Delivered uint32         `json:"delivered"`
	Units     []responseUnit `json:"units"`
}

type responseUnit struct {
	ContextID string `json:"context_id"`
	// Version is 0 when no unit event with this content was recorded (the
	// host drops events it cannot queue).
	Version     uint32  `json:"version"`
	ContentHash string  `json:"content_hash,omitempty"`
	Weight      float64 `json:"weight"`
}

// impactRec is a reverse-lineage entry: a response a context fed.
type impactRec struct {
	ResponseID string  `json:"response_id"`
	Weight     float64 `json:"weight"`
	Version    uint32  `json:"version"`
	Time       int64   `json:"time"`
}

type latestRec struct {
	ResponseID string `json:"response_id"`
	Time       int64  `json:"time"`
}

// feedbackRec is one feedback and what it did.
type feedbackRec struct {
	ID           string          `json:"id"`
	ResponseID   string          `json:"response_id"`
	Session      string          `json:"session,omitempty"`
	Score        float64         `json:"score"`
	Text         string          `json:"text,omitempty"`
	User         string          `json:"user,omitempty"`
	Time         int64           `json:"time"`
	LearningRate float64         `json:"learning_rate"`
	Updates      []qualityUpdate `json:"updates"`
}

type qualityUpdate struct {
	ContextID     string  `json:"context_id"`
	Weight        float64 `json:"weight"`
	Before        float64 `json:"quality_before"`
	After         float64 `json:"quality"`
	FeedbackCount uint32  `json:"feedback_count"`
	Deprecated    bool    `json:"deprecated"`
}

// respFeedback is the small copy of a feedback kept under its response.
type respFeedback struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
	Time  int64   `json:"time"`
	User  string  `json:"user,omitempty"`
	Text  string  `json:"text,omitempty"`
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// boundedJSON returns raw if it is valid JSON of at most n bytes, else nil.
func boundedJSON(raw json.RawMessage, n int) json.RawMessage {
	if len(raw) == 0 || len(raw) > n || !json.Valid(raw) {
		return nil
	}
	return append(json.RawMessage(nil), raw...)
}

// timeString formats unix nanoseconds for output; 0 is "".
func timeString(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}
