// Checks views/activitymodel.js (the activity view's query, filtering and
// merging of live records) in node; run by TestActivityJS (schema_test.go).
// Prints "ok N" or fails with the first difference.
import assert from 'node:assert/strict';
import { query, matches, merge, outcomeText, outcomeKind, serverChoices, outcomes } from '../views/activitymodel.js';

let n = 0;
const test = (name, fn) => {
  try {
    fn();
    n++;
  } catch (err) {
    console.error(`${name}: ${err.message}`);
    process.exit(1);
  }
};

const rec = (seq, server, name, outcome, extra = {}) =>
  ({ seq, server, name, exposed_name: `${server}__${name}`, outcome, ...extra });

test('query', () => {
  assert.equal(query({ server: '', tool: '', outcome: '' }, 200), 'activity?limit=200');
  assert.equal(query({ server: 'fs', tool: ' read file ', outcome: 'tool_error' }, 50),
    'activity?server=fs&tool=read+file&outcome=tool_error&limit=50');
  assert.equal(query({ tool: 'a&b=c' }, 1), 'activity?tool=a%26b%3Dc&limit=1');
});

test('matches', () => {
  const r = rec(1, 'fs', 'read', 'ok');
  assert.equal(matches(r, {}), true);
  assert.equal(matches(r, { server: 'fs' }), true);
  assert.equal(matches(r, { server: 'git' }), false);
  assert.equal(matches(r, { tool: 'read' }), true);
  assert.equal(matches(r, { tool: 'fs__read' }), true);
  assert.equal(matches(r, { tool: 're' }), false, 'whole names, as the API');
  assert.equal(matches(r, { outcome: 'ok', server: 'fs', tool: ' read ' }), true);
  assert.equal(matches(r, { outcome: 'error' }), false);
});

test('merge', () => {
  const list = [rec(5, 'a', 't', 'ok'), rec(4, 'a', 't', 'ok')];
  const live = [rec(7, 'a', 't', 'ok'), rec(5, 'a', 't', 'ok'), rec(6, 'a', 't', 'error')];
  assert.deepEqual(merge(list, live, 10).map((r) => r.seq), [7, 6, 5, 4]);
  assert.deepEqual(merge(list, live, 3).map((r) => r.seq), [7, 6, 5]);
  assert.deepEqual(merge([], [], 3), []);
});

test('outcomes', () => {
  assert.deepEqual(outcomes, ['ok', 'error', 'tool_error', 'timeout', 'cancelled']);
  assert.equal(outcomeText(rec(1, 'a', 't', 'error', { code: -32602 })), 'error -32602');
  assert.equal(outcomeText(rec(1, 'a', 't', 'tool_error')), 'tool_error');
  assert.equal(outcomeKind('ok'), 'good');
  assert.equal(outcomeKind('timeout'), 'bad');
  assert.equal(outcomeKind('cancelled'), 'info');
});

test('serverChoices', () => {
  assert.deepEqual(serverChoices(['b', 'a'], [rec(1, 'c', 't', 'ok'), rec(2, '', 'x', 'error'), rec(3, 'a', 't', 'ok')]), ['a', 'b', 'c']);
});

console.log(`ok ${n}`);
