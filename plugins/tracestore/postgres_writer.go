package tracestore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// pgWriter changes the PostgreSQL store in one transaction. Its reads go
// to the database, through what the transaction has written so far; its
// writes are kept and sent together, a statement per table, with the
// notification of what changed, when the batch is done (flush).
type pgWriter struct {
	*pgReader
	s     *pgStore
	queue *pgx.Batch
	// What this transaction wrote (or, for heads, read while locking), for
	// its own reads: a nil value is a row known absent.
	heads     map[string]*contextHead
	vers      map[string]*versionRec
	contents  map[string][]byte
	opens     map[string]*openResponse
	responses map[string]*responseRec
	// The records written, by key, sent at flush in their last state.
	dirtyHeads, dirtyVers, dirtyOpens, dirtyResponses map[string]bool
	changed                                           uriSet
}

func newPgWriter(ctx context.Context, tx pgx.Tx, s *pgStore) *pgWriter {
	return &pgWriter{
		pgReader: &pgReader{ctx: ctx, tx: tx}, s: s, queue: &pgx.Batch{},
		heads: map[string]*contextHead{}, vers: map[string]*versionRec{}, contents: map[string][]byte{},
		opens: map[string]*openResponse{}, responses: map[string]*responseRec{},
		dirtyHeads: map[string]bool{}, dirtyVers: map[string]bool{}, dirtyOpens: map[string]bool{}, dirtyResponses: map[string]bool{},
	}
}

func versionKeyOf(ctx string, v uint32) string {
	return ctx + "\x00" + strconv.FormatUint(uint64(v), 10)
}

// responseLockClass is the first key of the advisory locks on responses
// (the two-key form, whose keys do not overlap the one-key form's):
// "mctr" in ASCII. The second is a hash of the response id.
const responseLockClass int32 = 0x6d637472

// lockResponses takes the transaction's advisory locks on the responses of
// ids, in the order of their keys, after the contexts (lock): a batch that
// merges into a response (finalize) or counts its units (trackOpen) then
// reads what the previous writer committed, never the same old state as
// a concurrent one. Two ids with one key share a lock, which is only
// slower.
func (w *pgWriter) lockResponses(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := w.tx.Exec(w.ctx, `SELECT pg_advisory_xact_lock($2, k) FROM
		(SELECT DISTINCT hashtext(id) AS k FROM unnest($1::text[]) AS id ORDER BY 1) AS keys`, ids, responseLockClass); err != nil {
		return fmt.Errorf("lock responses: %w", err)
	}
	return nil
}

// lock creates the rows of new contexts among ids (sorted) and locks all
// of them, in order, for the rest of the transaction; the heads it reads
// serve the batch's reads.
func (w *pgWriter) lock(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := w.tx.Exec(w.ctx, "INSERT INTO contexts (id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (id) DO NOTHING", ids); err != nil {
		return fmt.Errorf("create context rows: %w", err)
	}
	// The head versions come along: a unit seen again refreshes its.
	rows, err := w.tx.Query(w.ctx, `SELECT c.rec, c.first_seen, c.quality, c.feedback_count, c.last_feedback, c.id,
			mcphost_live(c.expires_at), v.rec
		FROM contexts c LEFT JOIN versions v ON v.context_id = c.id AND v.version = (c.rec->>'head_version')::integer
			AND mcphost_live(v.expires_at)
		WHERE c.id = ANY($1) ORDER BY c.id FOR UPDATE OF c`, ids)
	if err != nil {
		return fmt.Errorf("lock contexts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h contextHead
		var raw, ver []byte
		var n int32
		var live bool
		if err := rows.Scan(&raw, &h.FirstSeen, &h.Quality, &n, &h.LastFeedback, &id, &live, &ver); err != nil {
			return fmt.Errorf("lock contexts: %w", err)
		}
		if h.FirstSeen == 0 || !live {
			w.heads[id] = nil
			continue
		}
		q, first, last := h.Quality, h.FirstSeen, h.LastFeedback
		if err := json.Unmarshal(raw, &h); err != nil {
			return fmt.Errorf("decode context: %w", err)
		}
		h.Quality, h.FirstSeen, h.LastFeedback, h.FeedbackCount = q, first, last, uint32(n)
		w.heads[id] = &h
		if ver != nil {
			var v versionRec
			if err := json.Unmarshal(ver, &v); err != nil {
				return fmt.Errorf("decode version: %w", err)
			}
			w.vers[versionKeyOf(id, v.Version)] = &v
		}
	}
	return rows.Err()
}

func (w *pgWriter) head(ctx string) (*contextHead, error) {
	if h, ok := w.heads[ctx]; ok {
		return h, nil
	}
	return w.pgReader.head(ctx)
}

func (w *pgWriter) version(ctx string, v uint32) (*versionRec, error) {
	if rec, ok := w.vers[versionKeyOf(ctx, v)]; ok {
		return rec, nil
	}
	return w.pgReader.version(ctx, v)
}

func (w *pgWriter) versionOf(ctx, contentHash string) (uint32, error) {
	return versionOfVia(w.pgReader, w.head, ctx, contentHash)
}

// response and open remember what they read, absence included: a batch
// asks about each of its responses more than once.
func (w *pgWriter) response(id string) (*responseRec, error) {
	if rec, ok := w.responses[id]; ok {
		return rec, nil
	}
	rec, err := w.pgReader.response(id)
	if err == nil {
		w.responses[id] = rec
	}
	return rec, err
}

func (w *pgWriter) open(resp string) (*openResponse, error) {
	if o, ok := w.opens[resp]; ok {
		return o, nil
	}
	o, err := jsonRow[openResponse](w.pgReader, "SELECT rec FROM open_responses WHERE id = $1 AND mcphost_live(expires_at)", resp)
	if err == nil {
		w.opens[resp] = o
	}
	return o, err
}

func (w *pgWriter) putOpen(resp string, o *openResponse) error {
	c := *o
	w.opens[resp] = &c
	w.dirtyOpens[resp] = true
	return nil
}

func (w *pgWriter) deleteOpen(resp string) error {
	w.opens[resp] = nil
	w.dirtyOpens[resp] = true
	return nil
}

// putHead writes the head's fields but its quality and feedback count,
// which only rate changes.
func (w *pgWriter) putHead(head *contextHead) error {
	c := *head
	w.heads[head.ID] = &c
	w.dirtyHeads[head.ID] = true
	return nil
}

func (w *pgWriter) putVersion(v *versionRec) error {
	c := *v
	key := versionKeyOf(v.ContextID, v.Version)
	w.vers[key] = &c
	w.dirtyVers[key] = true
	return nil
}

// putContent is written with the version's row.
func (w *pgWriter) putContent(ctx string, v uint32, content []byte) error {
	w.contents[versionKeyOf(ctx, v)] = content
	return nil
}

func (w *pgWriter) putResponse(rec, old *responseRec) error {
	w.responses[rec.ID] = rec
	w.dirtyResponses[rec.ID] = true
	if old != nil {
		// Queued now, so it runs before the lineage written at flush.
		w.queue.Queue("DELETE FROM lineage WHERE response_id = $1 AND context_id = ANY($2)", rec.ID, unitIDs(old.Units))
	}
	return nil
}

func unitIDs(units []responseUnit) []string {
	ids := make([]string, 0, len(units))
	for _, u := range units {
		ids = append(ids, u.ContextID)
	}
	return ids
}

// rate is one atomic update of the context's row, whose new quality
// PostgreSQL computes from the row's current one (mcphost_quality), so
// that concurrent feedback from any number of instances composes exactly
// as if applied one after another.
func (w *pgWriter) rate(u responseUnit, s float64, now int64) (qualityUpdate, error) {
	o := w.s.opts.options
	up := qualityUpdate{ContextID: u.ContextID, Weight: u.Weight}
	k := math.Min(o.learningRate*unit01(u.Weight), 1)
	if !(u.Weight > 0) || !(k > 0) || math.IsNaN(s) {
		// A context that did not weigh in is not touched.
		head, err := w.head(u.ContextID)
		if err != nil {
			return qualityUpdate{}, err
		}
		q := o.quality(head)
		up.Before, up.After, up.FeedbackCount, up.Deprecated = q.Quality, q.Quality, q.FeedbackCount, q.Deprecated
		return up, nil
	}
	s = math.Max(-1, math.Min(1, s))
	created, err := json.Marshal(contextHead{ID: u.ContextID, FirstSeen: now, LastSeen: now})
	if err != nil {
		return qualityUpdate{}, fmt.Errorf("encode context: %w", err)
	}
	var n int32
	err = w.tx.QueryRow(w.ctx, `INSERT INTO contexts AS c (id, rec, first_seen, quality, quality_before, feedback_count, last_feedback, expires_at)
		VALUES ($1, $2, $3, mcphost_quality(0, $4, $5), 0, 1, $3, $6)
		ON CONFLICT (id) DO UPDATE SET
			quality_before = CASE WHEN mcphost_live(c.expires_at) THEN c.quality ELSE 0 END,
			quality = mcphost_quality(CASE WHEN mcphost_live(c.expires_at) THEN c.quality ELSE 0 END, $4, $5),
			feedback_count = CASE WHEN mcphost_live(c.expires_at) THEN c.feedback_count ELSE 0 END + 1,
			last_feedback = $3,
			rec = CASE WHEN c.first_seen = 0 OR NOT mcphost_live(c.expires_at) THEN excluded.rec ELSE c.rec END,
			first_seen = CASE WHEN c.first_seen = 0 OR NOT mcphost_live(c.expires_at) THEN $3 ELSE c.first_seen END,
			expires_at = $6
		RETURNING quality_before, quality, feedback_count`,
		u.ContextID, created, now, k, s, expiresAt(w.s.opts.retention)).Scan(&up.Before, &up.After, &n)
	if err != nil {
		return qualityUpdate{}, fmt.Errorf("rate context %s: %w", u.ContextID, err)
	}
	delete(w.heads, u.ContextID)
	up.FeedbackCount = uint32(n)
	up.Deprecated = o.deprecated(up.After, up.FeedbackCount)
	return up, nil
}

func (w *pgWriter) putFeedback(fb *feedbackRec) error {
	b, err := json.Marshal(fb)
	if err != nil {
		return fmt.Errorf("encode feedback: %w", err)
	}
	w.queue.Queue("INSERT INTO feedback (id, rec, response_id, time, expires_at) VALUES ($1, $2, $3, $4, $5)",
		fb.ID, b, fb.ResponseID, fb.Time, expiresAt(w.s.opts.retention))
	return nil
}

func (w *pgWriter) created(storeCounts) {}

func (w *pgWriter) notify(uris []string) { w.changed.add(uris...) }

// flush sends the batch's writes, one statement per table with a row for
// each record (its last state), after the statements queued as they came,
// and the notifications of what changed.
func (w *pgWriter) flush() error {
	if err := w.queueRows(); err != nil {
		return err
	}
	for _, payload := range w.s.notifications(w.changed.list) {
		w.queue.Queue("SELECT pg_notify($1, $2)", notifyChannel, payload)
	}
	if w.queue.Len() == 0 {
		return nil
	}
	if err := w.tx.SendBatch(w.ctx, w.queue).Close(); err != nil {
		return fmt.Errorf("write tracing records: %w", err)
	}
	return nil
}

// rows collects the columns of one multi-row statement.
type rows struct {
	cols [][]any
}

func newRows(n int) *rows { return &rows{cols: make([][]any, n)} }

func (r *rows) add(values ...any) {
	for i, v := range values {
		r.cols[i] = append(r.cols[i], v)
	}
}

func (r *rows) queue(q *pgx.Batch, sql string) {
	if len(r.cols[0]) > 0 {
		args := make([]any, len(r.cols))
		for i, c := range r.cols {
			args[i] = c
		}
		q.Queue(sql, args...)
	}
}

// queueRows queues the upserts of every record the batch wrote.
func (w *pgWriter) queueRows() error {
	expires := expiresAt(w.s.opts.retention)
	openTTLAt := expires
	if w.s.opts.retention == 0 {
		openTTLAt = expiresAt(openTTL)
	}
	encode := func(rec any) (string, error) {
		b, err := json.Marshal(rec)
		if err != nil {
			return "", fmt.Errorf("encode record: %w", err)
		}
		return string(b), nil
	}

	heads := newRows(4)
	for id := range w.dirtyHeads {
		h := w.heads[id]
		rec, err := encode(h)
		if err != nil {
			return err
		}
		heads.add(id, rec, h.FirstSeen, expires)
	}
	heads.queue(w.queue, `INSERT INTO contexts (id, rec, first_seen, expires_at)
		SELECT * FROM unnest($1::text[], $2::jsonb[], $3::int8[], $4::int8[])
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, first_seen = excluded.first_seen, expires_at = excluded.expires_at,
		-- A head past retention starts again unrated, as a new one.
		quality = CASE WHEN mcphost_live(contexts.expires_at) THEN contexts.quality ELSE 0 END,
		quality_before = CASE WHEN mcphost_live(contexts.expires_at) THEN contexts.quality_before ELSE 0 END,
		feedback_count = CASE WHEN mcphost_live(contexts.expires_at) THEN contexts.feedback_count ELSE 0 END,
		last_feedback = CASE WHEN mcphost_live(contexts.expires_at) THEN contexts.last_feedback ELSE 0 END`)

	vers := newRows(6)
	for key := range w.dirtyVers {
		v := w.vers[key]
		rec, err := encode(v)
		if err != nil {
			return err
		}
		// A nil content keeps the one stored.
		vers.add(v.ContextID, int64(v.Version), v.ContentHash, rec, w.contents[key], expires)
	}
	vers.queue(w.queue, `INSERT INTO versions (context_id, version, content_hash, rec, content, expires_at)
		SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::jsonb[], $5::bytea[], $6::int8[])
		ON CONFLICT (context_id, version) DO UPDATE SET rec = excluded.rec, content_hash = excluded.content_hash,
		content = coalesce(excluded.content, CASE WHEN mcphost_live(versions.expires_at) THEN versions.content END),
		expires_at = excluded.expires_at`)

	opens, closed := newRows(3), []string{}
	for id := range w.dirtyOpens {
		o := w.opens[id]
		if o == nil {
			closed = append(closed, id)
			continue
		}
		rec, err := encode(o)
		if err != nil {
			return err
		}
		opens.add(id, rec, openTTLAt)
	}
	if len(closed) > 0 {
		w.queue.Queue("DELETE FROM open_responses WHERE id = ANY($1)", closed)
	}
	opens.queue(w.queue, `INSERT INTO open_responses (id, rec, expires_at)
		SELECT * FROM unnest($1::text[], $2::jsonb[], $3::int8[])
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, expires_at = excluded.expires_at`)

	resps, lineage := newRows(6), newRows(6)
	for id := range w.dirtyResponses {
		r := w.responses[id]
		rec, err := encode(r)
		if err != nil {
			return err
		}
		resps.add(id, rec, r.Session, r.Profile, r.Finalized, expires)
		for _, u := range r.Units {
			lineage.add(u.ContextID, id, r.Finalized, u.Weight, int64(u.Version), expires)
		}
	}
	resps.queue(w.queue, `INSERT INTO responses (id, rec, session, profile, finalized, seq, expires_at)
		SELECT id, rec, session, profile, finalized, nextval('responses_seq'), expires_at
		FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::int8[], $6::int8[]) AS u(id, rec, session, profile, finalized, expires_at)
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, session = excluded.session, profile = excluded.profile, finalized = excluded.finalized,
		seq = excluded.seq, expires_at = excluded.expires_at`)
	lineage.queue(w.queue, `INSERT INTO lineage (context_id, response_id, time, weight, version, expires_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::float8[], $5::int4[], $6::int8[])
		ON CONFLICT (context_id, response_id) DO UPDATE SET time = excluded.time, weight = excluded.weight,
		version = excluded.version, expires_at = excluded.expires_at`)
	return nil
}
