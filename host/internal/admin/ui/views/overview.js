// Overview: a card per server, live from the event stream, and the totals:
// requests/s, error rate and latency over the last interval (from two
// samples of the metrics), sessions by listener and protocol era, and the
// tracer's queue.
import { html, useState, useEffect, useRef, useLive, useDash, stateKind, link, fmtTime, fmtMs, fmtBytes, Total, StateBadge, ErrorBanner, Page } from '../lib.js';
import { api } from '../api.js';

// How often the totals are sampled: request counts are not events.
const samplePeriodMs = 5000;

export default function Overview() {
  const { toast, fail } = useDash();
  const { data, error } = useLive(async () => {
    const [s, ss, tr] = await Promise.all([api('servers'), api('sessions'), api('tracing')]);
    return { servers: s.servers, sessions: ss.sessions, tracing: tr };
  });
  // Between refetches, show a state change at once.
  const [states, setStates] = useState({});
  const { subscribe } = useDash();
  useEffect(() => subscribe((kind, ev) => {
    if (kind === 'event' && ev.type === 'state' && ev.server) {
      setStates((m) => ({ ...m, [ev.server]: { state: ev.state, reason: ev.reason, data } }));
    }
  }), [subscribe, data]);
  const totals = useTotals();

  const act = async (name, verb) => {
    try {
      await api(`servers/${encodeURIComponent(name)}/${verb}`, { method: 'POST' });
    } catch (err) {
      const msg = fail(err);
      if (msg) toast(`${verb} ${name}: ${msg}`, 'bad');
    }
  };

  const servers = data && data.servers.map((s) => {
    const seen = states[s.name];
    // An event newer than this fetch wins over the fetched state.
    return seen && seen.data === data ? { ...s, state: seen.state, reason: seen.reason } : s;
  });
  const sessions = data ? data.sessions : [];
  const running = servers ? servers.filter((s) => s.state === 'running').length : 0;
  return html`
    <${Page} title="Overview">
      <${ErrorBanner} error=${error} />
      <section class="totals" id="totals">
        <${Total} label="Servers running" value=${servers ? `${running} / ${servers.length}` : '…'} />
        <${Total} label="Requests/s" id="total-rate" value=${totals.rate} detail=${totals.rateDetail} />
        <${Total} label="Error rate" id="total-errors" value=${totals.errors} detail=${totals.errorsDetail} />
        <${Total} label="Latency p50 / p99" id="total-latency" value=${totals.latency} detail=${totals.latencyDetail} />
        <${Total} label="Sessions" id="total-sessions" value=${String(sessions.length)} detail=${sessionDetail(sessions)} />
        <${Total} label="Tracing" id="total-tracing" value=${tracingLabel(data && data.tracing)}
          detail=${tracingDetail(data && data.tracing)} />
      </section>
      <section class="cards" id="servers">
        ${servers && servers.length === 0 && html`<p class="muted">No servers are configured.</p>`}
        ${servers && servers.map((s) => html`<${ServerCard} key=${s.name} s=${s} act=${act} />`)}
      </section>
    <//>`;
}

// useTotals samples GET /api/v1/metrics every samplePeriodMs and gives the
// request rate, error rate and quantiles of the last interval; before a
// second sample, and when the interval saw no request, the quantiles since
// start.
function useTotals() {
  const { fail } = useDash();
  const [t, setT] = useState({ rate: '…', errors: '…', latency: '…' });
  const last = useRef(null);
  useEffect(() => {
    let timer = null;
    let stopped = false;
    const sample = async () => {
      try {
        const m = await api('metrics');
        const now = performance.now();
        const prev = last.current;
        last.current = { at: now, m };
        setT(describe(prev, { at: now, m }));
      } catch (err) {
        fail(err);
      }
      if (!stopped) timer = setTimeout(sample, samplePeriodMs);
    };
    sample();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [fail]);
  return t;
}

function describe(prev, cur) {
  const tot = cur.m.totals;
  const since = `${tot.requests} requests since start`;
  if (!prev) {
    return {
      rate: '—', rateDetail: since,
      errors: pct(tot.errors, tot.requests), errorsDetail: 'since start',
      latency: pair(tot.p50_ms, tot.p99_ms), latencyDetail: 'since start',
    };
  }
  const p = prev.m.totals;
  const secs = (cur.at - prev.at) / 1000;
  const dReq = tot.requests - p.requests;
  const dErr = tot.errors - p.errors;
  const window = `last ${Math.round(secs)} s`;
  const buckets = (tot.latency_buckets || []).map((n, i) => n - ((p.latency_buckets || [])[i] || 0));
  const bounds = cur.m.bucket_bounds_ms || [];
  return {
    rate: (dReq / secs).toFixed(dReq / secs < 10 ? 1 : 0), rateDetail: `${window} · ${since}`,
    errors: dReq ? pct(dErr, dReq) : pct(tot.errors, tot.requests),
    errorsDetail: dReq ? `${dErr} of ${dReq}, ${window}` : 'since start',
    latency: dReq ? pair(quantile(0.5, buckets, bounds), quantile(0.99, buckets, bounds)) : pair(tot.p50_ms, tot.p99_ms),
    latencyDetail: dReq ? window : 'since start',
  };
}

const pct = (n, of) => (of ? `${((100 * n) / of).toFixed(n && n / of < 0.1 ? 2 : 1)}%` : '—');
const pair = (a, b) => (a == null ? '—' : `${fmtMs(a)} / ${fmtMs(b)}`);

// quantile estimates the q-quantile of counts by bucket as the host does
// (linear within the bucket; above the last bound, the last bound).
export function quantile(q, counts, bounds) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (below + n < rank || n === 0) {
      below += n;
      continue;
    }
    if (i >= bounds.length) return bounds[bounds.length - 1];
    const lower = i ? bounds[i - 1] : 0;
    return lower + ((bounds[i] - lower) * (rank - below)) / n;
  }
  return bounds[bounds.length - 1];
}

// era groups protocol revisions as clients' SDKs do.
function era(v) {
  if (!v) return 'not initialized';
  if (v < '2025-03-26') return 'HTTP+SSE era (' + v + ')';
  return v;
}

function sessionDetail(sessions) {
  const by = (key) => {
    const m = {};
    for (const s of sessions) m[key(s)] = (m[key(s)] || 0) + 1;
    return Object.entries(m).sort().map(([k, v]) => `${k} ${v}`).join(' · ');
  };
  if (!sessions.length) return '';
  return html`<span id="sessions-by-listener">${by((s) => s.listener)}</span><br />
    <span id="sessions-by-era">${by((s) => era(s.protocol_version))}</span>`;
}

function tracingLabel(t) {
  if (!t) return '…';
  if (!t.enabled) return 'off';
  return t.up ? 'up' : 'down';
}

function tracingDetail(t) {
  if (!t || !t.enabled) return '';
  const q = `queue ${t.queue_depth} (${fmtBytes(t.queue_bytes)}) · ${t.dropped} dropped · ${t.responses} traced`;
  return t.up ? q : `${t.reason || ''} · ${q}`;
}

function ServerCard({ s, act }) {
  const [busy, setBusy] = useState('');
  const run = async (verb) => {
    setBusy(verb);
    await act(s.name, verb);
    setBusy('');
  };
  const stopped = s.state === 'stopped' || s.state === 'failed';
  return html`
    <article class=${'card ' + stateKind(s.state)} data-server=${s.name} data-state=${s.state}>
      <header>
        <h2><a href=${link('servers', s.name)}>${s.name}</a></h2>
        <${StateBadge} state=${s.state} />
      </header>
      ${s.reason && html`<p class="reason">${s.reason}</p>`}
      <dl>
        <dt>Transport</dt><dd>${s.transport || '—'}</dd>
        <dt>Protocol</dt><dd>${s.protocol_version || '—'}</dd>
        <dt>Tools</dt><dd>${s.tools}</dd>
        <dt>Prompts</dt><dd>${s.prompts}</dd>
        <dt>Resources</dt><dd>${s.resources}${s.resource_templates ? ` + ${s.resource_templates} templates` : ''}</dd>
        <dt>In flight</dt><dd>${s.in_flight}</dd>
        <dt>Restarts</dt><dd>${s.restarts}</dd>
        ${s.next_attempt && html`<dt>Next retry</dt><dd>${fmtTime(s.next_attempt)}</dd>`}
      </dl>
      ${s.last_error && html`<p class="last-error"><span class="label">Last error</span> ${s.last_error}</p>`}
      ${s.state === 'needs_login' && html`<${SignIn} name=${s.name} />`}
      <${Actions} s=${s} busy=${busy} stopped=${stopped} run=${run} />
    </article>`;
}

// SignIn starts a sign-in in mcphost (POST servers/NAME/sign-in) and opens
// the authorization page it returns; the page's link stays, for a browser
// that blocked the new window. The redirect comes back to mcphost on this
// machine, which then reconnects the server: the card's state follows.
function SignIn({ name }) {
  const { toast, fail } = useDash();
  const [busy, setBusy] = useState(false);
  const [page, setPage] = useState('');
  const start = async () => {
    setBusy(true);
    try {
      const res = await api(`servers/${encodeURIComponent(name)}/sign-in`, { method: 'POST' });
      if (res.authorization_url) {
        setPage(res.authorization_url);
        window.open(res.authorization_url, '_blank', 'noopener');
      }
    } catch (err) {
      const msg = fail(err);
      if (msg) toast(`sign in to ${name}: ${msg}`, 'bad');
    }
    setBusy(false);
  };
  return html`
    <p class="sign-in">
      <button data-action="sign-in" disabled=${busy} onClick=${start}>Sign in</button>
      ${page && html` <a href=${page} target="_blank" rel="noopener" data-sign-in-page>Open the sign-in page</a>`}
    </p>`;
}

// Actions are a server's Start, Stop and Restart buttons.
export function Actions({ busy, stopped, run }) {
  return html`
    <footer class="actions">
      <button data-action="start" disabled=${!!busy || !stopped} onClick=${() => run('start')}>Start</button>
      <button data-action="stop" disabled=${!!busy || stopped} onClick=${() => run('stop')}>Stop</button>
      <button data-action="restart" disabled=${!!busy} onClick=${() => run('restart')}>Restart</button>
    </footer>`;
}
