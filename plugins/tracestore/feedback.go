package tracestore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// applyFeedback is the quality update of the package doc:
// q' = q + r·w·(s − q), with w and s clamped to their ranges and r·w capped
// at 1, so that q' is a convex combination of q and s and stays in [-1, 1].
func applyFeedback(q, w, s, r float64) float64 {
	w = unit01(w)
	if math.IsNaN(s) {
		return q
	}
	s = math.Max(-1, math.Min(1, s))
	k := math.Min(r*w, 1)
	if !(k > 0) {
		return q
	}
	q2 := q + k*(s-q)
	q2 = math.Max(-1, math.Min(1, q2))
	if q2 == 0 {
		// Normalize −0, whose index key would differ from 0's.
		return 0
	}
	return q2
}

// deprecated reports whether a context with quality q after n feedbacks is
// deprecated under o.
func (o options) deprecated(q float64, n uint32) bool {
	return n >= o.minFeedback && q <= o.deprecateBelow
}

// latestAlias is the response id that means the calling session's latest
// finalized response.
const latestAlias = tracing.LatestResponse

// notFoundError is a lookup of something that does not exist; tools report
// it to the client as a tool error.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func notFound(format string, a ...any) error { return &notFoundError{msg: fmt.Sprintf(format, a...)} }

// resolveResponse turns "latest" into the session's latest finalized
// response id; for the operator (tracing.OperatorSession), the newest of
// any session.
func (r views) resolveResponse(id, session string) (string, error) {
	if id != latestAlias && id != "" {
		return id, nil
	}
	l, err := r.latest(session)
	if err != nil {
		return "", err
	}
	if l == nil {
		return "", notFound("no finalized response yet for this session; a response is finalized when its turn ends (feedback, an idle gap or the unit cap)")
	}
	return l.ResponseID, nil
}

// loadResponse reads a finalized response, as a notFoundError if unknown.
func (r views) loadResponse(id string) (*responseRec, error) {
	rec, err := r.response(id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, notFound("response %q not found (unknown, not finalized yet, or past retention)", id)
	}
	return rec, nil
}

// feedbackInput is a submit_feedback call.
type feedbackInput struct {
	ResponseID string
	Session    string
	Score      float64
	Text       string
	User       string
}

// newFeedbackID returns a random feedback id.
func newFeedbackID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("feedback id: %w", err)
	}
	return "fb_" + hex.EncodeToString(b[:]), nil
}

// submitFeedback stores a feedback on a response and moves the quality of
// every context that fed it. The contexts are rated in the order of their
// ids, the order every writer locks them in, so that concurrent writers to
// a shared store cannot deadlock.
func submitFeedback(w recordWriter, o options, in feedbackInput) (*feedbackRec, error) {
	fbID, err := newFeedbackID()
	if err != nil {
		return nil, err
	}
	r := views{records: w, o: o}
	id, err := r.resolveResponse(in.ResponseID, in.Session)
	if err != nil {
		return nil, err
	}
	resp, err := r.loadResponse(id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	fb := &feedbackRec{
		ID: fbID, ResponseID: id, Session: in.Session, Score: in.Score, Text: in.Text, User: in.User,
		Time: now, LearningRate: o.learningRate, Updates: make([]qualityUpdate, len(resp.Units)),
	}
	order := make([]int, len(resp.Units))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return resp.Units[order[a]].ContextID < resp.Units[order[b]].ContextID })
	for _, i := range order {
		up, err := w.rate(resp.Units[i], in.Score, now)
		if err != nil {
			return nil, err
		}
		fb.Updates[i] = up
	}
	if len(fb.Updates) == 0 {
		fb.Updates = nil
	}
	if err := w.putFeedback(fb); err != nil {
		return nil, err
	}
	return fb, nil
}

// briefOf is the copy of a feedback shown with its response.
func briefOf(f *feedbackRec) respFeedback {
	return respFeedback{ID: f.ID, Score: f.Score, Time: f.Time, User: f.User, Text: truncateUTF8(f.Text, maxSummaryBytes)}
}
