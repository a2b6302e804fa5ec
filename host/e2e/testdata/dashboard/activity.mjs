// Activity: calls made through the proxy by an MCP client (one ok, one a
// tool error, one to a name no server has) are listed with their client,
// server and outcome; the server, outcome and tool filters narrow the list
// (checked against every row shown); a call made while the view is open
// arrives on the event stream, with no reload.
import { openSession } from './mcp.mjs';

export const activityClient = 'activity-check';

export default async function activity(t) {
  const { page, env, check, shot, timeout } = t;
  const server = env('DASH_ACTIVITY_SERVER');
  const tool = (name) => `mcp__proxy__${server}__${name}`;
  const client = await openSession(env('DASH_MCP'), activityClient);
  try {
    const ok = await client.callTool(tool('echo'), { text: 'activity', password: env('DASH_ACTIVITY_SECRET') });
    check(!ok.isError, 'echo failed: ' + JSON.stringify(ok));
    const bad = await client.callTool(tool('add'), { a: 'not a number', b: 1 });
    check(bad.isError === true, 'add with a string is not a tool error: ' + JSON.stringify(bad));
    let unknown = '';
    try {
      await client.callTool(tool('missing'), {});
    } catch (err) {
      unknown = err.message;
    }
    check(unknown.includes('unknown tool'), 'calling a missing tool: ' + unknown);

    await page.locator('nav a[href="#/activity"]').click();
    await page.locator('#activity[data-loaded="yes"]').waitFor({ timeout });
    const mine = page.locator('.activity-row', { hasText: activityClient });
    const row = (name, outcome) => mine.and(page.locator(`[data-tool="${tool(name)}"][data-outcome="${outcome}"]`));
    await row('echo', 'ok').first().waitFor({ timeout });
    await row('add', 'tool_error').first().waitFor({ timeout });
    const missing = row('missing', 'error').first();
    await missing.waitFor({ timeout });
    const missingText = await missing.textContent();
    check(missingText.includes('error -32602') && missingText.includes('none'), 'the unknown tool\'s row: ' + missingText);
    check((await row('echo', 'ok').first().textContent()).includes(server), 'the echo row names its server');
    await shot(page, 'activity');

    // every row shown passes the filters
    const rowsPass = async (what, pred) => {
      const rows = await page.locator('.activity-row').evaluateAll((els) => els.map((e) => ({ ...e.dataset })));
      check(rows.length > 0, `no rows with ${what}`);
      check(rows.every(pred), `a row does not pass ${what}: ` + JSON.stringify(rows.filter((r) => !pred(r))));
      return rows.length;
    };
    const filtered = (f) => page.locator(`#activity[data-loaded="yes"][data-filter='${JSON.stringify(f)}']`).waitFor({ timeout });

    await page.locator('#activity-server').selectOption(server);
    await filtered({ server, tool: '', outcome: '' });
    await missing.waitFor({ state: 'detached', timeout });
    await rowsPass('server ' + server, (r) => r.server === server);

    await page.locator('#activity-outcome').selectOption('tool_error');
    await filtered({ server, tool: '', outcome: 'tool_error' });
    await row('echo', 'ok').first().waitFor({ state: 'detached', timeout });
    await rowsPass('outcome tool_error', (r) => r.server === server && r.outcome === 'tool_error');
    await row('add', 'tool_error').first().waitFor({ timeout });

    await page.locator('#activity-outcome').selectOption('');
    await page.locator('#activity-tool').fill('echo');
    await page.locator('#activity-tool').press('Enter');
    await filtered({ server, tool: 'echo', outcome: '' });
    await row('add', 'tool_error').first().waitFor({ state: 'detached', timeout });
    const before = await rowsPass('tool echo', (r) => r.server === server && r.tool === tool('echo'));

    // live: a new call joins the filtered list from the event stream
    await page.evaluate(() => { window.__noReload = true; });
    await client.callTool(tool('echo'), { text: 'live' });
    await page.waitForFunction((n) => document.querySelectorAll('.activity-row').length === n + 1, before, { timeout });
    await rowsPass('tool echo, live', (r) => r.server === server && r.tool === tool('echo'));
    check(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
    await shot(page, 'activity-filtered');
  } finally {
    await client.close();
  }
}
