// Config and reload: the running config with the secret redacted; Reload
// of the same file is applied with every server unchanged; a broken file is
// refused with a diagnostic at its place (file:line:col) and the running
// config is kept; the fixed file reloads again.
import { readFile, writeFile } from 'node:fs/promises';

export default async function config(t) {
  const { page, env, check, shot, timeout } = t;
  const file = env('DASH_CONFIG');
  await page.locator('nav a[href="#/config"]').click();
  const row = page.locator(`#config-servers tr[data-server="${env('DASH_SERVER')}"]`);
  await row.waitFor({ timeout });
  check((await row.textContent()).includes('(redacted)'), 'the config shows the secret');
  check(!(await page.content()).includes(env('DASH_SECRET')), 'the config page holds the secret');

  await page.locator('#reload').click();
  const applied = page.locator('#reload-result[data-verdict="applied"]');
  await applied.waitFor({ timeout });
  check((await applied.locator('[data-list="unchanged"]').textContent()).includes(env('DASH_SERVER')), 'unchanged list');

  const good = await readFile(file, 'utf8');
  t.expected.push(/status of 422 \(Unprocessable Entity\)/);
  await writeFile(file, good + '\nserver "broken" {\n  transport "stdio" {\n    command = \n  }\n}\n');
  try {
    await page.locator('#reload').click();
    const refused = page.locator('#reload-result[data-verdict="refused"]');
    await refused.waitFor({ timeout });
    const diag = await refused.locator('#reload-diagnostics').textContent();
    check(/proxy\.hcl:\d+:\d+/.test(diag), 'diagnostic without its place: ' + diag);
    await shot(page, 'config-refused');
  } finally {
    await writeFile(file, good);
  }
  await page.locator('#reload').click();
  await page.locator('#reload-result[data-verdict="applied"]').waitFor({ timeout });
  await shot(page, 'config');
}
