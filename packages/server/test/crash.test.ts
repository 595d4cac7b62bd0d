/**
 * Crash safety of the server process, proven with SIGKILL against the real CLI (docs/server.md, "Consistency
 * and durability promise", items 2, 3 and 6): an acknowledged upload survives `kill -9`, an
 * interrupted one never shows up partially, and start-up recovery leaves no temp file and no
 * unreferenced blob behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../cli/bin/sfx.js');
const KEY = 'crash-test-root-key';
const TOKEN = 'demo';
const MB = 1024 * 1024;

interface Child {
  proc: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

const children = new Set<Child>();
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children) await kill(child);
  children.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-crash-'));
  dirs.push(dir);
  return dir;
}

/** Spawns `sfx server` on `data` and resolves with its URL once it prints that it listens. */
function start(data: string): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'server',
      '--port',
      '0',
      '--data',
      data,
      '--root-key',
      KEY,
      '--durability',
      'full',
      '--log',
      'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((ok) => {
    if (proc.exitCode !== null || proc.signalCode !== null) ok(proc.exitCode);
    else proc.once('exit', (code) => ok(code));
  });
  proc.stderr!.on('data', (chunk: Buffer) => {
    if (err.length < 64 * 1024) err += chunk.toString('utf8');
  });
  return new Promise<Child>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`the server did not start within 15 s; stderr: ${err}`)),
      15_000,
    );
    const child: Child = { proc, url: '', exited, stderr: () => err };
    children.add(child);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /sfx server listening on (http:\/\/\S+)/.exec(out);
      if (match && !child.url) {
        clearTimeout(timer);
        child.url = match[1]!;
        ok(child);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the server exited with ${code} before listening; stderr: ${err}`));
    });
  });
}

/** SIGKILL, then wait until the process is really gone. */
async function kill(child: Child): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  await child.exited;
  children.delete(child);
}

/** Graceful stop (SIGTERM closes the database); SIGKILL if it hangs, and fail then. */
async function stop(child: Child): Promise<void> {
  child.proc.kill('SIGTERM');
  const code = await Promise.race([
    child.exited,
    new Promise<'hung'>((ok) => setTimeout(() => ok('hung'), 10_000)),
  ]);
  if (code === 'hung') await kill(child);
  children.delete(child);
  expect(code, `graceful stop; stderr: ${child.stderr()}`).toBe(0);
}

const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');
const api = (child: Child): string => `${child.url}/${TOKEN}/v5`;
const ok2xx = (status: number | undefined): boolean => status !== undefined && status >= 200 && status < 300;

interface Outcome {
  status?: number;
  body?: string;
  error?: Error;
}

/**
 * One HTTP request with node:http (no pooling, so a dead server is seen as a dead socket).
 * `write` sends the body; `onStatus` runs synchronously the moment the status line arrives.
 */
function send(
  target: string,
  method: string,
  headers: Record<string, string | number>,
  write: (req: ClientRequest) => void,
  onStatus?: (status: number) => void,
): { req: ClientRequest; outcome: Promise<Outcome> } {
  const req = httpRequest(target, { method, headers: { ...headers, 'X-Filerobot-Key': KEY }, agent: false });
  const outcome = new Promise<Outcome>((ok) => {
    let settled = false;
    const finish = (o: Outcome): void => {
      if (!settled) {
        settled = true;
        ok(o);
      }
    };
    req.on('response', (res) => {
      onStatus?.(res.statusCode ?? 0);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => finish({ status: res.statusCode, error }));
      res.on('close', () => finish({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (error) => finish({ error }));
  });
  write(req);
  return { req, outcome };
}

function putTarget(child: Child, folder: string, name: string): string {
  return `${api(child)}/files?folder=${encodeURIComponent(folder)}&filename=${encodeURIComponent(name)}`;
}

/** Streamed PUT of the whole body at once. */
function putAll(
  child: Child,
  folder: string,
  name: string,
  content: Buffer,
): { req: ClientRequest; outcome: Promise<Outcome>; flushed: Promise<void> } {
  let flushed!: Promise<void>;
  const sent = send(
    putTarget(child, folder, name),
    'PUT',
    { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length },
    (req) => {
      flushed = new Promise<void>((ok) => {
        req.once('finish', () => ok());
        req.once('error', () => ok());
      });
      req.end(content);
    },
  );
  return { ...sent, flushed };
}

function multipart(name: string, content: Buffer): { body: Buffer; type: string } {
  const boundary = `----sfxcrash${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, content, tail]), type: `multipart/form-data; boundary=${boundary}` };
}

function postMultipart(
  child: Child,
  folder: string,
  name: string,
  content: Buffer,
  onStatus?: (status: number) => void,
): Promise<Outcome> {
  const { body, type } = multipart(name, content);
  return send(
    `${api(child)}/files?folder=${encodeURIComponent(folder)}`,
    'POST',
    { 'Content-Type': type, 'Content-Length': body.length },
    (req) => req.end(body),
    onStatus,
  ).outcome;
}

interface Listed {
  uuid: string;
  name: string;
  size: { bytes: number };
  hash: { sha1: string };
  folder: { name: string };
}

async function list(child: Child): Promise<{ files: Listed[]; total: number }> {
  const response = await fetch(`${api(child)}/files?folder=/&recursive=1&limit=4000`, {
    headers: { 'X-Filerobot-Key': KEY },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { files: Listed[]; info: { total_files_count: number } };
  return { files: body.files, total: body.info.total_files_count };
}

async function download(child: Child, uuid: string): Promise<Buffer> {
  const response = await fetch(`${api(child)}/get/${uuid}/download`, { headers: { 'X-Filerobot-Key': KEY } });
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  pollMs = 10,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, pollMs));
  }
}

function quickCheck(data: string): string[] {
  const db = new BetterSqlite3(join(data, 'metadata.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('quick_check') as Array<{ quick_check: string }>).map((row) => row.quick_check);
  } finally {
    db.close();
  }
}

/**
 * The invariants after a restart: every acknowledged upload is there with its exact bytes; anything
 * else visible is one of the uploads sent, complete; nothing is left in `tmp/`; one blob per file.
 */
async function expectConsistent(
  child: Child,
  data: string,
  sent: Map<string, Buffer>,
  acknowledged: Set<string>,
  folder: string,
): Promise<Listed[]> {
  const { files, total } = await list(child);
  expect(total).toBe(files.length);
  const names = files.map((f) => f.name);
  expect(new Set(names).size, 'no name listed twice').toBe(names.length);
  for (const name of acknowledged) expect(names, `acknowledged upload ${name} is listed`).toContain(name);
  for (const file of files) {
    const content = sent.get(file.name);
    expect(content, `${file.name} is a file that was sent`).toBeDefined();
    expect(file.folder.name).toBe(folder);
    expect(file.size.bytes, `${file.name} has its full size`).toBe(content!.length);
    expect(file.hash.sha1, `${file.name} lists the sha1 of its full content`).toBe(sha1(content!));
    const bytes = await download(child, file.uuid);
    expect(bytes.length, `${file.name} downloads in full`).toBe(content!.length);
    expect(sha1(bytes), `${file.name} downloads its exact bytes`).toBe(sha1(content!));
  }
  expect(await readdir(join(data, 'tmp')), 'tmp/ is empty after restart').toEqual([]);
  expect((await filesUnder(join(data, 'blobs'))).length, 'one blob on disk per listed file').toBe(
    files.length,
  );
  return files;
}

describe('crash safety (SIGKILL of the server process)', () => {
  it('a kill during uploads keeps every acknowledged upload and shows no partial one', async () => {
    const data = await tempDir();
    const folder = '/crash';
    const sent = new Map<string, Buffer>();
    const acknowledged = new Set<string>();
    let server = await start(data);

    // Completed before the kill: acknowledged with 2xx.
    for (let i = 0; i < 4; i++) {
      const name = `done-${i}.bin`;
      const content = randomBytes(2 * MB + i * 4099);
      sent.set(name, content);
      const outcome = await putAll(server, folder, name, content).outcome;
      expect(outcome.status, outcome.body ?? String(outcome.error)).toBeGreaterThanOrEqual(200);
      expect(outcome.status).toBeLessThan(300);
      const reply = JSON.parse(outcome.body!) as { status: string; file: { hash: { sha1: string } } };
      expect(reply.status).toBe('success');
      expect(reply.file.hash.sha1).toBe(sha1(content));
      acknowledged.add(name);
    }

    // In flight at the kill: 4 MB each, written 32 KB every 25 ms (about 3 s per upload).
    let stopWriting = false;
    const slow = Array.from({ length: 4 }, (_, i) => {
      const name = `slow-${i}.bin`;
      const content = randomBytes(4 * MB + i * 511);
      sent.set(name, content);
      const state = { name, written: 0, ended: false };
      const { outcome } = send(
        putTarget(server, folder, name),
        'PUT',
        { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length },
        (req) => {
          void (async () => {
            for (let offset = 0; offset < content.length; offset += 32 * 1024) {
              if (stopWriting || req.destroyed) return;
              req.write(content.subarray(offset, offset + 32 * 1024));
              state.written = Math.min(content.length, offset + 32 * 1024);
              await new Promise((ok) => setTimeout(ok, 25));
            }
            if (!stopWriting && !req.destroyed) {
              state.ended = true;
              req.end();
            }
          })();
        },
      );
      return { state, outcome };
    });

    // The server has started staging every slow body in tmp/.
    await waitFor('the slow uploads to reach tmp/', async () => {
      const parts = (await readdir(join(data, 'tmp'))).filter((n) => n.endsWith('.part'));
      if (parts.length < slow.length) return false;
      const sizes = await Promise.all(
        parts.map(async (n) => (await stat(join(data, 'tmp', n)).catch(() => ({ size: 0 }))).size),
      );
      return sizes.filter((s) => s >= 128 * 1024).length >= slow.length;
    });

    // Racing the kill: whole bodies sent, replies maybe not yet; each may or may not have committed.
    const racers = Array.from({ length: 3 }, (_, i) => {
      const name = `race-${i}.bin`;
      const content = randomBytes(MB + i * 257);
      sent.set(name, content);
      return { name, ...putAll(server, folder, name, content) };
    });
    await Promise.all(racers.map((r) => r.flushed));
    // Kill as soon as one racer's blob is renamed into blobs/ (or replied): the kill then lands
    // between the blob's rename and its row's commit or the reply, leaving an orphan candidate.
    const replied = new Set<string>();
    for (const r of racers) void r.outcome.then(() => replied.add(r.name));
    const racerSizes = new Set(racers.map((r) => sent.get(r.name)!.length));
    await waitFor(
      'a racer to be received in full',
      async () => {
        if (replied.size > 0) return true;
        const staged = await filesUnder(join(data, 'blobs'));
        const sizes = await Promise.all(
          staged.map(async (path) => (await stat(path).catch(() => ({ size: -1 }))).size),
        );
        return sizes.some((size) => racerSizes.has(size));
      },
      10_000,
      1,
    );

    expect(
      slow.every((s) => !s.state.ended && s.state.written < sent.get(s.state.name)!.length),
      'the kill lands mid-body',
    ).toBe(true);
    await kill(server);
    stopWriting = true;

    const tmpAfterKill = await readdir(join(data, 'tmp'));
    expect(tmpAfterKill.length, 'the kill left staged temp files behind').toBeGreaterThanOrEqual(slow.length);

    for (const s of slow) {
      const outcome = await s.outcome;
      expect(ok2xx(outcome.status), `${s.state.name} was never acknowledged`).toBe(false);
    }
    for (const r of racers) {
      const outcome = await r.outcome;
      if (ok2xx(outcome.status)) acknowledged.add(r.name);
    }

    server = await start(data);
    const files = await expectConsistent(server, data, sent, acknowledged, folder);
    const visible = new Set(files.map((f) => f.name));
    for (const s of slow)
      expect(visible.has(s.state.name), `${s.state.name} (cut mid-body) is not visible`).toBe(false);
    expect(files.length).toBeGreaterThanOrEqual(4);

    await stop(server);
    expect(quickCheck(data)).toEqual(['ok']);
  });

  it('a kill right after the last 2xx keeps all the acknowledged uploads', async () => {
    const data = await tempDir();
    const folder = '/burst';
    const n = 20;
    const sent = new Map<string, Buffer>();
    for (let i = 0; i < n; i++)
      sent.set(`file-${String(i).padStart(2, '0')}.bin`, randomBytes(48 * 1024 + i * 1021));
    let server = await start(data);

    // Four at a time; the status line of the N-th 2xx triggers SIGKILL synchronously.
    let acknowledgedCount = 0;
    let killedAt = -1;
    const onStatus = (status: number): void => {
      if (!ok2xx(status)) return;
      acknowledgedCount++;
      if (acknowledgedCount === n) {
        killedAt = acknowledgedCount;
        server.proc.kill('SIGKILL');
      }
    };
    const queue = [...sent.entries()];
    const outcomes = new Map<string, Outcome>();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [name, content] = next;
          outcomes.set(name, await postMultipart(server, folder, name, content, onStatus));
        }
      }),
    );
    await kill(server);
    expect(killedAt).toBe(n);
    for (const [name, outcome] of outcomes)
      expect(outcome.status, `${name}: ${outcome.body ?? String(outcome.error)}`).toBe(200);

    server = await start(data);
    const files = await expectConsistent(server, data, sent, new Set(sent.keys()), folder);
    expect(files.length).toBe(n);
    await stop(server);
    expect(quickCheck(data)).toEqual(['ok']);
  });

  it('start-up removes stray temp files and unreferenced blobs, and keeps the files', async () => {
    const data = await tempDir();
    const folder = '/sweep';
    const sent = new Map<string, Buffer>();
    let server = await start(data);
    for (let i = 0; i < 3; i++) {
      const name = `keep-${i}.bin`;
      const content = randomBytes(64 * 1024 + i);
      sent.set(name, content);
      const outcome = await postMultipart(server, folder, name, content);
      expect(outcome.status, outcome.body ?? String(outcome.error)).toBe(200);
    }
    await stop(server);

    const stray = join(data, 'tmp', 'deadbeefdeadbeefdeadbeefdeadbeef.part');
    const orphan = join(data, 'blobs', 'ab', 'abcdef0123456789abcdef0123456789');
    await writeFile(stray, randomBytes(1000));
    await mkdir(dirname(orphan), { recursive: true });
    await writeFile(orphan, randomBytes(2000));
    expect(existsSync(stray) && existsSync(orphan)).toBe(true);
    expect((await filesUnder(join(data, 'blobs'))).length).toBe(sent.size + 1);

    server = await start(data);
    expect(existsSync(stray), 'the stray temp file is gone').toBe(false);
    expect(existsSync(orphan), 'the unreferenced blob is gone').toBe(false);
    const files = await expectConsistent(server, data, sent, new Set(sent.keys()), folder);
    expect(files.length).toBe(sent.size);
    await stop(server);
    expect(quickCheck(data)).toEqual(['ok']);
  });
});
