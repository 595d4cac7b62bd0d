/**
 * `uses: dam.sync` in a flow: the sync engine as one step, against a local server. A second run
 * of the flow changes nothing, a failing entry fails the step, and the step's output is the report.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot, type FileObject } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';
import { defaultRegistry, Engine, loadFlow, resolveInputs, SqliteRunStore, type SyncReport } from '../src/index.js';

const ROOT_KEY = 'flows-sync-test-root-key-93ab61f0';
let server: RunningServer;
let client: Filerobot;
let dir: string;

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
  dir = await mkdtemp(join(tmpdir(), 'sfx-flow-sync-'));
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const FLOW = `
name: sync-photos
connections:
  dam: null
inputs:
  source: { type: string, default: photos }
steps:
  - id: sync
    uses: dam.sync
    with:
      source: "{% $inputs.source %}"
      folder: /flow-sync
      delete: true
      cache: sync-cache.sqlite
`;

async function run(inputs: Record<string, unknown> = {}) {
  const { flow, problems } = loadFlow(FLOW, { registry: defaultRegistry(), file: 'sync.yaml', baseDir: dir });
  if (!flow) throw new Error(problems.map((p) => p.message).join('\n'));
  const engine = new Engine({ store: new SqliteRunStore(':memory:'), openConnection: () => client, sleep: async () => {} });
  const result = await engine.run(flow, { inputs: resolveInputs(flow, inputs).values });
  return { result, report: (await engine.store.getStep(result.runId, 'sync'))?.output as SyncReport | undefined };
}

async function remote(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const f of client.files.list({ folder: '/flow-sync', recursive: true }) as AsyncIterable<FileObject>) found.set(f.url!.path!, f.hash!.sha1!);
  return found;
}

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

describe('dam.sync in a flow', () => {
  it('syncs a folder relative to the flow file; a second run skips everything; --delete-style removal works', async () => {
    await mkdir(join(dir, 'photos', 'sub'), { recursive: true });
    await writeFile(join(dir, 'photos', 'a.txt'), 'a');
    await writeFile(join(dir, 'photos', 'sub', 'b.txt'), 'b');
    await writeFile(join(dir, 'photos', 'c.txt'), 'c');

    const first = await run();
    expect(first.result.status, JSON.stringify(first.result.error)).toBe('succeeded');
    expect(first.report).toMatchObject({ uploaded: 3, skipped: 0, failed: 0, from: 'folder', folder: '/flow-sync' });
    expect(await remote()).toEqual(new Map([['/flow-sync/a.txt', sha1('a')], ['/flow-sync/sub/b.txt', sha1('b')], ['/flow-sync/c.txt', sha1('c')]]));

    await rm(join(dir, 'photos', 'c.txt'));
    await writeFile(join(dir, 'photos', 'a.txt'), 'a, again');
    const second = await run();
    expect(second.result.status).toBe('succeeded');
    expect(second.report).toMatchObject({ uploaded: 0, updated: 1, skipped: 1, deleted: 1, failed: 0 });
    expect(second.report!.cache).toEqual({ hits: 1, hashed: 0 });
    expect(await remote()).toEqual(new Map([['/flow-sync/a.txt', sha1('a, again')], ['/flow-sync/sub/b.txt', sha1('b')]]));
  });

  it('fails the step when an entry fails, naming it', async () => {
    await writeFile(join(dir, 'bad.csv'), 'path,name\nnot-there.txt,x.txt\n');
    const { result } = await run({ source: 'bad.csv' });
    expect(result.status).toBe('failed');
    expect(JSON.stringify(result.error)).toMatch(/x\.txt.*no file at not-there\.txt/);
  });
});
