#!/usr/bin/env node
// Benchmark scale-out-workers: one flow uploading FILES files, its loop items run by 1, 2 and 4
// `sfx serve --role worker` processes (BullMQ on a private redis-server), against a DAM server
// behind a proxy that adds a fixed LATENCY to every request, so that the scaling shows on a
// 2-core machine (the work is waiting, as with a real DAM across a network).
//
//   node bench/scale-out-workers.mjs [--quick] [--runs N] [--files 600] [--latency-ms 200] [--per-worker 4] [--store postgres://...]
//   npm run bench -- --only scale-out-workers
//
// Each worker takes PER_WORKER items at once; the flow's loop allows 4 x PER_WORKER in flight, so
// one worker is its limit and four fill it. The journal is a SQLite file shared by the processes
// (one machine), or the PostgreSQL database given with --store. Throughput is items per second of
// the upload step, as the coordinator (`sfx flow run --queue`) reports it; the ratio is to one
// worker (ideal: 2 and 4). Correctness, every run: the folder holds exactly FILES assets, one per
// name, each with the sha1 of its file. Needs redis-server (apt-get install redis-server) and a
// build (npm run build). Not part of `npm test`.
// Exit status: 0, 1 when correctness failed, 2 when it could not run.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT, emitSummary, log, metric, requireBuilt, workloadArgs } from './lib/contract.mjs';
import { startDelayProxy } from './lib/delay-proxy.mjs';
import { startListening } from './lib/servers.mjs';

const WORKLOAD = 'scale-out-workers';
const KEY = 'bench-scale-out-root-key-5e2c';
const TOKEN = 'bench';
const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
const WORKER_COUNTS = [1, 2, 4];

const args = workloadArgs({
  files: { type: 'string' },
  'latency-ms': { type: 'string', default: '200' },
  'per-worker': { type: 'string', default: '4' },
  store: { type: 'string' },
});
const FILES = Number(args.files ?? (args.quick ? 240 : 600));
const LATENCY = Number(args['latency-ms']);
const PER_WORKER = Number(args['per-worker']);
if (![FILES, PER_WORKER].every((n) => Number.isInteger(n) && n > 0) || !(LATENCY >= 0)) {
  log('--files and --per-worker must be whole numbers >= 1, --latency-ms a number >= 0');
  process.exit(2);
}
requireBuilt('packages/client/dist/index.js', 'packages/server/dist/index.js', 'packages/cli/dist/main.js');
const REDIS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
if (!REDIS) {
  log('redis-server is not installed: apt-get install redis-server');
  process.exit(2);
}
const { Filerobot } = await import(pathToFileURL(join(ROOT, 'packages/client/dist/index.js')).href);

function freePort() {
  return new Promise((done, fail) => {
    const server = createNetServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((done, fail) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      if (/Ready to accept connections/.test(out)) done();
    });
    child.once('exit', (code) => fail(new Error(`redis-server exited (${code}): ${out.slice(-300)}`)));
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

function sfx(argv, env, { onLine } = {}) {
  const child = spawn(process.execPath, [CLI, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    stdout += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) if (line.trim()) onLine?.(line);
  });
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const closed = new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
  return { child, closed };
}

/** A worker process, resolved once it says it is ready. */
async function startWorker(env, queue, name, journalArgs) {
  let ready;
  const isReady = new Promise((done) => (ready = done));
  const worker = sfx(['serve', '--role', 'worker', '--queue', queue, '--queue-name', name, ...journalArgs, '--port', '0', '--concurrency', String(PER_WORKER), '--connection', 'bench'], env, {
    onLine: (line) => line.includes('"sfx serve ready"') && ready(),
  });
  await Promise.race([isReady, worker.closed.then((r) => Promise.reject(new Error(`a worker exited: ${r.stderr.slice(-500)}`)))]);
  return worker;
}

async function makeFiles(dir, count) {
  await mkdir(dir, { recursive: true });
  const expected = new Map();
  for (let i = 0; i < count; i++) {
    const data = randomBytes(8 * 1024);
    const name = `f${String(i).padStart(5, '0')}.bin`;
    await writeFile(join(dir, name), data);
    expected.set(name, createHash('sha1').update(data).digest('hex'));
  }
  return expected;
}

const root = await mkdtemp(join(tmpdir(), 'sfx-bench-scale-out-'));
const redis = await startRedis();
const server = await startListening([join(ROOT, 'bench/lib/dist-server.mjs'), JSON.stringify({ data: join(root, 'dam'), rootKey: KEY, token: TOKEN, duplicatePolicy: 'allow' })], 'server');
const proxy = await startDelayProxy(server.url, LATENCY);
const client = new Filerobot({ endpoint: `${server.url}/${TOKEN}`, apiKey: KEY });
const env = { ...process.env, SFX_CONFIG_DIR: join(root, 'config'), SFX_BENCH_KEY: KEY };
delete env.SFX_CONNECTION;
delete env.SFX_JOURNAL;
delete env.SFX_STORE;

const throughput = new Map(WORKER_COUNTS.map((n) => [n, []]));
const problems = [];
try {
  const add = await sfx(['connection', 'add', 'bench', '--endpoint', `${proxy.url}/${TOKEN}`, '--api-key', 'env:SFX_BENCH_KEY'], env).closed;
  if (add.code !== 0) throw new Error(`connection add failed: ${add.stderr}`);
  const source = join(root, 'files');
  const expected = await makeFiles(source, FILES);
  const flowFile = join(root, 'upload.yaml');
  await writeFile(
    flowFile,
    `name: bench-upload
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
    concurrency: ${4 * PER_WORKER}
    uses: dam.upload-asset
    with:
      source: { path: "{% $item.absolutePath %}" }
      folder: "{% $inputs.folder %}"
`,
  );
  let serial = 0;
  for (let run = 0; run < args.runs; run++) {
    for (const count of WORKER_COUNTS) {
      const name = `bench-${++serial}`;
      const folder = `/bench/${name}`;
      const journalArgs = args.store ? ['--store', args.store] : ['--journal', join(root, `${name}.db`)];
      const workers = [];
      for (let i = 0; i < count; i++) workers.push(await startWorker(env, redis.url, name, journalArgs));
      let started = 0;
      let seconds = 0;
      const coordinator = sfx(['flow', 'run', flowFile, '--queue', redis.url, '--queue-name', name, ...journalArgs, '--connection', 'bench', '--json', '--input', `dir=${source}`, '--input', `folder=${folder}`], env, {
        onLine: (line) => {
          const event = JSON.parse(line);
          if (event.type === 'step-started' && event.step === 'upload') started = performance.now();
          if (event.type === 'step-finished' && event.step === 'upload') seconds = (performance.now() - started) / 1000;
        },
      });
      const result = await coordinator.closed;
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.closed));
      if (result.code !== 0 || !seconds) {
        problems.push(`${count} worker(s): the run did not succeed (exit ${result.code}): ${result.stderr.slice(-300)}`);
        continue;
      }
      const files = [];
      for await (const f of client.files.list({ folder, recursive: true })) files.push(f);
      const got = new Map(files.map((f) => [f.name, f.hash?.sha1]));
      const exact = files.length === expected.size && [...expected].every(([n, sha]) => got.get(n) === sha);
      if (!exact) problems.push(`${count} worker(s): ${files.length} assets in ${folder}, expected exactly ${expected.size} with their sha1s`);
      throughput.get(count).push(FILES / seconds);
      log(`run ${run + 1}: ${count} worker(s): ${FILES} items in ${seconds.toFixed(2)} s = ${(FILES / seconds).toFixed(1)} items/s${exact ? '' : ' (CORRECTNESS FAILED)'}`);
    }
  }
} finally {
  await client.close?.();
  await proxy.close();
  await server.stop();
  redis.stop();
  if (!args.keep) await rm(root, { recursive: true, force: true });
}

const one = throughput.get(1);
const metrics = WORKER_COUNTS.filter((n) => throughput.get(n).length).map((n) =>
  metric({
    name: `${n} worker${n === 1 ? '' : 's'}`,
    unit: 'items/s',
    values: throughput.get(n),
    ...(n === 1 ? {} : { peer: '1 worker', peerValues: one }),
    target: n === 1 ? '-' : `ratio near ${n}`,
    met: null,
  }),
);
process.exitCode = emitSummary({
  workload: WORKLOAD,
  quick: args.quick,
  metrics,
  rss: {},
  correctness: { ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `every run: exactly ${FILES} assets, one per name, sha1s equal` },
  notes: [`latency ${LATENCY} ms per request at the proxy; ${PER_WORKER} items at once per worker; loop concurrency ${4 * PER_WORKER}; journal ${args.store ? 'PostgreSQL' : 'SQLite (shared file)'}`],
});
