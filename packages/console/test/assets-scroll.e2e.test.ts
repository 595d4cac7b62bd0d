/**
 * The Assets grid pages by keyset cursor (a created second, and how many assets of that second were
 * already shown). Here a browser scrolls (and clicks "Load more") through several pages of assets
 * whose created times are set so that both kinds of page boundary happen: two whole pages inside one
 * second (the skip count must add up across pages) and a boundary inside a second shared by a few
 * assets. Every asset must appear exactly once, in the order the API lists them, and loading must
 * stop at the end.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Request } from 'playwright-core';
import type { BulkItem } from '@sfx/client';
import { checkA11y, openBrowser, poll, startStack, type E2E, type Stack } from './e2e/harness.js';

/**
 * 125 assets created in one second (the first two pages of 60 lie wholly inside it), then 60 older
 * ones, 3 a second: the third page ends after 1 of the 3 assets of a second.
 */
const SAME_SECOND = 125;
const OLDER = 60;
const COUNT = SAME_SECOND + OLDER;
/** Two of three assets carry this tag: more than one page of matches. */
const TAG = 'paged';
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

let stack: Stack;
let e2e: E2E;

function item(i: number): BulkItem {
  return {
    source: Buffer.from(`asset ${i}\n`),
    name: `asset-${String(i).padStart(3, '0')}.txt`,
    folder: i % 2 ? '/scroll/odd' : '/scroll/even',
    ...(i % 3 !== 0 ? { tags: [TAG] } : {}),
  };
}

/**
 * Uploads with the clock stopped at `at` (the DAM server runs in this process, so it stamps that
 * time): small text files, no thumbnails to render, several in flight at once.
 */
async function uploadAt(at: number, indexes: number[]): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(at);
    const report = await stack.client.files.uploadMany(indexes.map(item), { concurrency: 8 });
    expect(report.failed).toBe(0);
  } finally {
    vi.useRealTimers();
  }
}

beforeAll(async () => {
  stack = await startStack();
  // Oldest first: 3 assets a second (at .000, .300, .600), then 125 in one second (at .000 and .500).
  for (let s = 0; s * 3 < OLDER; s++)
    for (let k = 0; k < 3 && s * 3 + k < OLDER; k++) await uploadAt(T0 + s * 1000 + k * 300, [s * 3 + k]);
  const newest = Array.from({ length: SAME_SECOND }, (_, i) => OLDER + i);
  await uploadAt(T0 + 60_000, newest.slice(0, 100));
  await uploadAt(T0 + 60_500, newest.slice(100));
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
  // The setup holds: pages 1 and 2 lie in the one busy second; page 3 ends inside a shared second.
  const { files } = await stack.client.files.list({ folder: '/', recursive: true, sort: 'created_at:desc', limit: 1000 });
  expect(files.filter((f) => f.created_at === files[0]!.created_at)).toHaveLength(SAME_SECOND);
  expect(files[179]!.created_at).toBe(files[180]!.created_at);
  const requests = pageRequests();
  await page.goto(`${stack.url}/ui/assets`);
  await poll(() => page.locator('#results .card').count()).toBe(60);
  await loadAll('scroll', COUNT);
  const shown = await shownOrder();
  expect(new Set(shown).size).toBe(shown.length);
  expect(shown).toEqual(expected);
  // 185 = 60 + 60 + 60 + 5: three more pages, the last one without a "Load more" row.
  expect(requests.count()).toBe(3);
  await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
  await page.locator('#results .card').last().scrollIntoViewIfNeeded();
  expect(await page.locator('#more').count()).toBe(0);
  expect(requests.count()).toBe(3);
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

  // In one folder the search narrows further, and still spans two pages.
  const inFolder = (await stack.client.files.list({ folder: '/scroll/even', recursive: true, sort: 'created_at:desc', limit: 1000, q })).files.map((f) => f.uuid);
  await page.goto(`${stack.url}/ui/assets?folder=%2Fscroll%2Feven&q=${encodeURIComponent(q)}`);
  expect(inFolder.length).toBeGreaterThan(60);
  await poll(() => page.locator('#results .card').count()).toBe(60);
  await loadAll('scroll', inFolder.length);
  expect(await page.locator('#more').count()).toBe(0);
  expect(await shownOrder()).toEqual(inFolder);
  await checkA11y(page);
  e2e.assertClean();
});
