package tracestore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// eventTime is when the event happened, by the host's clock, or now if the
// host did not say.
func eventTime(ev *tracing.Event) int64 {
	if ev.TimeUnixNano > 0 {
		return ev.TimeUnixNano
	}
	return time.Now().UnixNano()
}

// unit01 maps a score to [0, 1]; NaN counts as 0.
func unit01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

// recordUnit stores a unit event (tool result, resource or prompt): a new
// version of its context if the content hash changed, otherwise a refresh
// of the head version. It reports whether a version was created.
func (w *writer) recordUnit(ev *tracing.Event) (bool, error) {
	now := eventTime(ev)
	hash := ev.ContentHash
	if hash == "" {
		// The host always hashes; hashing here (as the host does) keeps
		// versioning right for an event that reached us without one.
		hash = tracing.ContentHash(ev.Content)
	}
	id := ev.ContextID
	old, err := load[contextHead](&w.reader, contextKey(id))
	if err != nil {
		return false, err
	}
	var head contextHead
	if old != nil && old.ID == id {
		head = *old
	} else {
		head = contextHead{ID: id, FirstSeen: now}
		w.delta.Contexts++
	}
	// Descriptive fields follow the latest sighting; the identity (id)
	// already pins server, tool and arguments.
	setIf(&head.Type, ev.ContextType)
	setIf(&head.Server, ev.Server)
	setIf(&head.Method, ev.Method)
	setIf(&head.Name, ev.Name)
	setIf(&head.URI, ev.URI)
	if n := max(len(ev.Arguments), int(ev.ArgumentsBytes)); n > 0 {
		// The host leaves out large arguments but always says their size.
		head.Arguments = boundedJSON(ev.Arguments, maxArgumentsBytes)
		head.ArgumentsBytes = n
	}
	head.LastSeen = max(head.LastSeen, now)

	var ver versionRec
	created := head.HeadVersion == 0 || head.HeadHash != hash
	if created {
		// A change of content, even back to an earlier one, is a new
		// version: the chain records what was delivered, in order.
		ver = versionRec{
			ContextID: id, Version: head.HeadVersion + 1, Previous: head.HeadVersion, ContentHash: hash,
			Created: now, FirstResponse: ev.ResponseID, FirstSession: ev.Session,
		}
		head.HeadVersion, head.HeadHash = ver.Version, hash
		w.delta.Versions++
	} else {
		cur, err := load[versionRec](&w.reader, versionKey(id, head.HeadVersion))
		if err != nil {
			return false, err
		}
		if cur != nil {
			ver = *cur
		} else {
			// The head outlived its version record (feedback refreshed
			// the head after the version's last sighting): restore it.
			ver = versionRec{
				ContextID: id, Version: head.HeadVersion, Previous: head.HeadVersion - 1, ContentHash: hash,
				Created: now, FirstResponse: ev.ResponseID, FirstSession: ev.Session,
			}
		}
	}
	lastWrite := ver.LastSeen
	ver.LastSeen = max(ver.LastSeen, now)
	ver.SeenCount++
	if ev.Summary != "" {
		ver.Summary = truncateUTF8(ev.Summary, maxSummaryBytes)
	}
	ver.SizeBytes = ev.SizeBytes
	if ver.SizeBytes == 0 {
		ver.SizeBytes = int64(len(ev.Content))
	}
	if ev.TokenEstimate > 0 {
		ver.TokenEstimate = ev.TokenEstimate
	}
	// The retrieval score belongs to the request as much as to the
	// content, so the latest sighting's is kept.
	ver.RetrievalScore = unit01(ev.RetrievalScore)
	setIf(&ver.RetrievalSource, ev.RetrievalSource)
	if m := boundedJSON(ev.Meta, maxMetaBytes); m != nil {
		ver.Meta = m
	}

	if w.s.opts.storeContent && len(ev.Content) > 0 && len(ev.Content) <= maxContentBytes {
		// Rewriting the content on every sighting would churn the value
		// log; it is written when new and refreshed once half its
		// retention has passed, so it never expires before its version.
		ret := w.s.opts.retention
		stale := ret > 0 && time.Duration(now-lastWrite) > ret/2
		if created || !ver.ContentStored || stale {
			if err := w.set(contentKey(id, ver.Version), ev.Content, ret, nil); err != nil {
				return false, err
			}
			ver.ContentStored = true
		}
	}
	if err := w.put(versionKey(id, ver.Version), &ver, true); err != nil {
		return false, err
	}
	if err := w.set(hashKey(id, hash), be32(ver.Version), w.s.opts.retention, nil); err != nil {
		return false, err
	}
	w.versions[versionRef{id, hash}] = ver.Version
	if err := w.put(contextKey(id), &head, true); err != nil {
		return false, err
	}
	if head.FeedbackCount > 0 {
		// Rewritten with the head so that a rated context stays ranked as
		// long as it lives.
		if err := w.set(qualityKey(head.Quality, id), []byte(id), w.s.opts.retention, nil); err != nil {
			return false, err
		}
	}
	if ev.ResponseID != "" {
		if err := w.trackOpen(ev, now); err != nil {
			return false, err
		}
	}
	return created, nil
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// trackOpen counts a unit toward its still open response.
func (w *writer) trackOpen(ev *tracing.Event, now int64) error {
	key := openKey(ev.ResponseID)
	o := w.opens[ev.ResponseID]
	if o == nil {
		var err error
		if o, err = loadJSON[openResponse](&w.reader, key); err != nil {
			return err
		}
	}
	if o == nil {
		done, err := load[responseRec](&w.reader, responseKey(ev.ResponseID))
		if err != nil {
			return err
		}
		if done != nil {
			// A late unit of a finalized response; the host never sends
			// one, and an open record for it would never be closed.
			return nil
		}
		o = &openResponse{Session: ev.Session, First: now}
		w.delta.Open++
	}
	o.Units++
	o.First = min(o.First, now)
	w.opens[ev.ResponseID] = o
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode open response: %w", err)
	}
	ttl := w.s.opts.retention
	if ttl == 0 {
		ttl = openTTL
	}
	return w.set(key, b, ttl, nil)
}

// resolveVersion finds the version of ctx whose content hash the host sent
// in a response event; 0 if no unit event with that content was recorded.
func (w *writer) resolveVersion(ctx, contentHash string) (uint32, error) {
	if v, ok := w.versions[versionRef{ctx, contentHash}]; ok {
		return v, nil
	}
	return w.reader.versionOf(ctx, contentHash)
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
	head, err := load[contextHead](r, contextKey(ctx))
	if err != nil || head == nil || head.ID != ctx {
		return 0, err
	}
	if contentHash == "" || head.HeadHash == contentHash {
		return head.HeadVersion, nil
	}
	return 0, nil
}

// finalize stores a response event: the response with its units resolved to
// versions, the reverse lineage, and the session's latest response. A
// response finalized again replaces the earlier record and its lineage.
func (w *writer) finalize(ev *tracing.Event) error {
	now := eventTime(ev)
	id := ev.ResponseID
	old, err := load[responseRec](&w.reader, responseKey(id))
	if err != nil {
		return err
	}
	if old != nil && old.ID == id {
		if err := w.del(recentKey(old.Finalized, id)); err != nil {
			return err
		}
		for _, u := range old.Units {
			if err := w.del(impactKey(u.ContextID, old.Finalized, id)); err != nil {
				return err
			}
		}
	} else {
		old = nil
		w.delta.Responses++
	}
	rec := &responseRec{ID: id, Session: ev.Session, Created: now, Finalized: now}
	open := w.opens[id]
	if open == nil {
		if open, err = loadJSON[openResponse](&w.reader, openKey(id)); err != nil {
			return err
		}
	}
	delete(w.opens, id)
	switch {
	case open != nil:
		rec.Created, rec.Delivered = min(open.First, now), open.Units
		setIf(&rec.Session, open.Session)
		if err := w.del(openKey(id)); err != nil {
			return err
		}
		w.delta.Open--
	case old != nil:
		rec.Created, rec.Delivered = old.Created, old.Delivered
	}

	// One entry per context: the reverse index has one key per (context,
	// response), and feedback moves a context once per response.
	index := map[string]int{}
	for _, u := range ev.Units {
		if u.ContextID == "" {
			continue
		}
		v, err := w.resolveVersion(u.ContextID, u.ContentHash)
		if err != nil {
			return err
		}
		wt := unit01(u.Weight)
		if i, ok := index[u.ContextID]; ok {
			ru := &rec.Units[i]
			ru.Weight = min(ru.Weight+wt, 1)
			if v > ru.Version {
				ru.Version, ru.ContentHash = v, u.ContentHash
			}
			continue
		}
		index[u.ContextID] = len(rec.Units)
		rec.Units = append(rec.Units, responseUnit{ContextID: u.ContextID, Version: v, ContentHash: u.ContentHash, Weight: wt})
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
