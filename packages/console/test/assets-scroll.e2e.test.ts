/**
 * The Assets grid pages by keyset cursor (created second + how many of that second were shown).
 * Here a browser scrolls (and clicks "Load more") through several pages of assets uploaded
 * concurrently, so many share a created second and page boundaries fall inside a second: every asset
 * must appear exactly once, in the order the API lists them, and the end must stop the loading.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Request } from 'playwright-core';
import { checkA11y, openBrowser, poll, startStack, type E2E, type Stack } from './e2e/harness.js';

const COUNT = 150;
/** Two of three assets carry this tag: more than one page (60) of matches. */
const TAG = 'paged';

let stack: Stack;
let e2e: E2E;

beforeAll(async () => {
  stack = await startStack();
  // Small text files (no thumbnails to render), several in flight at once: many share a second.
  const report = await stack.client.files.uploadMany(
    Array.from({ length: COUNT }, (_, i) => ({
      source: Buffer.from(`asset ${i}\n`),
      name: `asset-${String(i).padStart(3, '0')}.txt`,
      folder: i % 2 ? '/scroll/odd' : '/scroll/even',
      ...(i % 3 !== 0 ? { tags: [TAG] } : {}),
    })),
    { concurrency: 8 },
  );
  expect(report.failed).toBe(0);
  e2e = await openBrowser(stack);
  await e2e.login();
});
afterAll(async () => {
  await e2e?.close();
  await stack?.close();
});

/** The uuids the API lists for a search, newest first (the grid's order). */
async function apiOrder(q?: string): Promise<string[]> {
  const { files } = await stack.client.files.list({ folder: '/', recursive: true, sort: 'created_at:desc', limit: 1000, ...(q ? { q } : {}) });
  return files.map((f) => f.uuid);
}

function shownOrder(): Promise<string[]> {
  return e2e.page.locator('#results .card a').evaluateAll((links) => links.map((a) => (a as unknown as { dataset: { uuid: string } }).dataset.uuid));
}

/** Counts the page requests the grid makes, to prove that loading stops at the end. */
function pageRequests(): { count(): number; stop(): void } {
  let count = 0;
  const seen = (request: Request): void => {
    if (new URL(request.url()).pathname === '/ui/assets/page') count++;
  };
  e2e.page.on('request', seen);
  return { count: () => count, stop: () => e2e.page.off('request', seen) };
}

/** Loads pages until none is left, by scrolling the "Load more" row into view or clicking it. */
async function loadAll(how: 'scroll' | 'click', expected: number): Promise<void> {
  const { page } = e2e;
  const cards = page.locator('#results .card');
  const more = page.locator('#more');
  for (let shown = await cards.count(); (await more.count()) > 0; shown = await cards.count()) {
    if (how === 'click') await more.getByRole('button', { name: 'Load more' }).click();
    else await more.scrollIntoViewIfNeeded();
    // The next page has arrived when cards were added or the "Load more" row went away.
    await poll(async () => (await cards.count()) > shown || (await more.count()) === 0).toBe(true);
    expect(await cards.count()).toBeLessThanOrEqual(expected);
  }
}

it('scrolls through every asset exactly once, in the API order, and stops at the end', async () => {
  const { page } = e2e;
  const expected = await apiOrder();
  expect(expected).toHaveLength(COUNT);
  const requests = pageRequests();
  await page.goto(`${stack.url}/ui/assets`);
  await poll(() => page.locator('#results .card').count()).toBe(60);
  await loadAll('scroll', COUNT);
  const shown = await shownOrder();
  expect(new Set(shown).size).toBe(shown.length);
  expect(shown).toEqual(expected);
  // 150 = 60 + 60 + 30: two more pages, the last one without a "Load more" row.
  expect(requests.count()).toBe(2);
  await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
  await page.locator('#results .card').last().scrollIntoViewIfNeeded();
  expect(await page.locator('#more').count()).toBe(0);
  expect(requests.count()).toBe(2);
  requests.stop();
  await checkA11y(page);
  e2e.assertClean();
});

it('pages a search the same way, with the "Load more" button', async () => {
  const { page } = e2e;
  const q = `#${TAG}`;
  const expected = await apiOrder(q);
  expect(expected).toHaveLength(COUNT - Math.ceil(COUNT / 3));
  await page.goto(`${stack.url}/ui/assets?q=${encodeURIComponent(q)}`);
  await poll(() => page.locator('#results .card').count()).toBe(60);
  await loadAll('click', expected.length);
  expect(await shownOrder()).toEqual(expected);
  expect(await page.locator('#more').count()).toBe(0);

  // In one folder the search narrows further; the grid still ends with exactly its matches.
  const inFolder = (await stack.client.files.list({ folder: '/scroll/even', recursive: true, sort: 'created_at:desc', limit: 1000, q })).files.map((f) => f.uuid);
  await page.goto(`${stack.url}/ui/assets?folder=%2Fscroll%2Feven&q=${encodeURIComponent(q)}`);
  await poll(() => page.locator('#results .card').count()).toBe(inFolder.length);
  expect(await page.locator('#more').count()).toBe(0);
  expect(await shownOrder()).toEqual(inFolder);
  await checkA11y(page);
  e2e.assertClean();
});
