// Sessions: a client that connects is listed with its name, listener and
// protocol version, and goes when it ends its session.
import { openSession } from './mcp.mjs';

export default async function sessions(t) {
  const { page, env, check, shot, timeout } = t;
  const client = await openSession(env('DASH_MCP'), 'dashboard-check');
  try {
    await page.locator('nav a[href="#/sessions"]').click();
    const row = page.locator(`.session-row[data-session="${client.id()}"]`);
    await row.waitFor({ timeout });
    const text = await row.textContent();
    check(text.includes('dashboard-check') && text.includes('2025-06-18'), 'session row: ' + text);
    check(await row.getAttribute('data-listener') === 'http', 'listener of the session');
    // The row shows the start of the session's own id, after its instance id.
    const [instance, own] = client.id().split('.');
    check(instance !== '' && own && text.includes(own.slice(0, 14)) && !text.includes(instance + '.'), 'session id shown: ' + text);
    await shot(page, 'sessions');
  } finally {
    await client.close();
  }
  await page.locator(`.session-row[data-session="${client.id()}"]`).waitFor({ state: 'detached', timeout });
}
