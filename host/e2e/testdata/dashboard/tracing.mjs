// The tracing explorer's checks (run by dashboard.mjs): the response an MCP
// client's calls made (DASH_TRACED, three contexts, finalized before the
// browser starts) is listed with origin client next to an admin one; its
// page shows its contexts with weight bars whose sizes are the weights;
// feedback through the form moves each context's quality by
// q' = q + w·(s − q) (learning rate 1); the context's page shows that
// quality, its version and the response it fed, and links back.
export default async function tracing({ page, env, check, shot, timeout, result }) {
  const traced = env('DASH_TRACED');

  // The overview's total says the tracer is up.
  await page.locator('#total-tracing .value', { hasText: /^up$/ }).waitFor({ timeout });

  // Home: status, the client's response and an admin one, the lists.
  await page.locator('header nav a[href="#/tracing"]').click();
  await page.locator('#tracing-state[data-state="up"]').waitFor({ timeout });
  const row = page.locator(`.response-row[data-response="${traced}"]`);
  await row.waitFor({ timeout });
  check(await row.getAttribute('data-origin') === 'client', 'the client\'s response is not of origin client');
  check(await row.locator('.origin.client').textContent() === 'client', 'no client badge on the client\'s response');
  check(await page.locator('.response-row[data-origin="admin"] .origin.admin').count() > 0, 'no response of origin admin');
  check(await row.locator('.chip svg.weight').count() === 3, 'the client\'s response does not show its three contexts');
  for (const id of ['#top-contexts', '#deprecated-contexts', '#recent-feedback', '#cache-stats']) {
    check(await page.locator(id).count() === 1, `no ${id} on the tracing home`);
  }
  check(/%$/.test(await page.locator('#cache-hit-ratio .value').textContent()), 'cache hit ratio');
  await shot(page, 'tracing');

  // The response: three contexts, weights summing to 1, bars sized by them.
  await row.click();
  await page.waitForFunction((id) => location.hash === `#/tracing/response/${id}`, traced, { timeout });
  await page.locator(`#response[data-response="${traced}"]`).waitFor({ timeout });
  const contexts = page.locator('#response-contexts .context-row');
  await contexts.first().waitFor({ timeout });
  const rows = await contexts.evaluateAll((trs) => trs.map((tr) => ({
    id: tr.dataset.context,
    weight: Number(tr.dataset.weight),
    bar: Number(tr.querySelector('svg.weight rect.fill').getAttribute('width')),
    quality: Number(tr.querySelector('.quality').dataset.quality),
    text: tr.textContent,
  })));
  check(rows.length === 3, `the response shows ${rows.length} contexts, not 3`);
  const sum = rows.reduce((a, r) => a + r.weight, 0);
  check(Math.abs(sum - 1) < 1e-6, `weights sum to ${sum}`);
  for (const r of rows) {
    check(r.weight > 0 && Math.abs(r.bar - 100 * r.weight) < 0.01, `bar ${r.bar} for weight ${r.weight}`);
    check(r.quality === 0, `context ${r.id} is rated before any feedback: ${r.quality}`);
  }
  check(rows.some((r) => r.text.includes('echo')) && rows.some((r) => r.text.includes('example://static/hello')),
    'the contexts are not the echo call and the hello resource');
  check(rows.some((r) => r.text.includes('traced for the <b>dashboard</b>')), 'the echo summary is not shown as text');
  check(await page.locator('main b').count() === 0, 'a recorded summary became HTML');

  // Feedback +0.8 with a comment (markup, to be shown as text).
  const score = page.locator('#feedback-score');
  await score.focus();
  await score.press('ArrowLeft');
  await score.press('ArrowLeft');
  await page.locator('#feedback-score-value', { hasText: '+0.800' }).waitFor({ timeout });
  const comment = 'useful <i>enough</i>';
  await page.locator('#feedback-text').fill(comment);
  await page.locator('#feedback-submit').click();
  await page.locator('.feedback-item', { hasText: comment }).waitFor({ timeout });
  check(await page.locator('main i').count() === 0, 'a feedback comment became HTML');
  await page.waitForFunction((ids) => ids.every((id) =>
    Number(document.querySelector(`#response-contexts .context-row[data-context="${id}"] .quality`).dataset.quality) > 0),
  rows.map((r) => r.id), { timeout });
  const after = await contexts.evaluateAll((trs) => Object.fromEntries(trs.map((tr) =>
    [tr.dataset.context, Number(tr.querySelector('.quality').dataset.quality)])));
  for (const r of rows) {
    check(Math.abs(after[r.id] - 0.8 * r.weight) < 1e-9, `quality of ${r.id}: ${after[r.id]}, want 0.8 × ${r.weight}`);
  }
  await page.locator('.toast', { hasText: 'Feedback +0.800 recorded' }).waitFor({ timeout });
  await shot(page, 'tracing-response');

  // The heaviest context's page: its quality, version 1, the response it fed.
  const heaviest = rows[0];
  await page.locator(`#response-contexts .context-row[data-context="${heaviest.id}"] a`).first().click();
  const q = page.locator('#quality-score');
  await q.waitFor({ timeout });
  check(Math.abs(Number(await q.getAttribute('data-quality')) - after[heaviest.id]) < 1e-9,
    `context page quality ${await q.getAttribute('data-quality')}, response page ${after[heaviest.id]}`);
  check((await q.textContent()) === (after[heaviest.id] > 0 ? '+' : '') + after[heaviest.id].toFixed(3), 'quality score text');
  await page.locator('#evolution .version.current[data-version="1"]').waitFor({ timeout });
  const fed = page.locator(`#context-impact .impact-row[data-response="${traced}"]`);
  await fed.waitFor({ timeout });
  check(Math.abs(Number(await fed.locator('svg.weight').getAttribute('data-weight')) - heaviest.weight) < 1e-9,
    'the weight in the responses it fed');
  await shot(page, 'tracing-context');

  // Back to the response through the link, then home: the feedback is listed.
  await fed.locator('a').click();
  await page.locator(`#response[data-response="${traced}"]`).waitFor({ timeout });
  await page.locator('a.back').click();
  await page.locator(`.feedback-row[data-response="${traced}"]`, { hasText: comment }).waitFor({ timeout });
  await page.locator(`#top-contexts .context-row[data-context="${heaviest.id}"]`).waitFor({ timeout });

  result.tracing = { response: traced, weights: rows.map((r) => Number(r.weight.toFixed(4))), quality: after[heaviest.id] };
}
