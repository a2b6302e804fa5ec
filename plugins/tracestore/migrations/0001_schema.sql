-- The tracing store's tables; see the package doc ("PostgreSQL"). Times
-- are unix nanoseconds; expires_at is when the row passes retention, NULL
-- for never.

-- Context heads. rec is the head as JSON (identity, head version and
-- hash, times); quality and the feedback count are columns of their own,
-- changed only by the atomic update of mcphost_rate. first_seen = 0 marks
-- a row a Record batch inserted only to lock it, which its transaction
-- always completes.
CREATE TABLE contexts (
    id             text PRIMARY KEY,
    rec            jsonb NOT NULL DEFAULT '{}',
    first_seen     bigint NOT NULL DEFAULT 0,
    quality        float8 NOT NULL DEFAULT 0,
    quality_before float8 NOT NULL DEFAULT 0,
    feedback_count integer NOT NULL DEFAULT 0,
    last_feedback  bigint NOT NULL DEFAULT 0,
    expires_at     bigint
);
CREATE INDEX contexts_rated ON contexts (quality, id) WHERE feedback_count > 0;
CREATE INDEX contexts_expiry ON contexts (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE versions (
    context_id   text NOT NULL,
    version      integer NOT NULL,
    content_hash text NOT NULL,
    rec          jsonb NOT NULL,
    content      bytea,
    expires_at   bigint,
    PRIMARY KEY (context_id, version)
);
CREATE INDEX versions_hash ON versions (context_id, content_hash, version);
CREATE INDEX versions_expiry ON versions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE open_responses (
    id         text PRIMARY KEY,
    rec        jsonb NOT NULL,
    expires_at bigint
);
CREATE INDEX open_responses_expiry ON open_responses (expires_at) WHERE expires_at IS NOT NULL;

-- Finalized responses. seq orders responses finalized at the same time
-- by when they were written, as the Badger store's latest-response
-- entries do.
CREATE SEQUENCE responses_seq;
CREATE TABLE responses (
    id         text PRIMARY KEY,
    session    text NOT NULL,
    finalized  bigint NOT NULL,
    seq        bigint NOT NULL,
    rec        jsonb NOT NULL,
    expires_at bigint
);
CREATE INDEX responses_recent ON responses (finalized DESC, seq DESC);
CREATE INDEX responses_session ON responses (session, finalized DESC, seq DESC);
CREATE INDEX responses_expiry ON responses (expires_at) WHERE expires_at IS NOT NULL;

-- Reverse lineage: the responses a context fed.
CREATE TABLE lineage (
    context_id  text NOT NULL,
    response_id text NOT NULL,
    time        bigint NOT NULL,
    weight      float8 NOT NULL,
    version     integer NOT NULL,
    expires_at  bigint,
    PRIMARY KEY (context_id, response_id)
);
CREATE INDEX lineage_recent ON lineage (context_id, time DESC, response_id DESC);
CREATE INDEX lineage_expiry ON lineage (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE feedback (
    id          text PRIMARY KEY,
    response_id text NOT NULL,
    time        bigint NOT NULL,
    rec         jsonb NOT NULL,
    expires_at  bigint
);
CREATE INDEX feedback_recent ON feedback (time DESC, id DESC);
CREATE INDEX feedback_response ON feedback (response_id, time DESC, id DESC);
CREATE INDEX feedback_expiry ON feedback (expires_at) WHERE expires_at IS NOT NULL;

-- The quality update of the package doc, on the current value q:
-- q' = q + k·(s − q) with k = r·w capped at 1 (computed by the caller,
-- which clamps w and s), q' clamped to [-1, 1] and −0 made 0, exactly as
-- applyFeedback computes it in Go.
CREATE FUNCTION mcphost_quality(q float8, k float8, s float8) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN v = 0 THEN 0::float8 ELSE v END
    FROM (SELECT greatest(-1::float8, least(1::float8, q + k * (s - q))) AS v) x
$$;
