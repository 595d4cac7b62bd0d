/**
 * `sfx serve --queue` as a cluster: a coordinator and three worker processes on a real (private)
 * Redis and a shared PostgreSQL journal (both private to the test), uploading files to a local DAM through a proxy that adds latency.
 * Workers are killed with kill -9 at random points over several rounds, a coordinator is killed
 * and replaced, and --tps limits (one per connection) are measured at the proxies: nothing uploaded twice, nothing
 * missing (count and sha1), every run finished, the rate within 10% of the limit.
 */
import { spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot } from '@sfx/client';
import { signBody } from '@sfx/connector';
import { Engine, ItemQueue, ItemWorker, PostgresRunStore, SqliteRunStore } from '@sfx/flows';
import { startServer, type RunningServer } from '@sfx/server';
import { startPostgres, type PostgresCluster } from '../../flows/test/support/postgres.js';
import { startRedis, type TestRedis } from '../../flows/test/support/redis.js';
import { tpsOption } from '../src/serve.js';
import { BIN, spawnServe, startDelayProxy, type DelayProxy, type ServeProcess } from './support/cluster.js';

const ROOT_KEY = 'scale-out-test-root-key-5d1e';
const HOOK_SECRET = 'scale-out-hook-secret-77a2';

let redis: TestRedis;
let postgres: PostgresCluster;
let server: RunningServer;
let proxy: DelayProxy;
/** The same DAM behind a second connection, so each connection's requests are counted apart. */
let proxyB: DelayProxy;
let client: Filerobot;
let root: string;
let flows: string;

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: join(root, 'config'), SFX_TEST_KEY: ROOT_KEY, HOOK_SECRET };
  delete e.SFX_CONNECTION;
  delete e.SFX_JOURNAL;
  return e;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  root = await mkdtemp(join(tmpdir(), 'sfx-scale-out-'));
  // Duplicates allowed: the DAM would take the same file twice, so only the journal prevents it.
  server = await startServer({ port: 0, data: join(root, 'dam'), rootKey: ROOT_KEY, logLevel: 'silent', durability: 'relaxed', duplicatePolicy: 'allow' });
  proxy = await startDelayProxy(server.url, 150);
  proxyB = await startDelayProxy(server.url, 150);
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
  for (const [name, through] of [['local', proxy], ['local-b', proxyB]] as const) {
    const add = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [BIN, 'connection', 'add', name, '--endpoint', `${through.url}/${server.token}`, '--api-key', 'env:SFX_TEST_KEY'], {
        env: env(),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(add.code, add.stderr).toBe(0);
  }
  flows = join(root, 'flows');
  await mkdir(flows);
  // The same flow twice: through the default connection, and through the second one by name.
  const uploadFlow = (name: string, connection: string, path: string): string => `name: ${name}
connections: { dam: ${connection} }
secrets: [HOOK_SECRET]
trigger: { type: webhook, path: ${path}, secret: "{% $secrets.HOOK_SECRET %}" }
steps:
  - id: files
    uses: fs.list
    with: { path: "{% $trigger.body.dir %}" }
  - id: upload
    forEach: "{% $steps.files %}"
    concurrency: 9
    uses: dam.upload-asset
    with:
      source: { path: "{% $item.absolutePath %}" }
      folder: "{% $trigger.body.folder %}"
`;
  await writeFile(join(flows, 'upload.yaml'), uploadFlow('upload-folder', 'null', '/upload'));
  await writeFile(join(flows, 'upload-b.yaml'), uploadFlow('upload-folder-b', 'local-b', '/upload-b'));
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await proxyB?.close();
  await server?.close();
  await redis?.stop();
  await postgres?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

interface Cluster {
  coordinator: ServeProcess;
  workers: ServeProcess[];
  /** The test's own handle on the cluster's journal. */
  journal: PostgresRunStore;
  storeUrl: string;
  startCoordinator(): Promise<ServeProcess>;
  startWorker(): Promise<ServeProcess>;
  stop(): Promise<void>;
}

async function startCluster(name: string, workerCount: number, options: { tps?: string[]; workerArgs?: string[] } = {}): Promise<Cluster> {
  const url = await postgres.createDatabase(name.replace(/-/g, '_'));
  const journal = await PostgresRunStore.open(url);
  const common = ['--port', '0', '--store', url, '--queue', redis.url, '--queue-name', name, '--connection', 'local'];
  const ready = async (p: ServeProcess): Promise<ServeProcess> => {
    await p.logged('ready', (l) => l.msg === 'sfx serve ready');
    return p;
  };
  const cluster: Cluster = {
    journal,
    storeUrl: url,
    coordinator: undefined as unknown as ServeProcess,
    workers: [],
    // Small source pages: a run here crosses several, so workers killed mid-page are covered too.
    startCoordinator: () => ready(spawnServe(['--flows', flows, '--role', 'coordinator', '--page-size', '7', ...common], env())),
    startWorker: () =>
      ready(spawnServe(['--role', 'worker', '--concurrency', '3', '--lock-ms', '2000', ...(options.tps ?? []).flatMap((t) => ['--tps', t]), ...(options.workerArgs ?? []), ...common], env())),
    async stop() {
      const all = [cluster.coordinator, ...cluster.workers].filter(Boolean);
      for (const p of all) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.all(all.map((p) => p.exited));
      await journal.close();
    },
  };
  cluster.coordinator = await cluster.startCoordinator();
  cluster.workers = await Promise.all(Array.from({ length: workerCount }, () => cluster.startWorker()));
  return cluster;
}

/** One `sfx` command to its end. */
function sfxOnce(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function makeFiles(dir: string, count: number): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const expected = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const data = randomBytes(1024 + Math.floor(Math.random() * 4096));
    const name = `file-${String(i).padStart(3, '0')}.bin`;
    await writeFile(join(dir, name), data);
    expected.set(name, sha1(data));
  }
  return expected;
}

async function trigger(coordinator: ServeProcess, body: Record<string, unknown>, path = '/upload'): Promise<string> {
  const ready = await coordinator.logged('ready', (l) => l.msg === 'sfx serve ready');
  const text = JSON.stringify(body);
  const res = await fetch(`${String(ready.url)}/hooks${path}`, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/json', 'x-sfx-signature': signBody(HOOK_SECRET, text) },
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function runStatus(journal: PostgresRunStore, runId: string): Promise<string | undefined> {
  return (await journal.getRun(runId))?.status;
}

async function finished(journal: PostgresRunStore, runId: string): Promise<string> {
  for (;;) {
    const status = await runStatus(journal, runId);
    if (status && status !== 'running') return status;
    await sleep(200);
  }
}

/** The DAM folder holds each file exactly once: same names, same sha1s, no extra asset. */
async function expectExactly(folder: string, expected: Map<string, string>): Promise<void> {
  const files = [];
  for await (const f of client.files.list({ folder, recursive: true })) files.push(f);
  expect(files.map((f) => f.name).sort()).toEqual([...expected.keys()].sort());
  expect(new Map(files.map((f) => [f.name, f.hash?.sha1]))).toEqual(expected);
}

/** Least-squares slope of `ys` over their indexes. */
function slope(ys: number[]): number {
  const n = ys.length;
  const meanX = (n - 1) / 2;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

/** Items the journal shows were begun more than once or reconciled: proof a kill hit work in flight. */
async function redone(journal: PostgresRunStore, runId: string): Promise<number> {
  const items = await journal.items(runId, 'upload', { limit: 10_000 });
  return items.filter((i) => i.attempts > 1 || (i.output as { reconciled?: boolean } | undefined)?.reconciled).length;
}

describe('sfx serve --queue: a coordinator and workers', () => {
  it('three workers, one killed with kill -9 at random points, round after round: every file once, none missing', async () => {
    const cluster = await startCluster('kill-rounds', 3);
    let hit = 0;
    try {
      for (let round = 1; round <= 3; round++) {
        const dir = join(root, 'rounds', String(round));
        const expected = await makeFiles(dir, 45);
        const runId = await trigger(cluster.coordinator, { dir, folder: `/rounds/${round}` });
        for (let kills = 0; kills < 2; kills++) {
          await sleep(250 + Math.random() * 900);
          if ((await runStatus(cluster.journal, runId)) !== 'running') break;
          const victim = Math.floor(Math.random() * cluster.workers.length);
          await cluster.workers[victim]!.kill9();
          cluster.workers[victim] = await cluster.startWorker();
        }
        expect(await finished(cluster.journal, runId), `round ${round}`).toBe('succeeded');
        await expectExactly(`/rounds/${round}`, expected);
        hit += await redone(cluster.journal, runId);
      }
      expect(hit, 'no kill landed on an item in flight').toBeGreaterThan(0);
    } finally {
      await cluster.stop();
    }
    // Every worker that was not killed drained and exited cleanly on SIGTERM.
    for (const w of cluster.workers) expect(await w.exited, w.stderr()).toEqual({ code: 0, signal: null });
  });

  it('a coordinator killed with kill -9 mid-run is replaced by another, which finishes the run', async () => {
    const cluster = await startCluster('coordinator-swap', 2);
    try {
      const dir = join(root, 'swap');
      const expected = await makeFiles(dir, 40);
      const runId = await trigger(cluster.coordinator, { dir, folder: '/swap' });
      await sleep(700);
      expect(await runStatus(cluster.journal, runId)).toBe('running');
      await cluster.coordinator.kill9();
      cluster.coordinator = await cluster.startCoordinator();
      await cluster.coordinator.logged('the run to be taken over', (l) => l.runId === runId && /resum/.test(l.msg));
      expect(await finished(cluster.journal, runId)).toBe('succeeded');
      await expectExactly('/swap', expected);
    } finally {
      await cluster.stop();
    }
  });

  it('--tps holds per connection across three workers: each connection\'s upload rate at the DAM is within 10% of its own limit', async () => {
    // --tps 8 for every connection, local-b at 4: two runs at once, one through each.
    const limits = { local: 8, 'local-b': 4 };
    const cluster = await startCluster('rate', 3, { tps: ['8', 'local-b=4'] });
    try {
      const dirA = join(root, 'rate');
      const dirB = join(root, 'rate-b');
      const expectedA = await makeFiles(dirA, 48);
      const expectedB = await makeFiles(dirB, 24);
      const before = [proxy.requests.length, proxyB.requests.length];
      const runs = [await trigger(cluster.coordinator, { dir: dirA, folder: '/rate' }), await trigger(cluster.coordinator, { dir: dirB, folder: '/rate-b' }, '/upload-b')];
      for (const runId of runs) expect(await finished(cluster.journal, runId)).toBe('succeeded');
      await expectExactly('/rate', expectedA);
      await expectExactly('/rate-b', expectedB);
      for (const [i, [name, tps]] of Object.entries(limits).entries()) {
        const through = [proxy, proxyB][i]!;
        const uploads = through.requests.slice(before[i]).filter((r) => r.method === 'POST' && /\/files(\?|$)/.test(r.path));
        expect(uploads).toHaveLength(i === 0 ? 48 : 24);
        // The slope of arrival time over upload number: one slow first request (a worker opening its
        // client) does not skew it the way first-to-last would.
        const rate = 1000 / slope(uploads.map((u) => u.at));
        const seconds = (uploads.at(-1)!.at - uploads[0]!.at) / 1000;
        const said = `${name}: ${uploads.length} uploads in ${seconds.toFixed(2)} s`;
        expect(rate, said).toBeGreaterThan(tps * 0.9);
        expect(rate, said).toBeLessThan(tps * 1.1);
      }
    } finally {
      await cluster.stop();
    }
  });

  it('--tps takes a default and per-connection rates, and says what is wrong with a bad one', () => {
    const limits = ['20', 'acme-prod=5', 'other=2.5', 'acme-prod=6'].reduce<ReturnType<typeof tpsOption> | undefined>((prev, v) => tpsOption(v, prev), undefined);
    expect(limits).toEqual({ default: 20, connections: { 'acme-prod': 6, other: 2.5 } });
    expect(() => tpsOption('acme=0', undefined)).toThrow(/--tps acme=0: give writes per second above 0/);
    expect(() => tpsOption('acme=', undefined)).toThrow(/give writes per second above 0/);
    expect(() => tpsOption('fast', undefined)).toThrow(/--tps fast: give writes per second above 0, as --tps 20 \(every connection\) or --tps acme=10/);
    expect(() => tpsOption('a b=3', undefined)).toThrow(/"a b" is not a connection name/);
  });

  it('sfx runs stop RUN --queue stops a run a coordinator drives: it ends interrupted, and is not resumed by itself', async () => {
    const cluster = await startCluster('stop-cli', 1);
    try {
      const dir = join(root, 'stop-cli');
      // Enough for the run to outlast the checks below (one worker, three at a time).
      await makeFiles(dir, 300);
      const runId = await trigger(cluster.coordinator, { dir, folder: '/stop-cli' });
      await sleep(500);
      expect(await runStatus(cluster.journal, runId)).toBe('running');
      const target = ['--store', cluster.storeUrl];
      // Without the queue, the command cannot reach the coordinator: it says how to stop it.
      const local = await sfxOnce(['runs', 'stop', runId, ...target]);
      expect(local.code).toBe(2);
      expect(local.stderr).toContain('give --queue redis://HOST:PORT');
      // A queue whose coordinators do not drive it: nobody answers.
      const elsewhere = await sfxOnce(['runs', 'stop', runId, ...target, '--queue', redis.url, '--queue-name', 'nobody-here']);
      expect(elsewhere.code).toBe(1);
      expect(elsewhere.stderr).toMatch(/no coordinator .* drives run/);
      expect(await runStatus(cluster.journal, runId)).toBe('running');

      const stopped = await sfxOnce(['runs', 'stop', runId, ...target, '--queue', redis.url, '--queue-name', 'stop-cli']);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain(`Run ${runId}: interrupted.`);
      expect((await cluster.journal.getRun(runId))?.error?.code).toBe('STOPPED_ON_REQUEST');
      const again = await sfxOnce(['runs', 'stop', runId, ...target, '--queue', redis.url, '--queue-name', 'stop-cli']);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('is not running: it was interrupted');
      // A coordinator started now leaves it alone: a person stopped it.
      const other = await cluster.startCoordinator();
      await sleep(1500);
      expect(await runStatus(cluster.journal, runId)).toBe('interrupted');
      expect(other.logs.filter((l) => l.runId === runId)).toEqual([]);
      other.child.kill('SIGTERM');
      await other.exited;
    } finally {
      await cluster.stop();
    }
  });

  it('sfx runs --queue shows the item jobs waiting, in flight and failed', async () => {
    const name = 'status';
    const queue = new ItemQueue({ url: redis.url, name });
    const job = (index: number) => ({ runId: 'r-none', step: 'each', index, key: `r-none:each:${index}`, item: index, unknown: false, seenAttempts: 0 });
    await queue.queue.add('item', job(0), { jobId: 'r-none%3Aeach%3A0', attempts: 1 });
    await queue.queue.add('item', job(1), { jobId: 'r-none%3Aeach%3A1', attempts: 1 });
    const journal = join(root, 'status.db');
    new SqliteRunStore(journal).close();
    const runs = (json: boolean) => sfxOnce(['runs', '--journal', journal, '--queue', redis.url, '--queue-name', name, ...(json ? ['--json'] : [])]);
    const waiting = await runs(false);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stdout).toContain('Queue status: 2 waiting, 0 in flight, 0 to retry, 0 failed.');

    // A worker that cannot run them (no such run in its journal): failed for good after their one attempt.
    const store = new SqliteRunStore(join(root, 'status-worker.db'));
    const worker = new ItemWorker({ url: redis.url, name, engine: new Engine({ store }), loadRunFlow: () => Promise.reject(new Error('no such run')) });
    worker.start();
    for (let i = 0; i < 100 && (await queue.counts()).failed < 2; i++) await sleep(100);
    await worker.close();
    store.close();
    await queue.close();
    const failed = await runs(true);
    expect(failed.code, failed.stderr).toBe(0);
    expect(JSON.parse(failed.stdout)).toEqual({ runs: [], queue: { queue: name, waiting: 0, active: 0, delayed: 0, failed: 2 } });
  });

  it('sfx flow run --queue: the same manual flow gives the same result on the workers as in one process', async () => {
    const dir = join(root, 'same');
    const expected = await makeFiles(dir, 30);
    const flowFile = join(root, 'same-upload.yaml');
    await writeFile(
      flowFile,
      `name: same-upload
connections: { dam: null }
inputs:
  dir: { type: string }
  folder: { type: string }
steps:
  - id: files
    uses: fs.list
    with: { path: "{% $inputs.dir %}" }
  - id: upload
    forEach: "{% $steps.files %}"
    concurrency: 6
    uses: dam.upload-asset
    with:
      source: { path: "{% $item.absolutePath %}" }
      folder: "{% $inputs.folder %}"
    output: "{% { 'name': $result.file.name, 'sha1': $result.file.hash.sha1 } %}"
  - id: done
    uses: log.info
    with: { message: "{% 'uploaded ' & $steps.upload.succeeded & ' of ' & $steps.upload.total %}" }
`,
    );
    const sfxRun = (args: string[]) => sfxOnce(['flow', 'run', flowFile, '--connection', 'local', '--json', ...args]);
    const finishedEvent = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; status?: string })
        .find((e) => e.type === 'run-finished');

    const local = await sfxRun(['--journal', join(root, 'same-local.db'), '--input', `dir=${dir}`, '--input', 'folder=/same/local']);
    expect(local.code, local.stderr).toBe(0);
    expect(finishedEvent(local.stdout)?.status).toBe('succeeded');

    const cluster = await startCluster('same-flow', 2, { workerArgs: ['--log', 'debug'] });
    try {
      const queued = await sfxRun(['--store', cluster.storeUrl, '--queue', redis.url, '--queue-name', 'same-flow', '--input', `dir=${dir}`, '--input', 'folder=/same/cluster']);
      expect(queued.code, queued.stderr).toBe(0);
      expect(finishedEvent(queued.stdout)?.status).toBe('succeeded');
      const [run] = await cluster.journal.listRuns({ limit: 1 });
      // The workers did the uploads, not the process that ran the flow: each item once, named in their logs.
      const ran = cluster.workers.flatMap((w) => w.logs).filter((l) => l.msg === 'item finished' && l.runId === run!.id);
      expect(ran.map((l) => l.index).sort((a, b) => Number(a) - Number(b))).toEqual([...Array(30).keys()]);
      // And they read the folder's listing, as a page job: the process that ran the flow only dispatched.
      const pages = cluster.workers.flatMap((w) => w.logs).filter((l) => l.msg === 'source page read' && l.runId === run!.id);
      expect(pages.map((l) => [l.step, l.firstIndex, l.items, l.end])).toEqual([['upload', 0, 30, true]]);
      const items = await cluster.journal.items(run!.id, 'upload', { limit: 100 });
      expect(items.map((i) => [i.index, i.status, i.output])).toEqual(
        [...expected.entries()].map(([name, sha], index) => [index, 'succeeded', { name, sha1: sha }]),
      );
    } finally {
      await cluster.stop();
    }
    await expectExactly('/same/local', expected);
    await expectExactly('/same/cluster', expected);
  });

  it('a schedule fires once per tick across two coordinators', async () => {
    const dir = join(root, 'schedule-flows');
    await mkdir(dir);
    await writeFile(
      join(dir, 'tick.yaml'),
      `name: tick
trigger: { type: schedule, cron: "*/2 * * * * *", timezone: UTC }
steps:
  - id: note
    uses: log.info
    with: { message: "{% 'tick ' & $trigger.scheduledAt %}" }
`,
    );
    const url = await postgres.createDatabase('schedule');
    const journal = await PostgresRunStore.open(url);
    const args = ['--flows', dir, '--role', 'coordinator', '--port', '0', '--store', url, '--queue', redis.url, '--queue-name', 'schedule'];
    const coordinators = [spawnServe(args, env()), spawnServe(args, env())];
    try {
      for (const c of coordinators) expect((await c.logged('ready', (l) => l.msg === 'sfx serve ready')).flows).toEqual(['tick']);
      await sleep(7000);
    } finally {
      for (const c of coordinators) c.child.kill('SIGTERM');
      await Promise.all(coordinators.map((c) => c.exited));
    }
    const runs = await journal.listRuns({ flow: 'tick', limit: 100 });
    await journal.close();
    const ticks = runs.map((r) => Date.parse((r.trigger.event as { scheduledAt: string }).scheduledAt)).sort((a, b) => a - b);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ticks).size, `runs per tick: ${ticks.join(', ')}`).toBe(ticks.length);
    // Every tick from the first on, none skipped.
    expect(ticks.slice(1).map((t, i) => t - ticks[i]!)).toEqual(ticks.slice(1).map(() => 2000));
    // One BullMQ job per tick, taken by one coordinator: neither ever tried to start a tick the other had.
    const logs = coordinators.flatMap((c) => c.logs);
    expect(logs.filter((l) => l.msg === 'tick already has a run')).toEqual([]);
    expect(logs.filter((l) => l.msg === 'schedule started').map((l) => l.shared)).toEqual([true, true]);
  });

  it('a queue that cannot be reached is one clear error (exit 1), its password not printed', async () => {
    const closed = await new Promise<number>((done) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => done(port));
      });
    });
    const queue = `redis://:queue-password-9f2e@127.0.0.1:${closed}`;
    const worker = spawnServe(['--role', 'worker', '--queue', queue, '--journal', join(root, 'unreachable.db'), '--port', '0'], env());
    const exit = await worker.exited;
    expect(exit.code).toBe(1);
    expect(worker.stderr()).toMatch(/cannot reach the queue's Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    expect(worker.stderr() + JSON.stringify(worker.logs)).not.toContain('queue-password-9f2e');
  });
});
