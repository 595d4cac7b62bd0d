import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkA11y, openBrowser, screenshot, startStack, type E2E, type Stack } from './e2e/harness.js';

let stack: Stack;
let e2e: E2E;

beforeAll(async () => {
  stack = await startStack();
  e2e = await openBrowser(stack);
});
afterAll(async () => {
  await e2e?.close();
  await stack?.close();
});

it('the printed login URL logs in, drops the token from the address bar, and shows the four sections', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/assets`);
  await page.waitForURL(/\/ui\/login\?next=/);
  await page.getByLabel('Console token').waitFor();
  await checkA11y(page);
  await screenshot(page, 'login');

  await e2e.login();
  expect(page.url()).toBe(`${stack.url}/ui/assets`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Assets', 'Connections', 'Flows', 'Runs']) await nav.getByRole('link', { name }).waitFor();
  expect(await nav.getByRole('link', { name: 'Assets' }).getAttribute('aria-current')).toBe('page');
  await checkA11y(page);
  e2e.assertClean();

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/ui\/login$/);
  e2e.assertClean();
});
