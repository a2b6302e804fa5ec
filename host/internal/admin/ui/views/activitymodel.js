// The activity view's logic, apart from rendering so that node can check
// it (testdata/activity_test.mjs): the API query of the filters, whether a
// live record passes them, and merging live records into the list.

// outcomes are the values of a record's outcome, in the filter's order.
export const outcomes = ['ok', 'error', 'tool_error', 'timeout', 'cancelled'];

// query is the GET /api/v1/activity path for filters ({server, tool,
// outcome}, empty ones left out) and limit.
export function query(filters, limit) {
  const q = new URLSearchParams();
  for (const k of ['server', 'tool', 'outcome']) {
    const v = (filters[k] || '').trim();
    if (v) q.set(k, v);
  }
  q.set('limit', String(limit));
  return 'activity?' + q.toString();
}

// matches says whether record passes filters, as the API decides: each
// set filter equal; tool is the backend's name or the exposed one.
export function matches(record, filters) {
  const tool = (filters.tool || '').trim();
  return (!filters.server || record.server === filters.server) &&
    (!tool || record.name === tool || record.exposed_name === tool) &&
    (!filters.outcome || record.outcome === filters.outcome);
}

// merge puts the live records in front of the list (newest first), once
// each (by seq), keeping at most limit.
export function merge(list, live, limit) {
  const seen = new Set(list.map((r) => r.seq));
  const fresh = live.filter((r) => !seen.has(r.seq)).sort((a, b) => b.seq - a.seq);
  return [...fresh, ...list].slice(0, limit);
}

// outcomeText is how a record's outcome reads: an error with its code.
export function outcomeText(r) {
  return r.outcome === 'error' && r.code ? `error ${r.code}` : r.outcome;
}

// outcomeKind is the badge colour of an outcome.
export function outcomeKind(outcome) {
  if (outcome === 'ok') return 'good';
  if (outcome === 'cancelled') return 'info';
  return 'bad';
}

// servers are the server names to offer in the filter: the configured ones
// and any a record names, sorted.
export function serverChoices(configured, records) {
  const names = new Set(configured);
  for (const r of records) if (r.server) names.add(r.server);
  return [...names].sort();
}
