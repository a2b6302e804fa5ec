package tracestore

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
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
func (r *reader) resolveResponse(id, session string) (string, error) {
	if id != latestAlias && id != "" {
		return id, nil
	}
	key := latestKey(session)
	if session == tracing.OperatorSession {
		key = metaLatestKey
	}
	l, err := loadJSON[latestRec](r, key)
	if err != nil {
		return "", err
	}
	if l == nil {
		return "", notFound("no finalized response yet for this session; a response is finalized when its turn ends (feedback, an idle gap or the unit cap)")
	}
	return l.ResponseID, nil
}

// loadResponse reads a finalized response, as a notFoundError if unknown.
func (r *reader) loadResponse(id string) (*responseRec, error) {
	rec, err := load[responseRec](r, responseKey(id))
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.ID != id {
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
// every context that fed it.
func (s *store) submitFeedback(in feedbackInput) (*feedbackRec, error) {
	fbID, err := newFeedbackID()
	if err != nil {
		return nil, err
	}
	var out *feedbackRec
	err = s.write(func(w *writer) error {
		id, err := w.resolveResponse(in.ResponseID, in.Session)
		if err != nil {
			return err
		}
		resp, err := w.loadResponse(id)
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		fb := &feedbackRec{
			ID: fbID, ResponseID: id, Session: in.Session, Score: in.Score, Text: in.Text, User: in.User,
			Time: now, LearningRate: s.opts.learningRate,
		}
		for _, u := range resp.Units {
			up, err := w.rate(u, in.Score, now)
			if err != nil {
				return err
			}
			fb.Updates = append(fb.Updates, up)
		}
		if err := w.put(feedbackKey(now, fbID), fb, false); err != nil {
			return err
		}
		small := respFeedback{ID: fbID, Score: in.Score, Time: now, User: in.User, Text: truncateUTF8(in.Text, maxSummaryBytes)}
		if err := w.put(respFeedbackKey(id, now, fbID), small, false); err != nil {
			return err
		}
		w.delta.Feedback++
		out = fb
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rate applies score s to one unit of a response.
func (w *writer) rate(u responseUnit, s float64, now int64) (qualityUpdate, error) {
	o := w.s.opts
	old, err := load[contextHead](&w.reader, contextKey(u.ContextID))
	if err != nil {
		return qualityUpdate{}, err
	}
	var head contextHead
	created := old == nil || old.ID != u.ContextID
	if created {
		// The context's unit event was dropped by the host or has passed
		// retention: it still fed the response, so it is still rated.
		head = contextHead{ID: u.ContextID, FirstSeen: now, LastSeen: now}
	} else {
		head = *old
	}
	before := head.Quality
	up := qualityUpdate{ContextID: u.ContextID, Weight: u.Weight, Before: before}
	if !(u.Weight > 0) {
		// A context that did not weigh in is not touched: its quality and
		// feedback count stay as they were.
		up.After, up.FeedbackCount = before, head.FeedbackCount
		up.Deprecated = o.deprecated(before, head.FeedbackCount)
		return up, nil
	}
	if head.FeedbackCount > 0 {
		if err := w.del(qualityKey(before, u.ContextID)); err != nil {
			return qualityUpdate{}, err
		}
	}
	head.Quality = applyFeedback(before, u.Weight, s, o.learningRate)
	head.FeedbackCount++
	head.LastFeedback = now
	if err := w.put(contextKey(u.ContextID), &head, true); err != nil {
		return qualityUpdate{}, err
	}
	if created {
		w.delta.Contexts++
	}
	if err := w.set(qualityKey(head.Quality, u.ContextID), []byte(u.ContextID), o.retention, nil); err != nil {
		return qualityUpdate{}, err
	}
	up.After, up.FeedbackCount = head.Quality, head.FeedbackCount
	up.Deprecated = o.deprecated(head.Quality, head.FeedbackCount)
	return up, nil
}
