/**
 * `sfx server` is the one long-lived process the CLI starts: it must hold the server and nothing
 * else, so its memory stays the server's (issue 13: server RSS under 150 MB during a 1 GiB upload).
 * The built binary runs with a loader hook recording every module it imports, is used over HTTP,
 * and the record is checked.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(HERE, '../bin/sfx.js');
const RECORDER = resolve(HERE, 'support/record-imports.mjs');
const KEY = 'server-footprint-test-key-5d1e';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-server-footprint-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts `sfx server` with the recorder; resolves its URL and a stop() that ends it. */
async function startRecorded(importsFile: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', RECORDER, BIN, 'server', '--port', '0', '--data', join(dir, 'data'), '--root-key', KEY, '--durability', 'relaxed', '--log', 'silent'],
    { env: { ...process.env, SFX_TEST_IMPORTS_FILE: importsFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    child.once('exit', (code) => fail(new Error(`sfx server exited (${code}) before listening: ${out}${err}`)));
  });
  const stop = (): Promise<void> =>
    new Promise((done) => {
      child.once('close', () => done());
      child.kill('SIGTERM');
    });
  return { url, stop };
}

describe('sfx server process', () => {
  it('loads the server only: no flows engine, queue or database clients, connector, console or API client', async () => {
    const importsFile = join(dir, 'imports.txt');
    const server = await startRecorded(importsFile);
    try {
      const headers = { 'X-Filerobot-Key': KEY };
      const put = await fetch(`${server.url}/demo/v4/files?folder=/f&filename=a.txt`, { method: 'PUT', headers, body: 'hello' });
      expect(put.status).toBe(200);
      const list = await fetch(`${server.url}/demo/v4/files?folder=/f`, { headers });
      expect(((await list.json()) as { files: unknown[] }).files).toHaveLength(1);
    } finally {
      await server.stop();
    }
    const loaded = (await readFile(importsFile, 'utf8')).split('\n').filter(Boolean);
    // The recorder works: the server itself was seen.
    expect(loaded.some((url) => url.includes('/packages/server/dist/'))).toBe(true);
    const foreign = loaded.filter((url) =>
      /\/packages\/(flows|connector|console|client)\/|\/node_modules\/(bullmq|ioredis|pg|jsonata|zod|csv-parse)\//.test(url),
    );
    expect(foreign).toEqual([]);
  });
});
