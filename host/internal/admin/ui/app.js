// The mcphost dashboard: sign-in, the shell (nav, connection indicator,
// toasts), the one event stream every view listens to, and hash routing
// (#/<view>/<param>...). Everything a server or the API sends is rendered
// as text (Preact escapes it); nothing is ever inserted as HTML.
import { render } from './vendor/preact.module.js';
import { html, useState, useEffect, useCallback, useRef, Dash, failMessage, stateKind } from './lib.js';
import { login, logout, connectEvents, Unauthorized } from './api.js';
import Overview from './views/overview.js';
import Server from './views/server.js';
import Sessions from './views/sessions.js';
import Plugins from './views/plugins.js';
import Config from './views/config.js';
import Tracing from './views/tracing.js';
import Tools from './views/tools.js';
import Activity from './views/activity.js';

// The views, in nav order; nav: false ones are reached by links.
const views = [
  { id: 'overview', title: 'Overview', component: Overview },
  { id: 'servers', title: 'Server', component: Server, nav: false, under: 'overview' },
  { id: 'tools', title: 'Tools', component: Tools },
  { id: 'activity', title: 'Activity', component: Activity },
  { id: 'sessions', title: 'Sessions', component: Sessions },
  { id: 'plugins', title: 'Plugins', component: Plugins },
  { id: 'tracing', title: 'Tracing', component: Tracing },
  { id: 'config', title: 'Config', component: Config },
];

// takeLoginCode returns the code of a #login=<code> fragment (from
// `mcphost ctl ui`) and removes the fragment from the address bar and the
// history, so that the code is neither kept nor shared.
function takeLoginCode() {
  const m = /^#login=([^&]+)$/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', location.pathname + location.search + '#/overview');
  return decodeURIComponent(m[1]);
}

// route is the view and its parameters named by the fragment.
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const view = views.find((v) => v.id === parts[0]);
  return view ? { view, params: parts.slice(1) } : { view: views[0], params: [] };
}

function App() {
  const [auth, setAuth] = useState('unknown'); // unknown | in | out
  const [loginError, setLoginError] = useState('');
  const [where, setWhere] = useState(route);
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
    const onHash = () => setWhere(route());
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
  return html`<${SignedIn} where=${where} toast=${toast} toasts=${toasts} signedOut=${signedOut} />`;
}

// SignedIn owns the event stream: one EventSource for the whole page,
// whose events go to the views that subscribed, and which toasts state
// changes.
function SignedIn({ where, toast, toasts, signedOut }) {
  const [conn, setConn] = useState('connecting');
  const [opens, setOpens] = useState(0); // how many times the stream opened
  const listeners = useRef(new Set());
  const states = useRef(new Map());

  const fail = useCallback((err) => failMessage(err, signedOut), [signedOut]);
  const subscribe = useCallback((fn) => {
    listeners.current.add(fn);
    return () => listeners.current.delete(fn);
  }, []);
  const tell = (kind, ev) => {
    for (const fn of [...listeners.current]) fn(kind, ev);
  };

  useEffect(() => connectEvents({
    onStatus: setConn,
    onOpen: () => {
      setOpens((n) => n + 1);
      tell('open');
    },
    // An EventSource cannot tell a 401 from a network error: the views'
    // refetches find out, and a 401 signs out.
    onDrop: () => tell('open'),
    onEvent: (ev) => {
      if (ev.type === 'state' && ev.server) {
        if (states.current.get(ev.server) !== ev.state) {
          states.current.set(ev.server, ev.state);
          toast(`${ev.server}: ${ev.state}${ev.reason ? ' (' + ev.reason + ')' : ''}`, stateKind(ev.state));
        }
      } else if (ev.type === 'reload') {
        toast(ev.applied ? 'Configuration reloaded' : 'Reload refused', ev.applied ? 'good' : 'bad');
      } else if (ev.type === 'activity') {
        // One per call: only the activity view listens to these.
        tell('activity', ev);
        return;
      }
      tell('event', ev);
    },
  }), [toast]);

  const { view, params } = where;
  const View = view.component;
  const dash = { toast, fail, subscribe, signedOut, conn };
  return html`
    <${Dash.Provider} value=${dash}>
      <header class="top">
        <span class="brand">mcphost</span>
        <nav>
          ${views.filter((v) => v.nav !== false).map((v) =>
            html`<a href=${'#/' + v.id} class=${v.id === view.id || v.id === view.under ? 'active' : ''}>${v.title}</a>`)}
        </nav>
        <span id="conn" class=${'conn ' + conn} data-opens=${opens} title="event stream">${connLabel[conn]}</span>
        <button class="ghost" id="logout" onClick=${() => logout().finally(() => signedOut('Signed out.'))}>Log out</button>
      </header>
      <main data-view=${view.id}><${View} key=${view.id + '/' + params.join('/')} params=${params} /></main>
      <div class="toasts" role="status" aria-live="polite">
        ${toasts.map((t) => html`<div key=${t.id} class=${'toast ' + t.kind}>${t.text}</div>`)}
      </div>
    <//>`;
}

const connLabel = { connecting: 'connecting…', live: 'live', down: 'reconnecting…' };

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

render(html`<${App} />`, document.getElementById('app'));
