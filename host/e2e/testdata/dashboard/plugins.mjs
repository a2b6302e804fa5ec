// Plugins: the built-in stdio transport, which runs the example servers,
// is listed running with a pid and its checksum state.
export default async function plugins(t) {
  const { page, check, shot, timeout } = t;
  await page.locator('nav a[href="#/plugins"]').click();
  const row = page.locator('.plugin-row[data-plugin="stdio"][data-running="true"]');
  await row.waitFor({ timeout });
  const text = await row.textContent();
  check(text.includes('transport') && text.includes('builtin'), 'stdio plugin row: ' + text);
  await shot(page, 'plugins');
}
