// SchemaForm: the inputs of a tool's arguments, generated from its input
// schema (see schema.js for the kinds of input and the checks). Each input
// is named by its JSON path (a.b, list[2]) and its error, if any, follows it
// as .field-error[data-for=<path>]. Schemas come from servers: every
// name, description and default is shown as text.
import { html, useState, Json } from '../lib.js';
import { kindOf, pathName, typeOf } from './schema.js';

// setIn returns draft with the value at path replaced (draft is not
// changed): objects and arrays are made as the path needs them.
export function setIn(draft, path, value) {
  if (!path.length) return value;
  const [head, ...rest] = path;
  const copy = Array.isArray(draft) ? [...draft] : typeof head === 'number' ? [] : { ...(draft || {}) };
  copy[head] = setIn(copy[head], rest, value);
  return copy;
}

// SchemaForm renders the fields of the root object schema; draft is what
// was typed, set(path, value) changes it, errors (path → message) are shown
// next to their fields.
export function SchemaForm({ schema, draft, set, errors }) {
  const kind = kindOf(schema);
  if (kind === 'object') {
    const props = Object.entries(schema.properties || {});
    if (!props.length) return html`<p class="muted-inline no-args">This tool takes no arguments.</p>`;
    return html`<${Fields} schema=${schema} path=${[]} draft=${draft} set=${set} errors=${errors} />`;
  }
  // Not a plain object: the whole arguments object as JSON.
  return html`<${Field} schema=${schema || {}} path=${[]} label="arguments" required=${true}
    draft=${draft} set=${set} errors=${errors} />`;
}

function Fields({ schema, path, draft, set, errors }) {
  const req = new Set(Array.isArray(schema.required) ? schema.required : []);
  return Object.entries(schema.properties || {}).map(([key, sub]) => html`
    <${Field} key=${key} schema=${sub} path=${[...path, key]} label=${key} required=${req.has(key)}
      draft=${draft && typeof draft === 'object' ? draft[key] : undefined} set=${set} errors=${errors} />`);
}

const inputId = (name) => 'arg-' + (name || 'root');

function describeType(schema, kind) {
  if (kind === 'enum') return 'enum';
  if (kind === 'array') return `array of ${kindOf(schema.items) === 'enum' ? 'enum' : typeOf(schema.items)}`;
  if (kind === 'raw') return typeOf(schema) ? `${typeOf(schema)}, as JSON` : 'JSON';
  return kind;
}

// Constraints lists a schema's bounds for the hint under its input.
function constraints(s) {
  const out = [];
  const add = (k, label) => s[k] !== undefined && out.push(`${label} ${typeof s[k] === 'string' ? s[k] : JSON.stringify(s[k])}`);
  add('minimum', 'min');
  add('maximum', 'max');
  add('exclusiveMinimum', '>');
  add('exclusiveMaximum', '<');
  add('minLength', 'min length');
  add('maxLength', 'max length');
  add('pattern', 'pattern');
  add('format', 'format');
  add('minItems', 'min items');
  add('maxItems', 'max items');
  return out.join(' · ');
}

function Field({ schema, path, label, required, draft, set, errors }) {
  const kind = kindOf(schema);
  const name = pathName(path);
  const id = inputId(name);
  const error = errors[name];
  const title = schema && typeof schema.title === 'string' && schema.title !== label ? schema.title : '';
  const hasDefault = schema && 'default' in schema;
  const head = html`
    <div class="field-head">
      <label for=${kind === 'object' ? undefined : id}>${label}</label>
      ${required && html`<span class="req" title="required">required</span>`}
      <span class="type">${describeType(schema, kind)}</span>
      ${title && html`<span class="muted-inline">${title}</span>`}
    </div>`;
  const notes = html`
    ${schema && typeof schema.description === 'string' && schema.description && html`<p class="desc">${schema.description}</p>`}
    ${(hasDefault || constraints(schema || {})) && html`<p class="hint">
      ${hasDefault && html`<span class="default">default <code>${JSON.stringify(schema.default)}</code></span>`}
      ${hasDefault && constraints(schema) && ' · '}${constraints(schema || {})}</p>`}`;
  const err = error && html`<p class="field-error" data-for=${name} role="alert">${error}</p>`;

  if (kind === 'object') {
    return html`
      <fieldset class=${'field obj' + (error ? ' invalid' : '')} data-path=${name}>
        <legend>${label}${required && html` <span class="req">required</span>`}</legend>
        ${notes}${err}
        <${Fields} schema=${schema} path=${path} draft=${draft} set=${set} errors=${errors} />
      </fieldset>`;
  }
  let input;
  if (kind === 'array') {
    const rows = Array.isArray(draft) ? draft : [];
    input = html`
      <div class="rows" id=${id}>
        ${rows.map((d, i) => html`
          <div class="row" key=${i}>
            <${Scalar} schema=${schema.items} path=${[...path, i]} draft=${d} set=${set} error=${errors[pathName([...path, i])]} />
            <button type="button" class="secondary remove" aria-label=${'remove item ' + i}
              onClick=${() => set(path, rows.filter((_, j) => j !== i))}>Remove</button>
          </div>
          ${errors[pathName([...path, i])] && html`<p class="field-error" data-for=${pathName([...path, i])}>${errors[pathName([...path, i])]}</p>`}`)}
        <button type="button" class="secondary add" data-add=${name}
          onClick=${() => set(path, [...rows, kindOf(schema.items) === 'boolean' ? false : ''])}>Add item</button>
      </div>`;
  } else if (kind === 'raw') {
    input = html`
      <textarea id=${id} name=${name} class="raw" rows="4" spellcheck="false"
        placeholder=${hasDefault ? JSON.stringify(schema.default) : rawPlaceholder(schema)}
        value=${draft ?? ''} onInput=${(e) => set(path, e.target.value)}></textarea>
      <${SchemaPeek} schema=${schema} />`;
  } else {
    input = html`<${Scalar} schema=${schema} path=${path} draft=${draft} set=${set} error=${error} required=${required} />`;
  }
  return html`
    <div class=${'field' + (error ? ' invalid' : '')} data-path=${name} data-kind=${kind}>
      ${head}${input}${notes}${err}
    </div>`;
}

function rawPlaceholder(schema) {
  const t = typeOf(schema);
  if (t === 'array') return '[ … ]';
  if (t === 'object') return '{ … }';
  return 'JSON';
}

// SchemaPeek shows the schema of a field typed as JSON, on demand.
function SchemaPeek({ schema }) {
  const [open, setOpen] = useState(false);
  return html`
    <details class="peek" onToggle=${(e) => setOpen(e.currentTarget.open)}>
      <summary>schema</summary>
      ${open && html`<${Json} value=${schema} />`}
    </details>`;
}

// Scalar is one input: a select for an enum, a checkbox for a boolean, a
// text input otherwise (numbers too, so that what was typed is kept and
// refused with a message rather than silently dropped by the browser).
function Scalar({ schema, path, draft, set, error, required }) {
  const kind = kindOf(schema);
  const name = pathName(path);
  const id = inputId(name);
  const invalid = error ? 'true' : undefined;
  if (kind === 'enum') {
    const def = schema && 'default' in schema ? schema.enum.findIndex((v) => JSON.stringify(v) === JSON.stringify(schema.default)) : -1;
    return html`
      <select id=${id} name=${name} aria-invalid=${invalid} value=${draft ?? ''} onChange=${(e) => set(path, e.target.value)}>
        <option value="">${def >= 0 ? `(default: ${String(schema.enum[def])})` : required ? '(choose)' : '(not set)'}</option>
        ${schema.enum.map((v, i) => html`<option value=${String(i)}>${v === null ? 'null' : String(v)}</option>`)}
      </select>`;
  }
  if (kind === 'boolean') {
    const shown = draft ?? (schema && typeof schema.default === 'boolean' ? schema.default : false);
    return html`
      <span class="bool">
        <input type="checkbox" id=${id} name=${name} checked=${shown} onChange=${(e) => set(path, e.target.checked)} />
        ${draft === undefined && !required
          ? html`<span class="muted-inline">not sent</span>`
          : !required && html`<button type="button" class="linkish" onClick=${() => set(path, undefined)}>unset</button>`}
      </span>`;
  }
  const numeric = kind === 'number' || kind === 'integer';
  const placeholder = schema && 'default' in schema ? String(JSON.stringify(schema.default)) : numeric ? kind : '';
  return html`
    <input type="text" id=${id} name=${name} aria-invalid=${invalid} autocomplete="off" spellcheck=${!numeric}
      inputmode=${kind === 'integer' ? 'numeric' : numeric ? 'decimal' : undefined}
      placeholder=${placeholder} value=${draft ?? ''} onInput=${(e) => set(path, e.target.value)} />`;
}
