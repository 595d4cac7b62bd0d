import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkA11y, openBrowser, poll, ROOT_KEY, samplePng, screenshot, startStack, type E2E, type Stack } from './e2e/harness.js';

// The functions given to page.evaluate run in the browser, where these exist (the tests compile without the DOM lib).
interface Node_ {
  dispatchEvent(event: unknown): boolean;
}
declare const document: {
  getElementById(id: string): Node_ | null;
  activeElement: { id: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};
declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const DragEvent: new (type: string, init: Record<string, unknown>) => unknown;

let stack: Stack;
let e2e: E2E;
let folder: string;

beforeAll(async () => {
  stack = await startStack({ seed: true });
  e2e = await openBrowser(stack);
  folder = await mkdtemp(join(tmpdir(), 'sfx-drop-'));
  await mkdir(join(folder, 'lookbook/2024'), { recursive: true });
  await writeFile(join(folder, 'lookbook/cover.png'), await samplePng(7));
  await writeFile(join(folder, 'lookbook/2024/spring.png'), await samplePng(8));
});
afterAll(async () => {
  await e2e?.close();
  await stack?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

it('browses folders, searches with q and chips, and shows CDN thumbnails', async () => {
  const { page } = e2e;
  await e2e.login();
  const cards = page.locator('#results .card');
  await poll(() => cards.count()).toBe(4);
  // Thumbnails come from the CDN with transforms, and have loaded.
  const src = await cards.first().locator('img').getAttribute('src');
  expect(src).toMatch(/\/cdn\/.*[?&]w=200/);
  await poll(() => cards.first().locator('img').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0)).toBe(true);
  await checkA11y(page);
  await screenshot(page, 'assets');

  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'products' }).click();
  await page.waitForURL(/folder=%2Fproducts/);
  await poll(() => cards.count()).toBe(3);
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'bags' }).waitFor();

  await page.getByLabel('Search assets').fill('#summer');
  await page.getByLabel('Search assets').press('Enter');
  await page.waitForURL(/q=%23summer/);
  await poll(() => cards.count()).toBe(2);
  await page.getByRole('link', { name: 'Remove filter tag summer' }).waitFor();
  await page.getByRole('link', { name: 'Images' }).click();
  await poll(() => cards.count()).toBe(2);
  await checkA11y(page);
  await screenshot(page, 'assets-search');
  e2e.assertClean();
});

it('edits metadata, tags and the product link in the details panel; the URL builder follows the inputs', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/assets`);
  await page.locator('#results .card a', { hasText: 'red-sneaker.png' }).click();
  const panel = page.locator('#details');
  await panel.getByRole('heading', { name: 'red-sneaker.png' }).waitFor();
  await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('details-title');

  await panel.getByLabel('title').fill('Red sneaker, size 42');
  await panel.getByPlaceholder('name').fill('color');
  await panel.getByPlaceholder('value').fill('red');
  await panel.getByRole('button', { name: 'Save metadata' }).click();
  await panel.getByText('Metadata saved.').waitFor();
  await panel.getByLabel('Tags, separated by commas').fill('summer, shoes, sale');
  await panel.getByRole('button', { name: 'Save tags' }).click();
  await panel.getByText('Tags saved: summer, shoes, sale.').waitFor();
  await panel.getByLabel('Product reference').fill('SKU-42');
  await panel.getByRole('button', { name: 'Save link' }).click();
  await panel.getByText('Linked to product SKU-42.').waitFor();

  const uuid = await panel.locator('.panel').getAttribute('data-uuid');
  const file = await stack.client.files.get(uuid!);
  expect(file.meta).toMatchObject({ title: 'Red sneaker, size 42', color: 'red' });
  expect(Object.values(file.tags ?? {}).flat().map((t) => (t as { label: string }).label).sort()).toEqual(['sale', 'shoes', 'summer']);
  expect(file.product?.ref).toBe('SKU-42');

  await panel.getByLabel('Width').fill('320');
  await panel.getByLabel('Fit').selectOption('crop');
  const url = await panel.getByLabel('CDN URL').inputValue();
  expect(url).toMatch(/w=320/);
  expect(url).toMatch(/func=crop/);
  const image = await fetch(url);
  expect(image.status).toBe(200);
  await checkA11y(page);
  await page.evaluate("window.scrollTo(0, 0); document.getElementById('details').scrollTop = 0");
  await screenshot(page, 'assets-details');

  // Rename, then undo.
  await panel.getByLabel('Name', { exact: true }).fill('crimson-sneaker.png');
  await panel.getByRole('button', { name: 'Rename' }).click();
  await panel.getByText('Renamed red-sneaker.png to crimson-sneaker.png.').waitFor();
  expect((await stack.client.files.get(uuid!)).name).toBe('crimson-sneaker.png');
  await panel.getByRole('button', { name: 'Undo: rename back to red-sneaker.png' }).click();
  await panel.getByText('Renamed crimson-sneaker.png to red-sneaker.png.').waitFor();
  expect((await stack.client.files.get(uuid!)).name).toBe('red-sneaker.png');

  await page.keyboard.press('Escape');
  await panel.getByText('Select an asset').waitFor();
  e2e.assertClean();
});

it('uploads dropped files and a chosen folder through a SASS key, with per-file progress', async () => {
  const { page } = e2e;
  await page.goto(`${stack.url}/ui/assets?folder=%2Fbanners`);
  // Two different images: the DAM skips a second upload of the same bytes to a folder (its
  // duplicate policy), so with equal bytes whichever upload landed first would be the only one.
  const images = [(await samplePng(9)).toString('base64'), (await samplePng(10)).toString('base64')];
  await page.evaluate(async ([summer, winter]) => {
    const bytes = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes(summer!)], 'summer-hero.png', { type: 'image/png' }));
    transfer.items.add(new File([bytes(winter!)], 'winter-hero.png', { type: 'image/png' }));
    const zone = document.getElementById('dropzone')!;
    zone.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: transfer }));
    zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }, images);
  const uploads = page.locator('#uploads li');
  await poll(() => uploads.locator('.state', { hasText: 'uploaded' }).count()).toBe(2);
  await poll(() => page.locator('#results .card', { hasText: 'summer-hero.png' }).count()).toBe(1);

  await page.locator('#pick-folder').setInputFiles(join(folder, 'lookbook'));
  await poll(() => uploads.locator('.state', { hasText: 'uploaded' }).count()).toBe(4);
  const { files } = await stack.client.files.list({ folder: '/banners', recursive: true, limit: 100 });
  const where = files.map((f) => `${f.folder?.name}/${f.name}`).sort();
  expect(where).toEqual(
    expect.arrayContaining(['/banners/summer-hero.png', '/banners/lookbook/cover.png', '/banners/lookbook/2024/spring.png']),
  );
  // The upload used a SASS key minted from a template, never the API key.
  const templates = await stack.client.access.templates.list();
  expect(templates.some((t) => t.name === 'sfx console uploads /banners/*' && t.dir_scope === '/banners/*')).toBe(true);
  expect(await page.content()).not.toContain(ROOT_KEY);
  await checkA11y(page);
  await screenshot(page, 'assets-upload');
  e2e.assertClean();
});

it('works on a phone-width screen', async () => {
  const { page } = e2e;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${stack.url}/ui/assets`);
  await poll(() => page.locator('#results .card').count()).toBeGreaterThan(0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await checkA11y(page);
  await screenshot(page, 'assets-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  e2e.assertClean();
});
