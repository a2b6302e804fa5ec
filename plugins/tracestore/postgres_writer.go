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
// writes are queued and sent together, with the notification of what
// changed, when the batch is done (flush), in the order made.
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
	changed   uriSet
}

func newPgWriter(ctx context.Context, tx pgx.Tx, s *pgStore) *pgWriter {
	return &pgWriter{
		pgReader: &pgReader{ctx: ctx, tx: tx}, s: s, queue: &pgx.Batch{},
		heads: map[string]*contextHead{}, vers: map[string]*versionRec{}, contents: map[string][]byte{},
		opens: map[string]*openResponse{}, responses: map[string]*responseRec{},
	}
}

func versionKeyOf(ctx string, v uint32) string {
	return ctx + "\x00" + strconv.FormatUint(uint64(v), 10)
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
	rows, err := w.tx.Query(w.ctx, `SELECT c.rec, c.first_seen, c.quality, c.feedback_count, c.last_feedback, c.id, v.rec
		FROM contexts c LEFT JOIN versions v ON v.context_id = c.id AND v.version = (c.rec->>'head_version')::integer
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
		if err := rows.Scan(&raw, &h.FirstSeen, &h.Quality, &n, &h.LastFeedback, &id, &ver); err != nil {
			return fmt.Errorf("lock contexts: %w", err)
		}
		if h.FirstSeen == 0 {
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

func (w *pgWriter) response(id string) (*responseRec, error) {
	if rec, ok := w.responses[id]; ok {
		return rec, nil
	}
	return w.pgReader.response(id)
}

func (w *pgWriter) open(resp string) (*openResponse, error) {
	if o, ok := w.opens[resp]; ok {
		return o, nil
	}
	return jsonRow[openResponse](w.pgReader, "SELECT rec FROM open_responses WHERE id = $1", resp)
}

// queueJSON queues sql with rec, encoded, as its argument $2 after key.
func (w *pgWriter) queueJSON(sql, key string, rec any, more ...any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	w.queue.Queue(sql, append([]any{key, b}, more...)...)
	return nil
}

func (w *pgWriter) ttl() any { return expiresAt(w.s.opts.retention) }

func (w *pgWriter) putOpen(resp string, o *openResponse) error {
	c := *o
	w.opens[resp] = &c
	ttl := w.s.opts.retention
	if ttl == 0 {
		ttl = openTTL
	}
	return w.queueJSON(`INSERT INTO open_responses (id, rec, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, expires_at = excluded.expires_at`, resp, o, expiresAt(ttl))
}

func (w *pgWriter) deleteOpen(resp string) error {
	w.opens[resp] = nil
	w.queue.Queue("DELETE FROM open_responses WHERE id = $1", resp)
	return nil
}

// putHead writes the head's fields but its quality and feedback count,
// which only rate changes.
func (w *pgWriter) putHead(head *contextHead) error {
	c := *head
	w.heads[head.ID] = &c
	return w.queueJSON(`INSERT INTO contexts (id, rec, first_seen, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, first_seen = excluded.first_seen, expires_at = excluded.expires_at`,
		head.ID, head, head.FirstSeen, w.ttl())
}

func (w *pgWriter) putVersion(v *versionRec) error {
	c := *v
	key := versionKeyOf(v.ContextID, v.Version)
	w.vers[key] = &c
	content := w.contents[key] // nil keeps the content stored
	delete(w.contents, key)
	return w.queueJSON(`INSERT INTO versions (context_id, rec, version, content_hash, content, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (context_id, version) DO UPDATE SET rec = excluded.rec, content_hash = excluded.content_hash,
		content = coalesce(excluded.content, versions.content), expires_at = excluded.expires_at`,
		v.ContextID, v, int64(v.Version), v.ContentHash, content, w.ttl())
}

// putContent is written with the version's row by putVersion, which the
// ingestion calls next.
func (w *pgWriter) putContent(ctx string, v uint32, content []byte) error {
	w.contents[versionKeyOf(ctx, v)] = content
	return nil
}

func (w *pgWriter) putResponse(rec, old *responseRec) error {
	w.responses[rec.ID] = rec
	if old != nil {
		w.queue.Queue("DELETE FROM lineage WHERE response_id = $1 AND context_id = ANY($2)", rec.ID, unitIDs(old.Units))
	}
	ttl := w.ttl()
	for _, u := range rec.Units {
		w.queue.Queue(`INSERT INTO lineage (context_id, response_id, time, weight, version, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (context_id, response_id) DO UPDATE SET time = excluded.time, weight = excluded.weight,
			version = excluded.version, expires_at = excluded.expires_at`,
			u.ContextID, rec.ID, rec.Finalized, u.Weight, int64(u.Version), ttl)
	}
	return w.queueJSON(`INSERT INTO responses (id, rec, session, finalized, seq, expires_at) VALUES ($1, $2, $3, $4, nextval('responses_seq'), $5)
		ON CONFLICT (id) DO UPDATE SET rec = excluded.rec, session = excluded.session, finalized = excluded.finalized,
		seq = excluded.seq, expires_at = excluded.expires_at`, rec.ID, rec, rec.Session, rec.Finalized, ttl)
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
			quality_before = c.quality,
			quality = mcphost_quality(c.quality, $4, $5),
			feedback_count = c.feedback_count + 1,
			last_feedback = $3,
			rec = CASE WHEN c.first_seen = 0 THEN excluded.rec ELSE c.rec END,
			first_seen = CASE WHEN c.first_seen = 0 THEN $3 ELSE c.first_seen END,
			expires_at = $6
		RETURNING quality_before, quality, feedback_count`,
		u.ContextID, created, now, k, s, w.ttl()).Scan(&up.Before, &up.After, &n)
	if err != nil {
		return qualityUpdate{}, fmt.Errorf("rate context %s: %w", u.ContextID, err)
	}
	delete(w.heads, u.ContextID)
	up.FeedbackCount = uint32(n)
	up.Deprecated = o.deprecated(up.After, up.FeedbackCount)
	return up, nil
}

func (w *pgWriter) putFeedback(fb *feedbackRec) error {
	return w.queueJSON("INSERT INTO feedback (id, rec, response_id, time, expires_at) VALUES ($1, $2, $3, $4, $5)",
		fb.ID, fb, fb.ResponseID, fb.Time, w.ttl())
}

func (w *pgWriter) created(storeCounts) {}

func (w *pgWriter) notify(uris []string) { w.changed.add(uris...) }

// flush sends the queued writes and the notifications of what changed.
func (w *pgWriter) flush() error {
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
