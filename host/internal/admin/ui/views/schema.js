// The JSON Schema side of the Try-it form, without any UI (so node can test
// it, see ../testdata/schema_test.mjs): which input a schema gets (kindOf),
// turning what was typed into the arguments (collect), and checking a
// value against the schema (validate). Errors are keyed by the field's
// path as the form names its inputs: a.b, list[2].
//
// What was typed (the draft) mirrors the schema: a string (text, number,
// integer and enum fields, raw JSON), true/false or undefined (booleans), an
// array of drafts (arrays of scalars), an object of drafts (objects).

const scalarTypes = ['string', 'number', 'integer', 'boolean'];

// typeOf is a schema's one type: its type, or the one type other than
// "null" of a type list such as ["string", "null"]; '' when there is none
// or there are several.
export function typeOf(schema) {
  if (!schema || typeof schema !== 'object') return '';
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const rest = t.filter((x) => x !== 'null');
    return rest.length === 1 ? rest[0] : '';
  }
  return '';
}

const isPrimitive = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

// hasEnum is true when the schema lists its values and they are all
// primitive (a select can offer them).
export const hasEnum = (schema) =>
  !!schema && Array.isArray(schema.enum) && schema.enum.length > 0 && schema.enum.every(isPrimitive);

// composed is true when the schema combines others ($ref, oneOf, ...):
// such a value is typed as raw JSON.
const composed = (schema) => ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', 'if'].some((k) => k in schema);

// kindOf is the input a schema gets: 'enum' (a select), 'string', 'number',
// 'integer', 'boolean', 'array' (rows of a scalar), 'object' (a fieldset
// of its properties) or 'raw' (a JSON textarea) for anything else.
export function kindOf(schema) {
  if (!schema || typeof schema !== 'object' || composed(schema)) return 'raw';
  if (hasEnum(schema)) return 'enum';
  const t = typeOf(schema);
  if (scalarTypes.includes(t)) return t;
  if (t === 'array') {
    const items = schema.items;
    if (!items || Array.isArray(items) || composed(items)) return 'raw';
    const k = kindOf(items);
    return k === 'enum' || scalarTypes.includes(k) ? 'array' : 'raw';
  }
  if (t === 'object') {
    const props = schema.properties;
    const hasProps = props && typeof props === 'object' && Object.keys(props).length > 0;
    // A map (additionalProperties with no properties) is typed as JSON.
    if (!hasProps && schema.additionalProperties && schema.additionalProperties !== false) return 'raw';
    if (schema.patternProperties) return 'raw';
    return 'object';
  }
  return 'raw';
}

// pathName names the field at path (a list of keys and indexes).
export function pathName(path) {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? '.' + p : p;
  }
  return s;
}

const isBlank = (d) => d === undefined || d === null || (typeof d === 'string' && d.trim() === '');

// collect turns the draft of a value of schema at path into the value:
// { present, value }; present is false when nothing was given (the field
// is then left out). Errors of what cannot be converted, and of required
// fields left empty, go into errors (path name → message).
export function collect(schema, draft, path, errors, required = false) {
  const name = pathName(path);
  const missing = () => {
    if (required) errors[name] = 'Required.';
    return { present: false };
  };
  switch (kindOf(schema)) {
    case 'enum': {
      if (isBlank(draft)) return missing();
      const i = Number(draft);
      return { present: true, value: schema.enum[i] };
    }
    case 'string':
      // An empty string field is left out (a required one is refused).
      if (draft === undefined || draft === '') return missing();
      return { present: true, value: String(draft) };
    case 'number':
    case 'integer': {
      if (isBlank(draft)) return missing();
      const s = String(draft).trim();
      const n = Number(s);
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) || !Number.isFinite(n)) {
        errors[name] = kindOf(schema) === 'integer' ? 'An integer is expected.' : 'A number is expected.';
        return { present: true, value: undefined };
      }
      return { present: true, value: n };
    }
    case 'boolean':
      if (draft === undefined) return required ? { present: true, value: false } : { present: false };
      return { present: true, value: !!draft };
    case 'array': {
      if (!Array.isArray(draft) || (draft.length === 0 && !required)) return missing();
      const value = draft.map((d, i) => {
        const item = collect(schema.items, d, [...path, i], errors, true);
        return item.value;
      });
      return { present: true, value };
    }
    case 'object': {
      const props = schema.properties || {};
      const req = new Set(Array.isArray(schema.required) ? schema.required : []);
      const mine = {};
      const value = {};
      let any = false;
      for (const [key, sub] of Object.entries(props)) {
        const d = draft && typeof draft === 'object' ? draft[key] : undefined;
        const r = collect(sub, d, [...path, key], mine, req.has(key));
        if (r.present) {
          any = true;
          value[key] = r.value;
        }
      }
      // An optional object nothing was typed into is left out, and the
      // fields it requires with it.
      if (!any && !required) return { present: false };
      Object.assign(errors, mine);
      return { present: true, value };
    }
    default: {
      if (isBlank(draft)) return missing();
      try {
        return { present: true, value: JSON.parse(draft) };
      } catch (err) {
        errors[name] = 'Not valid JSON: ' + err.message;
        return { present: true, value: undefined };
      }
    }
  }
}

const jsonType = (v) => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
};

const typeMatches = (t, v) => {
  const got = jsonType(v);
  return t === got || (t === 'number' && got === 'integer');
};

const show = (v) => JSON.stringify(v);

// validate checks value against schema, as far as these keywords go: type,
// enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// multipleOf, minLength, maxLength, pattern, items, minItems, maxItems,
// uniqueItems, properties, required, additionalProperties, anyOf, oneOf,
// allOf. Others ($ref, formats...) are the server's to check. It adds
// errors (path name → message; the first one for each path) and returns
// whether there were none.
export function validate(schema, value, path, errors) {
  const before = Object.keys(errors).length;
  check(schema, value, path, errors);
  return Object.keys(errors).length === before;
}

function check(schema, v, path, errors) {
  if (!schema || typeof schema !== 'object' || v === undefined) return;
  const name = pathName(path);
  const fail = (msg) => {
    if (!(name in errors)) errors[name] = msg;
  };
  const types = Array.isArray(schema.type) ? schema.type : typeof schema.type === 'string' ? [schema.type] : null;
  if (types && !types.some((t) => typeMatches(t, v))) {
    return fail(`${types.join(' or ')} expected, not ${jsonType(v)}.`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => show(e) === show(v))) {
    return fail(`One of ${schema.enum.map(show).join(', ')} expected.`);
  }
  if ('const' in schema && show(schema.const) !== show(v)) return fail(`${show(schema.const)} expected.`);
  if (typeof v === 'number') {
    if (typeof schema.minimum === 'number' && v < schema.minimum) return fail(`At least ${schema.minimum}.`);
    if (typeof schema.maximum === 'number' && v > schema.maximum) return fail(`At most ${schema.maximum}.`);
    if (typeof schema.exclusiveMinimum === 'number' && v <= schema.exclusiveMinimum) {
      return fail(`More than ${schema.exclusiveMinimum}.`);
    }
    if (typeof schema.exclusiveMaximum === 'number' && v >= schema.exclusiveMaximum) {
      return fail(`Less than ${schema.exclusiveMaximum}.`);
    }
    if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0) {
      const q = v / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) return fail(`A multiple of ${schema.multipleOf}.`);
    }
  }
  if (typeof v === 'string') {
    const len = [...v].length;
    if (typeof schema.minLength === 'number' && len < schema.minLength) {
      return fail(`At least ${schema.minLength} character${schema.minLength === 1 ? '' : 's'}.`);
    }
    if (typeof schema.maxLength === 'number' && len > schema.maxLength) {
      return fail(`At most ${schema.maxLength} character${schema.maxLength === 1 ? '' : 's'}.`);
    }
    if (typeof schema.pattern === 'string') {
      let re = null;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        // a pattern this browser cannot compile is the server's to check
      }
      if (re && !re.test(v)) return fail(`Does not match ${schema.pattern}.`);
    }
  }
  if (Array.isArray(v)) {
    if (typeof schema.minItems === 'number' && v.length < schema.minItems) return fail(`At least ${schema.minItems} items.`);
    if (typeof schema.maxItems === 'number' && v.length > schema.maxItems) return fail(`At most ${schema.maxItems} items.`);
    if (schema.uniqueItems === true && new Set(v.map(show)).size !== v.length) return fail('The items must differ.');
    if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) {
      v.forEach((item, i) => check(schema.items, item, [...path, i], errors));
    }
  }
  if (jsonType(v) === 'object') {
    const props = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
    for (const key of Array.isArray(schema.required) ? schema.required : []) {
      if (!(key in v)) {
        const at = pathName([...path, key]);
        if (!(at in errors)) errors[at] = 'Required.';
      }
    }
    for (const [key, val] of Object.entries(v)) {
      if (key in props) check(props[key], val, [...path, key], errors);
      else if (schema.additionalProperties === false) fail(`Unexpected property ${show(key)}.`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        check(schema.additionalProperties, val, [...path, key], errors);
      }
    }
  }
  const matches = (s) => validate(s, v, path, {});
  if (Array.isArray(schema.allOf)) schema.allOf.forEach((s) => check(s, v, path, errors));
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some(matches)) fail('Matches none of the allowed schemas (anyOf).');
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter(matches).length !== 1) {
    fail('Must match exactly one of the allowed schemas (oneOf).');
  }
}

// argumentsOf turns the draft of a tool's arguments into the arguments
// object: { value, errors }, value being undefined when errors is not
// empty. The input schema's root is an object (MCP requires it); one
// without properties gives {} or, when typed as raw JSON, what was typed.
export function argumentsOf(schema, draft) {
  const root = schema && typeof schema === 'object' ? schema : { type: 'object' };
  const errors = {};
  const r = collect(root, draft, [], errors, true);
  let value = r.present ? r.value : {};
  if (value === undefined || value === null) value = {};
  // What could be converted is checked too, so every field's error shows
  // at once; a conversion error comes first for its field.
  if (jsonType(value) !== 'object') errors[''] = 'The arguments must be a JSON object.';
  else validate(root, value, [], errors);
  return Object.keys(errors).length ? { errors } : { value, errors };
}
