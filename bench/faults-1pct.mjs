#!/usr/bin/env node
// Workload faults-1pct: a bulk upload with @sfx/client through a proxy that injects 1% faults,
// against the same upload through the same proxy with none.
//
//   node bench/faults-1pct.mjs [--quick] [--runs N] [--files 4000] [--kib 32] [--concurrency 16] [--rate 0.01] [--seed 20261123]
//
// The server is the built one (bench/lib/dist-server.mjs) with duplicatePolicy 'allow', so its
// duplicate check cannot hide a client that stores a file twice. Each run starts a fresh proxy
// (bench/lib/fault-proxy.mjs, its own process) and uploads FILES distinct in-memory files of KIB
// KiB with `files.uploadMany` (client defaults otherwise, retries included) into a folder of its
// own: a clean run (rate 0), then a faulty one (RATE, split over 503s and TCP resets, before or
// after the server handled the request, seeded by SEED + run), alternating which goes first.
// Goodput is files stored per second of the upload. Correctness, for every run, read from the
// server directly: exactly FILES assets, one per name, each sha1 equal to what was sent, each
// upload result pointing at the stored asset, and no upload reported failed.
// Target (issue 13): zero lost, zero duplicated, goodput >= 90% of the clean run.
// Exit status: 0, 1 when correctness failed, 2 when it could not run.

import { Buffer } from 'node:buffer';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, emitSummary, log, metric, requireBuilt, workloadArgs } from './lib/contract.mjs';
import { peakTracker } from './lib/proc.mjs';
import { startDistServer, startListening } from './lib/servers.mjs';

const WORKLOAD = 'faults-1pct';
const KEY = 'bench-faults-root-key-0123456789';
const GOODPUT_TARGET = 0.9;

const args = workloadArgs({
  files: { type: 'string' },
  kib: { type: 'string', default: '32' },
  concurrency: { type: 'string', default: '16' },
  rate: { type: 'string', default: '0.01' },
  seed: { type: 'string', default: '20261123' },
});
const FILES = Number(args.files ?? (args.quick ? 1000 : 4000));
const BYTES = Number(args.kib) * 1024;
const CONCURRENCY = Number(args.concurrency);
const RATE = Number(args.rate);
if (![FILES, BYTES, CONCURRENCY].every((n) => Number.isInteger(n) && n > 0) || !(RATE >= 0 && RATE < 1)) {
  log('--files, --kib and --concurrency must be whole numbers >= 1, --rate a share in [0, 1)');
  process.exit(2);
}
requireBuilt('packages/client/dist/index.js', 'packages/server/dist/index.js');
const { Filerobot } = await import(pathToFileURL(join(ROOT, 'packages/client/dist/index.js')).href);

/** FILES distinct bodies: the AES-128-CTR keystream of a key derived from the run and file. */
function makeFiles(run, count = FILES) {
  return Array.from({ length: count }, (_, i) => {
    const key = createHash('sha256').update(`${run}/${i}`).digest().subarray(0, 16);
    const data = createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(BYTES));
    return { name: `f${String(i).padStart(5, '0')}.bin`, data, sha1: createHash('sha1').update(data).digest('hex') };
  });
}

/** One upload of every file into `folder` through a fresh proxy; returns seconds, faults and what it saw. */
async function uploadRun(server, folder, files, rate, seed) {
  const proxy = await startListening([join(ROOT, 'bench/lib/fault-proxy.mjs'), '--target', server.url, '--rate', String(rate), '--seed', String(seed)], 'fault proxy');
  const proxyMemory = peakTracker(proxy.pid);
  const client = new Filerobot({ endpoint: `${proxy.url}/demo`, apiKey: KEY });
  const started = process.hrtime.bigint();
  const report = await client.files.uploadMany(
    files.map((f) => ({ source: f.data, name: f.name })),
    { folder, concurrency: CONCURRENCY },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.close();
  const proxyPeak = proxyMemory.stop();
  const counts = JSON.parse((await proxy.stop()).trim().split('\n').at(-1));
  return { seconds, report, counts, proxyPeak };
}

/** What the server holds in `folder`, asked directly (no proxy), checked against what was sent. */
async function verify(direct, folder, files, report) {
  const stored = await direct.files.list({ folder }).toArray(FILES * 2 + 10);
  const byName = new Map();
  let duplicated = 0;
  for (const file of stored) {
    if (byName.has(file.name)) duplicated++;
    else byName.set(file.name, file);
  }
  let lost = 0;
  let wrongSha1 = 0;
  for (const f of files) {
    const file = byName.get(f.name);
    if (!file) lost++;
    else if (file.hash?.sha1 !== f.sha1) wrongSha1++;
  }
  const failed = report.results.filter((r) => !r.ok);
  const storedUuids = new Set(stored.map((f) => f.uuid));
  const strayResults = report.results.filter((r) => r.ok && !storedUuids.has(r.file.uuid)).length;
  const ok = stored.length === FILES && duplicated === 0 && lost === 0 && wrongSha1 === 0 && failed.length === 0 && strayResults === 0;
  const detail = `${stored.length} stored, ${lost} lost, ${duplicated} duplicated, ${wrongSha1} wrong sha1, ${failed.length} failed${failed[0] ? ` (${failed[0].source}: ${failed[0].error.message})` : ''}, ${strayResults} results pointing elsewhere`;
  return { ok, detail, lost, duplicated };
}

let server;
let dataDir;
let status = 2;
try {
  dataDir = await mkdtemp(join(tmpdir(), 'sfx-bench-faults-'));
  server = await startDistServer({ data: join(dataDir, 'data'), rootKey: KEY, duplicatePolicy: 'allow' });
  const serverMemory = peakTracker(server.pid);
  const clientMemory = peakTracker(process.pid);
  const direct = new Filerobot({ endpoint: `${server.url}/demo`, apiKey: KEY });

  // Warm up (JIT, SQLite pages, sockets) so the first measured run is not the cold one.
  const warm = await uploadRun(server, '/warm-up', makeFiles('warm-up', Math.min(FILES, 300)), 0, 0);
  if (warm.report.results.some((r) => !r.ok)) throw new Error('the warm-up upload failed');

  const goodput = { clean: [], faulty: [] };
  const problems = [];
  let lostOrDuplicated = 0;
  let proxyPeak = 0;
  const injected = { requests: 0, faults: 0, kinds: {} };
  for (let run = 1; run <= args.runs; run++) {
    const order = run % 2 ? ['clean', 'faulty'] : ['faulty', 'clean'];
    for (const kind of order) {
      const files = makeFiles(`${kind}-${run}`);
      const folder = `/${kind}-${run}`;
      log(`run ${run}: ${kind} upload of ${FILES} x ${BYTES / 1024} KiB, concurrency ${CONCURRENCY}...`);
      const result = await uploadRun(server, folder, files, kind === 'clean' ? 0 : RATE, Number(args.seed) + run);
      const check = await verify(direct, folder, files, result.report);
      proxyPeak = Math.max(proxyPeak, result.proxyPeak);
      goodput[kind].push(FILES / result.seconds);
      const faults = result.counts.requests - result.counts.pass;
      if (kind === 'faulty') {
        injected.requests += result.counts.requests;
        injected.faults += faults;
        for (const [k, v] of Object.entries(result.counts)) if (k !== 'requests' && k !== 'pass') injected.kinds[k] = (injected.kinds[k] ?? 0) + v;
      }
      log(`  ${(FILES / result.seconds).toFixed(0)} files/s, ${result.counts.requests} requests, ${faults} faults injected; ${check.detail}`);
      lostOrDuplicated += check.lost + check.duplicated;
      if (!check.ok) problems.push(`${folder}: ${check.detail}`);
    }
  }
  await direct.close();

  const ratios = goodput.faulty.map((g, i) => g / goodput.clean[i]);
  const ratioMedian = ratios.toSorted((a, b) => a - b)[Math.floor(ratios.length / 2)];
  const goodputMetric = metric({
      name: `goodput, ${FILES} x ${BYTES / 1024} KiB at ${RATE * 100}% faults`,
      unit: 'files/s',
      values: goodput.faulty,
      peer: 'same upload, no faults',
      peerValues: goodput.clean,
      target: `>= ${GOODPUT_TARGET}x the clean run`,
      met: ratioMedian >= GOODPUT_TARGET,
  });
  // The ratio of paired runs (same round, back to back) is steadier than a ratio of medians.
  goodputMetric.ratio = Number(ratioMedian.toPrecision(3));
  const metrics = [
    goodputMetric,
    metric({ name: 'assets lost or duplicated', unit: 'assets', values: [lostOrDuplicated], target: '0', met: lostOrDuplicated === 0 }),
  ];
  status = emitSummary({
    workload: WORKLOAD,
    quick: args.quick,
    metrics,
    rss: { 'bench process (client + in-memory files)': clientMemory.stop(), 'sfx server': serverMemory.stop(), 'fault proxy': proxyPeak },
    correctness: {
      ok: problems.length === 0 && (RATE === 0 || injected.faults > 0),
      detail: `${problems.length ? `FAILED ${problems.join('; ')}` : `every run: ${FILES} stored, 0 lost, 0 duplicated, every sha1 equal`}; faults injected: ${injected.faults} of ${injected.requests} requests (${Object.entries(injected.kinds).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    },
    notes: [`per-run goodput ratios (faulty / clean, same run): ${ratios.map((r) => r.toFixed(2)).join(', ')}`],
  });
} catch (error) {
  log(`${WORKLOAD} could not run: ${error instanceof Error ? error.stack : String(error)}`);
  status = 2;
} finally {
  await server?.stop();
  if (dataDir && !args.keep) await rm(dataDir, { recursive: true, force: true });
}
process.exitCode = status;
