// What every view shares: the html tag, the hooks, the dashboard context
// (toasts, sign-out, the event stream) and small display helpers.
import { h, createContext } from './vendor/preact.module.js';
import { useState, useEffect, useCallback, useRef, useMemo, useContext } from './vendor/hooks.module.js';
import htm from './vendor/htm.module.js';
import { Unauthorized } from './api.js';

export const html = htm.bind(h);
export { useState, useEffect, useCallback, useRef, useMemo, useContext };

// Dash is provided by the app to every view: toast(text, kind), fail(err)
// (a 401 signs out; anything else is returned as a message), and
// subscribe(fn), which calls fn('open') each time the event stream
// (re)opens and fn('event', ev) for each event, until the returned
// function is called.
export const Dash = createContext(null);
export const useDash = () => useContext(Dash);

// useLive loads data with load() now, again each time the event stream
// (re)opens (so nothing missed while it was down stays missed), and,
// debounced, after each event for which when(ev) is true, and every
// `every` ms if set (for what has no event: sessions, counters). It
// returns { data, error, reload }. A 401 signs out.
export function useLive(load, { when = () => true, deps = [], every = 0 } = {}) {
  const { fail, subscribe } = useDash();
  const [state, setState] = useState({ data: null, error: '' });
  const live = useRef(true);
  const reload = useCallback(async () => {
    try {
      const data = await load();
      if (live.current) setState({ data, error: '' });
    } catch (err) {
      const msg = fail(err);
      if (live.current && msg) setState((s) => ({ ...s, error: msg }));
    }
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    live.current = true;
    reload();
    let pending = null;
    const unsubscribe = subscribe((kind, ev) => {
      if (kind === 'open') return reload();
      if (kind !== 'event' || !when(ev)) return;
      clearTimeout(pending);
      pending = setTimeout(reload, 150);
    });
    const tick = every ? setInterval(reload, every) : null;
    return () => {
      live.current = false;
      clearTimeout(pending);
      clearInterval(tick);
      unsubscribe();
    };
  }, [reload]);
  return { ...state, reload };
}

// failMessage is what fail() does with an error: Unauthorized goes to
// signedOut and gives '', anything else gives its message.
export function failMessage(err, signedOut) {
  if (err instanceof Unauthorized) {
    signedOut('Your session has ended; sign in again.');
    return '';
  }
  return err.message || String(err);
}

export function stateKind(state) {
  if (state === 'running' || state === 'up' || state === true) return 'good';
  if (state === 'failed' || state === 'unhealthy' || state === 'down' || state === false) return 'bad';
  return 'info';
}

export const link = (...parts) => '#/' + parts.map(encodeURIComponent).join('/');

export function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleTimeString();
}

// fmtAge is how long ago t was, in the largest unit that fits.
export function fmtAge(t, now = Date.now()) {
  const s = Math.max(0, Math.round((now - new Date(t)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function fmtMs(ms) {
  if (ms == null || isNaN(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtBytes(n) {
  if (n == null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

// Json shows a value as indented JSON text (never as HTML).
export function Json({ value, id, cls = '' }) {
  return html`<pre class=${'json ' + cls} id=${id}>${JSON.stringify(value, null, 2)}</pre>`;
}

export function Total({ label, value, detail, id }) {
  return html`<div class="total" id=${id}><span class="label">${label}</span><span class="value">${value}</span>
    ${detail && html`<span class="detail">${detail}</span>`}</div>`;
}

export function StateBadge({ state }) {
  return html`<span class=${'state ' + stateKind(state)}>${state}</span>`;
}

export function ErrorBanner({ error }) {
  return error ? html`<p class="error banner">${error}</p>` : null;
}

// Page is a view's heading bar, with optional actions on the right.
export function Page({ title, sub, actions, children }) {
  return html`
    <section class="bar">
      <h1>${title}</h1>
      ${sub && html`<span class="muted-inline">${sub}</span>`}
      <span class="spacer"></span>
      ${actions}
    </section>
    ${children}`;
}

// Copy puts text on the clipboard and says so.
export function CopyButton({ text, label = 'Copy', id }) {
  const { toast } = useDash();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text());
      toast('Copied to the clipboard', 'good');
    } catch (err) {
      toast('Could not copy: ' + err.message, 'bad');
    }
  };
  return html`<button class="secondary" id=${id} onClick=${copy}>${label}</button>`;
}
