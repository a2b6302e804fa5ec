package metrics

// ActivityDropped counts n activity records dropped because the queue to
// the activity log's writer was full (0 makes the series exist).
func (r *Registry) ActivityDropped(n int) {
	r.set.GetOrCreateCounter("mcphost_activity_dropped_total").Add(n)
}
