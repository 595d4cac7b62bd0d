/**
 * The console's test stack, shared by the HTTP tests and the browser (e2e) tests:
 *
 *   const stack = await startStack({ seed: true });        // DAM server + FlowService + console
 *   const e2e = await openBrowser(stack);                   // Debian chromium via playwright-core
 *   await e2e.login();                                      // opens the printed login URL
 *   await e2e.page.getByRole('link', { name: 'Flows' }).click();
 *   await checkA11y(e2e.page);                              // axe-core: fails on serious/critical
 *   await screenshot(e2e.page, 'flows');                    // docs/screenshots/ when SFX_SCREENSHOTS=1
 *   e2e.assertClean();                                      // no console error, no failed request
 *   await e2e.close(); await stack.close();
 *
 * One browser per test file; wait for states (locators, expect.poll), never sleep.
 */
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Filerobot } from '@sfx/client';
import { defaultRegistry, FlowService } from '@sfx/flows';
import { startServer, type RunningServer } from '@sfx/server';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import sharp from 'sharp';
import { registerConsole, type ConsoleConnectionInfo, type ConsoleOptions, type RegisteredConsole } from '../../src/index.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** A root key no page may ever show: tests grep every response for it. */
export const ROOT_KEY = 'root-key-NEVER-IN-A-PAGE-7f3a91';
export const CHROMIUM = process.env.SFX_CHROMIUM ?? '/usr/bin/chromium';

/**
 * expect.poll with room for a loaded 2-core machine (vitest's default gives up after 1 s). It only
 * bounds a hang: a passing poll returns as soon as its value matches.
 */
export function poll<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 30_000, interval: 100 });
}

export interface StackOptions {
  /** Upload the demo-like assets (a few images in folders, with tags and metadata). */
  seed?: boolean;
  password?: string;
  token?: string;
  /** Flow files copied into the service's flows folder (default: none). */
  flows?: string[];
  /** Extra console options (tests of C2's pages add theirs). */
  console?: Partial<ConsoleOptions>;
  /** Receives the service's JSON log lines (default: dropped). */
  write?: (line: string) => void;
}

export interface Stack {
  dam: RunningServer;
  /** A client of the DAM with the root key (to seed and to check what the browser did). */
  client: Filerobot;
  service: FlowService;
  /** The fastify instance of the service (for app.inject). */
  app: FastifyInstance;
  console: RegisteredConsole;
  /** http://127.0.0.1:port of the service (the console is at /ui). */
  url: string;
  loginUrl: string;
  dir: string;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-console-'));
  const dam = await startServer({ port: 0, data: join(dir, 'dam'), rootKey: ROOT_KEY, token: 'demo', durability: 'relaxed', logLevel: 'silent' });
  const endpoint = `${dam.url}/${dam.token}`;
  const client = new Filerobot({ endpoint, apiKey: ROOT_KEY });
  if (options.seed) await seed(client);
  const flowsDir = join(dir, 'flows');
  await mkdir(flowsDir, { recursive: true });
  for (const file of options.flows ?? []) await cp(file, join(flowsDir, file.split('/').pop()!));
  const connections: ConsoleConnectionInfo[] = [{ name: 'demo', endpointUrl: endpoint, authentication: 'apikey', isDefault: true }];
  let app: FastifyInstance | undefined;
  let registered: RegisteredConsole | undefined;
  const service = new FlowService({
    flowsDir,
    journal: join(dir, 'runs.db'),
    registry: defaultRegistry(),
    openConnection: async () => new Filerobot({ endpoint, apiKey: ROOT_KEY }),
    port: 0,
    write: options.write ?? (() => undefined),
    http: async (fastify, svc) => {
      app = fastify;
      registered = await registerConsole(fastify, {
        service: svc,
        connections: {
          list: async () => connections,
          open: async (name) => {
            if (!connections.some((c) => c.name === name)) throw new Error(`no connection named ${name}`);
            return new Filerobot({ endpoint, apiKey: ROOT_KEY });
          },
        },
        ...(options.token ? { token: options.token } : {}),
        ...(options.password ? { password: options.password } : {}),
        ...options.console,
      });
    },
  });
  await service.start();
  return {
    dam,
    client,
    service,
    app: app!,
    console: registered!,
    url: service.url,
    loginUrl: registered!.loginUrl(service.url),
    dir,
    async close() {
      await service.stop();
      await client.close();
      await dam.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A small photo-like PNG: a gradient, so thumbnails look like something. */
export async function samplePng(hue: number, width = 320, height = 240): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (hue * 37 + x) % 256;
      pixels[i + 1] = (hue * 91 + y) % 256;
      pixels[i + 2] = (hue * 53 + ((x + y) >> 1)) % 256;
    }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export const SEEDED = [
  { folder: '/products', name: 'red-sneaker.png', tags: ['summer', 'shoes'], meta: { title: 'Red sneaker' } },
  { folder: '/products', name: 'blue-sneaker.png', tags: ['shoes'], meta: { title: 'Blue sneaker' } },
  { folder: '/products/bags', name: 'leather-bag.png', tags: ['summer', 'bags'], meta: { title: 'Leather bag' } },
  { folder: '/banners', name: 'spring-sale.png', tags: ['campaign'], meta: { title: 'Spring sale banner' } },
] as const;

async function seed(client: Filerobot): Promise<void> {
  let hue = 1;
  for (const asset of SEEDED) {
    await client.files.upload(await samplePng(hue++), {
      name: asset.name,
      folder: asset.folder,
      tags: [...asset.tags],
      meta: { ...asset.meta },
    });
  }
}

// ---- browser ----

export interface E2E {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors, failed requests and HTTP errors seen so far. */
  problems: string[];
  /** Opens the login URL and waits for the Assets page. */
  login(): Promise<void>;
  /** Fails on any problem, then forgets them. `allow` lists expected ones (regexps). */
  assertClean(allow?: RegExp[]): void;
  close(): Promise<void>;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** `stack` is a started Stack, or anything that printed a login URL (the demo's e2e test spawns `sfx demo`). */
export async function openBrowser(stack: Pick<Stack, 'loginUrl'>, viewport = { width: 1280, height: 800 }): Promise<E2E> {
  const profile = await mkdtemp(join(tmpdir(), 'sfx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: FLAGS,
    headless: true,
    viewport,
    acceptDownloads: false,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const at = msg.location().url;
    // axe-core (evaluated by checkA11y, so with no script URL) sets style attributes while it
    // measures; the CSP rightly blocks them. Style violations from the console's own code still count.
    if (at === '' && /Applying inline style violates/.test(msg.text())) return;
    problems.push(`console error: ${msg.text()} (at ${at}:${msg.location().lineNumber})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation away cancels requests still in flight: that is not a failure of the page.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  return {
    context,
    page,
    problems,
    async login() {
      await page.goto(stack.loginUrl);
      await page.waitForURL((url) => url.pathname.startsWith('/ui/') && !url.pathname.startsWith('/ui/login'));
    },
    assertClean(allow = []) {
      const left = problems.filter((p) => !allow.some((re) => re.test(p)));
      problems.length = 0;
      if (left.length) throw new Error(`the page had problems:\n  ${left.join('\n  ')}`);
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const require = createRequire(import.meta.url);

/** Runs axe-core in the page; throws listing every serious or critical violation. */
export async function checkA11y(page: Page, impacts: string[] = ['serious', 'critical']): Promise<void> {
  const source = (require('axe-core') as { source: string }).source;
  // Injected as a script element's text would break the CSP; evaluate runs it in the page directly.
  await page.evaluate(source);
  // A string: it runs in the page, where `axe` and `document` exist.
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  const bad = violations.filter((v) => impacts.includes(v.impact));
  if (bad.length)
    throw new Error(
      `accessibility violations on ${page.url()}:\n${bad
        .map((v) => `  ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')})`)
        .join('\n')}`,
    );
}

/** Saves a PNG: into docs/screenshots/<name>.png when SFX_SCREENSHOTS=1, else a temp folder. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const folder = process.env.SFX_SCREENSHOTS === '1' ? join(REPO, 'docs/screenshots') : join(tmpdir(), 'sfx-screenshots');
  await mkdir(folder, { recursive: true });
  const path = join(folder, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
