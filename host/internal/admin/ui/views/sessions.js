// Sessions: the connected MCP clients, refreshed every few seconds (a
// session's start and end are not events).
import { html, useLive, fmtAge, ErrorBanner, Page } from '../lib.js';
import { api } from '../api.js';

// shortSession is the start of a session's own id: the instance id before
// it ("<instance>.<id>") is this instance's, the same on every row.
const shortSession = (id) => {
  const own = id.slice(id.lastIndexOf('.') + 1);
  return own.length > 14 ? own.slice(0, 14) + '…' : own;
};

export default function Sessions() {
  const { data, error } = useLive(() => api('sessions'), { when: () => false, every: 3000 });
  const sessions = data ? data.sessions : null;
  return html`
    <${Page} title="Sessions" sub=${sessions ? `${sessions.length} connected` : ''}>
      <${ErrorBanner} error=${error} />
      <table class="list" id="sessions">
        <thead><tr><th>Client</th><th>Listener</th><th>Protocol</th><th>Session</th><th>Connected</th><th>In flight</th></tr></thead>
        <tbody>
          ${sessions && sessions.length === 0 && html`<tr><td colspan="6" class="muted-inline">No client is connected.</td></tr>`}
          ${sessions && sessions.map((s) => html`
            <tr key=${s.id} class="session-row" data-session=${s.id} data-listener=${s.listener}>
              <td>${s.client_name || html`<span class="muted-inline">unnamed</span>`} ${s.client_version && html`<span class="muted-inline">${s.client_version}</span>`}</td>
              <td>${s.listener}</td>
              <td>${s.protocol_version || '—'}</td>
              <td><code title=${s.id}>${shortSession(s.id)}</code></td>
              <td title=${s.started}>${fmtAge(s.started)} ago</td>
              <td>${s.in_flight}</td>
            </tr>`)}
        </tbody>
      </table>
    <//>`;
}
