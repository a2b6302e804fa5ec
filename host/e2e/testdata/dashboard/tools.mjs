// The Tools view (see dashboard.mjs for t): the catalogue lists every
// example server's tools and the search narrows it; the add tool's form
// refuses "abc" for a number with a visible error and sends nothing; echo
// called through the form shows its text, its structured content, isError
// false and a latency; the curl command names the endpoint but not the token.
export default async function tools(t) {
  const { page, base, env, check, shot, timeout, asAdmin, result } = t;
  const server = env('DASH_SERVER');
  const token = env('DASH_TOKEN');
  const { tools: all } = await asAdmin('GET', '/api/v1/tools');
  const exposed = (original, srv = server) => {
    const tool = all.find((x) => x.server === srv && x.original_name === original);
    check(tool, `GET /api/v1/tools has no ${original} of ${srv}`);
    return tool.name;
  };
  const echo = exposed('echo');
  const add = exposed('add');

  // The catalogue: one row per tool of the API's list.
  await page.locator('.top nav a[href="#/tools"]').click();
  await page.locator('#tool-search').waitFor({ timeout });
  const rows = page.locator('.tool-row');
  await page.waitForFunction((n) => document.querySelectorAll('.tool-row').length === n, all.length, { timeout });
  check(await page.locator(`.tool-row[data-tool="${echo}"] a[href="#/servers/${server}"]`).count() === 1,
    'the echo row does not link its server');
  const servers = new Set(all.map((x) => x.server));
  result.tools = { catalogue: all.length, servers: servers.size };

  // Search: by server and original name, then by words of a description.
  await page.locator('#tool-search').fill(`${server} echo`);
  await page.waitForFunction(() => document.querySelectorAll('.tool-row').length === 1, null, { timeout });
  check(await rows.first().getAttribute('data-tool') === echo, 'searching "<server> echo" does not find echo');
  await page.locator('#tool-search').fill('adds two numbers');
  await page.waitForFunction((n) => document.querySelectorAll('.tool-row').length === n, servers.size, { timeout });
  check((await rows.evaluateAll((els) => els.map((e) => e.dataset.tool))).every((n) => n.endsWith('add')),
    'searching a description finds other tools');
  await page.locator('#tool-search').fill('');
  await page.waitForFunction((n) => document.querySelectorAll('.tool-row').length === n, all.length, { timeout });
  // The schemas open on demand.
  await page.locator(`.tool-row[data-tool="${echo}"] td.schemas summary`).first().click();
  await page.locator(`.tool-row[data-tool="${echo}"] td.schemas pre.json`).waitFor({ timeout });
  check((await page.locator(`.tool-row[data-tool="${echo}"] td.schemas pre.json`).textContent()).includes('"text"'),
    'the input schema of echo is not shown');
  await shot(page, 'tools');

  // Count the calls the page makes from here on.
  const calls = [];
  const onRequest = (req) => {
    if (req.url().includes('/api/v1/tools/') && req.method() === 'POST') calls.push(req.url());
  };
  page.on('request', onRequest);
  try {
    // add: "abc" for the number a is refused, with a visible error, and
    // nothing is sent; then 2 + 3 is sent and answers 5.
    await page.locator(`.tool-row[data-tool="${add}"] td.tool-name a`).click();
    await page.locator(`#try-form[data-tool="${add}"]`).waitFor({ timeout });
    await page.locator('#try-form [name="a"]').fill('abc');
    await page.locator('#try-send').click();
    const err = page.locator('.field-error[data-for="a"]');
    await err.waitFor({ state: 'visible', timeout });
    check(/number/i.test(await err.textContent()), 'the error of a does not say a number is expected');
    check(await page.locator('.field-error[data-for="b"]').isVisible(), 'the missing b is not marked');
    await page.locator('#try-invalid').waitFor({ timeout });
    check(calls.length === 0, 'the invalid form sent ' + calls.join(', '));
    check(await page.locator('#try-result').count() === 0, 'a result shows after an invalid form');
    await page.locator('#try-form [name="a"]').fill('2');
    await page.locator('#try-form [name="b"]').fill('3');
    await page.locator('.field-error').first().waitFor({ state: 'detached', timeout });
    await page.locator('#try-send').click();
    await page.locator('#try-result[data-state="result"] .block[data-type="text"] pre.text').waitFor({ timeout });
    check((await page.locator('#try-result .block pre.text').textContent()) === '5', 'add 2 3 did not show 5');
    check(calls.length === 1, `add 2 3 made ${calls.length} calls`);

    // echo with an output schema (the example server speaks 2026-07-28):
    // text, structured content, isError false, a latency.
    await page.goto(`${base}/#/tools/${encodeURIComponent(echo)}`);
    await page.locator(`#try-form[data-tool="${echo}"]`).waitFor({ timeout });
    await page.locator('#try-form [name="text"]').fill('hello <b>tools</b>');
    await page.locator('#try-send').click();
    await page.locator('#try-result[data-state="result"]').waitFor({ timeout });
    check((await page.locator('#try-result .block[data-type="text"] pre.text').textContent()) === 'hello <b>tools</b>',
      'echo did not show its text as text');
    check(await page.locator('#try-result b').count() === 0, 'the echoed markup became HTML');
    const structured = JSON.parse(await page.locator('#try-structured').textContent());
    check(structured.text === 'hello <b>tools</b>', 'structuredContent: ' + JSON.stringify(structured));
    check(await page.locator('#try-result [data-is-error="false"]').isVisible(), 'isError false is not shown');
    const ms = Number(await page.locator('#try-latency').getAttribute('data-ms'));
    check(ms > 0 && /ms|s$/.test(await page.locator('#try-latency').textContent()), 'no latency: ' + ms);
    check(calls.length === 2, `echo made ${calls.length - 1} calls`);
    result.tools.echo_latency_ms = ms;

    // Copy as curl: the endpoint, the arguments, never the token.
    await page.locator('#curl summary').click();
    const cmd = await page.locator('#curl-text').textContent();
    check(cmd.includes(`/api/v1/tools/${encodeURIComponent(echo)}/call`), 'curl lacks the endpoint: ' + cmd);
    check(cmd.includes('"text":"hello <b>tools</b>"'), 'curl lacks the arguments: ' + cmd);
    check(cmd.includes('Authorization: Bearer $token') && cmd.includes('MCPHOST_ADMIN_TOKEN'), 'curl reads no token');
    await t.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.locator('#copy-curl').click();
    await page.locator('.toast', { hasText: 'Copied' }).waitFor({ timeout });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === cmd, 'the clipboard does not hold the curl command');
    check(!copied.includes(token) && !(await page.content()).includes(token), 'the token is in the page');
    await shot(page, 'tools-try');
  } finally {
    page.off('request', onRequest);
  }
}
