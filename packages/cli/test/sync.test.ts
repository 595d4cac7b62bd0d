/**
 * `sfx sync`, run as a user runs it: the built binary against a local server started here, with
 * the DAM's state checked afterwards through the client (counts, uuids and sha1s of every asset).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot, type FileObject } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const ROOT_KEY = 'cli-sync-test-root-key-5d81c0a2e7';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: RunningServer;
let root: string;
let config: string;
let client: Filerobot;

function start(args: string[], stdin = ''): { child: ChildProcess; done: Promise<Run> } {
  const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: config, SFX_TEST_KEY: ROOT_KEY };
  delete env.SFX_CONNECTION;
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolveRun, fail) => {
    child.on('error', fail);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
  child.stdin!.end(stdin);
  return { child, done };
}

function sfx(args: string[], stdin = ''): Promise<Run> {
  return start(args, stdin).done;
}

interface Report {
  uploaded: number;
  updated: number;
  skipped: number;
  deleted: number;
  failed: number;
  bytesSent: number;
  failures: Array<{ action: string; path: string; reason: string }>;
  cache: { hits: number; hashed: number };
}

async function syncJson(args: string[]): Promise<{ run: Run; report: Report }> {
  const run = await sfx(['sync', ...args, '--json']);
  let report: Report;
  try {
    report = JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
  return { run, report };
}

/** Every asset below `folder`: path -> uuid, sha1, meta, tag labels. */
async function remote(folder: string): Promise<Map<string, { uuid: string; sha1: string; meta: Record<string, unknown>; tags: string[] }>> {
  const found = new Map<string, { uuid: string; sha1: string; meta: Record<string, unknown>; tags: string[] }>();
  for await (const f of client.files.list({ folder, recursive: true }) as AsyncIterable<FileObject>) {
    const labels = Object.values((f.tags ?? {}) as Record<string, Array<{ label: string }>>).flatMap((l) => l.map((t) => t.label));
    found.set(f.url!.path!, { uuid: f.uuid, sha1: f.hash!.sha1!, meta: (f.meta ?? {}) as Record<string, unknown>, tags: labels });
  }
  return found;
}

function sha1(data: string | Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Writes `count` files with random content below `dir` (some in subfolders); returns rel path -> sha1. */
async function makeTree(dir: string, count: number, prefix = 'f'): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const rel = i % 3 === 0 ? `sub${i % 2}/${prefix}${i}.bin` : `${prefix}${i}.bin`;
    const data = randomBytes(200 + (i % 7) * 50);
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), data);
    files.set(rel, sha1(data));
  }
  return files;
}

function expectMirror(dam: Awaited<ReturnType<typeof remote>>, folder: string, local: Map<string, string>): void {
  expect([...dam.keys()].sort()).toEqual([...local.keys()].map((rel) => `${folder}/${rel}`).sort());
  for (const [rel, digest] of local) expect(dam.get(`${folder}/${rel}`)?.sha1, rel).toBe(digest);
}

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent', allowPrivateUrlImports: true });
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-sync-'));
  config = join(root, 'config');
  const endpoint = `${server.url}/${server.token}`;
  client = new Filerobot({ endpoint, apiKey: ROOT_KEY });
  const add = await sfx(['connection', 'add', 'local', '--endpoint', endpoint, '--api-key', 'env:SFX_TEST_KEY']);
  expect(add.code, add.stderr).toBe(0);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('sfx sync from a local folder', () => {
  let src: string;
  let local: Map<string, string>;

  it('uploads everything the first time, then skips everything without reading a file again', async () => {
    src = join(root, 'photos');
    local = await makeTree(src, 24);
    const first = await syncJson([src, '/photos']);
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(first.report).toMatchObject({ uploaded: 24, updated: 0, skipped: 0, deleted: 0, failed: 0 });
    expectMirror(await remote('/photos'), '/photos', local);

    const second = await syncJson([src, '/photos']);
    expect(second.run.code, second.run.stderr).toBe(0);
    expect(second.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 24, deleted: 0, failed: 0, bytesSent: 0 });
    // Each file's sha1 came from the cache the first sync filled from the DAM's replies.
    expect(second.report.cache).toEqual({ hits: 24, hashed: 0 });

    // Proof that nothing is read: new bytes of the same size with the old mtime go unnoticed
    // (the quick check rsync makes too); touching the file makes the next sync read and update it.
    const rel = [...local.keys()][1]!;
    const path = join(src, rel);
    // A whole-second mtime, so that setting it back restores it exactly.
    const then = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await utimes(path, then, then);
    const touched = await syncJson([src, '/photos']);
    expect(touched.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 24 });
    expect(touched.report.cache).toEqual({ hits: 23, hashed: 1 });
    const swapped = randomBytes((await stat(path)).size);
    await writeFile(path, swapped);
    await utimes(path, then, then);
    const third = await syncJson([src, '/photos']);
    expect(third.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 24 });
    expect(third.report.cache.hashed).toBe(0);
    expect((await remote('/photos')).get(`/photos/${rel}`)?.sha1).toBe(local.get(rel));

    const uuid = (await remote('/photos')).get(`/photos/${rel}`)!.uuid;
    await utimes(path, new Date(), new Date(Date.now() + 5000));
    const fourth = await syncJson([src, '/photos']);
    expect(fourth.report).toMatchObject({ uploaded: 0, updated: 1, skipped: 23, failed: 0 });
    expect(fourth.report.cache.hashed).toBe(1);
    local.set(rel, sha1(swapped));
    const dam = await remote('/photos');
    expectMirror(dam, '/photos', local);
    expect(dam.get(`/photos/${rel}`)?.uuid, 'replaced in place').toBe(uuid);
  });

  it('replaces a changed file in place, keeping its uuid; --dry-run prints the plan and changes nothing', async () => {
    const [changed, removed] = [...local.keys()].slice(3, 5) as [string, string];
    const before = await remote('/photos');
    const data = randomBytes(999);
    await writeFile(join(src, changed), data);
    await rm(join(src, removed));
    await writeFile(join(src, 'brand-new.bin'), 'new');

    const dry = await sfx(['sync', src, '/photos', '--dry-run', '--delete']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = dry.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(plan).toEqual(
      expect.arrayContaining([
        ['update', `/photos/${changed}`, expect.stringMatching(/size changed/)],
        ['upload', '/photos/brand-new.bin', 'new'],
        ['delete', `/photos/${removed}`, 'not in the source'],
      ]),
    );
    expect(plan).toHaveLength(3);
    expect(await remote('/photos')).toEqual(before);

    const { run, report } = await syncJson([src, '/photos']);
    expect(run.code, run.stderr).toBe(0);
    // Without --delete the asset that left the source stays.
    expect(report).toMatchObject({ uploaded: 1, updated: 1, deleted: 0, failed: 0 });
    const after = await remote('/photos');
    expect(after.get(`/photos/${changed}`)).toMatchObject({ uuid: before.get(`/photos/${changed}`)!.uuid, sha1: sha1(data) });
    expect(after.has(`/photos/${removed}`)).toBe(true);
    local.set(changed, sha1(data));
    local.set('brand-new.bin', sha1('new'));
  });

  it('--delete asks first (refused without a terminal or --yes), then deletes what left the source', async () => {
    const removed = [...local.keys()][4]!;
    const refused = await sfx(['sync', src, '/photos', '--delete']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--delete would delete 1 asset below \/photos .*add --yes/);
    expect((await remote('/photos')).has(`/photos/${removed}`)).toBe(true);

    const { run, report } = await syncJson([src, '/photos', '--delete', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(report).toMatchObject({ uploaded: 0, updated: 0, deleted: 1, failed: 0 });
    local.delete(removed);
    expectMirror(await remote('/photos'), '/photos', local);
  });

  it('a source that does not exist is a usage error before any change', async () => {
    const run = await sfx(['sync', join(root, 'nowhere'), '/photos']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/nothing at ".*nowhere"/);
  });
});

describe('sfx sync from a CSV manifest', () => {
  it('uploads with metadata and tags, reports rows that cannot be synced (exit 1), and updates changed metadata without bytes', async () => {
    const dir = join(root, 'manifest');
    await mkdir(join(dir, 'img'), { recursive: true });
    await writeFile(join(dir, 'img', 'a.txt'), 'alpha');
    await writeFile(join(dir, 'img', 'b.txt'), 'bravo');
    const csv = join(dir, 'list.csv');
    const rows = (title: string): string =>
      ['path,name,title,sku,tags', `img/a.txt,shoes/red.txt,${title},S-1,summer|sale`, 'img/b.txt,,Bravo,S-2,', 'img/missing.txt,gone.txt,X,S-3,'].join('\n');
    await writeFile(csv, rows('Red shoe'));

    const first = await syncJson([csv, '/catalog']);
    expect(first.run.code).toBe(1);
    expect(first.report).toMatchObject({ uploaded: 2, failed: 1 });
    expect(first.report.failures).toEqual([expect.objectContaining({ path: '/catalog/gone.txt', reason: expect.stringMatching(/row 4: no file at img\/missing.txt/) })]);
    let dam = await remote('/catalog');
    expect([...dam.keys()].sort()).toEqual(['/catalog/img/b.txt', '/catalog/shoes/red.txt']);
    expect(dam.get('/catalog/shoes/red.txt')).toMatchObject({ sha1: sha1('alpha'), meta: { title: 'Red shoe', sku: 'S-1' } });
    expect(dam.get('/catalog/shoes/red.txt')!.tags.sort()).toEqual(['sale', 'summer']);
    expect(dam.get('/catalog/img/b.txt')!.meta).toMatchObject({ title: 'Bravo', sku: 'S-2' });

    const again = await syncJson([csv, '/catalog']);
    expect(again.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 2, failed: 1 });

    const uuid = dam.get('/catalog/shoes/red.txt')!.uuid;
    await writeFile(csv, rows('Crimson shoe'));
    const changed = await syncJson([csv, '/catalog']);
    expect(changed.report).toMatchObject({ uploaded: 0, updated: 1, skipped: 1, bytesSent: 0 });
    dam = await remote('/catalog');
    expect(dam.get('/catalog/shoes/red.txt')).toMatchObject({ uuid, meta: { title: 'Crimson shoe', sku: 'S-1' } });
  });
});

describe('sfx sync from a URL list', () => {
  let web: Server;
  const bodies = new Map<string, string>([
    ['/media/one.txt', 'one'],
    ['/media/two.txt', 'two'],
    ['/media/three.txt', 'three'],
  ]);

  beforeAll(async () => {
    web = createServer((req, res) => {
      const body = bodies.get(req.url ?? '');
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((done) => web.listen(0, '127.0.0.1', done));
  });
  afterAll(() => new Promise<void>((done) => web.close(() => done())));

  it('imports new URLs, counts an existing name as unchanged, and with --checksum replaces changed content in place', async () => {
    const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const list = join(root, 'urls.txt');
    await writeFile(list, `# product images\n${[...bodies.keys()].map((p) => base + p).join('\n')}\n\n`);

    const first = await syncJson([list, '/web']);
    expect(first.run.code, first.run.stderr).toBe(0);
    expect(first.report).toMatchObject({ uploaded: 3, failed: 0 });
    let dam = await remote('/web');
    for (const [path, body] of bodies) expect(dam.get(`/web/${path.split('/').pop()}`)?.sha1).toBe(sha1(body));

    bodies.set('/media/two.txt', 'two, revised');
    const byName = await syncJson([list, '/web']);
    expect(byName.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 3 });
    const uuid = dam.get('/web/two.txt')!.uuid;

    const dry = await sfx(['sync', list, '/web', '--checksum', '--dry-run']);
    expect(dry.stdout.trim()).toBe(`update\t/web/two.txt\tcontent changed (the URL's sha1 differs)`);
    const checked = await syncJson([list, '/web', '--checksum']);
    expect(checked.run.code, checked.run.stderr).toBe(0);
    expect(checked.report).toMatchObject({ uploaded: 0, updated: 1, skipped: 2, failed: 0 });
    dam = await remote('/web');
    expect(dam.size).toBe(3);
    expect(dam.get('/web/two.txt')).toMatchObject({ uuid, sha1: sha1('two, revised') });
  });
});

describe('sfx sync interrupted', () => {
  it('Ctrl-C stops it with exit 130 and says how to go on; the re-run completes it', async () => {
    const src = join(root, 'interrupted');
    const local = await makeTree(src, 30, 'i');
    const { child, done } = start(['sync', src, '/interrupted', '--tps', '5']);
    while ((await client.files.stats({ folder: '/interrupted', recursive: true })).total_files_count === 0 && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const stopped = await done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/run the same command again to go on/);
    const { run } = await syncJson([src, '/interrupted']);
    expect(run.code, run.stderr).toBe(0);
    expectMirror(await remote('/interrupted'), '/interrupted', local);
  });
});

describe('sfx sync after kill -9', () => {
  it('re-running finishes the job: every file once, with the right sha1, nothing duplicated', async () => {
    const src = join(root, 'bulk');
    const local = await makeTree(src, 120, 'k');
    // --tps slows the sync enough to kill it part-way at a random point.
    const killAt = 5 + Math.floor(Math.random() * 90);
    const { child, done } = start(['sync', src, '/bulk', '--tps', '30', '--concurrency', '4']);
    let count = 0;
    while (count < killAt) {
      await new Promise((r) => setTimeout(r, 50));
      count = (await client.files.stats({ folder: '/bulk', recursive: true })).total_files_count ?? 0;
      if (child.exitCode !== null) break;
    }
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.code, `the sync ended before the kill (${killed.stderr})`).toBeNull();
    const landed = (await remote('/bulk')).size;
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(120);

    const { run, report } = await syncJson([src, '/bulk']);
    expect(run.code, run.stderr).toBe(0);
    // What landed before the kill is complete (a server never shows a partial upload), so it is
    // skipped; the rest is uploaded once.
    expect(report).toMatchObject({ failed: 0, updated: 0 });
    expect(report.skipped).toBeGreaterThanOrEqual(landed);
    expect(report.uploaded).toBe(120 - report.skipped);
    expectMirror(await remote('/bulk'), '/bulk', local);
    const last = await syncJson([src, '/bulk']);
    expect(last.report).toMatchObject({ uploaded: 0, updated: 0, skipped: 120 });
  });
});
