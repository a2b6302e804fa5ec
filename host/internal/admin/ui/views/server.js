// Server detail (#/servers/<name>): its state and actions, the live log
// tail, its tools, prompts and resources, and its configuration as the API
// gives it (secrets already redacted by the plugin's schema).
import { html, useState, useEffect, useRef, useLive, useDash, stateKind, link, fmtTime, Json, StateBadge, ErrorBanner, Page } from '../lib.js';
import { api, followLog } from '../api.js';
import { Actions } from './overview.js';

export default function Server({ params }) {
  const name = params[0] || '';
  const { toast, fail } = useDash();
  const { data, error } = useLive(async () => {
    const [s, tools, prompts, resources, config] = await Promise.all([
      api('servers/' + encodeURIComponent(name)), api('tools'), api('prompts'), api('resources'), api('config'),
    ]);
    const mine = (x) => x.server === name;
    return {
      server: s,
      tools: tools.tools.filter(mine),
      prompts: prompts.prompts.filter(mine),
      resources: resources.resources.filter(mine),
      config: config.servers.find((c) => c.name === name),
    };
  }, { when: (ev) => ev.type === 'reload' || ev.server === name, deps: [name] });
  const [busy, setBusy] = useState('');

  const run = async (verb) => {
    setBusy(verb);
    try {
      await api(`servers/${encodeURIComponent(name)}/${verb}`, { method: 'POST' });
    } catch (err) {
      const msg = fail(err);
      if (msg) toast(`${verb} ${name}: ${msg}`, 'bad');
    }
    setBusy('');
  };

  const s = data && data.server;
  const stopped = s && (s.state === 'stopped' || s.state === 'failed');
  return html`
    <${Page} title=${name} sub=${html`<a href="#/overview">Overview</a> / server`}
      actions=${s && html`<${StateBadge} state=${s.state} />`}>
      <${ErrorBanner} error=${error} />
      ${s && html`
        <section class=${'panel server-head ' + stateKind(s.state)} id="server-head" data-state=${s.state}>
          ${s.reason && html`<p class="reason">${s.reason}</p>`}
          <dl class="facts">
            <dt>Transport</dt><dd>${s.transport || '—'}</dd>
            <dt>Protocol</dt><dd>${s.protocol_version || '—'}</dd>
            <dt>In flight</dt><dd>${s.in_flight}</dd>
            <dt>Restarts</dt><dd>${s.restarts}</dd>
            ${s.next_attempt && html`<dt>Next retry</dt><dd>${fmtTime(s.next_attempt)}</dd>`}
          </dl>
          ${s.last_error && html`<p class="last-error"><span class="label">Last error</span> ${s.last_error}</p>`}
          <${Actions} busy=${busy} stopped=${stopped} run=${run} />
        </section>`}
      <${LogTail} name=${name} />
      ${data && html`
        <div class="columns">
          <section class="panel" id="server-tools">
            <h2>Tools (${data.tools.length})</h2>
            <ul class="plain">
              ${data.tools.map((t) => html`<li key=${t.name} data-tool=${t.name}>
                <a href=${link('tools', t.name)}>${t.name}</a>
                ${t.description && html`<span class="muted-inline"> — ${t.description}</span>`}</li>`)}
            </ul>
          </section>
          <section class="panel" id="server-prompts">
            <h2>Prompts (${data.prompts.length})</h2>
            <ul class="plain">
              ${data.prompts.map((p) => html`<li key=${p.name}>${p.name}
                ${p.description && html`<span class="muted-inline"> — ${p.description}</span>`}</li>`)}
            </ul>
            <h2>Resources (${data.resources.length})</h2>
            <ul class="plain" id="server-resources">
              ${data.resources.map((r) => html`<li key=${r.uri}><code>${r.uri}</code>
                ${(r.title || r.name) && html`<span class="muted-inline"> — ${r.title || r.name}</span>`}</li>`)}
            </ul>
          </section>
        </div>
        <section class="panel" id="server-config">
          <h2>Configuration</h2>
          ${data.config ? html`<${Json} value=${data.config} />` : html`<p class="muted-inline">Not in the running configuration.</p>`}
        </section>`}
    <//>`;
}

// Lines kept in the tail, newest last.
const keep = 2000;

// levelOf guesses a log line's level: the host's own lines carry
// [LEVEL]; what a backend wrote on stderr (relayed at INFO, with
// stream=stderr) is judged by its words.
export function levelOf(line) {
  const m = /\[(TRACE|DEBUG|INFO|WARN|ERROR)\]/.exec(line);
  if (m && !/ stream=stderr\b/.test(line)) return m[1].toLowerCase();
  if (/\b(panic|fatal|error|failed|exception)\b/i.test(line)) return 'error';
  if (/\bwarn(ing)?\b/i.test(line)) return 'warn';
  if (/\bdebug\b/i.test(line)) return 'debug';
  return 'info';
}

const rank = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

function LogTail({ name }) {
  const [lines, setLines] = useState([]);
  const [status, setStatus] = useState('connecting');
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [level, setLevel] = useState('trace');
  const held = useRef([]); // lines that came while paused
  const pausedRef = useRef(false);
  const [heldCount, setHeldCount] = useState(0);
  const box = useRef(null);
  const seq = useRef(0);

  useEffect(() => followLog(name, 200, {
    onStatus: setStatus,
    onReset: () => {
      held.current = [];
      setHeldCount(0);
      setLines([]);
    },
    onLine: (text) => {
      const line = { id: seq.current++, text, level: levelOf(text) };
      if (pausedRef.current) {
        held.current.push(line);
        setHeldCount(held.current.length);
        return;
      }
      setLines((ls) => (ls.length >= keep ? [...ls.slice(ls.length - keep + 1), line] : [...ls, line]));
    },
  }), [name]);

  // Follow the bottom unless the reader scrolled up.
  const atBottom = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines, filter, level]);

  const togglePause = () => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next && held.current.length) {
      const more = held.current;
      held.current = [];
      setHeldCount(0);
      setLines((ls) => [...ls, ...more].slice(-keep));
    }
  };

  const needle = filter.toLowerCase();
  const shown = lines.filter((l) => rank[l.level] >= rank[level] && (!needle || l.text.toLowerCase().includes(needle)));
  return html`
    <section class="panel" id="log-tail" data-status=${status}>
      <div class="log-bar">
        <h2>Log</h2>
        <span class=${'conn ' + status}>${status}</span>
        <span class="spacer"></span>
        <input class="search" id="log-filter" type="search" placeholder="Filter" value=${filter}
          onInput=${(e) => setFilter(e.target.value)} />
        <select id="log-level" value=${level} onChange=${(e) => setLevel(e.target.value)}>
          <option value="trace">All levels</option>
          <option value="info">Info and above</option>
          <option value="warn">Warnings and errors</option>
          <option value="error">Errors</option>
        </select>
        <button class="secondary" id="log-pause" aria-pressed=${paused} onClick=${togglePause}>
          ${paused ? `Resume${heldCount ? ` (${heldCount} new)` : ''}` : 'Pause'}</button>
      </div>
      <div class="log" ref=${box} onScroll=${(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}>
        ${shown.length === 0 && html`<p class="muted-inline">${lines.length ? 'No line matches.' : 'No lines yet.'}</p>`}
        ${shown.map((l) => html`<div key=${l.id} class=${'log-line ' + l.level}>${l.text}</div>`)}
      </div>
      <p class="log-foot muted-inline">${shown.length} of ${lines.length} lines${paused ? ' · paused' : ''}</p>
    </section>`;
}
