// Tracing explorer: what the context tracer recorded, read through the
// admin API's trace endpoints (GET trace/resource?uri=trace://..., POST
// trace/tools/<tool>). #/tracing is the home (status, recent responses,
// top and deprecated contexts, recent feedback, cache statistics);
// #/tracing/response/<id> a response with its contexts, their weights, and
// a feedback form; #/tracing/context/<id> a context's quality, version
// timeline and the responses it fed. Everything recorded is rendered as
// text; weights and qualities are drawn as SVG rects sized by attributes
// (the CSP allows no inline style).
import { html, useState, useEffect, useLive, useDash, link, fmtTime, fmtBytes, Total, ErrorBanner, Page, Json } from '../lib.js';
import { api, Unauthorized } from '../api.js';

const tools = {
  impact: 'mcp__proxy__tracing__query_context_impact',
  feedback: 'mcp__proxy__tracing__submit_feedback',
};

// How often the home page refetches: new responses are not events.
const pollMs = 5000;

// resource reads a trace:// resource and returns its decoded JSON.
export async function resource(uri) {
  const r = await api('trace/resource?uri=' + encodeURIComponent(uri));
  const text = r && r.contents && r.contents[0] && r.contents[0].text;
  if (typeof text !== 'string') throw new Error(`${uri}: no contents`);
  return JSON.parse(text);
}

// tool calls a tracing tool as the admin and returns its structured result;
// a tool error is thrown with its message.
export async function tool(name, args) {
  const r = await api('trace/tools/' + encodeURIComponent(name), { method: 'POST', body: args });
  if (r.isError) {
    const msg = (r.content || []).map((c) => c.text).filter(Boolean).join(' ');
    throw new Error(msg || `${name} failed`);
  }
  return r.structuredContent;
}

export default function Tracing({ params }) {
  const [kind, id] = params;
  if (kind === 'response' && id) return html`<${ResponsePage} id=${id} />`;
  if (kind === 'context' && id) return html`<${ContextPage} id=${id} />`;
  return html`<${Home} />`;
}

// never: the views refetch on the stream's (re)open, not on server events.
const never = () => false;

// usePoll calls fn every ms while the view is shown.
function usePoll(fn, ms) {
  useEffect(() => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }, [fn, ms]);
}

// ---- home

function Home() {
  const { data, error, reload } = useLive(async () => {
    const status = await api('tracing');
    // Down, every read would fail with the reason the status gives.
    if (!status.enabled || !status.up) return { status, problems: [] };
    // Each list on its own: with the plugin down, the status still shows
    // why, and one failing read does not hide the others.
    const uris = {
      recent: 'trace://responses/recent',
      top: 'trace://quality/top-contexts',
      deprecated: 'trace://quality/deprecated-contexts',
      feedback: 'trace://quality/recent-feedback',
      stats: 'trace://stats/cache',
    };
    const keys = Object.keys(uris);
    const got = await Promise.allSettled(keys.map((k) => resource(uris[k])));
    const out = { status, problems: [] };
    got.forEach((g, i) => {
      if (g.status === 'fulfilled') {
        out[keys[i]] = g.value;
      } else if (g.reason instanceof Unauthorized) {
        throw g.reason;
      } else {
        out.problems.push(`${uris[keys[i]]}: ${g.reason.message || g.reason}`);
      }
    });
    return out;
  }, { when: never });
  usePoll(reload, pollMs);
  const refresh = html`<button class="secondary" id="tracing-refresh" onClick=${reload}>Refresh</button>`;
  if (!data) {
    return html`<${Page} title="Tracing" actions=${refresh}><${ErrorBanner} error=${error} />
      ${!error && html`<p class="muted">Loading…</p>`}<//>`;
  }
  const { status } = data;
  return html`
    <${Page} title="Tracing" sub="what clients were given, and how it was rated" actions=${refresh}>
      <${ErrorBanner} error=${error} />
      <${StatusTotals} status=${status} stats=${data.stats} />
      ${data.problems.length > 0 && html`<p class="error banner" id="tracing-problems">
        ${`Could not read ${data.problems.join('; ')}`}</p>`}
      ${!status.enabled ? html`<p class="muted" id="tracing-off">Tracing is off: add a <code>tracing</code> block to the
        configuration to record what clients are given.</p>` : !status.up ? html`<p class="muted" id="tracing-down">The
        tracer is down; mcphost retries it, and this page shows what was recorded once it is back.</p>` : html`
        ${data.recent && html`<section class="panel" id="recent-responses">
          <h2>Recent responses</h2>
          <${RecentResponses} list=${data.recent.responses} />
        </section>`}
        <div class="trace-columns">
          ${data.top && html`<section class="panel" id="top-contexts">
            <h2>Top contexts</h2>
            <${RankedContexts} list=${data.top.contexts} empty="No context has been rated yet." />
          </section>`}
          ${data.deprecated && html`<section class="panel" id="deprecated-contexts">
            <h2>Deprecated contexts</h2>
            <p class="hint">${`Quality at or below ${data.deprecated.deprecate_below} after at least ${data.deprecated.min_feedback} feedbacks.`}</p>
            <${RankedContexts} list=${data.deprecated.contexts} empty="No context is deprecated." />
          </section>`}
        </div>
        ${data.feedback && html`<section class="panel" id="recent-feedback">
          <h2>Recent feedback</h2>
          <${RecentFeedback} list=${data.feedback.feedback} />
        </section>`}
        ${data.stats && html`<${CacheStats} stats=${data.stats} />`}`}
    <//>`;
}

function StatusTotals({ status, stats }) {
  const state = !status.enabled ? 'off' : status.up ? 'up' : 'down';
  const s = stats && stats.store;
  return html`
    <section class="totals" id="tracing-status">
      <div class=${'total trace-state ' + state} id="tracing-state" data-state=${state}>
        <span class="label">Tracer</span><span class="value">${state}</span>
        ${status.reason && html`<span class="detail reason">${status.reason}</span>`}
        ${status.since && html`<span class="detail">since ${fmtTime(status.since)}</span>`}
      </div>
      ${status.enabled && html`
        <${Total} label="Traced" id="tracing-responses" value=${String(status.responses)} detail="responses since start" />
        <${Total} label="Queue" id="tracing-queue" value=${String(status.queue_depth)} detail=${fmtBytes(status.queue_bytes)} />
        <${Total} label="Dropped" id="tracing-dropped" value=${String(status.dropped)} detail="events not recorded" />`}
      ${s && html`
        <${Total} label="Stored" id="tracing-stored" value=${`${s.responses} responses`}
          detail=${`${s.contexts} contexts · ${s.versions} versions · ${s.feedback} feedback`} />`}
    </section>`;
}

// source names what a context is: server, then tool, prompt or resource.
function source(c) {
  const what = c.name || c.uri || c.method || '';
  return c.server ? `${c.server} · ${what}` : what || '(unknown)';
}

const shortId = (id) => (id && id.length > 16 ? id.slice(0, 16) + '…' : id || '');

function OriginBadge({ origin }) {
  return html`<span class=${'origin ' + (origin === 'admin' ? 'admin' : 'client')}>${origin}</span>`;
}

function RecentResponses({ list }) {
  if (!list.length) {
    return html`<p class="hint" id="no-responses">No response has been finalized yet: a response ends after the idle gap
      with no new result for its session.</p>`;
  }
  const go = (id) => (e) => {
    if (e.target.closest('a')) return; // the link does it
    location.hash = link('tracing', 'response', id);
  };
  return html`
    <table class="list trace-list">
      <thead><tr><th>Finalized</th><th>Session</th><th>Origin</th><th>Contexts</th><th>Units</th><th>Tokens</th></tr></thead>
      <tbody>
        ${list.map((r) => html`
          <tr key=${r.response_id} class="response-row clickable" data-response=${r.response_id} data-origin=${r.origin}
            onClick=${go(r.response_id)}>
            <td><a href=${link('tracing', 'response', r.response_id)} title=${r.response_id}>${fmtTime(r.finalized_at)}</a></td>
            <td><code>${r.session || '—'}</code></td>
            <td><${OriginBadge} origin=${r.origin} /></td>
            <td class="top-contexts">
              ${r.top_contexts.map((c) => html`<span key=${c.context_id} class="chip" title=${c.context_id}>
                <${Bar} value=${c.weight} /> ${source(c)}</span>`)}
              ${r.contexts > r.top_contexts.length && html`<span class="chip more">+${r.contexts - r.top_contexts.length}</span>`}
            </td>
            <td>${r.units_delivered}</td>
            <td>${r.token_estimate}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

function RankedContexts({ list, empty }) {
  if (!list.length) return html`<p class="hint">${empty}</p>`;
  return html`
    <table class="list trace-list">
      <thead><tr><th>Context</th><th>Quality</th><th>Feedback</th><th>Summary</th></tr></thead>
      <tbody>
        ${list.map((c) => html`
          <tr key=${c.context_id} class="context-row" data-context=${c.context_id}>
            <td><a href=${link('tracing', 'context', c.context_id)} title=${c.context_id}>${source(c)}</a>
              <span class="type">${c.type}</span></td>
            <td><${Quality} q=${c.quality} /></td>
            <td>${c.feedback_count}</td>
            <td class="summary">${c.summary || ''}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

function RecentFeedback({ list }) {
  if (!list.length) return html`<p class="hint">No feedback yet.</p>`;
  return html`
    <table class="list trace-list">
      <thead><tr><th>Time</th><th>Response</th><th>Score</th><th>Comment</th><th>Contexts moved</th></tr></thead>
      <tbody>
        ${list.map((f) => html`
          <tr key=${f.id} class="feedback-row" data-feedback=${f.id} data-response=${f.response_id}>
            <td>${fmtTime(f.time)}</td>
            <td><a href=${link('tracing', 'response', f.response_id)}><code>${shortId(f.response_id)}</code></a></td>
            <td><${Score} s=${f.score} /></td>
            <td class="summary">${f.text || ''}${f.user ? html` <span class="hint">— ${f.user}</span>` : ''}</td>
            <td>${moved(f.updates)}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

// moved sums up a feedback's quality updates.
function moved(updates) {
  const touched = updates.filter((u) => u.weight > 0);
  if (!touched.length) return '0';
  const avg = touched.reduce((a, u) => a + (u.quality - u.quality_before), 0) / touched.length;
  return `${touched.length} (avg ${avg >= 0 ? '+' : ''}${avg.toFixed(3)})`;
}

function CacheStats({ stats }) {
  const { cache, store, ingest } = stats;
  const rec = Object.entries(ingest.events_recorded || {}).sort().map(([k, v]) => `${k} ${v}`).join(' · ');
  const skipped = Object.values(ingest.events_skipped || {}).reduce((a, b) => a + b, 0);
  return html`
    <section class="panel" id="cache-stats">
      <h2>Cache and store</h2>
      <section class="totals">
        <${Total} label="Cache hit ratio" id="cache-hit-ratio" value=${`${(100 * cache.hit_ratio).toFixed(1)}%`}
          detail=${`${cache.hits} hits · ${cache.misses} misses`} />
        <${Total} label="Cache entries" value=${`${cache.entries} / ${cache.capacity}`}
          detail=${`${cache.evictions} evicted · ${cache.expired} expired`} />
        <${Total} label="Store on disk" value=${fmtBytes((store.lsm_bytes || 0) + (store.vlog_bytes || 0))}
          detail=${`LSM ${fmtBytes(store.lsm_bytes)} · value log ${fmtBytes(store.vlog_bytes)}`} />
        <${Total} label="Events recorded" value=${String(Object.values(ingest.events_recorded || {}).reduce((a, b) => a + b, 0))}
          detail=${`${rec}${skipped ? ` · ${skipped} skipped` : ''}`} />
      </section>
      <dl class="facts">
        <dt>Directory</dt><dd><code>${store.dir}</code></dd>
        <dt>Engine</dt><dd>${store.engine}</dd>
        <dt>Retention</dt><dd>${store.retention}</dd>
        <dt>Content stored</dt><dd>${store.store_content ? 'yes' : 'no (hash and summary only)'}</dd>
        <dt>Open responses</dt><dd>${store.open_responses}</dd>
        <dt>Counted</dt><dd>${fmtTime(store.counted_at)}</dd>
      </dl>
    </section>`;
}

// ---- drawing

// Bar is a weight in [0, 1] as a bar: an SVG rect whose width attribute
// is the weight (presentation attributes are not styles).
function Bar({ value }) {
  const w = Math.max(0, Math.min(1, Number(value) || 0));
  return html`<svg class="weight" viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
      aria-label=${`weight ${(100 * w).toFixed(1)}%`} data-weight=${w}>
    <rect class="track" x="0" y="0" width="100" height="10" />
    <rect class="fill" x="0" y="0" width=${(100 * w).toFixed(2)} height="10" />
  </svg>`;
}

// Quality is a score in [-1, 1] as a bar from the middle, and its value.
function Quality({ q, id }) {
  const v = Math.max(-1, Math.min(1, Number(q) || 0));
  const x = v < 0 ? 50 + 50 * v : 50;
  return html`<span class="quality" id=${id} data-quality=${v}>
    <svg class=${'qbar ' + (v < 0 ? 'neg' : 'pos')} viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
      <rect class="track" x="0" y="0" width="100" height="10" />
      <rect class="fill" x=${x.toFixed(2)} y="0" width=${(50 * Math.abs(v)).toFixed(2)} height="10" />
      <rect class="mid" x="49.5" y="0" width="1" height="10" />
    </svg>
    <span class="qvalue">${fmtScore(v)}</span>
  </span>`;
}

function Score({ s }) {
  return html`<span class=${'score ' + (s > 0 ? 'pos' : s < 0 ? 'neg' : '')}>${fmtScore(s)}</span>`;
}

const fmtScore = (v) => `${v > 0 ? '+' : ''}${Number(v).toFixed(3)}`;
const pct = (w) => `${(100 * w).toFixed(1)}%`;

// ---- a response

function ResponsePage({ id }) {
  const { data, error, reload } = useLive(() => resource('trace://response/' + encodeURIComponent(id)), { when: never, deps: [id] });
  const back = html`<a class="back" href=${link('tracing')}>← Tracing</a>`;
  if (!data) {
    return html`<${Page} title="Response" sub=${id} actions=${back}><${ErrorBanner} error=${error} />
      ${!error && html`<p class="muted">Loading…</p>`}<//>`;
  }
  const r = data;
  return html`
    <${Page} title="Response" sub=${r.response_id} actions=${back}>
      <${ErrorBanner} error=${error} />
      <section class="panel" id="response" data-response=${r.response_id}>
        <dl class="facts">
          <dt>Origin</dt><dd><${OriginBadge} origin=${r.origin} /></dd>
          <dt>Session</dt><dd><code>${r.session || '—'}</code></dd>
          <dt>Started</dt><dd>${fmtTime(r.created_at)}</dd>
          <dt>Finalized</dt><dd>${fmtTime(r.finalized_at)}</dd>
          <dt>Units delivered</dt><dd>${r.units_delivered}</dd>
          <dt>Tokens (estimate)</dt><dd>${r.token_estimate}</dd>
        </dl>
      </section>
      <section class="panel" id="response-contexts">
        <h2>Contexts</h2>
        <p class="hint">What the response was built from, heaviest first; the weights sum to 1. Feedback moves each
          context's quality toward the score in proportion to its weight.</p>
        <table class="list trace-list">
          <thead><tr><th>Context</th><th>Weight</th><th>Version</th><th>Summary</th><th>Size</th><th>Quality</th><th>Feedback</th></tr></thead>
          <tbody>
            ${r.contexts.map((c) => html`
              <tr key=${c.context_id} class="context-row" data-context=${c.context_id} data-weight=${c.weight}>
                <td><a href=${link('tracing', 'context', c.context_id)} title=${c.context_id}>${source(c)}</a>
                  <span class="type">${c.type}</span></td>
                <td class="weight-cell"><${Bar} value=${c.weight} /> <span class="wvalue">${pct(c.weight)}</span></td>
                <td>v${c.version}${c.head_version && c.head_version !== c.version ? ` of ${c.head_version}` : ''}
                  <span class=${'status ' + c.status}>${c.status}</span></td>
                <td class="summary">${c.summary || ''}</td>
                <td>${fmtBytes(c.size_bytes)}<br /><span class="hint">${c.token_estimate} tokens</span></td>
                <td><${Quality} q=${c.quality} />${c.deprecated && html` <span class="state bad">deprecated</span>`}</td>
                <td>${c.feedback_count}</td>
              </tr>`)}
          </tbody>
        </table>
      </section>
      <div class="trace-columns">
        <${FeedbackForm} responseId=${r.response_id} done=${reload} />
        <section class="panel" id="response-feedback">
          <h2>Feedback on this response (${r.feedback_count})</h2>
          ${r.feedback.length === 0 ? html`<p class="hint">None yet.</p>` : html`
            <ul class="feedback-list">
              ${r.feedback.map((f) => html`<li key=${f.id} class="feedback-item" data-feedback=${f.id}>
                <${Score} s=${f.score} /> <span class="hint">${fmtTime(f.time)}${f.user ? ' · ' + f.user : ''}</span>
                ${f.text && html`<div class="summary">${f.text}</div>`}
              </li>`)}
            </ul>`}
        </section>
      </div>
    <//>`;
}

// FeedbackForm rates a response through the submit_feedback tool.
function FeedbackForm({ responseId, done }) {
  const { toast, fail } = useDash();
  const [score, setScore] = useState('1');
  const [text, setText] = useState('');
  const [user, setUser] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setMsg('');
    try {
      const args = { response_id: responseId, score: Number(score) };
      if (text.trim()) args.text = text.trim();
      if (user.trim()) args.user = user.trim();
      const res = await tool(tools.feedback, args);
      toast(`Feedback ${fmtScore(res.score)} recorded: ${res.contexts_updated} contexts moved`, 'good');
      setText('');
      await done();
    } catch (err) {
      const m = fail(err);
      if (m) setMsg(m);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="panel feedback-form" id="feedback-form" onSubmit=${submit}>
      <h2>Rate this response</h2>
      <label for="feedback-score">Score <output id="feedback-score-value" for="feedback-score">${fmtScore(Number(score))}</output></label>
      <div class="score-input">
        <span class="hint">−1 harmful</span>
        <input id="feedback-score" name="score" type="range" min="-1" max="1" step="0.1" value=${score}
          onInput=${(e) => setScore(e.target.value)} />
        <span class="hint">excellent +1</span>
      </div>
      <label for="feedback-text">Comment (optional)</label>
      <textarea id="feedback-text" name="text" rows="2" maxlength="4096" value=${text}
        onInput=${(e) => setText(e.target.value)}></textarea>
      <label for="feedback-user">Who (optional)</label>
      <input id="feedback-user" name="user" type="text" maxlength="256" value=${user}
        onInput=${(e) => setUser(e.target.value)} />
      <div class="actions"><button type="submit" id="feedback-submit" disabled=${busy}>Submit feedback</button></div>
      ${msg && html`<p class="error" id="feedback-error">${msg}</p>`}
    </form>`;
}

// ---- a context

function ContextPage({ id }) {
  const { data, error } = useLive(async () => {
    const uid = encodeURIComponent(id);
    const [ctx, evo, impact] = await Promise.all([
      resource('trace://context/' + uid),
      resource('trace://evolution/' + uid),
      tool(tools.impact, { context_id: id, limit: 50 }),
    ]);
    return { ctx, evo, impact };
  }, { when: never, deps: [id] });
  const back = html`<a class="back" href=${link('tracing')}>← Tracing</a>`;
  if (!data) {
    return html`<${Page} title="Context" sub=${id} actions=${back}><${ErrorBanner} error=${error} />
      ${!error && html`<p class="muted">Loading…</p>`}<//>`;
  }
  const { ctx: c, evo, impact } = data;
  return html`
    <${Page} title=${source(c)} sub=${c.context_id} actions=${back}>
      <${ErrorBanner} error=${error} />
      <section class="totals" id="context-totals">
        <div class="total" id="context-quality">
          <span class="label">Quality</span>
          <span class="value" id="quality-score" data-quality=${c.quality}>${fmtScore(c.quality)}</span>
          <${Quality} q=${c.quality} />
          ${c.deprecated && html`<span class="state bad" id="context-deprecated">deprecated</span>`}
        </div>
        <${Total} label="Feedback" id="context-feedback" value=${String(c.feedback_count)}
          detail=${c.last_feedback_at ? `last ${fmtTime(c.last_feedback_at)}` : 'none yet'} />
        <${Total} label="Versions" id="context-versions" value=${String(c.head_version)}
          detail=${evo.expired_versions ? `${evo.expired_versions} past retention` : ''} />
        <${Total} label="Responses fed" id="context-responses" value=${String(impact.total_responses)}
          detail=${`avg weight ${pct(impact.avg_weight)} · max ${pct(impact.max_weight)}`} />
      </section>
      <section class="panel" id="context-identity">
        <dl class="facts">
          <dt>Type</dt><dd>${c.type || '—'}</dd>
          <dt>Server</dt><dd>${c.server || '—'}</dd>
          <dt>Method</dt><dd>${c.method || '—'}</dd>
          ${c.name && html`<dt>Name</dt><dd>${c.name}</dd>`}
          ${c.uri && html`<dt>URI</dt><dd><code>${c.uri}</code></dd>`}
          <dt>First seen</dt><dd>${fmtTime(c.first_seen_at)}</dd>
          <dt>Last seen</dt><dd>${fmtTime(c.last_seen_at)}</dd>
        </dl>
        ${c.arguments && html`<h3>Arguments</h3><${Json} value=${c.arguments} id="context-arguments" />`}
        ${c.content && html`<h3>Content</h3><${Json} value=${c.content} id="context-content" />`}
      </section>
      <div class="trace-columns">
        <section class="panel" id="evolution">
          <h2>Versions</h2>
          <ol class="timeline">
            ${[...evo.versions].reverse().map((v) => html`
              <li key=${v.version} class=${'version' + (v.current ? ' current' : '')} data-version=${v.version}>
                <div class="vhead"><strong>v${v.version}</strong>${v.current && html` <span class="state good">current</span>`}
                  <span class="hint">${fmtTime(v.created_at)}${v.seen_count > 1 ? ` · seen ${v.seen_count}×, last ${fmtTime(v.last_seen_at)}` : ''}</span></div>
                ${v.summary && html`<div class="summary">${v.summary}</div>`}
                <div class="hint"><code>${v.content_hash}</code> · ${fmtBytes(v.size_bytes)} · ${v.token_estimate} tokens
                  · retrieval ${Number(v.retrieval_score).toFixed(2)}${v.retrieval_source ? ` (${v.retrieval_source})` : ''}
                  ${v.first_response_id && html` · first in <a href=${link('tracing', 'response', v.first_response_id)}>${shortId(v.first_response_id)}</a>`}</div>
              </li>`)}
          </ol>
          ${evo.expired_versions > 0 && html`<p class="hint">${evo.expired_versions} older versions are past retention.</p>`}
        </section>
        <section class="panel" id="context-impact">
          <h2>Responses it fed</h2>
          ${impact.responses.length === 0 ? html`<p class="hint">None recorded.</p>` : html`
            <table class="list trace-list">
              <thead><tr><th>Time</th><th>Response</th><th>Weight</th><th>Version</th></tr></thead>
              <tbody>
                ${impact.responses.map((r) => html`
                  <tr key=${r.response_id} class="impact-row" data-response=${r.response_id}>
                    <td>${fmtTime(r.time)}</td>
                    <td><a href=${link('tracing', 'response', r.response_id)}><code>${shortId(r.response_id)}</code></a></td>
                    <td class="weight-cell"><${Bar} value=${r.weight} /> <span class="wvalue">${pct(r.weight)}</span></td>
                    <td>v${r.version}</td>
                  </tr>`)}
              </tbody>
            </table>
            ${impact.truncated && html`<p class="hint">The newest ${impact.responses.length} of ${impact.total_responses}.</p>`}`}
        </section>
      </div>
    <//>`;
}
