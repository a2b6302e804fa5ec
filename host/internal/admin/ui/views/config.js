// Config: the running configuration (secrets redacted by the API) and
// Reload, with what the reload added, removed, changed, refused or applied
// only in part, and the diagnostics with their place in the file.
import { html, useState, useLive, useDash, Json, ErrorBanner, Page } from '../lib.js';
import { api, APIError } from '../api.js';

export default function Config() {
  const { toast, fail } = useDash();
  const { data, error, reload: refetch } = useLive(() => api('config'), { when: (ev) => ev.type === 'reload' });
  const [result, setResult] = useState(null); // { ok, message, res }
  const [busy, setBusy] = useState(false);

  const reload = async () => {
    setBusy(true);
    try {
      const res = await api('reload', { method: 'POST' });
      setResult({ ok: true, res });
    } catch (err) {
      if (err instanceof APIError && err.data && 'applied' in err.data) {
        setResult({ ok: false, message: err.message, res: err.data });
      } else {
        const msg = fail(err);
        if (msg) toast('Reload: ' + msg, 'bad');
      }
    }
    setBusy(false);
    refetch();
  };

  return html`
    <${Page} title="Configuration" sub=${data && html`<code>${data.file}</code>`}
      actions=${html`<button id="reload" disabled=${busy} onClick=${reload}>${busy ? 'Reloading…' : 'Reload'}</button>`}>
      <${ErrorBanner} error=${error} />
      ${result && html`<${ReloadResult} ...${result} />`}
      ${data && html`
        <section class="panel">
          <h2>Servers</h2>
          <table class="list" id="config-servers">
            <thead><tr><th>Name</th><th>Enabled</th><th>Transport</th><th>Protocol</th><th>Settings</th></tr></thead>
            <tbody>
              ${data.servers.map((s) => html`<tr key=${s.name} data-server=${s.name}>
                <td><a href=${'#/servers/' + encodeURIComponent(s.name)}>${s.name}</a></td>
                <td>${s.enabled ? 'yes' : 'no'}</td>
                <td>${s.transport}</td>
                <td>${s.protocol_version || 'any'}</td>
                <td><${Json} value=${s.transport_config || {}} cls="compact" /></td>
              </tr>`)}
            </tbody>
          </table>
        </section>
        <section class="panel" id="config-all">
          <h2>Everything</h2>
          <${Json} value=${data} />
        </section>`}
    <//>`;
}

function ReloadResult({ ok, message, res }) {
  const lists = [
    ['Added', res.added], ['Removed', res.removed], ['Changed', res.changed],
    ['Plugins restarted', res.plugins], ['Unchanged', res.unchanged],
  ];
  const partial = res.partial || [];
  const verdict = !res.applied ? 'refused' : partial.length ? 'applied in part' : 'applied';
  return html`
    <section class=${'panel reload ' + (!res.applied ? 'bad' : partial.length ? 'info' : 'good')} id="reload-result" data-verdict=${verdict}>
      <h2>Reload ${verdict}</h2>
      ${message && html`<p class="error">${message}</p>`}
      ${res.applied && html`
        <dl class="facts">
          ${lists.map(([label, names]) => html`<dt>${label}</dt><dd data-list=${label.toLowerCase()}>${names && names.length ? names.join(', ') : '—'}</dd>`)}
        </dl>`}
      ${partial.length > 0 && html`
        <h3>Not applied</h3>
        <ul class="plain" id="reload-partial">
          ${partial.map((p) => html`<li>${p.kind}${p.name ? ` ${p.name}` : ''}: ${p.reason}</li>`)}
        </ul>`}
      ${res.diagnostics && res.diagnostics.length > 0 && html`
        <h3>Diagnostics</h3>
        <ul class="plain diagnostics" id="reload-diagnostics">
          ${res.diagnostics.map((d) => html`<li class=${d.severity}>
            ${d.file && html`<code>${d.file}${d.line ? `:${d.line}:${d.column}` : ''}</code> `}
            <strong>${d.severity}</strong>: ${d.summary}${d.detail ? `; ${d.detail}` : ''}</li>`)}
        </ul>`}
      ${ok === false && !message && html`<p class="error">The running configuration is unchanged.</p>`}
    </section>`;
}
