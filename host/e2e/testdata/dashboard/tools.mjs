// The Tools view (see dashboard.mjs for t): the catalogue lists every
// example server's tools and the search narrows it; the add tool's form
// refuses "abc" for a number with a visible error and sends nothing; echo
// called through the form shows its text, its structured content, isError
// false and a latency; the curl command names the endpoint but not the token;
// describe, whose schema has a field of each kind, gets a select, a
// checkbox, rows, nested fieldsets and JSON textareas, each error shown at
// its field, and the arguments it returns are those the fields describe;
// bytes -1 (sent with Enter) answers a result marked isError; crash
// answers a JSON-RPC error, shown as such.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

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
  const describe = exposed('describe');

  // The catalogue: one row per tool of the API's list.
  await page.locator('.top nav a[href="#/tools"]').click();
  await page.locator('#tool-search').waitFor({ timeout });
  const rows = page.locator('.tool-row');
  await page.waitForFunction((n) => document.querySelectorAll('.tool-row').length === n, all.length, { timeout });
  check(await page.locator(`.tool-row[data-tool="${echo}"] a[href="#/servers/${server}"]`).count() === 1,
    'the echo row does not link its server');
  // ex1's tool blocks: the renamed, redescribed sleep is marked; flood
  // (filtered) and log (hidden) are listed apart, as not exposed.
  const nap = page.locator('.tool-row[data-tool="ex1_nap"]');
  check(await nap.locator('[data-mark="overridden"]').count() === 2 && (await nap.textContent()).includes('Naps for a while.'),
    'ex1_nap is not marked with its overridden name and description');
  check(await page.locator('.tool-row[data-tool="mcp__proxy__ex1__flood"], .tool-row[data-tool="mcp__proxy__ex1__log"]').count() === 0,
    'a filtered or hidden tool is in the catalogue');
  for (const [original, state] of [['flood', 'filtered'], ['log', 'hidden']]) {
    check(await page.locator(`#left-out .left-out-row[data-server="ex1"][data-original="${original}"][data-state="${state}"]`).count() === 1,
      `${original} of ex1 is not listed as ${state}`);
  }
  // The example servers (tracing serves tools too).
  const servers = new Set(all.filter((x) => x.original_name === 'crash').map((x) => x.server));
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
  // One server's tools, with echo's schemas, which open on demand.
  const mine = all.filter((x) => x.server === server).length;
  await page.locator('#tool-search').fill(server);
  await page.waitForFunction((n) => document.querySelectorAll('.tool-row').length === n, mine, { timeout });
  for (const summary of await page.locator(`.tool-row[data-tool="${echo}"] td.schemas summary`).all()) await summary.click();
  await page.locator(`.tool-row[data-tool="${echo}"] td.schemas pre.json`).nth(1).waitFor({ timeout });
  check((await page.locator(`.tool-row[data-tool="${echo}"] td.schemas pre.json`).first().textContent()).includes('"text"'),
    'the input schema of echo is not shown');
  await shot(page, 'tools');

  // Count the calls the page makes from here on.
  const calls = [];
  const onRequest = (req) => {
    if (req.url().includes('/api/v1/tools/') && req.method() === 'POST') calls.push(req.url() + ' ' + req.postData());
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
    check(calls.length === 2, 'copying the curl command made a call: ' + calls.join('; '));
    // The command works, given the token the way it says (where curl is).
    const curlBin = ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl'].find((p) => existsSync(p));
    if (curlBin) {
      const out = execFileSync('sh', ['-c', cmd], {
        env: { PATH: path.dirname(curlBin) + ':/usr/bin:/bin', MCPHOST_ADMIN_TOKEN: token }, encoding: 'utf8', timeout,
      });
      const answer = JSON.parse(out);
      check(answer.result && answer.result.structuredContent.text === 'hello <b>tools</b>', 'the curl command answered ' + out);
      result.tools.curl_ran = true;
    }
    check(!copied.includes(token) && !(await page.content()).includes(token), 'the token is in the page');
    await shot(page, 'tools-try');

    // describe's schema has a field of each kind: the form has them all,
    // refuses what breaks the schema without sending, and sends the
    // arguments the fields describe (describe returns them).
    await page.goto(`${base}/#/tools/${encodeURIComponent(describe)}`);
    const form = page.locator(`#try-form[data-tool="${describe}"]`);
    await form.waitFor({ timeout });
    const field = (name) => form.locator(`[name="${name}"]`);
    check(await form.locator('select[name="mode"]').count() === 1, 'the enum mode is not a select');
    check(await form.locator('input[type="checkbox"][name="enabled"]').count() === 1, 'enabled is not a checkbox');
    check(await form.locator('fieldset[data-path="options.filter"]').count() === 1, 'options.filter is not a nested fieldset');
    for (const raw of ['labels', 'items', 'value']) {
      check(await form.locator(`textarea[name="${raw}"]`).count() === 1, `${raw} is not typed as JSON`);
    }
    await page.locator('#try-send').click();
    for (const name of ['name', 'point.x', 'point.y']) {
      await form.locator(`.field-error[data-for="${name}"]`).waitFor({ timeout });
    }
    await field('name').fill('Not A Name');
    await field('count').fill('11');
    await field('ratio').fill('0.5.1');
    await field('labels').fill('{"k": ');
    await form.locator('[data-add="tags"]').click();
    await form.locator('[data-add="tags"]').click();
    await form.locator('[data-add="tags"]').click();
    for (const [name, text] of [['name', 'match'], ['count', 'At most 10'], ['ratio', 'number'], ['labels', 'JSON'], ['tags[2]', 'Required']]) {
      const e = form.locator(`.field-error[data-for="${name}"]`);
      await e.waitFor({ timeout });
      check((await e.textContent()).includes(text), `the error of ${name} is ${await e.textContent()}`);
    }
    check(calls.length === 2, 'an invalid describe form was sent: ' + calls.join('; '));
    await shot(page, 'tools-form-errors');
    await form.locator('.row:has([name="tags[2]"]) button.remove').click();
    await field('name').fill('demo');
    await field('count').fill('4');
    await field('ratio').fill('0.5');
    await field('enabled').check();
    await field('mode').selectOption({ label: 'careful' });
    await field('tags[0]').fill('a');
    await field('tags[1]').fill('b');
    await form.locator('[data-add="levels"]').click();
    await field('levels[0]').selectOption({ label: 'high' });
    await field('point.x').fill('1');
    await field('point.y').fill('-2.5');
    await form.locator('[data-add="options.filter.include"]').click();
    await field('options.filter.include[0]').fill('x');
    await field('labels').fill('{"k": "v"}');
    await field('items').fill('[{"id": 1}]');
    await field('value').fill('"s"');
    await form.locator('.field-error').first().waitFor({ state: 'detached', timeout });
    await page.locator('#try-send').click();
    await page.locator('#try-result[data-state="result"] #try-structured').waitFor({ timeout });
    const want = {
      name: 'demo', count: 4, ratio: 0.5, enabled: true, mode: 'careful', tags: ['a', 'b'], levels: ['high'],
      point: { x: 1, y: -2.5 }, options: { filter: { include: ['x'] } }, labels: { k: 'v' }, items: [{ id: 1 }], value: 's',
    };
    const got = JSON.parse(await page.locator('#try-structured').textContent());
    check(isDeepStrictEqual(got, { arguments: want }), 'describe got ' + JSON.stringify(got));
    check(calls.length === 3, `describe made ${calls.length - 2} calls`);
    await shot(page, 'tools-form');

    // A tool's own failure is a result with isError true, shown as such.
    await page.goto(`${base}/#/tools/${encodeURIComponent(exposed('bytes'))}`);
    await page.locator(`#try-form[data-tool="${exposed('bytes')}"]`).waitFor({ timeout });
    await page.locator('#try-form [name="n"]').fill('-1');
    await page.locator('#try-form [name="n"]').press('Enter');
    await page.locator('#try-result [data-is-error="true"]').waitFor({ timeout });
    check((await page.locator('#try-result .block pre.text').textContent()).includes('negative'), 'the error text of bytes -1');
    check(calls.length === 4, `bytes made ${calls.length - 3} calls`);

    // A backend that dies mid-call: the JSON-RPC error is shown as such.
    const crashed = [...servers].sort().at(-1);
    check(crashed !== server, 'only one server');
    await page.goto(`${base}/#/tools/${encodeURIComponent(exposed('crash', crashed))}`);
    await page.locator('#try-form [name="code"]').waitFor({ timeout });
    await page.locator('#try-send').click();
    await page.locator('#try-result[data-state="rpc-error"] #try-rpc-error').waitFor({ timeout });
    result.tools.crash_error = await page.locator('#try-rpc-error').textContent();
    await shot(page, 'tools-rpc-error');
    // The server comes back; the answer stayed while it was away.
    await page.locator('.toast', { hasText: `${crashed}: running` }).waitFor({ timeout });
    await page.locator('#tool-gone').waitFor({ state: 'detached', timeout });
    check(await page.locator('#try-result[data-state="rpc-error"]').count() === 1, 'the answer went with the restart');
    await page.goto(`${base}/#/overview`);
    await page.locator(`.card[data-server="${crashed}"][data-state="running"]`).waitFor({ timeout });
  } finally {
    page.off('request', onRequest);
  }
}
