package tracestore

import (
	"math"
	"sort"
	"time"

	"github.com/mcphost/mcphost/sdk/tracing"
	"github.com/mcphost/mcphost/sdk/weighting"
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

// batch records one Record batch through a store's writer. It remembers,
// for the rest of the batch, what it recorded: the version of each
// (context, content hash) and the open responses. A response's units and
// its finalization usually come in one batch, so these spare a store read
// per unit.
type batch struct {
	w        recordWriter
	o        options
	versions map[versionRef]uint32
	opens    map[string]*openResponse
}

type versionRef struct{ ctx, hash string }

// lockOrder is the contexts a batch writes, in the order a shared store
// locks them: sorted, so that concurrent batches cannot deadlock.
func lockOrder(events []tracing.Event) []string {
	seen := map[string]bool{}
	var ids []string
	for i := range events {
		switch e := &events[i]; e.Kind {
		case tracing.EventToolResult, tracing.EventResource, tracing.EventPrompt:
			if e.ContextID != "" && !seen[e.ContextID] {
				seen[e.ContextID] = true
				ids = append(ids, e.ContextID)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// responseIDs are the responses a batch writes: those it finalizes and
// those its units count toward.
func responseIDs(events []tracing.Event) []string {
	seen := map[string]bool{}
	var ids []string
	for i := range events {
		if id := events[i].ResponseID; id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func newBatch(w recordWriter, o options) *batch {
	return &batch{w: w, o: o, versions: map[versionRef]uint32{}, opens: map[string]*openResponse{}}
}

// recordUnit stores a unit event (tool result, resource or prompt): a new
// version of its context if the content hash changed, otherwise a refresh
// of the head version. It reports whether a version was created.
func (w *batch) recordUnit(ev *tracing.Event) (bool, error) {
	now := eventTime(ev)
	hash := ev.ContentHash
	if hash == "" {
		// The host always hashes; hashing here (as the host does) keeps
		// versioning right for an event that reached us without one.
		hash = tracing.ContentHash(ev.Content)
	}
	id := ev.ContextID
	old, err := w.w.head(id)
	if err != nil {
		return false, err
	}
	var head contextHead
	if old != nil {
		head = *old
	} else {
		head = contextHead{ID: id, FirstSeen: now}
		w.w.created(storeCounts{Contexts: 1})
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
		w.w.created(storeCounts{Versions: 1})
	} else {
		cur, err := w.w.version(id, head.HeadVersion)
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

	if w.o.storeContent && len(ev.Content) > 0 && len(ev.Content) <= maxContentBytes {
		// Rewriting the content on every sighting would churn the value
		// log; it is written when new and refreshed once half its
		// retention has passed, so it never expires before its version.
		ret := w.o.retention
		stale := ret > 0 && time.Duration(now-lastWrite) > ret/2
		if created || !ver.ContentStored || stale {
			if err := w.w.putContent(id, ver.Version, ev.Content); err != nil {
				return false, err
			}
			ver.ContentStored = true
		}
	}
	if err := w.w.putVersion(&ver); err != nil {
		return false, err
	}
	w.versions[versionRef{id, hash}] = ver.Version
	if err := w.w.putHead(&head); err != nil {
		return false, err
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
func (w *batch) trackOpen(ev *tracing.Event, now int64) error {
	o := w.opens[ev.ResponseID]
	if o == nil {
		var err error
		if o, err = w.w.open(ev.ResponseID); err != nil {
			return err
		}
	}
	if o == nil {
		done, err := w.w.response(ev.ResponseID)
		if err != nil {
			return err
		}
		if done != nil {
			// A unit of a response already finalized: a trace's next
			// batch, or a batch sent again. Not counted here (a batch
			// sent again would count twice): the response event that
			// follows merges it and counts the contexts it adds.
			return nil
		}
		o = &openResponse{Session: ev.Session, Profile: ev.Profile, First: now}
		w.w.created(storeCounts{Open: 1})
	}
	o.Units++
	o.First = min(o.First, now)
	w.opens[ev.ResponseID] = o
	return w.w.putOpen(ev.ResponseID, o)
}

// resolveVersion finds the version of ctx whose content hash the host sent
// in a response event; 0 if no unit event with that content was recorded.
func (w *batch) resolveVersion(ctx, contentHash string) (uint32, error) {
	if v, ok := w.versions[versionRef{ctx, contentHash}]; ok {
		return v, nil
	}
	return w.w.versionOf(ctx, contentHash)
}

// finalize stores a response event: the response with its units resolved to
// versions, the reverse lineage, and the session's latest response. A
// response finalized again (a trace's, whose units come batch by batch
// from any session, copy or instance; or a batch sent twice) is merged
// into the earlier record: see mergeResponse.
func (w *batch) finalize(ev *tracing.Event) error {
	now := eventTime(ev)
	id := ev.ResponseID
	old, err := w.w.response(id)
	if err != nil {
		return err
	}
	if old == nil {
		w.w.created(storeCounts{Responses: 1})
	}
	rec := &responseRec{ID: id, Session: ev.Session, Profile: ev.Profile, Created: now, Finalized: now}
	open := w.opens[id]
	if open == nil {
		if open, err = w.w.open(id); err != nil {
			return err
		}
	}
	delete(w.opens, id)
	if open != nil {
		rec.Created, rec.Delivered = min(open.First, now), open.Units
		setIf(&rec.Session, open.Session)
		if rec.Profile == "" {
			rec.Profile = open.Profile
		}
		if err := w.w.deleteOpen(id); err != nil {
			return err
		}
		w.w.created(storeCounts{Open: -1})
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
	if old != nil {
		mergeResponse(rec, old, open != nil)
	}
	return w.w.putResponse(rec, old)
}

// mergeResponse merges old, the stored record of a response finalized
// again, into rec, the one just built from the event. Nothing recorded is
// lost, and recording the same units again changes nothing:
//
//   - the event's units (S) keep their weights relative to each other, and
//     together weigh what they weighed in old plus 1/N for each unit new to
//     the response (N units in all after the merge);
//   - a unit only old has keeps its weight (another writer's, which the
//     event's weighing did not see);
//   - the weights are then scaled to sum to 1.
//
// The tracing plugin weighs a stored response over all its units (the
// stored ones join the event: joinStoredUnits), so S is usually all of
// them and the weights are the weighing's; without that (no host, or a
// concurrent writer), the rule keeps the proportions both sides gave.
//
// The response keeps its first creation time and takes the session of its
// latest units (that session's latest response is this one), and their
// profile, or the stored one when they came on the main path. Delivered
// adds the unit events counted since the last merge (counted: an open
// record was kept) or, when there were none (units of a response already
// finalized are not counted as they come), the contexts the event adds.
func mergeResponse(rec, old *responseRec, counted bool) {
	rec.Created = min(rec.Created, old.Created)
	if rec.Profile == "" {
		rec.Profile = old.Profile
	}
	n := len(rec.Units)
	inEvent := make([]float64, n)
	index := make(map[string]int, n+len(old.Units))
	for i, u := range rec.Units {
		index[u.ContextID] = i
		inEvent[i] = u.Weight
	}
	inEvent = weighting.Normalize(inEvent)
	inOld := make(map[string]bool, len(old.Units))
	var massS float64
	for _, u := range old.Units {
		inOld[u.ContextID] = true
		i, ok := index[u.ContextID]
		if !ok {
			index[u.ContextID] = len(rec.Units)
			rec.Units = append(rec.Units, u)
			continue
		}
		massS += unit01(u.Weight)
		if ru := &rec.Units[i]; u.Version > ru.Version {
			ru.Version, ru.ContentHash = u.Version, u.ContentHash
		}
	}
	added := uint32(0)
	for _, u := range rec.Units[:n] {
		if !inOld[u.ContextID] {
			added++
		}
	}
	massS += float64(added) / float64(len(rec.Units))
	weights := make([]float64, len(rec.Units))
	for i, u := range rec.Units {
		weights[i] = u.Weight
		if i < n {
			weights[i] = inEvent[i] * massS
		}
	}
	for i, wt := range weighting.Normalize(weights) {
		rec.Units[i].Weight = wt
	}
	if counted {
		rec.Delivered += old.Delivered
	} else {
		rec.Delivered = old.Delivered + added
	}
}
