package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// EventActivity is the type of an event carrying one activity record.
const EventActivity = "activity"

// Activity limits for GET /api/v1/activity.
const (
	DefaultActivityLimit = 100
	MaxActivityLimit     = 10000
)

// ActivityRecord is one tools/call, prompts/get or resources/read a client
// made through the proxy: a line of the activity file, an entry of GET
// /api/v1/activity and the payload of an "activity" event. Arguments and
// Result are present only when the activity block includes them (secrets
// redacted); one larger than max_capture_bytes is left out, and its size
// given in ArgumentsBytes or ResultBytes.
type ActivityRecord struct {
	Seq           uint64    `json:"seq"` // grows by one per record since start
	Time          time.Time `json:"time"`
	Session       string    `json:"session"`
	ClientName    string    `json:"client_name,omitempty"`
	ClientVersion string    `json:"client_version,omitempty"`
	Profile       string    `json:"profile,omitempty"`
	Server        string    `json:"server"` // "" when the name reached no server
	Kind          string    `json:"kind"`   // tool, prompt or resource
	// Name is the backend's own tool or prompt name, or resource URI;
	// ExposedName is the one the client used.
	Name           string          `json:"name"`
	ExposedName    string          `json:"exposed_name"`
	Outcome        string          `json:"outcome"` // ok, error, tool_error, timeout or cancelled
	Code           int             `json:"code,omitempty"`
	DurationMs     float64         `json:"duration_ms"`
	RequestBytes   int             `json:"request_bytes"`
	ResponseBytes  int             `json:"response_bytes"`
	Arguments      json.RawMessage `json:"arguments,omitempty"`
	ArgumentsBytes int             `json:"arguments_bytes,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	ResultBytes    int             `json:"result_bytes,omitempty"`
}

// ActivityQuery selects records: each set field must match (Tool matches
// the backend's name or the exposed one); Limit bounds how many come back,
// newest first.
type ActivityQuery struct {
	Server  string
	Tool    string
	Outcome string
	Session string
	Limit   int
}

// Match says whether r is one q selects.
func (q ActivityQuery) Match(r *ActivityRecord) bool {
	return (q.Server == "" || r.Server == q.Server) &&
		(q.Tool == "" || r.Name == q.Tool || r.ExposedName == q.Tool) &&
		(q.Outcome == "" || r.Outcome == q.Outcome) &&
		(q.Session == "" || r.Session == q.Session)
}

// ActivityLog serves GET /api/v1/activity. A Control that implements it
// serves the endpoint; without it, it answers 501.
type ActivityLog interface {
	// Activity returns the recent records q selects, newest first.
	Activity(q ActivityQuery) ActivityList
}

// ActivityList answers GET /api/v1/activity. Kept is how many records the
// proxy keeps in memory (the activity block's recent), Dropped how many it
// lost since start because its writer fell behind.
type ActivityList struct {
	Records []ActivityRecord `json:"records"`
	Kept    int              `json:"kept"`
	Dropped uint64           `json:"dropped"`
}

func (s *Server) activity(w http.ResponseWriter, r *http.Request) {
	l, ok := s.ctl.(ActivityLog)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this proxy keeps no activity log")
		return
	}
	v := r.URL.Query()
	q := ActivityQuery{Server: v.Get("server"), Tool: v.Get("tool"), Outcome: v.Get("outcome"), Session: v.Get("session"),
		Limit: DefaultActivityLimit}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxActivityLimit {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to "+strconv.Itoa(MaxActivityLimit))
			return
		}
		q.Limit = n
	}
	switch q.Outcome {
	case "", "ok", "error", "tool_error", "timeout", "cancelled":
	default:
		writeError(w, http.StatusBadRequest, "outcome must be one of ok, error, tool_error, timeout, cancelled")
		return
	}
	list := l.Activity(q)
	list.Records = nonNil(list.Records)
	writeJSON(w, http.StatusOK, list)
}

// PartialActivity: the activity block's new settings could not be applied
// (its file could not be opened); the previous ones stay.
const PartialActivity = "activity"

// ConfigActivity is the activity block (its defaults when absent) in GET
// /api/v1/config.
type ConfigActivity struct {
	File             string `json:"file"` // "" when records are kept in memory only
	MaxBytes         int64  `json:"max_bytes"`
	MaxFiles         int    `json:"max_files"`
	Recent           int    `json:"recent"`
	IncludeArguments bool   `json:"include_arguments"`
	IncludeResults   bool   `json:"include_results"`
	MaxCaptureBytes  int    `json:"max_capture_bytes"`
}
