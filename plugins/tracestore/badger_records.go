package tracestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// The Badger store's records and writer: what the shared views and
// ingestion read and write, on the key layout of the package doc.

var (
	_ records      = (*reader)(nil)
	_ recordWriter = (*writer)(nil)
	_ backend      = (*store)(nil)
)

func (s *store) options() options { return s.opts }

func (s *store) view(_ context.Context, fn func(r records) error) error {
	return s.viewTxn(func(r *reader) error { return fn(r) })
}

// write ignores lock: the plugin is the store's only writer.
func (s *store) write(_ context.Context, _ []string, fn func(w recordWriter) error) error {
	return s.writeTxn(func(w *writer) error { return fn(w) })
}

func (s *store) storeStats(p *Plugin) (cacheView, storeView, error) {
	counts, at, err := s.counts()
	if err != nil {
		return cacheView{}, storeView{}, err
	}
	c := p.m.cache
	cv := cacheView{
		Capacity: s.opts.cacheEntries, Entries: s.cache.len(),
		Hits: c.hits.Get(), Misses: c.misses.Get(), Evictions: c.evictions.Get(), Expired: c.expired.Get(),
	}
	sv := storeView{
		Dir: s.dir, Engine: "badger/v4", Retention: retentionString(s.opts.retention),
		StoreContent: s.opts.storeContent, SyncWrites: s.opts.syncWrites,
		diskUsage: s.usage(), storeCounts: counts, CountedAt: at.UTC().Format(time.RFC3339Nano),
	}
	return cv, sv, nil
}

// head reads a context head, nil if unknown (or a hash collision).
func (r *reader) head(ctx string) (*contextHead, error) {
	head, err := load[contextHead](r, contextKey(ctx))
	if err != nil || head == nil || head.ID != ctx {
		return nil, err
	}
	return head, nil
}

func (r *reader) version(ctx string, v uint32) (*versionRec, error) {
	return load[versionRec](r, versionKey(ctx, v))
}

// versionOf finds the version of ctx recorded with contentHash through the
// hash index, else the head version if the hash is its own (or not
// given); 0 if there is none.
func (r *reader) versionOf(ctx, contentHash string) (uint32, error) {
	if contentHash != "" {
		item, err := r.txn.Get(hashKey(ctx, contentHash))
		if err == nil {
			var v uint32
			err = item.Value(func(b []byte) error {
				if len(b) != 4 {
					return fmt.Errorf("hash index entry of %d bytes", len(b))
				}
				v = binary.BigEndian.Uint32(b)
				return nil
			})
			if err != nil {
				return 0, fmt.Errorf("read hash index of %s: %w", ctx, err)
			}
			return v, nil
		}
	}
	head, err := r.head(ctx)
	if err != nil || head == nil {
		return 0, err
	}
	if contentHash == "" || head.HeadHash == contentHash {
		return head.HeadVersion, nil
	}
	return 0, nil
}

// scanJSON calls fn with each JSON record under prefix, decoded, newest
// first when reverse, until fn returns false; what names the records in
// errors.
func scanJSON[T any](r *reader, prefix []byte, reverse bool, what string, fn func(rec *T) (bool, error)) error {
	return r.scan(prefix, reverse, true, func(_ []byte, item *badger.Item) (bool, error) {
		rec := new(T)
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, rec) }); err != nil {
			return false, fmt.Errorf("decode %s: %w", what, err)
		}
		return fn(rec)
	})
}

func (r *reader) versions(ctx string) ([]*versionRec, error) {
	var out []*versionRec
	err := scanJSON(r, versionPrefix(ctx), false, "version of "+ctx, func(vr *versionRec) (bool, error) {
		if vr.ContextID == ctx {
			out = append(out, vr)
		}
		return true, nil
	})
	return out, err
}

func (r *reader) content(ctx string, v uint32) ([]byte, error) {
	item, err := r.txn.Get(contentKey(ctx, v))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (r *reader) latest(session string) (*latestRec, error) {
	key := latestKey(session)
	if session == tracing.OperatorSession {
		key = metaLatestKey
	}
	return loadJSON[latestRec](r, key)
}

func (r *reader) response(id string) (*responseRec, error) {
	rec, err := load[responseRec](r, responseKey(id))
	if err != nil || rec == nil || rec.ID != id {
		return nil, err
	}
	return rec, nil
}

func (r *reader) responseFeedback(id string, limit int) ([]respFeedback, int, error) {
	var out []respFeedback
	total := 0
	err := r.scan(respFeedbackPrefix(id), true, true, func(_ []byte, item *badger.Item) (bool, error) {
		total++
		if len(out) >= limit {
			return true, nil
		}
		var f respFeedback
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &f) }); err != nil {
			return false, fmt.Errorf("decode feedback of %s: %w", id, err)
		}
		out = append(out, f)
		return true, nil
	})
	return out, total, err
}

func (r *reader) lineage(ctx string, limit int) (lineageSummary, error) {
	var l lineageSummary
	err := scanJSON(r, impactPrefix(ctx), true, "lineage of "+ctx, func(ir *impactRec) (bool, error) {
		l.Total++
		l.Sum += ir.Weight
		l.Max = max(l.Max, ir.Weight)
		if len(l.Recent) < limit {
			l.Recent = append(l.Recent, *ir)
		}
		return true, nil
	})
	return l, err
}

// rated walks the quality index, skipping entries that are not current.
func (r *reader) rated(desc bool, fn func(head *contextHead) (bool, error)) error {
	return r.scan([]byte{tagQuality}, desc, true, func(key []byte, item *badger.Item) (bool, error) {
		q := qualityOf(key)
		id, err := item.ValueCopy(nil)
		if err != nil {
			return false, fmt.Errorf("read quality index: %w", err)
		}
		head, err := r.head(string(id))
		if err != nil {
			return false, err
		}
		// An entry whose context expired, or was re-rated from scratch
		// after expiring, is stale.
		if head == nil || head.FeedbackCount == 0 || head.Quality != q {
			return true, nil
		}
		return fn(head)
	})
}

func (r *reader) recentFeedback(limit int) ([]*feedbackRec, error) {
	var out []*feedbackRec
	err := scanJSON(r, []byte{tagFeedback}, true, "feedback", func(f *feedbackRec) (bool, error) {
		out = append(out, f)
		return len(out) < limit, nil
	})
	return out, err
}

// recentResponses skips responses past retention, and those finalized
// before the time index existed (stores written by an older plugin).
func (r *reader) recentResponses(limit int) ([]*responseRec, error) {
	var out []*responseRec
	err := scanJSON(r, []byte{tagRecent}, true, "recent response", func(l *latestRec) (bool, error) {
		resp, err := r.response(l.ResponseID)
		if err != nil {
			return false, err
		}
		if resp != nil {
			out = append(out, resp)
		}
		return len(out) < limit, nil
	})
	return out, err
}

func (w *writer) open(resp string) (*openResponse, error) {
	return loadJSON[openResponse](&w.reader, openKey(resp))
}

func (w *writer) putOpen(resp string, o *openResponse) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode open response: %w", err)
	}
	ttl := w.s.opts.retention
	if ttl == 0 {
		ttl = openTTL
	}
	return w.set(openKey(resp), b, ttl, nil)
}

func (w *writer) deleteOpen(resp string) error { return w.del(openKey(resp)) }

func (w *writer) putHead(head *contextHead) error {
	if err := w.put(contextKey(head.ID), head, true); err != nil {
		return err
	}
	if head.FeedbackCount > 0 {
		// Rewritten with the head so that a rated context stays ranked as
		// long as it lives.
		return w.set(qualityKey(head.Quality, head.ID), []byte(head.ID), w.s.opts.retention, nil)
	}
	return nil
}

// lockResponses has nothing to do: the plugin is the store's only writer,
// one transaction at a time.
func (w *writer) lockResponses([]string) error { return nil }

func (w *writer) putVersion(v *versionRec) error {
	if err := w.put(versionKey(v.ContextID, v.Version), v, true); err != nil {
		return err
	}
	return w.set(hashKey(v.ContextID, v.ContentHash), be32(v.Version), w.s.opts.retention, nil)
}

func (w *writer) putContent(ctx string, v uint32, content []byte) error {
	return w.set(contentKey(ctx, v), content, w.s.opts.retention, nil)
}

func (w *writer) putResponse(rec, old *responseRec) error {
	id, now := rec.ID, rec.Finalized
	if old != nil {
		if err := w.del(recentKey(old.Finalized, id)); err != nil {
			return err
		}
		for _, u := range old.Units {
			if err := w.del(impactKey(u.ContextID, old.Finalized, id)); err != nil {
				return err
			}
		}
	}
	for _, u := range rec.Units {
		if err := w.put(impactKey(u.ContextID, now, id), impactRec{ResponseID: id, Weight: u.Weight, Version: u.Version, Time: now}, false); err != nil {
			return err
		}
	}
	if err := w.put(responseKey(id), rec, true); err != nil {
		return err
	}
	if err := w.put(recentKey(now, id), latestRec{ResponseID: id, Time: now}, false); err != nil {
		return err
	}
	latest, err := loadJSON[latestRec](&w.reader, latestKey(rec.Session))
	if err != nil {
		return err
	}
	if latest == nil || latest.Time <= now {
		if err := w.put(latestKey(rec.Session), latestRec{ResponseID: id, Time: now}, false); err != nil {
			return err
		}
	}
	newest, err := loadJSON[latestRec](&w.reader, metaLatestKey)
	if err != nil {
		return err
	}
	if newest == nil || newest.Time <= now {
		if err := w.put(metaLatestKey, latestRec{ResponseID: id, Time: now}, false); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) putFeedback(fb *feedbackRec) error {
	if err := w.put(feedbackKey(fb.Time, fb.ID), fb, false); err != nil {
		return err
	}
	if err := w.put(respFeedbackKey(fb.ResponseID, fb.Time, fb.ID), briefOf(fb), false); err != nil {
		return err
	}
	w.delta.Feedback++
	return nil
}

func (w *writer) created(d storeCounts) { w.delta.add(d) }

// notify does nothing: no one else writes a Badger store, so the plugin's
// own calls report every change.
func (w *writer) notify([]string) {}

// rate applies score s to one unit of a response.
func (w *writer) rate(u responseUnit, s float64, now int64) (qualityUpdate, error) {
	o := w.s.opts
	old, err := w.head(u.ContextID)
	if err != nil {
		return qualityUpdate{}, err
	}
	var head contextHead
	created := old == nil
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
