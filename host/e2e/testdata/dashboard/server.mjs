// Server detail: the live log tail shows a line the server writes on a
// tool call; pause holds new lines, resume shows them; the filter and the
// level colours; the tools list; the config with its secret redacted;
// Stop and Start from the page.
export default async function server(t) {
  const { page, base, env, check, shot, timeout, asAdmin } = t;
  const name = env('DASH_SERVER');
  const { tools } = await asAdmin('GET', '/api/v1/tools');
  const stderrTool = tools.find((x) => x.server === name && x.original_name === 'stderr').name;
  const writeLine = (text) => asAdmin('POST', `/api/v1/tools/${encodeURIComponent(stderrTool)}/call`, { arguments: { text } });

  await page.locator(`.card[data-server="${name}"] h2 a`).click();
  await page.locator('#server-head[data-state="running"]').waitFor({ timeout });
  check(page.url() === `${base}/#/servers/${name}`, 'the card links to ' + page.url());
  await page.locator(`#server-tools li[data-tool="${stderrTool}"]`).waitFor({ timeout });
  await page.locator('#log-tail[data-status="live"]').waitFor({ timeout });

  // A line written on a tool call appears, coloured by its level.
  await writeLine('dash-log-1 failed on purpose');
  await page.locator('.log-line.error', { hasText: 'dash-log-1 failed on purpose #1' }).waitFor({ timeout });

  // Paused, a new line is held and counted; resumed, it shows.
  await page.locator('#log-pause').click();
  await writeLine('dash-log-2');
  await page.locator('#log-pause', { hasText: '(1 new)' }).waitFor({ timeout });
  check(await page.locator('.log-line', { hasText: 'dash-log-2' }).count() === 0, 'a line showed while paused');
  await page.locator('#log-pause').click();
  await page.locator('.log-line', { hasText: 'dash-log-2 #1' }).waitFor({ timeout });

  // The filter keeps only the lines that hold it.
  await page.locator('#log-filter').fill('dash-log-2');
  await page.waitForFunction(() => {
    const lines = [...document.querySelectorAll('.log-line')];
    return lines.length === 1 && lines[0].textContent.includes('dash-log-2');
  }, null, { timeout });
  await page.locator('#log-filter').fill('');

  // The config shows the transport's settings with the secret redacted.
  const config = await page.locator('#server-config').textContent();
  check(config.includes('(redacted)'), 'the server config shows no redacted env');
  check(!(await page.content()).includes(env('DASH_SECRET')), 'the page holds the server\'s secret');
  await shot(page, 'server');

  // Stop and Start from this page follow the event stream.
  await page.locator('#server-head button[data-action="stop"]').click();
  await page.locator('#server-head[data-state="stopped"]').waitFor({ timeout });
  await page.locator('#server-head button[data-action="start"]').click();
  await page.locator('#server-head[data-state="running"]').waitFor({ timeout });
}
