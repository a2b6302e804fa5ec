// Checks views/schema.js (the Try-it form's kinds of input, conversion and
// validation) in node; run by TestSchemaJS (ui_test.go). Prints "ok N" or
// fails with the first difference.
import assert from 'node:assert/strict';
import { kindOf, pathName, collect, validate, argumentsOf } from '../views/schema.js';

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

test('kindOf', () => {
  assert.equal(kindOf({ type: 'string' }), 'string');
  assert.equal(kindOf({ type: 'string', enum: ['a', 'b'] }), 'enum');
  assert.equal(kindOf({ enum: [1, 2] }), 'enum');
  assert.equal(kindOf({ type: ['integer', 'null'] }), 'integer');
  assert.equal(kindOf({ type: ['integer', 'string'] }), 'raw');
  assert.equal(kindOf({ type: 'array', items: { type: 'number' } }), 'array');
  assert.equal(kindOf({ type: 'array', items: { type: 'object' } }), 'raw');
  assert.equal(kindOf({ type: 'array' }), 'raw');
  assert.equal(kindOf({ type: 'object', properties: { a: {} } }), 'object');
  assert.equal(kindOf({ type: 'object', additionalProperties: { type: 'string' } }), 'raw');
  assert.equal(kindOf({ oneOf: [{ type: 'string' }, { type: 'number' }] }), 'raw');
  assert.equal(kindOf({}), 'raw');
  assert.equal(pathName(['a', 'b', 2, 'c']), 'a.b[2].c');
});

const add = { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] };

test('add refuses abc and a missing b', () => {
  const r = argumentsOf(add, { a: 'abc' });
  assert.equal(r.value, undefined);
  assert.deepEqual(r.errors, { a: 'A number is expected.', b: 'Required.' });
});

test('add converts numbers', () => {
  assert.deepEqual(argumentsOf(add, { a: '2', b: ' -3.5e1 ' }), { value: { a: 2, b: -35 }, errors: {} });
  assert.ok(argumentsOf(add, { a: '0x10', b: '1' }).errors.a);
  assert.ok(argumentsOf(add, { a: 'Infinity', b: '1' }).errors.a);
});

test('integers and bounds', () => {
  const s = { type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 10 } } };
  assert.equal(argumentsOf(s, { n: '2.5' }).errors.n, 'integer expected, not number.');
  assert.equal(argumentsOf(s, { n: '0' }).errors.n, 'At least 1.');
  assert.equal(argumentsOf(s, { n: '11' }).errors.n, 'At most 10.');
  assert.deepEqual(argumentsOf(s, { n: '10' }).value, { n: 10 });
  assert.deepEqual(argumentsOf(s, {}).value, {});
});

test('strings', () => {
  const s = { type: 'object', properties: { s: { type: 'string', minLength: 2, maxLength: 3, pattern: '^[a-z]+$' } }, required: ['s'] };
  assert.equal(argumentsOf(s, {}).errors.s, 'Required.');
  assert.equal(argumentsOf(s, { s: '' }).errors.s, 'Required.');
  assert.equal(argumentsOf(s, { s: 'a' }).errors.s, 'At least 2 characters.');
  assert.equal(argumentsOf(s, { s: 'abcd' }).errors.s, 'At most 3 characters.');
  assert.equal(argumentsOf(s, { s: 'AB' }).errors.s, 'Does not match ^[a-z]+$.');
  assert.deepEqual(argumentsOf(s, { s: 'ab' }).value, { s: 'ab' });
});

test('enums, booleans, arrays, nested objects', () => {
  const s = {
    type: 'object',
    properties: {
      level: { type: 'string', enum: ['debug', 'info'] },
      flag: { type: 'boolean' },
      must: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
      nums: { type: 'array', items: { type: 'integer' } },
      inner: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'string' } }, required: ['x'] },
      map: { type: 'object', additionalProperties: { type: 'integer' } },
    },
    required: ['must'],
  };
  assert.deepEqual(argumentsOf(s, undefined).value, { must: false });
  const r = argumentsOf(s, { level: '1', flag: true, tags: ['a'], nums: ['1', '2'], inner: { x: '1.5' }, map: '{"k": 3}' });
  assert.deepEqual(r.value, { level: 'info', flag: true, must: false, tags: ['a'], nums: [1, 2], inner: { x: 1.5 }, map: { k: 3 } });
  const bad = argumentsOf(s, { tags: ['a', 'b', 'c'], nums: ['1', 'x'], inner: { y: 'z' }, map: '{"k": "v"}' });
  assert.deepEqual(bad.errors, {
    tags: 'At most 2 items.',
    'nums[1]': 'An integer is expected.',
    'inner.x': 'Required.',
    'map.k': 'integer expected, not string.',
  });
  // An optional object left empty is left out with the fields it requires.
  assert.deepEqual(argumentsOf(s, { inner: { x: '' } }).value, { must: false });
  assert.equal(argumentsOf(s, { map: '{' }).errors.map.startsWith('Not valid JSON'), true);
});

test('oneOf and anyOf', () => {
  const s = { type: 'object', properties: { v: { oneOf: [{ type: 'string' }, { type: 'integer' }] } } };
  assert.deepEqual(argumentsOf(s, { v: '"x"' }).value, { v: 'x' });
  assert.deepEqual(argumentsOf(s, { v: '3' }).value, { v: 3 });
  assert.ok(argumentsOf(s, { v: 'true' }).errors.v);
  const e = {};
  assert.equal(validate({ anyOf: [{ type: 'number' }, { type: 'string' }] }, null, ['z'], e), false);
  assert.ok(e.z);
});

test('collect keeps what was typed for enum values that are not strings', () => {
  const e = {};
  assert.deepEqual(collect({ enum: [1, null, true] }, '1', ['v'], e), { present: true, value: null });
  assert.deepEqual(e, {});
});

test('a root that is not an object of properties is typed as JSON', () => {
  assert.deepEqual(argumentsOf({ type: 'object' }, undefined), { value: {}, errors: {} });
  assert.deepEqual(argumentsOf({ type: 'object', additionalProperties: true }, '{"a":1}'), { value: { a: 1 }, errors: {} });
  assert.ok(argumentsOf({ type: 'object', additionalProperties: true }, '[1]').errors['']);
  assert.deepEqual(argumentsOf(undefined, undefined), { value: {}, errors: {} });
});

console.log('ok', n);
