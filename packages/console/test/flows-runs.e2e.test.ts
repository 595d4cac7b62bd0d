/**
 * Connections, Flows and Runs in a browser: add and test a connection through the form, switch a
 * schedule off, see a broken flow's problem marked at its line and column in the editor, run the
 * import-products example from its inputs form and watch it finish, watch a held run turn from
 * running to succeeded live (no reload), filter the history; each page passes axe-core, has no
 * console error or failed request, and fits a phone's width.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkA11y, openBrowser, REPO, ROOT_KEY, screenshot, startStack, type E2E, type Stack } from './e2e/harness.js';
import { flowFiles, gate, HELD_FLOW, memoryConnections, NIGHTLY_FLOW, type Gate } from './pages-fixture.js';

let stack: Stack;
let e2e: E2E;
let held: Gate;

const BROKEN = 'name: broken\nsteps:\n  - id: a\n    uses: log.infoo\n    with: { message: hi }\n';

beforeAll(async () => {
  held = await gate();
  stack = await startStack({
    seed: true,
    console: { connections: memoryConnections() },
    flows: [
      join(REPO, 'examples/flows/import-products.yaml'),
      ...(await flowFiles({ 'held.yaml': HELD_FLOW, 'nightly.yaml': NIGHTLY_FLOW })),
    ],
  });
  // The example's inputs point at ../data next to its folder, as in the repository.
  await cp(join(REPO, 'examples/data'), join(stack.dir, 'data'), { recursive: true });
  e2e = await openBrowser(stack);
  await e2e.login();
}, 120_000);
afterAll(async () => {
  await e2e?.close();
  await held?.close();
  await stack?.close();
});

/** Nothing sticks out sideways at a phone's width (390px); names what does when something does. */
async function fitsPhone(): Promise<void> {
  const { page } = e2e;
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = (await page.evaluate(`(() => {
    const limit = document.documentElement.clientWidth;
    const overflow = document.documentElement.scrollWidth - limit;
    if (overflow <= 0) return [];
    // Report what is not clipped by a scrolling box (absolutely placed elements escape those).
    const clipped = (el) => { for (let a = el.parentElement; a; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') return getComputedStyle(el).position !== 'absolute'; } return false; };
    const offenders = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > limit + 1 && !clipped(el))
      .map((el) => el.tagName.toLowerCase() + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : ''));
    return ['overflow ' + overflow + 'px', ...offenders.slice(0, 8)];
  })()`)) as string[];
  await page.setViewportSize({ width: 1280, height: 800 });
  expect(wide).toEqual([]);
}

it('adds a connection from the schema form, tests it, and never shows its key', async () => {
  const { page } = e2e;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connections' }).click();
  await page.getByText('No connection yet.').waitFor();
  await checkA11y(page);
  await page.getByLabel('name', { exact: true }).fill('local');
  await page.getByLabel('endpointUrl').fill(`${stack.dam.url}/${stack.dam.token}`);
  await page.getByLabel('apiKey').fill(ROOT_KEY);
  await page.getByRole('button', { name: 'Test and save' }).click();
  await page.getByRole('button', { name: 'Test local' }).click();
  await page.getByText('local works').waitFor();
  await expect.poll(() => page.content()).toContain('OBJECTS_LIST');
  expect(await page.content()).not.toContain(ROOT_KEY);
  await checkA11y(page);
  await screenshot(page, 'connections');
  await fitsPhone();
  e2e.assertClean();
});

it('lists flows with trigger and next tick, and switches a schedule off', async () => {
  const { page } = e2e;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flows' }).click();
  await page.getByRole('link', { name: 'import-products' }).waitFor();
  await page.getByText('cron 0 2 * * * (UTC)').waitFor();
  const toggle = page.getByRole('switch', { name: /Schedule of nightly/ });
  expect(await toggle.getAttribute('aria-checked')).toBe('true');
  await checkA11y(page);
  await screenshot(page, 'flows');
  await toggle.click();
  await page.getByRole('switch', { name: 'Schedule of nightly: Off' }).waitFor();
  expect((await stack.service.listFlows()).flows.find((f) => f.name === 'nightly')!.schedule!.enabled).toBe(false);
  await fitsPhone();
  e2e.assertClean();
});

it('marks a broken flow\'s problem at its line and column in the editor', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/flows/new`);
  const content = page.locator('.cm-content');
  await content.click();
  await page.keyboard.press('Control+A');
  // Pasted, as a person would bring a flow in (typed line by line, Enter would auto-indent).
  await page.evaluate(`(() => {
    const content = document.querySelector('.cm-host').shadowRoot.querySelector('.cm-content');
    const data = new DataTransfer();
    data.setData('text/plain', ${JSON.stringify(BROKEN)});
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  })()`);
  // The live check marks the line in the gutter and underlines the value.
  await page.locator('.cm-lint-marker-error').first().waitFor();
  expect(await page.locator('.cm-lintRange-error').first().textContent()).toBe('log.infoo');
  await page.getByRole('button', { name: 'Check' }).click();
  const problem = page.locator('#flow-result a.at');
  await problem.waitFor();
  expect(await problem.textContent()).toBe('my-flow.yaml:4:11');
  expect(await page.locator('#flow-result').textContent()).toContain('steps[0].uses');
  // Saving a broken flow keeps nothing; the problem link moves the cursor to it.
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Not saved: 1 problem.').waitFor();
  await problem.click();
  await expect
    .poll(() => page.evaluate("document.activeElement?.shadowRoot?.activeElement?.classList.contains('cm-content') ?? false"))
    .toBe(true);
  await checkA11y(page);
  await screenshot(page, 'flow-editor');
  e2e.assertClean();
});

it('runs the import-products example from its inputs form and watches it finish', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/flows/import-products`);
  await page.getByLabel('report').fill(join(stack.dir, 'product-urls.csv'));
  await checkA11y(page);
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/ui\/runs\/r\d{14}-[0-9a-f]{6}$/);
  const run = page.locator('#run');
  await run.locator('.page-head .badge-succeeded').waitFor({ timeout: 60_000 });
  const rows = await run.locator('table.steps tbody tr').allTextContents();
  expect(rows.map((r) => r.replace(/\s+/g, ' ').trim().split(' ').slice(0, 2).join(' '))).toEqual([
    'rows source',
    'upload succeeded',
    'urls succeeded',
    'report succeeded',
    'done succeeded',
  ]);
  expect(rows[1]).toMatch(/(\d+) \/ \1/);
  await checkA11y(page);
  await screenshot(page, 'run');
  e2e.assertClean();
});

it('follows a running run live until it succeeds, then lists it in the filtered history', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/flows/held`);
  await page.getByLabel('url').fill(held.url);
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/ui\/runs\/r\d{14}-[0-9a-f]{6}$/);
  const runId = page.url().split('/').pop()!;
  const run = page.locator('#run');
  await run.locator('.page-head .badge-running').waitFor();
  await page.evaluate('window.sfxSamePage = true');
  held.release();
  await run.locator('.page-head .badge-succeeded').waitFor();
  expect(await page.evaluate('window.sfxSamePage')).toBe(true);
  expect(await run.textContent()).toContain('3 / 3');
  await expect.poll(() => page.getByRole('status').filter({ hasText: 'The run ended' }).textContent()).toBe('The run ended: succeeded.');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
  await page.getByLabel('Flow').selectOption('held');
  await page.getByLabel('Status').selectOption('succeeded');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/flow=held&status=succeeded/);
  await page.getByRole('link', { name: runId }).waitFor();
  expect(await page.getByRole('link', { name: /^r\d{14}/ }).count()).toBe(1);
  await checkA11y(page);
  await page.goto(`${stack.url}/ui/runs`);
  await screenshot(page, 'runs');
  await fitsPhone();
  e2e.assertClean();
});
