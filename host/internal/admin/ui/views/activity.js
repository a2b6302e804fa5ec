// Activity: the calls clients made through the proxy (GET /api/v1/activity),
// newest first, filtered by server, tool and outcome; new calls arrive
// live on the event stream ("activity" events) and join the list when they
// pass the filters.
import { html, useState, useEffect, useDash, useLive, fmtMs, fmtBytes, ErrorBanner, Page, link } from '../lib.js';
import { api } from '../api.js';
import { outcomes, query, matches, merge, outcomeText, outcomeKind, serverChoices } from './activitymodel.js';

const limit = 200;

// shortSession is the end of a session id, enough to tell sessions apart.
const shortSession = (id) => {
  const own = id.slice(id.lastIndexOf('.') + 1);
  return own.length > 10 ? own.slice(0, 10) + '…' : own;
};

export default function Activity() {
  const { subscribe } = useDash();
  const [filters, setFilters] = useState({ server: '', tool: '', outcome: '' });
  // toolInput is what is typed; it applies on Enter or when the field is left.
  const [toolInput, setToolInput] = useState('');
  const { data, error } = useLive(async () => {
    const [list, servers] = await Promise.all([api(query(filters, limit)), api('servers')]);
    return { list, servers: servers.servers.map((s) => s.name) };
  }, { when: (ev) => ev.type === 'reload', deps: [filters.server, filters.tool, filters.outcome] });
  const [live, setLive] = useState([]);
  useEffect(() => setLive([]), [data]); // a fetch holds everything before it
  useEffect(() => subscribe((kind, ev) => {
    if (kind === 'activity' && ev.activity && matches(ev.activity, filters)) {
      setLive((l) => [ev.activity, ...l].slice(0, limit));
    }
  }), [subscribe, filters.server, filters.tool, filters.outcome]);

  const records = data ? merge(data.list.records, live, limit) : null;
  const set = (k, v) => setFilters((f) => ({ ...f, [k]: v }));
  const applyTool = () => set('tool', toolInput.trim());
  const sub = data
    ? `${records.length} shown · last ${data.list.kept} kept` + (data.list.dropped ? ` · ${data.list.dropped} dropped` : '')
    : '';
  return html`
    <${Page} title="Activity" sub=${sub}>
      <${ErrorBanner} error=${error} />
      <form class="filters" id="activity-filters" onSubmit=${(e) => { e.preventDefault(); applyTool(); }}>
        <label>Server
          <select id="activity-server" value=${filters.server} onChange=${(e) => set('server', e.target.value)}>
            <option value="">any</option>
            ${data && serverChoices(data.servers, records).map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
          </select>
        </label>
        <label>Tool, prompt or URI
          <input id="activity-tool" class="search" type="search" placeholder="name as exposed or original" value=${toolInput}
            onInput=${(e) => setToolInput(e.target.value)} onBlur=${applyTool} />
        </label>
        <label>Outcome
          <select id="activity-outcome" value=${filters.outcome} onChange=${(e) => set('outcome', e.target.value)}>
            <option value="">any</option>
            ${outcomes.map((o) => html`<option key=${o} value=${o}>${o}</option>`)}
          </select>
        </label>
      </form>
      <table class="list" id="activity" data-filter=${JSON.stringify(filters)} data-loaded=${data ? 'yes' : 'no'}>
        <thead><tr><th>Time</th><th>Client</th><th>Server</th><th>Kind</th><th>Name</th><th>Outcome</th>
          <th>Duration</th><th>Sent</th><th>Received</th><th>Session</th></tr></thead>
        <tbody>
          ${records && records.length === 0 && html`<tr><td colspan="10" class="muted-inline">No calls match.</td></tr>`}
          ${records && records.map((r) => html`
            <tr key=${r.seq} class="activity-row" data-seq=${r.seq} data-server=${r.server} data-tool=${r.exposed_name}
              data-outcome=${r.outcome}>
              <td title=${r.time}>${new Date(r.time).toLocaleTimeString()}</td>
              <td>${r.client_name || html`<span class="muted-inline">unnamed</span>`} ${r.client_version && html`<span class="muted-inline">${r.client_version}</span>`}</td>
              <td>${r.server ? html`<a href=${link('servers', r.server)}>${r.server}</a>` : html`<span class="muted-inline">none</span>`}</td>
              <td>${r.kind}</td>
              <td><code title=${r.name ? 'original: ' + r.name : 'reached no server'}>${r.exposed_name}</code></td>
              <td><span class=${'state ' + outcomeKind(r.outcome)}>${outcomeText(r)}</span></td>
              <td>${fmtMs(r.duration_ms)}</td>
              <td>${fmtBytes(r.request_bytes)}</td>
              <td>${fmtBytes(r.response_bytes)}</td>
              <td><code title=${r.session}>${shortSession(r.session)}</code></td>
            </tr>`)}
        </tbody>
      </table>
    <//>`;
}
