// Plugins: every plugin the host knows, built in or a binary, with its
// process, checksum state and restarts.
import { html, useLive, stateKind, ErrorBanner, Page } from '../lib.js';
import { api } from '../api.js';

export default function Plugins() {
  const { data, error } = useLive(() => api('plugins'), { when: (ev) => ev.type === 'reload', every: 5000 });
  const plugins = data ? data.plugins : null;
  return html`
    <${Page} title="Plugins" sub=${plugins ? `${plugins.filter((p) => p.running).length} of ${plugins.length} running` : ''}>
      <${ErrorBanner} error=${error} />
      <table class="list" id="plugins">
        <thead><tr><th>Name</th><th>Kind</th><th>Version</th><th>Mode</th><th>State</th><th>PID</th><th>Checksum</th><th>Restarts</th><th>Source</th></tr></thead>
        <tbody>
          ${plugins && plugins.map((p) => html`
            <tr key=${p.name} class="plugin-row" data-plugin=${p.name} data-running=${p.running}>
              <td><strong>${p.name}</strong></td>
              <td>${p.kind || '—'}</td>
              <td>${p.version || '—'}</td>
              <td>${p.mode}</td>
              <td><span class=${'state ' + stateKind(p.running ? 'running' : 'stopped')}>${p.running ? 'running' : 'not running'}</span></td>
              <td>${p.pid || '—'}</td>
              <td><span class=${'state ' + checksumKind(p.checksum)}>${p.checksum}</span></td>
              <td>${p.restarts}</td>
              <td><code>${p.source}</code></td>
            </tr>`)}
        </tbody>
      </table>
      <p class="muted-inline">A plugin that is not running starts at its first use. Binaries are pinned by sha256 in proxy.hcl.</p>
    <//>`;
}

// checksumKind colours the host's checksum states (admin.Checksum*).
function checksumKind(c) {
  if (c === 'builtin' || c === 'pinned') return 'good';
  if (c === 'mismatch' || c === 'missing' || c === 'invalid') return 'bad';
  return 'info';
}
