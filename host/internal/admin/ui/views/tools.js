// Tools: the catalogue of every server's tools as clients see them
// (searchable; tools a server's tool block changed or whose name was
// shortened are marked), the tools filters and tool blocks keep from
// clients, and, at #/tools/<exposed name>, one tool with a Try-it form
// generated from its input schema. The arguments are checked against the
// schema before anything is sent; the result shows each content block as
// text (images only as data: URLs of image/* types), the structured
// content, isError and the latency. Everything a server sent is text.
import { html, useState, useMemo, useRef, useLive, useDash, link, fmtMs, Json, Page, CopyButton, ErrorBanner } from '../lib.js';
import { api } from '../api.js';
import { argumentsOf } from './schema.js';
import { SchemaForm, setIn } from './schemaform.js';

// The tool list changes with the servers' states and with reloads.
const when = (ev) => ev.type === 'state' || ev.type === 'reload';

export default function Tools({ params }) {
  const { data, error } = useLive(() => api('tools'), { when });
  const tools = data ? data.tools || [] : null;
  if (params.length) return html`<${ToolPage} name=${params[0]} tools=${tools} error=${error} />`;
  return html`<${Catalog} tools=${tools} leftOut=${data ? data.left_out || [] : []} error=${error} />`;
}

// matches is true when every word of q is in the tool's exposed name,
// server, original name, title or description.
function matches(t, q) {
  const hay = [t.name, t.server, t.original_name, t.title, t.description].join('\n').toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

// The last search, kept for coming back from a tool to the catalogue.
let lastQuery = '';

function Catalog({ tools, leftOut, error }) {
  const [q, setQ] = useState(lastQuery);
  lastQuery = q;
  const shown = useMemo(() => (tools || []).filter((t) => matches(t, q)), [tools, q]);
  const servers = new Set((tools || []).map((t) => t.server)).size;
  return html`
    <${Page} title="Tools" sub=${tools ? `${tools.length} tools from ${servers} server${servers === 1 ? '' : 's'}` : '…'}
      actions=${html`<input class="search" id="tool-search" type="search" placeholder="Search name, server, description"
        aria-label="Search tools" value=${q} onInput=${(e) => setQ(e.target.value)} />`}>
      <${ErrorBanner} error=${error} />
      ${tools && html`<p class="count" id="tool-count">${q ? `${shown.length} of ${tools.length} tools match` : ''}</p>`}
      ${tools && html`
        <table class="list tools" id="tools">
          <thead><tr><th>Tool</th><th>Server</th><th>Description</th><th>Schemas</th></tr></thead>
          <tbody>
            ${shown.map((t) => html`<${Row} key=${t.name} t=${t} />`)}
          </tbody>
        </table>`}
      ${tools && !shown.length && html`<p class="muted">${tools.length ? 'No tool matches.' : 'No server offers a tool.'}</p>`}
      <${LeftOut} tools=${leftOut.filter((t) => matches(t, q))} />
    <//>`;
}

const leftOutWhy = {
  filtered: 'left out by the server\'s tools filter',
  hidden: 'hidden by its tool block',
};

// LeftOut lists the tools servers offer that clients do not see.
function LeftOut({ tools }) {
  if (!tools.length) return null;
  return html`
    <section class="panel left-out">
      <h2>Not exposed</h2>
      <table class="list tools" id="left-out">
        <thead><tr><th>Tool</th><th>Server</th><th>Why</th></tr></thead>
        <tbody>
          ${tools.map((t) => html`
            <tr class="left-out-row" key=${t.server + '/' + t.original_name} data-server=${t.server} data-original=${t.original_name} data-state=${t.state}>
              <td><code>${t.original_name}</code></td>
              <td class="server"><a href=${link('servers', t.server)}>${t.server}</a></td>
              <td><span class=${'badge ' + (t.state === 'hidden' ? 'info' : 'bad')}>${t.state}</span>
                <span class="muted-inline">${leftOutWhy[t.state] || ''}</span></td>
            </tr>`)}
        </tbody>
      </table>
    </section>`;
}

// Marks says how the proxy changed a tool: its tool block's overrides and a
// name shortened to fit proxy.name_budget.
function Marks({ t }) {
  const marks = (t.overridden || []).map((f) => ['overridden', `${f} overridden`, `the server's tool block sets its ${f}`]);
  if (t.shortened) marks.push(['shortened', 'name shortened', 'cut to fit proxy.name_budget']);
  if (t.pinned) marks.push(['pinned', 'pinned', 'listed in search mode (proxy.pinned_tools)']);
  if (!marks.length) return null;
  return html`<div class="badges marks">${marks.map(([kind, label, title]) =>
    html`<span class="badge info" data-mark=${kind} title=${title}>${label}</span>`)}</div>`;
}

function Row({ t }) {
  return html`
    <tr class="tool-row" data-tool=${t.name} data-server=${t.server}>
      <td class="tool-name">
        <a href=${link('tools', t.name)}>${t.name}</a>
        ${t.title && html`<div class="muted-inline">${t.title}</div>`}
        <${Marks} t=${t} />
      </td>
      <td class="server"><a href=${link('servers', t.server)}>${t.server}</a><div class="muted-inline orig">${t.original_name}</div></td>
      <td class="desc-cell">
        ${t.description && html`<div class="desc">${t.description}</div>`}
        <${Annotations} a=${t.annotations} />
      </td>
      <td class="schemas">
        <${Lazy} label="input">${() => html`<${Json} value=${t.input_schema ?? null} />`}<//>
        ${t.output_schema && html`<${Lazy} label="output">${() => html`<${Json} value=${t.output_schema} />`}<//>`}
      </td>
    </tr>`;
}

// Lazy is a <details> whose content is rendered only once opened (a
// catalogue of a hundred tools need not lay out a hundred schemas).
function Lazy({ label, children, open: initial = false }) {
  const [open, setOpen] = useState(initial);
  return html`
    <details class="lazy" open=${initial} onToggle=${(e) => setOpen(e.currentTarget.open)}>
      <summary>${label}</summary>
      ${open && children()}
    </details>`;
}

const hints = [
  ['readOnlyHint', 'read-only', 'good'],
  ['destructiveHint', 'destructive', 'bad'],
  ['idempotentHint', 'idempotent', 'info'],
  ['openWorldHint', 'open world', 'info'],
];

// Annotations shows the hints that are true as badges (a hint that is
// false or absent shows nothing).
function Annotations({ a }) {
  if (!a || typeof a !== 'object') return null;
  const on = hints.filter(([k]) => a[k] === true);
  if (!on.length) return null;
  return html`<div class="badges">${on.map(([k, label, kind]) =>
    html`<span class=${'badge ' + kind} data-hint=${k} title=${k}>${label}</span>`)}</div>`;
}

function ToolPage({ name, tools, error }) {
  // A tool that goes away while shown (its server restarts, say) stays,
  // marked as gone, so that the form and the last answer are kept.
  const seen = useRef(null);
  const found = tools && tools.find((t) => t.name === name);
  if (found) seen.current = found;
  const tool = found || seen.current;
  const back = html`<a class="back" href="#/tools">← All tools</a>`;
  if (!tools && !tool) {
    return html`<${Page} title=${name} actions=${back}><${ErrorBanner} error=${error} />
      ${!error && html`<p class="muted">Loading…</p>`}<//>`;
  }
  if (!tool) {
    return html`<${Page} title=${name} actions=${back}>
      <${ErrorBanner} error=${error} />
      <p class="error banner" id="tool-missing">No tool is named ${name} now: its server may be stopped, or the name may have changed.</p>
    <//>`;
  }
  return html`
    <${Page} title=${tool.name} sub=${tool.title || ''} actions=${back}>
      <${ErrorBanner} error=${error} />
      ${!found && html`<p class="error banner" id="tool-gone">${tool.server} does not offer this tool now (it may be stopped or restarting); calls may fail.</p>`}
      <section class="panel tool-about" id="tool-about" data-tool=${tool.name}>
        <dl class="facts">
          <dt>Server</dt><dd><a href=${link('servers', tool.server)}>${tool.server}</a></dd>
          <dt>Original name</dt><dd><code>${tool.original_name}</code></dd>
          ${tool.description && html`<dt>Description</dt><dd class="desc">${tool.description}</dd>`}
        </dl>
        <${Annotations} a=${tool.annotations} />
      </section>
      <${TryIt} key=${tool.name} tool=${tool} />
      <section class="panel schemas-panel">
        <h2>Schemas</h2>
        <${Lazy} label="Input schema">${() => html`<${Json} id="input-schema" value=${tool.input_schema ?? null} />`}<//>
        ${tool.output_schema
          ? html`<${Lazy} label="Output schema">${() => html`<${Json} id="output-schema" value=${tool.output_schema} />`}<//>`
          : html`<p class="muted-inline">No output schema.</p>`}
        ${tool.annotations && html`<${Lazy} label="Annotations">${() => html`<${Json} value=${tool.annotations} />`}<//>`}
      </section>
    <//>`;
}

// TryIt is the form, the Send button and the last answer. The buttons are
// outside the form (Send names it): one in it that says no type, as
// CopyButton's, would submit it.
function TryIt({ tool }) {
  const { fail } = useDash();
  const [draft, setDraft] = useState(undefined);
  const [tried, setTried] = useState(false); // errors show once Send was pressed
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState(null); // { response } | { error }
  const seq = useRef(0);
  const schema = tool.input_schema;
  const args = useMemo(() => argumentsOf(schema, draft), [schema, draft]);
  const errors = tried ? args.errors : {};
  const set = (path, value) => setDraft((d) => setIn(d, path, value));

  const send = async (e) => {
    e.preventDefault();
    setTried(true);
    if (Object.keys(args.errors).length) return; // nothing is sent
    const mine = ++seq.current;
    setBusy(true);
    try {
      const response = await api(`tools/${encodeURIComponent(tool.name)}/call`, {
        method: 'POST', body: { arguments: args.value },
      });
      if (mine === seq.current) setAnswer({ response, args: args.value });
    } catch (err) {
      const msg = fail(err);
      if (mine === seq.current && msg) setAnswer({ error: msg });
    } finally {
      if (mine === seq.current) setBusy(false);
    }
  };
  const nErrors = Object.keys(errors).length;
  return html`
    <div class="try">
      <section class="panel">
        <h2>Try it</h2>
        <form id="try-form" novalidate onSubmit=${send} data-tool=${tool.name}>
          <${SchemaForm} schema=${schema} draft=${draft} set=${set} errors=${errors} />
          ${errors[''] && html`<p class="field-error" data-for="">${errors['']}</p>`}
        </form>
        <div class="try-actions">
          <button type="submit" form="try-form" id="try-send" disabled=${busy}>${busy ? 'Calling…' : 'Call tool'}</button>
          <button type="button" class="secondary" id="try-reset" onClick=${() => { setDraft(undefined); setTried(false); }}>Clear</button>
          <${CopyButton} id="copy-curl" label="Copy as curl" text=${() => curl(tool.name, args.value)} />
          ${nErrors > 0 && html`<span class="error" id="try-invalid">${nErrors === 1 ? '1 field needs' : `${nErrors} fields need`} fixing; nothing was sent.</span>`}
        </div>
        <details class="lazy" id="curl">
          <summary>curl</summary>
          <pre class="json" id="curl-text">${curl(tool.name, args.value)}</pre>
        </details>
      </section>
      <section class="panel result-panel">
        <h2>Result</h2>
        <${Result} answer=${answer} busy=${busy} />
      </section>
    </div>`;
}

function Result({ answer, busy }) {
  if (!answer) return html`<p class="muted-inline" id="try-empty">${busy ? 'Calling…' : 'No call yet.'}</p>`;
  if (answer.error) {
    return html`<div id="try-result" data-state="failed"><p class="error banner" id="try-error">The call failed: ${answer.error}</p></div>`;
  }
  const { response } = answer;
  const latency = html`<span class="latency" id="try-latency" data-ms=${response.latency_ms}>${fmtMs(response.latency_ms)}</span>`;
  if (response.rpc_error) {
    const e = response.rpc_error;
    return html`
      <div id="try-result" data-state="rpc-error" class=${busy ? 'stale' : ''}>
        <div class="result-head"><span class="state bad" data-rpc-error=${e.code}>JSON-RPC error ${e.code}</span>${latency}</div>
        <pre class="text" id="try-rpc-error">${e.message}</pre>
        ${e.data !== undefined && html`<${Json} value=${e.data} />`}
      </div>`;
  }
  const r = response.result && typeof response.result === 'object' ? response.result : {};
  const blocks = Array.isArray(r.content) ? r.content : [];
  const isError = r.isError === true;
  return html`
    <div id="try-result" data-state="result" class=${busy ? 'stale' : ''}>
      <div class="result-head">
        <span class=${'state ' + (isError ? 'bad' : 'good')} data-is-error=${String(isError)}>${isError ? 'isError: the tool failed' : 'success'}</span>
        ${latency}
      </div>
      ${blocks.length === 0 && html`<p class="muted-inline">No content blocks.</p>`}
      ${blocks.map((b, i) => html`<${Block} key=${i} b=${b} i=${i} />`)}
      ${'structuredContent' in r && html`
        <h3>Structured content</h3>
        <${Json} id="try-structured" value=${r.structuredContent} />`}
      <${Lazy} label="Whole response">${() => html`<${Json} value=${response} />`}<//>
    </div>`;
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

// Block is one content block: text as text; an image as an <img> of a
// data: URL when its type is image/* and its data base64; anything else as
// JSON.
function Block({ b, i }) {
  const type = b && typeof b.type === 'string' ? b.type : '?';
  let body;
  if (type === 'text' && typeof b.text === 'string') {
    body = html`<pre class="text">${b.text}</pre>`;
  } else if (type === 'image' && typeof b.mimeType === 'string' && /^image\/[\w.+-]+$/.test(b.mimeType) &&
      typeof b.data === 'string' && base64.test(b.data)) {
    body = html`<img class="block-image" alt=${`image ${i} (${b.mimeType})`} src=${`data:${b.mimeType};base64,${b.data}`} />`;
  } else {
    body = html`<${Json} value=${b} />`;
  }
  return html`
    <div class="block" data-type=${type} data-index=${i}>
      <span class="block-type">${type}${b && b.mimeType ? ' · ' + b.mimeType : ''}</span>
      ${body}
    </div>`;
}

// curl is the same call as a shell command. The page never knows the admin
// token (the session cookie is HttpOnly): the command reads it as
// `mcphost ctl` does, from $MCPHOST_ADMIN_TOKEN or else the token file
// mcphost writes for this port.
export function curl(name, args) {
  const port = location.port || (location.protocol === 'https:' ? '443' : '80');
  const url = `${location.origin}/api/v1/tools/${encodeURIComponent(name)}/call`;
  const body = JSON.stringify({ arguments: args === undefined ? {} : args });
  const file = `admin-${port}.token`;
  const lines = [
    '# The admin token, as `mcphost ctl` finds it: $MCPHOST_ADMIN_TOKEN, or the file mcphost wrote',
    `# when it generated one: $XDG_RUNTIME_DIR/mcphost/${file}, or $TMPDIR/mcphost-UID/${file}`,
    '# without XDG_RUNTIME_DIR. (A token set in the configuration is not written to a file.)',
    'dir="${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/mcphost}"; dir="${dir:-${TMPDIR:-/tmp}/mcphost-$(id -u)}"',
    `token="\${MCPHOST_ADMIN_TOKEN:-$(cat "$dir/${file}")}"`,
  ];
  if (args === undefined) lines.push('# The form has errors: fix them, or these arguments are not what it shows.');
  lines.push(
    `curl -sS -X POST ${sq(url)} \\`,
    '  -H "Authorization: Bearer $token" \\',
    "  -H 'Content-Type: application/json' \\",
    `  --data-binary ${sq(body)}`,
  );
  return lines.join('\n');
}

// sq quotes s for a POSIX shell.
const sq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
