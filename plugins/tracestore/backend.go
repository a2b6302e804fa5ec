package tracestore

import "context"

// records is what the views, ingestion and weighing read, record by
// record, inside one read transaction of a store. The Badger store
// (badger_records.go) and the PostgreSQL store (postgres_records.go)
// implement it over their own storage; everything built from the records
// (the MCP views, versioning, lineage, the feedback bookkeeping) is shared,
// so the two serve the same tools and resources.
type records interface {
	// head is a context's head, nil if unknown.
	head(ctx string) (*contextHead, error)
	// version is one version of a context, nil if unknown or expired.
	version(ctx string, v uint32) (*versionRec, error)
	// versionOf is the version of ctx recorded with contentHash, else the
	// head version if the hash is its own (or not given); 0 if none.
	versionOf(ctx, contentHash string) (uint32, error)
	// versions are ctx's versions still kept, oldest first.
	versions(ctx string) ([]*versionRec, error)
	// content is a version's stored content, nil if none.
	content(ctx string, v uint32) ([]byte, error)
	// latest is the session's latest finalized response, or for the
	// operator (tracing.OperatorSession) the latest of any; nil if none.
	latest(session string) (*latestRec, error)
	// response is a finalized response, nil if unknown.
	response(id string) (*responseRec, error)
	// responseFeedback is the newest feedback on a response, up to limit,
	// and how many there are in all.
	responseFeedback(id string, limit int) ([]respFeedback, int, error)
	// lineage is the responses ctx fed, newest first up to limit, with
	// figures over all of them.
	lineage(ctx string, limit int) (lineageSummary, error)
	// rated calls fn with each rated context (feedback count > 0) by
	// quality, highest first when desc, until fn returns false.
	rated(desc bool, fn func(head *contextHead) (bool, error)) error
	// recentFeedback is the newest feedback records, up to limit.
	recentFeedback(limit int) ([]*feedbackRec, error)
	// recentResponses is the newest finalized responses still kept, up to
	// limit.
	recentResponses(limit int) ([]*responseRec, error)
}

// lineageSummary is what records.lineage reports.
type lineageSummary struct {
	Recent []impactRec
	Total  int
	Sum    float64
	Max    float64
}

// recordWriter changes a store inside one write transaction.
type recordWriter interface {
	records
	// lockResponses locks the responses of ids for the rest of the
	// transaction, where the store is shared with other writers: a
	// trace's response is merged by every instance its units come to.
	lockResponses(ids []string) error
	// open is a response whose units are arriving, nil if none.
	open(resp string) (*openResponse, error)
	putOpen(resp string, o *openResponse) error
	deleteOpen(resp string) error
	// putHead writes a context's head, keeping its quality where the
	// store keeps it apart.
	putHead(head *contextHead) error
	// putVersion writes a version and indexes its content hash.
	putVersion(v *versionRec) error
	putContent(ctx string, v uint32, content []byte) error
	// putResponse writes a finalized response, its lineage and the
	// latest-response indexes, replacing old (nil if new) and its lineage.
	putResponse(rec, old *responseRec) error
	// rate applies feedback score s to one unit of a response, atomically
	// for that context.
	rate(u responseUnit, s float64, now int64) (qualityUpdate, error)
	// putFeedback stores a feedback record and its copy under its
	// response.
	putFeedback(fb *feedbackRec) error
	// created counts new entries, for stores that keep counts.
	created(d storeCounts)
	// notify announces the resources the transaction changed to the other
	// instances sharing the store, when it commits.
	notify(uris []string)
}

// backend is an open store as the plugin uses it.
type backend interface {
	options() options
	// view runs fn in a read transaction.
	view(ctx context.Context, fn func(r records) error) error
	// write runs fn in one write transaction, after locking the contexts
	// in lock (where the store is shared with other writers).
	write(ctx context.Context, lock []string, fn func(w recordWriter) error) error
	// storeStats are the store half of trace://stats/cache.
	storeStats(p *Plugin) (cacheView, storeView, error)
}

// views builds the MCP views from a store's records.
type views struct {
	records
	o options
}

// viewIn runs fn over a read transaction of b.
func viewIn[T any](ctx context.Context, b backend, fn func(v views) (T, error)) (T, error) {
	var out T
	err := b.view(ctx, func(r records) error {
		var err error
		out, err = fn(views{records: r, o: b.options()})
		return err
	})
	return out, err
}
