/**
 * Every example flow of examples/flows, run through the engine against the local server (in
 * process) with a real client, checked by what ends up in the DAM and in the files they write.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Filerobot, type FileObject } from '@sfx/client';
import { newAssets } from '@sfx/connector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/index.js';
import { defaultRegistry, Engine, loadFlow, resolveInputs, SqliteRunStore, type CompiledFlow, type RunEvent, type RunOptions } from '../src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FLOWS = join(ROOT, 'examples/flows');
const IMAGES = join(ROOT, 'examples/data/images');

async function loadExample(name: string): Promise<CompiledFlow> {
  const file = join(FLOWS, name);
  const { flow, problems } = loadFlow(await readFile(file, 'utf8'), { registry: defaultRegistry(), file, baseDir: dirname(file) });
  if (!flow) throw new Error(problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
  return flow;
}

let server: RunningServer;
let client: Filerobot;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-examples-'));
  // URL imports from loopback (the migration's old site is a local http server) need the opt-in.
  server = await startServer({ port: 0, data: join(dir, 'data'), rootKey: 'root-key-for-examples', durability: 'relaxed', logLevel: 'silent', allowPrivateUrlImports: true });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: server.rootKey, retry: { maxRetries: 0 } });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** An engine on a journal file of its own; the flow's connection is the local server. Retry waits are skipped. */
function engineFor(env: Record<string, string> = {}, extra: { graceMs?: number } = {}): Engine {
  return new Engine({
    store: new SqliteRunStore(join(dir, `runs-${Math.random().toString(36).slice(2)}.db`)),
    openConnection: () => client,
    env,
    sleep: async () => {},
    ...extra,
  });
}

/** Runs as `sfx flow run` does: inputs given, the rest from the flow's defaults. */
async function run(engine: Engine, flow: CompiledFlow, inputs: Record<string, unknown> = {}, options: Omit<RunOptions, 'inputs'> = {}) {
  const { values, problems } = resolveInputs(flow, inputs);
  expect(problems).toEqual([]);
  return engine.run(flow, { ...options, inputs: values });
}

async function filesIn(folder: string): Promise<FileObject[]> {
  const all: FileObject[] = [];
  for await (const file of client.files.list({ folder, recursive: true })) all.push(file);
  return all;
}

function tagLabels(file: FileObject): string[] {
  const tags = (file.tags ?? {}) as Record<string, Array<{ label: string }>>;
  return [...new Set(Object.values(tags).flatMap((list) => list.map((t) => t.label)))].sort();
}

async function sha1Of(path: string): Promise<string> {
  return createHash('sha1').update(await readFile(path)).digest('hex');
}

/** A CSV of plain fields (the reports hold no commas or quotes), as objects. */
function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const keys = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [keys[i]!, v])));
}

async function expectImage(url: string, type: string): Promise<void> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  expect(response.headers.get('content-type'), url).toBe(type);
  expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const http = createServer(handler);
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  return { server: http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
}

describe('examples/flows', () => {
  it('every example validates, and the five documented ones are there', async () => {
    const files = readdirSync(FLOWS).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
    expect(files).toEqual(expect.arrayContaining(['import-products.yaml', 'tag-new-assets.yaml', 'nightly-cdn-export.yaml', 'bulk-retag.yaml', 'migrate-from-urls.yaml']));
    for (const file of files) {
      const { problems } = loadFlow(await readFile(join(FLOWS, file), 'utf8'), { registry: defaultRegistry(), file, baseDir: FLOWS });
      expect(problems, file).toEqual([]);
    }
  });

  it('import-products: assets with metadata, tags and product links, a report of CDN URLs that serve, and no duplicates on a second run', async () => {
    const flow = await loadExample('import-products.yaml');
    const engine = engineFor();
    const report = join(dir, 'product-urls.csv');
    const first = await run(engine, flow, { report });
    expect(first.status).toBe('succeeded');

    const files = await filesIn('/products');
    expect(files).toHaveLength(6);
    const red = files.find((f) => f.name === 'trail-runner-red.jpg')!;
    expect(red.folder?.name).toBe('/products/shoes');
    expect(red.meta).toMatchObject({ title: 'Trail Runner (red)', sku: 'TR-100-RED', price: 129.9, color: 'red' });
    expect(tagLabels(red)).toEqual(['outdoor', 'running', 'summer']);
    expect((red as { product?: { ref?: string } }).product?.ref).toBe('TR-100-RED');
    expect(red.hash?.sha1).toBe(await sha1Of(join(IMAGES, 'trail-runner-red.jpg')));
    expect(new Set(files.map((f) => f.folder?.name))).toEqual(new Set(['/products/shoes', '/products/apparel', '/products/accessories']));

    const rows = parseCsv(await readFile(report, 'utf8'));
    expect(rows.map((r) => r.sku).sort()).toEqual(['CS-200-WHT', 'CT-500-GRN', 'RJ-300-YEL', 'TR-100-BLU', 'TR-100-RED', 'WB-400-GRY']);
    for (const row of rows) {
      expect(row.cdn_url).toContain('w=800');
      await expectImage(row.cdn_url!, 'image/webp');
    }

    const second = await run(engine, flow, { report });
    expect(second.status).toBe('succeeded');
    expect(await filesIn('/products')).toHaveLength(6);
    const uploads = await engine.store.items(second.runId, 'upload', { status: 'succeeded' });
    expect(uploads).toHaveLength(6);
    expect(uploads.every((i) => (i.output as { duplicate: boolean }).duplicate)).toBe(true);
  });

  it('tag-new-assets: each new asset of /incoming (from the poll trigger) gets its metadata and tags, and the webhook gets its JSON, retried with one idempotency key', async () => {
    const flow = await loadExample('tag-new-assets.yaml');
    expect(flow.trigger).toMatchObject({ type: 'poll', uses: 'dam.assets.new', with: { folder: '/incoming' } });
    const received: Array<{ body: Record<string, unknown>; headers: IncomingHttpHeaders; status: number }> = [];
    let requests = 0;
    const receiver = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // The first delivery finds the receiver down for a moment.
        const status = ++requests === 1 ? 503 : 200;
        received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, headers: req.headers, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    try {
      const since = new Date(Date.now() - 60_000).toISOString();
      await client.files.upload(join(IMAGES, 'rain-jacket-yellow.jpg'), { folder: '/incoming', tags: ['from-agency'] });
      await client.files.upload(join(IMAGES, 'wool-beanie-grey.jpg'), { folder: '/incoming/batch-2' });
      const elsewhere = (await client.files.upload(join(IMAGES, 'canvas-tote-green.jpg'), { folder: '/not-incoming' })).file;

      // What the poll trigger hands the flow: the new assets of the folder, one run each.
      const { items: events } = await newAssets.poll({ client }, { ...(flow.trigger as { with: object }).with, from: since }, null);
      expect(events.map((e) => e.name).sort()).toEqual(['rain-jacket-yellow.jpg', 'wool-beanie-grey.jpg']);
      const engine = engineFor({ NEW_ASSET_WEBHOOK_URL: `${receiver.url}/hooks/assets` });
      for (const event of events) {
        const result = await run(engine, flow, {}, { trigger: { type: 'poll', event } });
        expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
      }

      for (const event of events) {
        const file = await client.files.get(event.uuid);
        expect(file.meta).toMatchObject({ status: 'received' });
        expect(Date.parse(String(file.meta?.received_at))).toBeGreaterThan(Date.parse(since));
        expect(tagLabels(file)).toEqual(event.name === 'rain-jacket-yellow.jpg' ? ['from-agency', 'received'] : ['received']);
      }
      const untouched = await client.files.get(elsewhere.uuid);
      expect(untouched.meta?.status).toBeUndefined();
      expect(tagLabels(untouched)).toEqual([]);

      // Two notifications, the first one sent twice (503, then 200) with the same key.
      expect(received.map((r) => r.status)).toEqual([503, 200, 200]);
      expect(received[0]!.headers['idempotency-key']).toBe(received[1]!.headers['idempotency-key']);
      expect(received[1]!.headers['idempotency-key']).not.toBe(received[2]!.headers['idempotency-key']);
      const delivered = received.filter((r) => r.status === 200).map((r) => r.body);
      const jacket = delivered.find((b) => b.name === 'rain-jacket-yellow.jpg')!;
      const jacketFile = await client.files.get(events.find((e) => e.name === 'rain-jacket-yellow.jpg')!.uuid);
      expect(jacket).toMatchObject({
        event: 'asset.received',
        uuid: jacketFile.uuid,
        folder: '/incoming',
        type: 'image/jpeg',
        received_at: jacketFile.meta?.received_at,
      });
      expect((jacket.tags as string[]).sort()).toEqual(['from-agency', 'received']);
      expect(jacket.bytes).toBe((await readFile(join(IMAGES, 'rain-jacket-yellow.jpg'))).length);
      await expectImage(String(jacket.cdn_url), 'image/jpeg');
      expect(delivered.find((b) => b.name === 'wool-beanie-grey.jpg')).toMatchObject({ folder: '/incoming/batch-2', tags: ['received'] });
    } finally {
      receiver.server.close();
    }
  });

  it('nightly-cdn-export: every asset of the folder in a dated CSV with CDN URLs that serve', async () => {
    const flow = await loadExample('nightly-cdn-export.yaml');
    expect(flow.trigger).toEqual({ type: 'schedule', cron: '0 2 * * *', timezone: 'Europe/Paris' });
    const names = readdirSync(IMAGES).sort();
    const uploaded = new Map<string, FileObject>();
    for (const [i, name] of names.entries()) {
      const folder = i % 2 ? '/export/a' : '/export/a/b';
      uploaded.set(name, (await client.files.upload(join(IMAGES, name), { folder })).file);
    }
    await client.files.upload(join(IMAGES, names[0]!), { folder: '/export-not-this' });

    const engine = engineFor();
    const out = join(dir, 'exports');
    const result = await run(engine, flow, { folder: '/export', width: 300, out }, { trigger: { type: 'schedule', event: { scheduledAt: new Date().toISOString() } } });
    expect(result.status).toBe('succeeded');
    expect(result.steps.find((s) => s.id === 'urls')).toMatchObject({ total: names.length, succeeded: names.length, failed: 0 });

    const written = (await engine.store.getStep(result.runId, 'report'))!.output as { absolutePath: string; rows: number };
    expect(written.absolutePath).toMatch(/cdn-urls-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(written.absolutePath.startsWith(out)).toBe(true);
    const text = await readFile(written.absolutePath, 'utf8');
    expect(text.split('\n')[0]).toBe('uuid,name,folder,cdn_url');
    const rows = parseCsv(text);
    expect(rows.map((r) => r.name).sort()).toEqual(names);
    for (const row of rows) {
      const file = uploaded.get(row.name!)!;
      expect(row.uuid).toBe(file.uuid);
      expect(row.folder).toBe(file.folder?.name);
      expect(row.cdn_url).toContain('w=300');
      await expectImage(row.cdn_url!, 'image/webp');
    }
  });

  it('bulk-retag: a dry run changes nothing; the run changes exactly the matching assets of the folder, past a page boundary', async () => {
    const flow = await loadExample('bulk-retag.yaml');
    const put = async (name: string, folder: string, tags: string[]) =>
      (await client.files.upload(join(IMAGES, name), { folder, ...(tags.length ? { tags } : {}) })).file.uuid;
    const matching = {
      a: await put('trail-runner-red.jpg', '/retag', ['summer', 'running']),
      b: await put('trail-runner-blue.jpg', '/retag/shoes', ['summer']),
      c: await put('city-sneaker-white.jpg', '/retag/shoes', ['summer', 'sale']),
    };
    const others = {
      d: await put('rain-jacket-yellow.jpg', '/retag', ['winter']),
      e: await put('wool-beanie-grey.jpg', '/retag', []),
      outside: await put('canvas-tote-green.jpg', '/retag-outside', ['summer']),
    };
    const tagsNow = async (): Promise<Record<string, string[]>> => {
      const out: Record<string, string[]> = {};
      for (const [k, uuid] of Object.entries({ ...matching, ...others })) out[k] = tagLabels(await client.files.get(uuid));
      return out;
    };
    const before = await tagsNow();
    const inputs = { q: '#summer', folder: '/retag', add: ['sale'], remove: ['summer'], pageSize: 2 };

    const engine = engineFor();
    const dry = await run(engine, flow, inputs, { dryRun: true });
    expect(dry.status).toBe('succeeded');
    expect(await tagsNow()).toEqual(before);
    const planned = (await engine.store.items(dry.runId, 'retag', { status: 'succeeded' })).map((i) => i.output as { dryRun: boolean; input: { uuid: string; add: string[] } });
    expect(planned.every((p) => p.dryRun)).toBe(true);
    expect(planned.map((p) => p.input.uuid).sort()).toEqual(Object.values(matching).sort());

    const real = await run(engine, flow, inputs);
    expect(real.status).toBe('succeeded');
    expect(real.steps.find((s) => s.id === 'retag')).toMatchObject({ total: 3, succeeded: 3, failed: 0, skipped: 0 });
    expect(await tagsNow()).toEqual({ a: ['running', 'sale'], b: ['sale'], c: ['sale'], d: ['winter'], e: [], outside: ['summer'] });

    // Nothing left to remove, and "sale" is already there: every match is skipped, none rewritten.
    const again = await run(engine, flow, { ...inputs, q: '#sale' });
    expect(again.status).toBe('succeeded');
    expect(again.steps.find((s) => s.id === 'retag')).toMatchObject({ total: 3, succeeded: 0, skipped: 3 });
  });

  describe('migrate-from-urls', () => {
    const list = join(ROOT, 'examples/data/migration.jsonl');
    let oldSite: { server: Server; url: string };
    const served = new Map<string, number>();
    let failing: string | undefined;
    let delayFor: (path: string) => number = () => 0;

    beforeAll(async () => {
      // The "old site": serves /media/<year>/<name> from examples/data/images.
      oldSite = await listen((req, res) => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        served.set(path, (served.get(path) ?? 0) + 1);
        setTimeout(() => {
          if (failing && path.endsWith(failing)) return void res.writeHead(503).end('busy');
          readFile(join(IMAGES, path.split('/').pop()!)).then(
            (bytes) => res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length }).end(bytes),
            () => res.writeHead(404).end(),
          );
        }, delayFor(path));
      });
    });
    afterAll(() => oldSite?.server.close());

    /** The example list, pointed at the local old site, with its folders under `root`. */
    async function localList(root: string): Promise<{ path: string; lines: Array<{ url: string; name: string; folder: string; meta: Record<string, string> }> }> {
      const lines = (await readFile(list, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { url: string; name: string; folder: string; meta: Record<string, string> })
        .map((l) => ({ ...l, url: l.url.replace('https://old-shop.example.com', oldSite.url), folder: l.folder.replace(/^\/archive/, root) }));
      const path = join(dir, `${root.slice(1)}.jsonl`);
      await writeFile(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      return { path, lines };
    }

    async function expectMigrated(root: string, lines: Awaited<ReturnType<typeof localList>>['lines']): Promise<FileObject[]> {
      const files = await filesIn(root);
      expect(files.map((f) => `${f.folder?.name}/${f.name}`).sort()).toEqual(lines.map((l) => `${l.folder}/${l.name}`).sort());
      for (const line of lines) {
        const file = files.find((f) => f.name === line.name && f.folder?.name === line.folder)!;
        expect(file.hash?.sha1).toBe(await sha1Of(join(IMAGES, line.name)));
        expect(file.meta).toMatchObject({ ...line.meta, migrated_from: line.url });
        expect(tagLabels(file)).toEqual(['migrated']);
      }
      return files;
    }

    it('stopped hard mid-run and resumed: every asset once (names and sha1), a redirect map that serves; a second run imports nothing', async () => {
      const { path, lines } = await localList('/archive');
      const flow = await loadExample('migrate-from-urls.yaml');
      // No grace: items in flight when the run is stopped are abandoned mid-call, their outcome unknown.
      const engine = engineFor({}, { graceMs: 0 });
      const redirects = join(dir, 'redirects.csv');
      const stop = new AbortController();
      // The first file comes at once; the three others in flight beside it are still being fetched
      // by the DAM when the run is stopped.
      delayFor = (p) => (p.endsWith('trail-runner-red.jpg') ? 0 : 400);
      const first = await run(engine, flow, { list: path, redirects }, {
        signal: stop.signal,
        onEvent: (e: RunEvent) => {
          if (e.type === 'item' && e.status === 'succeeded') stop.abort();
        },
      });
      expect(first.status).toBe('interrupted');
      const inFlight = await engine.store.items(first.runId, 'migrate', { status: 'started' });
      // The three launched beside the first (and possibly the next one, read before the stop).
      const slow = [1, 2, 3];
      expect(inFlight.map((i) => i.index)).toEqual(expect.arrayContaining(slow));
      // The DAM finishes the imports the run no longer waits for, as it would after a crash.
      for (let tries = 0; (await filesIn('/archive')).length < 4; tries++) {
        expect(tries).toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 50));
      }
      delayFor = () => 0;

      const events: RunEvent[] = [];
      const resumed = await engine.resume(flow, first.runId, { onEvent: (e) => events.push(e) });
      expect(resumed.status, JSON.stringify(resumed.error)).toBe('succeeded');
      expect(resumed.steps.find((s) => s.id === 'migrate')).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
      // What was in flight had landed: found by name in its folder, not imported again.
      const reconciled = events.filter((e) => e.type === 'item' && e.reconciled).map((e) => (e as { index: number }).index);
      expect(reconciled).toEqual(expect.arrayContaining(slow));
      expect(inFlight.map((i) => i.index)).toEqual(expect.arrayContaining(reconciled));
      const files = await expectMigrated('/archive', lines);

      const rows = parseCsv(await readFile(redirects, 'utf8'));
      expect(rows.map((r) => r.old_url).sort()).toEqual(lines.map((l) => l.url).sort());
      for (const row of rows) {
        expect(row.uuid).toBe(files.find((f) => f.name === row.name && f.folder?.name === row.folder)?.uuid);
        await expectImage(row.cdn_url!, 'image/jpeg');
      }

      const fresh = engineFor();
      const again = await run(fresh, flow, { list: path, redirects });
      expect(again.status).toBe('succeeded');
      expect((await fresh.store.items(again.runId, 'migrate', { status: 'succeeded' })).map((i) => (i.output as { duplicate: boolean }).duplicate)).toEqual(Array(6).fill(true));
      await expectMigrated('/archive', lines);
    });

    it('a URL that keeps failing is retried, fails the run past toleratedFailurePercent, and `retry --failed` finishes it', async () => {
      const { path, lines } = await localList('/archive-retry');
      const flow = await loadExample('migrate-from-urls.yaml');
      const engine = engineFor();
      const redirects = join(dir, 'redirects-retry.csv');
      failing = 'wool-beanie-grey.jpg';
      served.clear();
      let first;
      try {
        first = await run(engine, flow, { list: path, redirects });
        expect(first.status).toBe('failed');
        expect(first.error?.code).toBe('TOO_MANY_FAILURES');
        expect(first.steps.find((s) => s.id === 'migrate')).toMatchObject({ total: 6, succeeded: 5, failed: 1 });
        const [failed] = await engine.store.items(first.runId, 'migrate', { status: 'failed' });
        expect(failed).toMatchObject({ index: 4, error: { code: 'URL_FETCH_FAILED' } });
        // retry.attempts: 4 tries, each one the DAM fetching it.
        expect(served.get('/media/2020/wool-beanie-grey.jpg')).toBe(4);
        expect(first.steps.find((s) => s.id === 'redirects')?.status).toBe('pending');
      } finally {
        failing = undefined;
      }
      const retried = await engine.resume(flow, first.runId, { retryFailed: true });
      expect(retried.status).toBe('succeeded');
      expect(retried.steps.find((s) => s.id === 'migrate')).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
      await expectMigrated('/archive-retry', lines);
      expect(parseCsv(await readFile(redirects, 'utf8'))).toHaveLength(6);
    });
  });
});
