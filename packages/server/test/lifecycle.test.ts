/**
 * Server lifecycle features: the in-memory store for tests (`data: ':memory:'`) and the periodic
 * collection of blobs no row references.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { startHarness, type Harness } from './harness.js';

const KEY = 'lifecycle-root-key';
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/bin/sfx.js');

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function blobFiles(data: string): Promise<string[]> {
  const root = join(data, 'blobs');
  const out: string[] = [];
  for (const shard of await readdir(root, { withFileTypes: true })) {
    if (shard.isDirectory()) for (const name of await readdir(join(root, shard.name))) out.push(name);
  }
  return out.sort();
}

async function upload(server: RunningServer, folder: string, name: string, content: string): Promise<{ uuid: string; url: { public: string } }> {
  const form = new FormData();
  form.append('file', new Blob([content]), name);
  const response = await fetch(`${server.url}/${server.token}/v5/files?folder=${encodeURIComponent(folder)}`, {
    method: 'POST',
    headers: { 'X-Filerobot-Key': server.rootKey },
    body: form,
  });
  const body = (await response.json()) as { file: { uuid: string; url: { public: string } } };
  return body.file;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  vi.restoreAllMocks();
});

describe("data: ':memory:'", () => {
  it('serves the whole API from memory and a temporary blob folder that close() removes', async () => {
    const server = await startServer({ port: 0, data: ':memory:', rootKey: KEY, logLevel: 'silent' });
    cleanups.push(() => server.close());
    expect(existsSync(server.data)).toBe(true);
    const file = await upload(server, '/mem', 'a.txt', 'in memory');
    expect(await (await fetch(file.url.public)).text()).toBe('in memory');
    const list = (await (await fetch(`${server.url}/demo/v5/files?folder=/mem`, { headers: { 'X-Filerobot-Key': KEY } })).json()) as {
      files: Array<{ uuid: string }>;
      info: { total_files_count: number };
    };
    expect(list.files.map((f) => f.uuid)).toEqual([file.uuid]);
    expect(list.info.total_files_count).toBe(1);
    // No database file: the metadata lives in memory only.
    expect((await readdir(server.data)).filter((name) => name.includes('sqlite'))).toEqual([]);
    await server.close();
    expect(existsSync(server.data)).toBe(false);
  });

  it('reaches the server from the CLI: `sfx server --data :memory:` leaves nothing behind', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sfx-cli-memory-'));
    // Its own temp folder, so what the server leaves there is the server's alone.
    const temp = await mkdtemp(join(tmpdir(), 'sfx-cli-tmp-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    cleanups.push(() => rm(temp, { recursive: true, force: true }));
    const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data', ':memory:', '--root-key', KEY, '--log', 'warn'], {
      cwd,
      env: { ...process.env, TMPDIR: temp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((ok) => proc.once('exit', (code) => ok(code)));
    cleanups.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    });
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) ok(match[1]!);
      });
      void exited.then((code) => fail(new Error(`exited with ${code} before listening`)));
    });
    const form = new FormData();
    form.append('file', new Blob(['cli bytes']), 'c.txt');
    const reply = await fetch(`${url}/demo/v5/files?folder=/cli`, { method: 'POST', headers: { 'X-Filerobot-Key': KEY }, body: form });
    expect(reply.status).toBe(200);
    await reply.arrayBuffer();
    expect((await readdir(temp)).filter((name) => name.startsWith('sfx-memory-'))).toHaveLength(1);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Not taken as a folder name, and the temporary folder went with the process.
    expect(await readdir(cwd)).toEqual([]);
    expect(await readdir(temp)).toEqual([]);
  });

  it('gives each server its own empty store', async () => {
    const first = await startServer({ port: 0, data: ':memory:', rootKey: KEY, logLevel: 'silent' });
    cleanups.push(() => first.close());
    await upload(first, '/', 'only-here.txt', 'x');
    const second = await startServer({ port: 0, data: ':memory:', rootKey: KEY, logLevel: 'silent' });
    cleanups.push(() => second.close());
    expect(second.data).not.toBe(first.data);
    const list = (await (await fetch(`${second.url}/demo/v5/files`, { headers: { 'X-Filerobot-Key': KEY } })).json()) as { files: unknown[] };
    expect(list.files).toEqual([]);
  });
});

describe('periodic orphan collection', () => {
  let h: Harness;

  async function orphan(blobId: string, ageMs: number): Promise<string> {
    const path = join(h.dir, 'blobs', blobId.slice(0, 2), blobId);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, 'orphan');
    const at = new Date(Date.now() - ageMs);
    await utimes(path, at, at);
    return path;
  }

  it('removes old unreferenced blobs and queued deletions on its timer, and keeps young ones and every file', async () => {
    h = await startHarness({ gcIntervalMs: 25, gcGraceMs: 60_000 });
    cleanups.push(() => h.close());
    const kept = await Promise.all(Array.from({ length: 8 }, (_, i) => h.upload('/gc', `f${i}.txt`, `content ${i}`)));
    const before = await blobFiles(h.dir);
    expect(before).toHaveLength(8);

    const old = await orphan('ee00000000000000000000000000000a', 2 * 60_000);
    const young = await orphan('ee00000000000000000000000000000b', 0);
    const queued = await orphan('ee00000000000000000000000000000c', 0);
    // A queued deletion is explicit (its row is already gone), so it does not wait for the grace period.
    const db = new BetterSqlite3(join(h.dir, 'metadata.sqlite'));
    db.prepare('INSERT INTO pending_blob_deletes (blob_id) VALUES (?)').run('ee00000000000000000000000000000c');
    db.close();

    await until(() => !existsSync(old) && !existsSync(queued));
    // Several more passes run meanwhile; the young orphan and the referenced blobs stay.
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(young)).toBe(true);
    expect(await blobFiles(h.dir)).toEqual([...before, 'ee00000000000000000000000000000b'].sort());
    for (const reply of kept) {
      const file = reply.file as { url: { public: string } };
      const response = await fetch(file.url.public);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  });

  it('uploads and deletes running alongside a busy collector lose nothing', async () => {
    h = await startHarness({ gcIntervalMs: 1, gcGraceMs: 10_000 });
    cleanups.push(() => h.close());
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => h.upload('/busy', `f${i}.txt`, `busy ${i}`)));
    const uuids = replies.map((r) => (r.file as { uuid: string }).uuid);
    await h.call('DELETE', '/files', { body: { files_uuids: uuids.slice(0, 5) } });
    await h.server.collectGarbage();
    expect(await blobFiles(h.dir)).toHaveLength(15);
    for (const reply of replies.slice(5)) expect(await (await fetch((reply.file as { url: { public: string } }).url.public)).text()).toMatch(/^busy /);
  });

  it('collectGarbage runs a pass on demand and reports what it removed', async () => {
    h = await startHarness({ gcIntervalMs: 0, gcGraceMs: 1000 });
    cleanups.push(() => h.close());
    const path = await orphan('ff00000000000000000000000000000a', 5000);
    expect(await h.server.collectGarbage()).toEqual({ orphans: 1, expiredUploads: 0 });
    expect(existsSync(path)).toBe(false);
    expect(await h.server.collectGarbage()).toEqual({ orphans: 0, expiredUploads: 0 });
  });

  it('stops with close(): no pass runs against the closed database', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    h = await startHarness({ gcIntervalMs: 5, logLevel: 'error' });
    await new Promise((r) => setTimeout(r, 50));
    await h.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(writes.filter((w) => w.includes('orphan collection failed'))).toEqual([]);
  });
});
