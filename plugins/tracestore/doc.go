// Package tracestore is the built-in context tracing plugin, named for its
// store so as not to share a name with sdk/tracing, the API it implements.
// It records every context unit the host delivered to a client (tool
// results, resources, prompts), groups them into responses with the
// weights the weighting plugin gave them, takes feedback on responses, and
// serves the tracing tools (mcp__proxy__tracing__*) and resources
// (trace://...) over MCP.
//
// # Configuration
//
//	plugin "tracing" {
//	  config {
//	    dir             = "/var/lib/mcphost/tracing" # required; shared by the copies of mcphost on a machine
//	    store_content   = false                      # keep raw content, not only hash and summary
//	    retention       = "720h"                     # entry TTL from last write; "0" keeps forever
//	    sync_writes     = false                      # fsync each write
//	    cache_entries   = 10000                      # LRU records in memory; 0 disables
//	    learning_rate   = 1.0                        # r below, in (0, 1]
//	    deprecate_below = -0.3                       # in [-1, 1]
//	    min_feedback    = 3                          # at least 1
//	  }
//	}
//
// # MCP surface
//
// Tools (names exactly as listed; the host adds no prefix): get_trace,
// query_context_impact, get_response_contexts, get_evolution_history and
// submit_feedback, each as mcp__proxy__tracing__<name>, with input and
// output schemas; each returns structuredContent and a text block (the same
// JSON, or for get_trace a tree or compact rendering). Unknown ids and bad
// arguments are tool errors (isError), never JSON-RPC errors.
//
// Resources (application/json): trace://quality/top-contexts,
// trace://quality/deprecated-contexts, trace://quality/recent-feedback,
// trace://stats/cache; templates trace://response/{id},
// trace://context/{id} and trace://evolution/{id}, where {id} is escaped as
// an RFC 6570 simple expansion. Record and submit_feedback report the
// resources they changed, for notifications/resources/updated.
//
// # Data model
//
// A context unit has a stable identity (the host's ContextID: server + tool +
// canonical arguments, a resource URI, or a prompt + arguments). Each time a
// unit event carries a ContentHash that differs from the unit's current head,
// a new version is stored, numbered 1, 2, ... and linked to the version before
// it; seeing the head's content again only refreshes the head version's
// last-seen time and count.
//
// The host's ContentHash is "xxh64:" and 16 hex digits (tracing.ContentHash);
// hosts before it sent the hex SHA-256. Hashes are compared, never
// recomputed, so a store written by an older host sees every context change
// once after the upgrade: the first sighting of each context starts a new
// version, with the same size and summary as the one before. Context ids,
// and so quality scores and lineage, are unaffected. A version keeps type, source server, name or URI,
// summary, size, token estimate, content hash, retrieval score and source,
// and times; the content itself only when store_content is true.
//
// A response (one client turn) is finalized by the host's response event,
// which lists the units it was built from and their weights (summing to 1).
// Weighed through the host, a unit's features come from its event in the
// same batch, or, for a unit the host sent ahead in an earlier batch, from
// its recorded context and version.
// The plugin resolves each unit to the version whose content hash the host
// sent, stores the response, and indexes the lineage both ways: response ->
// contexts (in the response record) and context -> responses (an index keyed
// by context and time). "latest" means the calling session's most recently
// finalized response; for the operator's session (tracing.OperatorSession:
// the admin API, mcphost trace) the most recent of any session.
//
// # Feedback
//
// Feedback s in [-1, 1] on a response moves the quality score q of every
// context that fed it, in proportion to that context's weight w in the
// response:
//
//	q' = q + r·w·(s − q)        r = learning_rate (default 1.0), r·w capped at 1
//
// q starts at 0. Because q' is the convex combination (1 − r·w)·q + r·w·s,
// q stays in [-1, 1], a weight of 0 leaves q unchanged, a larger weight moves
// q further toward s, and repeated feedback s pulls q geometrically to s:
// q_n − s = (1 − r·w)^n · (q_0 − s). This is what the system we replace got
// wrong: it folded weighted scores into an unweighted mean, so a context of
// weight w could never get below −w and never be deprecated.
//
// Only feedback with w > 0 counts as having touched a context. A context is
// deprecated while q <= deprecate_below (default −0.3) once at least
// min_feedback (default 3) feedbacks have touched it; it recovers as soon as
// later feedback lifts q above the threshold. Deprecation is computed when
// read, so changing the thresholds applies to existing scores at once.
//
// # Several copies
//
// Badger lets one process hold a directory, yet every copy of mcphost run
// from one proxy.hcl (each editor window starts its own) traces into the
// same store. The plugin that holds the store's lock is its owner: it also
// listens on a Unix socket and serves the sdk's Tracing gRPC service there
// (tracing.NewGRPCServer over its own store, never forwarded further). The
// plugin of any other copy finds the directory locked, connects to the
// socket (tracing.NewGRPCClient) and forwards Record, CallTool and
// ReadResource unchanged; each request carries its session, so "latest" is
// still the calling session's newest response, and session ids are random,
// so sessions of different copies never meet. The owner weighs the
// responses others forward through its own host (its weighting plugin),
// and its options (retention, learning rate, thresholds) apply to all.
// The host sees the same plugin either way.
//
// The socket is mcphost-tracing.sock in the store directory, or, when that
// path would be too long for a socket (108 bytes on Linux, NUL included),
// tracing-<hash of the directory>.sock in $XDG_RUNTIME_DIR/mcphost, else in
// $TMPDIR/mcphost-<uid>, directories the owner creates with mode 0700 and
// refuses to use if they are open to others or belong to another user (a
// forwarder looks in both, for an owner started with or without
// $XDG_RUNTIME_DIR when it was not). The
// socket is made 0600 under a temporary name and renamed into place, and
// both ends check the other's uid (SO_PEERCRED on Linux): only the same
// user gets in.
//
// Takeover: a forwarder's supervisor goroutine watches its connection.
// When the owner goes (exits, is killed, or stops serving), the supervisor
// tries to open the store; the one that gets Badger's lock removes the
// stale socket, listens and becomes the owner; the others connect to it,
// retrying with backoff (5 ms doubling to 200 ms) while it opens. A call
// that finds the owner gone is made once more after the takeover, waiting
// at most its deadline and 5 s; so a Record in the gap is retried once, not
// dropped. Nothing acknowledged is lost: a Record returns after Badger
// committed it, and a commit is in Badger's memory-mapped write-ahead log,
// which the kernel keeps when the owner is killed (sync_writes is for power
// loss). Configure joins the same way, for at most 5 s; a store held by a
// process that does not serve it (an older mcphost) is refused as in use,
// and the host retries. Stop closes a forwarder's connection and ends its
// supervisor; an owner stops listening, lets forwarded calls finish, and
// closes the store, which another copy then takes over.
//
// # PostgreSQL
//
// The built-in tracing-postgres plugin (NewPostgres) keeps the same
// records in a PostgreSQL database that several mcphost instances share
// (behind a load balancer, say), and serves the same tools, resources and
// views: both stores implement the record interfaces of backend.go, over
// which the views, versioning, lineage and feedback bookkeeping are
// written once.
//
//	tracing { plugin = "tracing-postgres" }
//	plugin "tracing-postgres" {
//	  config {
//	    dsn             = env("MCPHOST_TRACE_DSN") # required; URL or key=value, as libpq takes it
//	    max_conns       = 4                        # pool size, besides one listening connection
//	    retention       = "720h"                   # as above; "0" keeps forever
//	    store_content   = false
//	    learning_rate   = 1.0
//	    deprecate_below = -0.3
//	    min_feedback    = 3
//	  }
//	}
//
// The DSN is a sensitive attribute: its password appears in no log line,
// diagnostic, error or view (trace://stats/cache names host, port,
// database and user).
//
// Schema (migrations/*.sql, embedded): contexts (the head as JSON, with
// quality, quality_before, feedback_count and last_feedback as columns),
// versions (with the content hash and, with store_content, the content),
// open_responses, responses (session, profile, finalization time and a
// sequence for "latest"), lineage (context -> responses) and feedback; every row has an
// expires_at (unix ns, NULL for never). At Configure the plugin takes
// pg_advisory_lock on a fixed key and applies the migrations the database
// lacks, each in a transaction recorded in schema_migrations with the
// applying instance (host/pid/random) and time, so instances starting
// together apply each exactly once.
//
// Several writers lose nothing:
//   - A Record batch is one transaction (READ COMMITTED). It first creates
//     rows for the contexts it writes (INSERT ... ON CONFLICT DO NOTHING)
//     and locks them with SELECT ... FOR UPDATE, in sorted id order, so two
//     batches touching the same contexts wait for each other rather than
//     deadlock; its writes are then sent in one pipeline and committed. A
//     transaction PostgreSQL aborts anyway (40001, 40P01) is run again, up
//     to five times.
//   - Feedback changes each context with one atomic upsert whose new
//     quality PostgreSQL computes from the row's current value
//     (mcphost_quality: the formula above), contexts taken in id order: K
//     concurrent feedbacks leave a context exactly where K sequential ones
//     would. Record never writes quality columns.
//   - Reads run in a REPEATABLE READ, read-only transaction: one snapshot
//     per view.
//   - Retention: every instance runs a loop (every tenth of the retention,
//     between 1 s and 1 min) that deletes expired rows under
//     pg_try_advisory_lock on a second key, held only while deleting, so
//     one instance deletes at a time and the others skip the round. Reads
//     hide rows past retention at once (mcphost_live), as Badger hides
//     expired entries, and a context seen again after its head expired
//     starts anew, unrated.
//   - Every write that changes resources calls pg_notify('mcphost_tracing',
//     {"origin", "uris"}) in its transaction, so the notification goes out
//     if and only if it commits. Each plugin LISTENs on a connection of
//     its own (Configure waits up to 5 s for it), reconnecting with
//     backoff (100 ms doubling to 5 s), and
//     reports the URIs other instances changed through
//     tracing.ChangeWatcher (capability watches_changes), skipping its own
//     origin.
//
// Stats: trace://stats/cache has the same shape; engine is "postgresql",
// the cache and disk figures are 0 (the database caches), and the counts
// are exact.
//
// # Storage
//
// Everything lives in one Badger v4 directory, which only one process (and
// one Plugin) may hold open; the other copies reach it through its owner. Keys start with a one-byte tag; every
// identifier in a key is replaced by H(id), the first 16 bytes of its
// SHA-256, so that keys have a fixed width whatever the host's identifiers
// contain (a '/' or a very long canonical argument list cannot break prefix
// scans), and the full identifier is kept in the value:
//
//	c H(ctx)                     context head: identity, head version, quality q, feedback count
//	v H(ctx) BE32(version)       one version of a context
//	x H(ctx) H(content hash)     content hash -> version number (resolves response units)
//	b H(ctx) BE32(version)       the version's raw content (store_content only)
//	o H(resp)                    a response still open: session, first unit time, unit count
//	r H(resp)                    a finalized response and its units (context, version, hash, weight)
//	i H(ctx) BE64(t) H(resp)     reverse lineage: a response the context fed, with weight and version
//	l H(session)                 the session's latest finalized response
//	n BE64(t) H(resp)            finalized responses by time -> response id (trace://responses/recent)
//	m "latest"                   the latest finalized response of any session (an operator's "latest")
//	g H(resp) BE64(t) fbID       a feedback on a response (score, time, user)
//	f BE64(t) fbID               a feedback record, with the quality updates it made
//	q S(q) H(ctx)                quality index of rated contexts, S = order-preserving float encoding
//	m "layout"                   the key layout version
//
// Every entry carries the retention TTL (Badger expiry, default 720h) from
// its last write; a context seen again, or rated, is rewritten and so kept.
// Reads of context heads, versions and responses go through an LRU cache in
// front of Badger, whose hits, misses and evictions are the trace://stats/cache
// figures. Writes are serialized by the plugin (one writer, so Badger's
// conflict detection is off) and update the cache only after they commit.
package tracestore
