// Drives the dashboard in headless Chromium; started by TestDashboard
// (dashboard_test.go), which passes everything in the environment:
//
//   PLAYWRIGHT_CORE  the playwright-core package directory
//   CHROMIUM         the Chromium binary
//   DASH_BASE        the admin listener, http://127.0.0.1:<port>
//   DASH_LINK        a sign-in link from `mcphost ctl ui` (#login=<code>)
//   DASH_TOKEN       the admin token, for the login form
//   DASH_SERVERS     how many servers the proxy runs
//   DASH_SERVER      the server to stop and start
//   DASH_MISSED      the server stopped while the relay is cut
//   DASH_TRACED      a traced response of an MCP client (three contexts)
//   DASH_ACTIVITY_SERVER  the server the activity view's calls go to
//   DASH_ACTIVITY_SECRET  a password the activity view's call passes (kept
//                    in the activity file only redacted)
//   RELAY            the admin listener through a relay that POST
//                    $OTHER_ORIGIN/cut cuts: it closes every connection,
//                    refuses new ones while it stops DASH_MISSED, then
//                    relays again
//   OTHER_ORIGIN     a page on another 127.0.0.1 port that calls the API
//   SCREENSHOTS      where to write screenshots
//
// Every wait is on a condition of the page; it prints one JSON line of
// results and exits non-zero on the first failed check. The checks of each
// view are in dashboard/<view>.mjs: a default export called with
// { page, ctx, base, env, check, shot, timeout, asAdmin, result, expected },
// on the signed-in page at #/overview; what it adds to result is printed
// too, and console errors matching a RegExp it adds to expected are allowed.
import { createRequire } from 'node:module';
import path from 'node:path';

import tracing from './dashboard/tracing.mjs';
import tools from './dashboard/tools.mjs';
import server from './dashboard/server.mjs';
import sessions from './dashboard/sessions.mjs';
import plugins from './dashboard/plugins.mjs';
import config from './dashboard/config.mjs';
import activity from './dashboard/activity.mjs';

// The checks of each view but the overview, run in this order.
const views = [tracing, tools, server, sessions, plugins, config, activity];

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const { chromium } = createRequire(import.meta.url)(env('PLAYWRIGHT_CORE'));
const base = env('DASH_BASE');
const nServers = Number(env('DASH_SERVERS'));
const target = env('DASH_SERVER');
const missed = env('DASH_MISSED');
const shots = env('SCREENSHOTS');
const result = { screenshots: [] };
const timeout = 30000;

function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
}

// watch records a page's console errors, uncaught exceptions and CSP
// violations (reported in the page by securitypolicyviolation events).
function watch(page, into) {
  page.on('console', (m) => m.type() === 'error' && into.push('console: ' + m.text()));
  page.on('pageerror', (e) => into.push('exception: ' + e.message));
}
const cspListener = () => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
};

async function shot(page, name) {
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

// asAdmin calls the API as `mcphost ctl` would, with the token, and
// returns the decoded answer.
async function asAdmin(method, path, body) {
  const headers = { Authorization: 'Bearer ' + env('DASH_TOKEN') };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  check(res.ok, `${method} ${path}: ${res.status}`);
  return res.json();
}

const card = (page, name) => page.locator(`.card[data-server="${name}"]`);

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  // 1. Sign in with the ctl ui link; the fragment goes; 10 cards render.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addInitScript(cspListener);
  const page = await ctx.newPage();
  const problems = [];
  watch(page, problems);
  await page.goto(env('DASH_LINK'));
  const cardsAt = await page.waitForFunction(
    (n) => document.querySelectorAll('.card[data-server]').length === n && performance.now(),
    nServers, { timeout, polling: 'raf' });
  result.cards_ms = Math.round(await cardsAt.jsonValue());
  result.first_contentful_paint_ms = Math.round(await page.evaluate(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? e.startTime : -1;
  }));
  const hash = await page.evaluate(() => location.hash);
  check(!hash.includes('login') && hash === '#/overview', `fragment after sign-in is ${JSON.stringify(hash)}`);
  check(!page.url().includes('login='), 'the login code is left in the URL');
  await page.locator('#conn.live').waitFor({ timeout });
  await card(page, target).and(page.locator('[data-state="running"]')).waitFor({ timeout });
  check((await page.locator('#total-sessions .value').textContent()) !== '', 'sessions total');
  check(/^(up|down|off)$/.test(await page.locator('#total-tracing .value').textContent()), 'tracing total');
  await shot(page, 'overview');

  // The error of the server named "markup" quotes <img ... onerror=...>: it
  // is text, not an element.
  const markup = card(page, 'markup').locator('.last-error, .reason').first();
  await markup.waitFor({ timeout });
  check((await markup.textContent()).includes('<img src=x onerror='), 'the markup error is not shown as text');
  check(await page.evaluate(() => document.querySelector('main img') === null && window.__xss === undefined),
    'a server\'s error became HTML');

  // 2. Stop and Start: the card follows the event stream, with no reload.
  await page.evaluate(() => { window.__noReload = true; });
  await card(page, target).locator('button[data-action="stop"]').click();
  await card(page, target).and(page.locator('[data-state="stopped"]')).waitFor({ timeout });
  await page.locator('.toast', { hasText: `${target}: stopped` }).waitFor({ timeout });
  await shot(page, 'overview-stopped');
  await card(page, target).locator('button[data-action="start"]').click();
  await card(page, target).and(page.locator('[data-state="running"]')).waitFor({ timeout });
  check(await page.evaluate(() => window.__noReload === true), 'the page reloaded');

  // Each view's own checks (dashboard/*.mjs), in the signed-in page.
  // A view that causes an error response on purpose says so in
  // t.expected (the browser reports it on the console).
  const t = { page, ctx, base, env, check, shot, timeout, asAdmin, result, expected: [] };
  for (const view of views) {
    await page.goto(base + '/#/overview');
    await page.locator('#conn.live').waitFor({ timeout });
    await view(t);
  }
  await page.goto(base + '/#/overview');
  await card(page, target).and(page.locator('[data-state="running"]')).waitFor({ timeout });
  // The views' tool calls went through the router: the totals count them.
  await page.waitForFunction(() => /ms \/ /.test(document.querySelector('#total-latency .value').textContent) &&
    /requests since start/.test(document.querySelector('#total-rate .detail').textContent), null, { timeout });
  result.totals = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#totals .total')]
    .map((e) => [e.querySelector('.label').textContent, e.querySelector('.value').textContent])));

  // 3. No console errors and no CSP violations on any view.
  const csp = await page.evaluate(() => window.__csp);
  check(csp.length === 0, 'CSP violations: ' + csp.join('; '));
  const unexpectedProblems = problems.filter((p) => !t.expected.some((re) => re.test(p)));
  check(unexpectedProblems.length === 0, 'console errors: ' + unexpectedProblems.join('; '));

  // 4. Through a relay that the test can cut: the stream drops, a change
  // happens while the page cannot reconnect, the relay comes back; the page
  // reconnects and refetches, with no reload.
  const relayed = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const rpage = await relayed.newPage();
  await rpage.goto(env('RELAY') + '/');
  await rpage.locator('#token').fill(env('DASH_TOKEN'));
  await rpage.locator('#login-form button[type="submit"]').click();
  await rpage.locator('#conn.live[data-opens="1"]').waitFor({ timeout });
  await card(rpage, missed).and(rpage.locator('[data-state="running"]')).waitFor({ timeout });
  await rpage.evaluate(() => { window.__noReload = true; });
  const cut = await fetch(env('OTHER_ORIGIN') + '/cut', { method: 'POST' });
  check(cut.ok, 'cutting the relay: ' + cut.status);
  await rpage.locator('#conn.live[data-opens="2"]').waitFor({ timeout });
  await card(rpage, missed).and(rpage.locator('[data-state="stopped"]')).waitFor({ timeout });
  await rpage.locator('.banner').waitFor({ state: 'detached', timeout });
  await shot(rpage, 'overview-reconnected');
  await asAdmin('POST', `/api/v1/servers/${missed}/start`);
  await card(rpage, missed).and(rpage.locator('[data-state="running"]')).waitFor({ timeout });
  check(await rpage.evaluate(() => window.__noReload === true), 'the page reloaded');
  await relayed.close();

  // 5. Without the cookie: 401, and the login form, which takes the token.
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await fresh.addInitScript(cspListener);
  const anon = await fresh.newPage();
  const anonProblems = [];
  watch(anon, anonProblems);
  await anon.goto(base + '/');
  await anon.locator('#login-form').waitFor({ timeout });
  const status = await anon.evaluate(async () => (await fetch('/api/v1/servers')).status);
  check(status === 401, `GET /api/v1/servers without the cookie: ${status}`);
  await shot(anon, 'login');
  await anon.locator('#token').fill('wrong');
  await anon.locator('#login-form button[type="submit"]').click();
  await anon.locator('#login-error').waitFor({ timeout });
  await anon.locator('#token').fill(env('DASH_TOKEN'));
  await anon.locator('#login-form button[type="submit"]').click();
  await anon.locator('.card[data-server]').first().waitFor({ timeout });
  // The only errors allowed are the browser's reports of the expected 401s.
  const unexpected = anonProblems.filter((p) => !/status of 401/.test(p));
  check(unexpected.length === 0, 'console errors signed out: ' + unexpected.join('; '));
  check((await anon.evaluate(() => window.__csp)).length === 0, 'CSP violations on the login form');
  await fresh.close();

  // 6. A page of another 127.0.0.1 port, in the signed-in browser (the
  // cookie is SameSite=Strict, but another port is the same site), cannot
  // read or change anything.
  const other = await ctx.newPage();
  await other.goto(env('OTHER_ORIGIN'));
  const outcome = await (await other.waitForFunction(() => window.__result, null, { timeout })).jsonValue();
  check(outcome.read.startsWith('refused') && outcome.stop.startsWith('refused'),
    'another origin called the API: ' + JSON.stringify(outcome));
  result.other_origin = outcome;
  await other.close();
  await card(page, target).and(page.locator('[data-state="running"]')).waitFor({ timeout });

  // 7. Log out: the form comes back and the cookie no longer works.
  await page.locator('#logout').click();
  await page.locator('#login-form').waitFor({ timeout });
  const after = await page.evaluate(async () => (await fetch('/api/v1/servers')).status);
  check(after === 401, `after logout: ${after}`);
  await ctx.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
