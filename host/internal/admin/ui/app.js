// The mcphost dashboard. Everything a server or the API sends is rendered
// as text (Preact escapes it); nothing is ever inserted as HTML.
import { h, render } from './vendor/preact.module.js';
import { useState, useEffect, useCallback, useRef } from './vendor/hooks.module.js';
import htm from './vendor/htm.module.js';
import { api, login, logout, connectEvents, Unauthorized } from './api.js';

const html = htm.bind(h);

// The views, in nav order. A view is listed only once it exists.
const views = [{ id: 'overview', title: 'Overview', component: Overview }];

// takeLoginCode returns the code of a #login=<code> fragment (from
// `mcphost ctl ui`) and removes the fragment from the address bar and the
// history, so that the code is neither kept nor shared.
function takeLoginCode() {
  const m = /^#login=([^&]+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search + '#/overview');
  return decodeURIComponent(m[1]);
}

function currentView() {
  const id = location.hash.replace(/^#\/?/, '');
  return views.find((v) => v.id === id) || views[0];
}

function App() {
  const [auth, setAuth] = useState('unknown'); // unknown | in | out
  const [loginError, setLoginError] = useState('');
  const [view, setView] = useState(currentView);
  const [toasts, setToasts] = useState([]);

  const toast = useCallback((text, kind = 'info') => {
    const id = Math.random();
    setToasts((t) => [...t.slice(-4), { id, text, kind }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);

  useEffect(() => {
    const code = takeLoginCode();
    if (code) {
      login({ code }).then(
        () => setAuth('in'),
        (err) => {
          setLoginError(err instanceof Unauthorized ? 'The login link has expired or was already used.' : err.message);
          setAuth('out');
        },
      );
    } else {
      setAuth('in'); // optimistic: the first 401 shows the login form
    }
    const onHash = () => setView(currentView());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const signedOut = useCallback((why) => {
    setLoginError(why || '');
    setAuth('out');
  }, []);

  if (auth === 'unknown') return html`<p class="boot">Signing in…</p>`;
  if (auth === 'out') {
    return html`<${LoginForm} error=${loginError} onDone=${() => { setLoginError(''); setAuth('in'); }} />`;
  }
  const View = view.component;
  return html`
    <${Shell} view=${view} toasts=${toasts}
      onLogout=${() => logout().finally(() => signedOut('Signed out.'))}>
      <${View} toast=${toast} signedOut=${signedOut} />
    <//>`;
}

function Shell({ view, toasts, onLogout, children }) {
  return html`
    <header class="top">
      <span class="brand">mcphost</span>
      <nav>
        ${views.map((v) => html`<a href=${'#/' + v.id} class=${v.id === view.id ? 'active' : ''}>${v.title}</a>`)}
      </nav>
      <button class="ghost" id="logout" onClick=${onLogout}>Log out</button>
    </header>
    <main>${children}</main>
    <div class="toasts" role="status" aria-live="polite">
      ${toasts.map((t) => html`<div key=${t.id} class=${'toast ' + t.kind}>${t.text}</div>`)}
    </div>`;
}

function LoginForm({ error, onDone }) {
  const [token, setToken] = useState('');
  const [msg, setMsg] = useState(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      await login({ token: token.trim() });
      onDone();
    } catch (err) {
      setMsg(err instanceof Unauthorized ? 'That token is not right.' : err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="login" id="login-form" onSubmit=${submit}>
      <h1>mcphost</h1>
      <p>Run <code>mcphost ctl ui</code> for a sign-in link, or paste the admin token.</p>
      <label for="token">Admin token</label>
      <input id="token" type="password" autocomplete="off" value=${token}
        onInput=${(e) => setToken(e.target.value)} />
      <button type="submit" disabled=${busy || !token.trim()}>Sign in</button>
      ${msg && html`<p class="error" id="login-error">${msg}</p>`}
    </form>`;
}

function Overview({ toast, signedOut }) {
  const [servers, setServers] = useState(null);
  const [sessions, setSessions] = useState([]);
  const [tracing, setTracing] = useState(null);
  const [conn, setConn] = useState('connecting');
  const [opens, setOpens] = useState(0); // how many times the stream opened
  const [error, setError] = useState('');
  const states = useRef(new Map());

  const fail = useCallback((err) => {
    if (err instanceof Unauthorized) signedOut('Your session has ended; sign in again.');
    else setError(err.message);
  }, [signedOut]);

  const refetch = useCallback(async () => {
    try {
      const [s, ss, tr] = await Promise.all([api('servers'), api('sessions'), api('tracing')]);
      setServers(s.servers);
      setSessions(ss.sessions);
      setTracing(tr);
      setError('');
      states.current = new Map(s.servers.map((x) => [x.name, x.state]));
    } catch (err) {
      fail(err);
    }
  }, [fail]);

  useEffect(() => {
    refetch();
    let pending = null;
    const close = connectEvents({
      onStatus: setConn,
      onOpen: () => {
        setOpens((n) => n + 1);
        refetch();
      },
      onDrop: refetch, // a 401 means the session ended: back to the login form
      onEvent: (ev) => {
        if (ev.type === 'state' && ev.server) {
          const before = states.current.get(ev.server);
          if (before !== ev.state) {
            states.current.set(ev.server, ev.state);
            toast(`${ev.server}: ${ev.state}${ev.reason ? ' (' + ev.reason + ')' : ''}`, stateKind(ev.state));
          }
          // Show the new state at once; the counts follow with the refetch.
          setServers((list) => list && list.map((x) => (x.name === ev.server ? { ...x, state: ev.state, reason: ev.reason } : x)));
        } else if (ev.type === 'reload') {
          toast('Configuration reloaded');
        }
        clearTimeout(pending);
        pending = setTimeout(refetch, 150);
      },
    });
    return () => {
      clearTimeout(pending);
      close();
    };
  }, [refetch, toast]);

  const act = async (name, verb) => {
    try {
      await api(`servers/${encodeURIComponent(name)}/${verb}`, { method: 'POST' });
    } catch (err) {
      if (err instanceof Unauthorized) return fail(err);
      toast(`${verb} ${name}: ${err.message}`, 'bad');
    }
  };

  const byListener = {};
  for (const s of sessions) byListener[s.listener] = (byListener[s.listener] || 0) + 1;
  const running = servers ? servers.filter((s) => s.state === 'running').length : 0;

  return html`
    <section class="bar">
      <h1>Overview</h1>
      <span id="conn" class=${'conn ' + conn} data-opens=${opens} title="event stream">${connLabel[conn]}</span>
    </section>
    ${error && html`<p class="error banner">${error}</p>`}
    <section class="totals" id="totals">
      <${Total} label="Servers running" value=${servers ? `${running} / ${servers.length}` : '…'} />
      <${Total} label="Sessions" id="total-sessions" value=${String(sessions.length)}
        detail=${Object.entries(byListener).map(([k, v]) => `${k} ${v}`).join(' · ')} />
      <${Total} label="Tracing" id="total-tracing" value=${tracingLabel(tracing)} detail=${tracing && tracing.reason} />
    </section>
    <section class="cards" id="servers">
      ${servers && servers.length === 0 && html`<p class="muted">No servers are configured.</p>`}
      ${servers && servers.map((s) => html`<${ServerCard} key=${s.name} s=${s} act=${act} />`)}
    </section>`;
}

const connLabel = { connecting: 'connecting…', live: 'live', down: 'reconnecting…' };

function tracingLabel(t) {
  if (!t) return '…';
  if (!t.enabled) return 'off';
  return t.up ? 'up' : 'down';
}

function stateKind(state) {
  if (state === 'running') return 'good';
  if (state === 'failed' || state === 'unhealthy') return 'bad';
  return 'info';
}

function Total({ label, value, detail, id }) {
  return html`<div class="total" id=${id}><span class="label">${label}</span><span class="value">${value}</span>
    ${detail && html`<span class="detail">${detail}</span>`}</div>`;
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
        <h2>${s.name}</h2>
        <span class=${'state ' + stateKind(s.state)}>${s.state}</span>
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
        ${s.next_attempt && html`<dt>Next retry</dt><dd>${new Date(s.next_attempt).toLocaleTimeString()}</dd>`}
      </dl>
      ${s.last_error && html`<p class="last-error"><span class="label">Last error</span> ${s.last_error}</p>`}
      <footer>
        <button data-action="start" disabled=${!!busy || !stopped} onClick=${() => run('start')}>Start</button>
        <button data-action="stop" disabled=${!!busy || stopped} onClick=${() => run('stop')}>Stop</button>
        <button data-action="restart" disabled=${!!busy} onClick=${() => run('restart')}>Restart</button>
      </footer>
    </article>`;
}

render(html`<${App} />`, document.getElementById('app'));
