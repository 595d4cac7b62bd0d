/**
 * The "done when", literally: `npm start` (which runs `sfx demo`) is started as a user starts
 * it, the console URL it prints is opened in Chromium, and then only the browser is used: the demo's
 * assets are there with thumbnails, a folder dropped on the page lands with its tree, the
 * import-products flow runs from its inputs form and its run page follows it to the end. Every page
 * passes axe-core with no console error or failed request; SIGTERM then stops the demo cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Filerobot } from '@sfx/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkA11y, openBrowser, poll, REPO, samplePng, type E2E } from './e2e/harness.js';

const BIN = join(REPO, 'packages/cli/bin/sfx.js');
/** The demo's catalogue: what the import-products flow puts in the DAM before the console opens. */
const CSV = join(REPO, 'examples/data/products.csv');

interface Demo {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `sfx demo` the way `npm start` does (from the repository), on free ports and a folder of its own. */
function startDemo(data: string): Promise<Demo> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A newcomer's shell: no key, token, password or config folder of a developer's leaks in.
  for (const name of ['SFX_ROOT_KEY', 'SFX_CONSOLE_TOKEN', 'SFX_CONSOLE_PASSWORD', 'SFX_CONFIG_DIR', 'SFX_JOURNAL', 'SFX_CONNECTION'])
    delete env[name];
  const child = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--data', data], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const demo = { child, stdout: () => out, stderr: () => err, exited };
  return new Promise((ready, fail) => {
    const check = (): void => {
      if (out.includes('Press Ctrl+C')) ready(demo);
    };
    child.stdout!.on('data', check);
    child.on('error', fail);
    void exited.then(({ code }) => fail(new Error(`sfx demo ended (${code}) before its banner:\n${out}\n${err}`)));
  });
}

let dir: string;
let demo: Demo;
let e2e: E2E;
let client: Filerobot;
let consoleUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-demo-e2e-'));
  demo = await startDemo(join(dir, 'demo'));
  const banner = demo.stdout();
  const login = /^\s*(http:\/\/127\.0\.0\.1:\d+\/ui\/login\?token=\S+)\s*$/m.exec(banner)?.[1];
  expect(login, `the banner shows a console login URL:\n${banner}`).toBeDefined();
  consoleUrl = new URL(login!).origin;
  // To check what the browser did, as `sfx` would: the root key and API base the banner printed.
  const key = /^Root API key: (\S+) \(generated/m.exec(banner)?.[1];
  const dam = /local Filerobot-compatible server on (http:\/\/\S+) \(project "(\w+)"\)/.exec(banner);
  client = new Filerobot({ endpoint: `${dam![1]}/${dam![2]}`, apiKey: key! });
  e2e = await openBrowser({ loginUrl: login! });
}, 180_000);

afterAll(async () => {
  await e2e?.close();
  await client?.close();
  if (demo && demo.child.exitCode === null && demo.child.signalCode === null) {
    demo.child.kill('SIGKILL');
    await demo.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('opens the printed URL and finds the demo assets, with thumbnails that load', async () => {
  const { page } = e2e;
  await e2e.login();
  expect(new URL(page.url()).pathname).toBe('/ui/assets');
  const images = (await readFile(CSV, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((row) => row.split(',')[5]!);
  expect(images.length).toBeGreaterThan(2);
  const cards = page.locator('#results .card');
  await poll(() => cards.count()).toBe(images.length);
  for (const name of images) await page.locator('#results .card', { hasText: name }).waitFor();
  // Every thumbnail is a CDN URL (on the DAM's origin, allowed by the CSP) that has loaded.
  await poll(() =>
    cards
      .locator('img')
      .evaluateAll((imgs) => imgs.filter((i) => (i as unknown as { complete: boolean; naturalWidth: number }).naturalWidth > 0).length),
  ).toBe(images.length);
  expect(await cards.first().locator('img').getAttribute('src')).toMatch(/\/cdn\/products\//);
  await page.getByRole('navigation', { name: 'Folders' }).getByRole('link', { name: 'products' }).click();
  await page.waitForURL(/folder=%2Fproducts/);
  await poll(() => cards.count()).toBe(images.length);
  await checkA11y(page);
  e2e.assertClean();
});

it('uploads a folder dropped on the page, with its tree', async () => {
  const { page } = e2e;
  // A real folder on disk, dropped as the OS drops one (CDP drag events with its path), not a
  // synthetic list of files: the page has to walk the folder's entries itself.
  const drop = join(dir, 'drop', 'lookbook');
  await mkdir(join(drop, '2024'), { recursive: true });
  await writeFile(join(drop, '2024', 'cover.png'), await samplePng(3));
  await writeFile(join(drop, '2024', 'spring.png'), await samplePng(4));

  await page.getByRole('link', { name: 'Assets' }).first().click();
  await page.waitForURL((url) => url.pathname === '/ui/assets' && !url.searchParams.get('folder'));
  const zone = page.locator('#dropzone');
  await zone.scrollIntoViewIfNeeded();
  const box = (await zone.boundingBox())!;
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const cdp = await e2e.context.newCDPSession(page);
  const data = { items: [], files: [drop], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  await cdp.detach();

  const uploads = page.locator('#uploads li');
  await poll(() => uploads.locator('.state', { hasText: 'uploaded' }).count()).toBe(2);
  expect(await uploads.allTextContents()).toEqual([expect.stringContaining('lookbook/2024/'), expect.stringContaining('lookbook/2024/')]);

  // In the page: the folder tree has lookbook > 2024, which holds the two files.
  const tree = page.getByRole('navigation', { name: 'Folders' });
  await page.reload();
  await tree.getByRole('link', { name: 'lookbook' }).click();
  await page.waitForURL(/folder=%2Flookbook/);
  await tree.getByRole('link', { name: '2024' }).click();
  await page.waitForURL(/folder=%2Flookbook%2F2024/);
  const names = () => page.locator('#results .card').allTextContents().then((t) => t.map((s) => s.trim().split('\n')[0]).sort());
  await poll(names).toEqual(['cover.png', 'spring.png']);
  // Through the API: both under /lookbook/2024.
  const { files } = await client.files.list({ folder: '/lookbook', recursive: true, limit: 100 });
  expect(files.map((f) => `${f.folder?.name}/${f.name}`).sort()).toEqual(['/lookbook/2024/cover.png', '/lookbook/2024/spring.png']);
  await checkA11y(page);
  e2e.assertClean();
});

it('runs the import-products flow from Flows and watches its run finish', async () => {
  const { page } = e2e;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flows' }).click();
  await page.waitForURL(/\/ui\/flows$/);
  await checkA11y(page);
  await page.getByRole('link', { name: 'import-products' }).first().click();
  await page.waitForURL(/\/ui\/flows\/import-products$/);
  await checkA11y(page);
  e2e.assertClean();

  // Its inputs have defaults a newcomer can keep.
  const sse: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/events')) sse.push(r.url());
  });
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/ui\/runs\/r\d{14}-[0-9a-f]{6}$/);
  const run = page.locator('#run');
  const liveAtFirst = await run.getAttribute('data-run-live');
  await run.locator('.page-head .badge-succeeded').waitFor({ timeout: 120_000 });
  if (liveAtFirst) {
    // Followed live: the end came over the event stream, and was announced, without a reload.
    expect(sse.length).toBeGreaterThan(0);
    await poll(() => page.locator('#run-status').textContent()).toBe('The run ended: succeeded.');
  }
  const rows = (await run.locator('table.steps tbody tr').allTextContents()).map((r) => r.replace(/\s+/g, ' ').trim());
  expect(rows.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual([
    'rows source',
    'upload succeeded',
    'urls succeeded',
    'report succeeded',
    'done succeeded',
  ]);
  expect(rows[1]).toMatch(/(\d+) \/ \1/);
  await checkA11y(page);
  e2e.assertClean();
});

it('stops cleanly on SIGTERM', async () => {
  demo.child.kill('SIGTERM');
  const { code, signal } = await demo.exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(demo.stderr()).toMatch(/SIGTERM received, stopping/);
  expect(demo.stderr().replace(/\s*SIGTERM received, stopping\.\.\.\s*/, '')).toBe('');
  await expect(fetch(`${consoleUrl}/ui/login`)).rejects.toThrow();
});
