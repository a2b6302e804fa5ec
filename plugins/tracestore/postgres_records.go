package tracestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/mcphost/mcphost/sdk/tracing"
)

// The PostgreSQL store's records: the rows of migrations/*.sql read and
// written in one transaction, as the shared views and ingestion use them.

var (
	_ records      = (*pgReader)(nil)
	_ recordWriter = (*pgWriter)(nil)
)

// pgReader reads records in one transaction.
type pgReader struct {
	ctx context.Context
	tx  pgx.Tx
}

// one scans the single row of sql into dest; found is false when there is
// none.
func (r *pgReader) one(sql string, args []any, dest ...any) (bool, error) {
	err := r.tx.QueryRow(r.ctx, sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// jsonRows decodes the rec column of each row of sql.
func jsonRows[T any](r *pgReader, sql string, args ...any) ([]*T, error) {
	rows, err := r.tx.Query(r.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*T, error) {
		var raw []byte
		if err := row.Scan(&raw); err != nil {
			return nil, err
		}
		t := new(T)
		return t, json.Unmarshal(raw, t)
	})
}

// jsonRow decodes the rec column of the single row of sql; nil if none.
func jsonRow[T any](r *pgReader, sql string, args ...any) (*T, error) {
	var raw []byte
	found, err := r.one(sql, args, &raw)
	if err != nil || !found {
		return nil, err
	}
	t := new(T)
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return t, nil
}

// headColumns are read by scanHead.
const headColumns = "rec, first_seen, quality, feedback_count, last_feedback"

// scanHead decodes a context row; nil for a row only locked so far.
func scanHead(row pgx.Row) (*contextHead, error) {
	var (
		raw       []byte
		firstSeen int64
		q         float64
		n         int32
		last      int64
	)
	if err := row.Scan(&raw, &firstSeen, &q, &n, &last); err != nil {
		return nil, err
	}
	if firstSeen == 0 {
		return nil, nil
	}
	var h contextHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decode context: %w", err)
	}
	h.FirstSeen, h.Quality, h.FeedbackCount, h.LastFeedback = firstSeen, q, uint32(n), last
	return &h, nil
}

func (r *pgReader) head(ctx string) (*contextHead, error) {
	h, err := scanHead(r.tx.QueryRow(r.ctx, "SELECT "+headColumns+" FROM contexts WHERE id = $1 AND mcphost_live(expires_at)", ctx))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return h, err
}

func (r *pgReader) version(ctx string, v uint32) (*versionRec, error) {
	return jsonRow[versionRec](r, "SELECT rec FROM versions WHERE context_id = $1 AND version = $2 AND mcphost_live(expires_at)", ctx, int64(v))
}

func (r *pgReader) versionOf(ctx, contentHash string) (uint32, error) {
	return versionOfVia(r, r.head, ctx, contentHash)
}

// versionOfVia is versionOf with the head read by head (a writer's sees
// its own transaction's writes).
func versionOfVia(r *pgReader, head func(string) (*contextHead, error), ctx, contentHash string) (uint32, error) {
	if contentHash != "" {
		var v int64
		found, err := r.one("SELECT version FROM versions WHERE context_id = $1 AND content_hash = $2 AND mcphost_live(expires_at) ORDER BY version DESC LIMIT 1",
			[]any{ctx, contentHash}, &v)
		if err != nil || found {
			return uint32(v), err
		}
	}
	h, err := head(ctx)
	if err != nil || h == nil {
		return 0, err
	}
	if contentHash == "" || h.HeadHash == contentHash {
		return h.HeadVersion, nil
	}
	return 0, nil
}

func (r *pgReader) versions(ctx string) ([]*versionRec, error) {
	return jsonRows[versionRec](r, "SELECT rec FROM versions WHERE context_id = $1 AND mcphost_live(expires_at) ORDER BY version", ctx)
}

func (r *pgReader) content(ctx string, v uint32) ([]byte, error) {
	var b []byte
	_, err := r.one("SELECT content FROM versions WHERE context_id = $1 AND version = $2 AND mcphost_live(expires_at)", []any{ctx, int64(v)}, &b)
	return b, err
}

func (r *pgReader) latest(session string) (*latestRec, error) {
	sql, args := "SELECT id, finalized FROM responses WHERE session = $1 AND mcphost_live(expires_at) ORDER BY finalized DESC, seq DESC LIMIT 1", []any{session}
	if session == tracing.OperatorSession {
		sql, args = "SELECT id, finalized FROM responses WHERE mcphost_live(expires_at) ORDER BY finalized DESC, seq DESC LIMIT 1", nil
	}
	var l latestRec
	found, err := r.one(sql, args, &l.ResponseID, &l.Time)
	if err != nil || !found {
		return nil, err
	}
	return &l, nil
}

func (r *pgReader) response(id string) (*responseRec, error) {
	return jsonRow[responseRec](r, "SELECT rec FROM responses WHERE id = $1 AND mcphost_live(expires_at)", id)
}

func (r *pgReader) responseFeedback(id string, limit int) ([]respFeedback, int, error) {
	var total int
	if _, err := r.one("SELECT count(*) FROM feedback WHERE response_id = $1 AND mcphost_live(expires_at)", []any{id}, &total); err != nil {
		return nil, 0, err
	}
	fbs, err := jsonRows[feedbackRec](r, "SELECT rec FROM feedback WHERE response_id = $1 AND mcphost_live(expires_at) ORDER BY time DESC, id DESC LIMIT $2", id, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]respFeedback, 0, len(fbs))
	for _, f := range fbs {
		out = append(out, briefOf(f))
	}
	return out, total, nil
}

func (r *pgReader) lineage(ctx string, limit int) (lineageSummary, error) {
	var l lineageSummary
	if _, err := r.one("SELECT count(*), coalesce(sum(weight), 0), coalesce(max(weight), 0) FROM lineage WHERE context_id = $1 AND mcphost_live(expires_at)",
		[]any{ctx}, &l.Total, &l.Sum, &l.Max); err != nil {
		return l, err
	}
	rows, err := r.tx.Query(r.ctx, "SELECT response_id, weight, version, time FROM lineage WHERE context_id = $1 AND mcphost_live(expires_at) ORDER BY time DESC, response_id DESC LIMIT $2", ctx, limit)
	if err != nil {
		return l, err
	}
	l.Recent, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (impactRec, error) {
		var ir impactRec
		var v int64
		err := row.Scan(&ir.ResponseID, &ir.Weight, &v, &ir.Time)
		ir.Version = uint32(v)
		return ir, err
	})
	return l, err
}

// ratedPage is how many rated contexts rated reads per query.
const ratedPage = 128

func (r *pgReader) rated(desc bool, fn func(head *contextHead) (bool, error)) error {
	sql := "SELECT " + headColumns + " FROM contexts WHERE feedback_count > 0 AND first_seen <> 0 AND mcphost_live(expires_at) AND (quality, id) > ($1, $2) ORDER BY quality, id LIMIT $3"
	q, id := math.Inf(-1), ""
	if desc {
		sql = "SELECT " + headColumns + " FROM contexts WHERE feedback_count > 0 AND first_seen <> 0 AND mcphost_live(expires_at) AND (quality, id) < ($1, $2) ORDER BY quality DESC, id DESC LIMIT $3"
		q, id = math.Inf(1), ""
	}
	for {
		rows, err := r.tx.Query(r.ctx, sql, q, id, ratedPage)
		if err != nil {
			return err
		}
		// The page is read whole before fn, which queries the same
		// connection.
		heads, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*contextHead, error) { return scanHead(row) })
		if err != nil {
			return err
		}
		for _, h := range heads {
			more, err := fn(h)
			if err != nil || !more {
				return err
			}
		}
		if len(heads) < ratedPage {
			return nil
		}
		last := heads[len(heads)-1]
		q, id = last.Quality, last.ID
	}
}

func (r *pgReader) recentFeedback(limit int) ([]*feedbackRec, error) {
	return jsonRows[feedbackRec](r, "SELECT rec FROM feedback WHERE mcphost_live(expires_at) ORDER BY time DESC, id DESC LIMIT $1", limit)
}

func (r *pgReader) recentResponses(limit int) ([]*responseRec, error) {
	return jsonRows[responseRec](r, "SELECT rec FROM responses WHERE mcphost_live(expires_at) ORDER BY finalized DESC, seq DESC LIMIT $1", limit)
}
