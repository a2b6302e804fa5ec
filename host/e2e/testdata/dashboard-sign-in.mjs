// Signs in to a server through the dashboard in headless Chromium; started
// by TestOAuthBackend (oauth_backend_test.go), which passes in the
// environment:
//
//   PLAYWRIGHT_CORE  the playwright-core package directory
//   CHROMIUM         the Chromium binary
//   DASH_LINK        a sign-in link to the dashboard from `mcphost ctl ui`
//   DASH_SERVER      the server in state needs_login
//
// It waits for the server's card to offer "Sign in", clicks it, lets the
// authorization page that opens run its course (the test's authorization
// server approves at once and redirects to mcphost's loopback port), and
// waits for the card to say running. It prints the page the dashboard
// opened (no query: it holds the sign-in's state) and where it ended. Every wait is on the page; it exits
// non-zero on the first failure and prints one JSON line of results.
import { createRequire } from 'node:module';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const { chromium } = createRequire(import.meta.url)(env('PLAYWRIGHT_CORE'));
const server = env('DASH_SERVER');
const timeout = 30000;

const browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox'] });
try {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(env('DASH_LINK'));
  const card = page.locator(`article[data-server="${server}"]`);
  await card.and(page.locator('[data-state="needs_login"]')).waitFor({ timeout });
  const reason = await card.locator('.reason').textContent();
  const navigations = [];
  ctx.on('request', (r) => r.isNavigationRequest() && navigations.push(new URL(r.url())));
  const popup = ctx.waitForEvent('page', { timeout });
  await card.locator('[data-action="sign-in"]').click();
  // The page opened is the authorization server's, which sends the
  // browser on to mcphost's loopback redirect.
  const signInPage = await popup;
  await signInPage.waitForURL((u) => u.pathname === '/callback', { timeout });
  const opened = navigations.find((u) => u.pathname === '/authorize');
  if (!opened) throw new Error('no authorization page was opened: ' + navigations.map((u) => u.pathname).join(' '));
  await card.and(page.locator('[data-state="running"]')).waitFor({ timeout });
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log(JSON.stringify({ reason, opened: opened.origin + opened.pathname, redirected_to: new URL(signInPage.url()).pathname }));
} finally {
  await browser.close();
}
