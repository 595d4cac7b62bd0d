#!/usr/bin/env node
// Workload resync-10000x: `sfx sync` of 10,000 files that are already in the DAM and unchanged.
//
//   node bench/resync-10000x.mjs [--quick] [--runs N] [--files 10000] [--keep]
//
// Writes FILES small files (unique content, 100 per folder) under .sfx/bench-resync-*/src, starts
// `sfx server --durability relaxed`, runs a first `sfx sync src /resync` (uploads everything and
// fills the CLI's sha1 cache), then RUNS times, alternating: the measured resync (the built CLI, a
// fresh process, its default concurrency) and the peer: a fresh Node process that walks the same
// tree and stats every file, the least any tool must do to notice that nothing changed.
// Target (issue 13): zero uploads, under 5 s at 10k files. --quick runs 1,000 files, where the
// time target does not apply (met: null). Correctness: every resync reports 0 uploaded,
// FILES skipped, 0 files hashed, and FILES assets listed.
// Exit status: 0, 1 when correctness failed, 2 when it could not run.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, ROOT, emitSummary, log, metric, requireBuilt, workloadArgs } from './lib/contract.mjs';
import { peakTracker, runNode } from './lib/proc.mjs';
import { startSfxServer } from './lib/servers.mjs';

const WORKLOAD = 'resync-10000x';
const TARGET_FILES = 10_000;
const TARGET_SECONDS = 5;

const args = workloadArgs({ files: { type: 'string' } });
const FILES = Number(args.files ?? (args.quick ? 1000 : TARGET_FILES));
if (!Number.isInteger(FILES) || FILES < 1) {
  log('--files must be a whole number >= 1');
  process.exit(2);
}
requireBuilt();

const work = join(ROOT, '.sfx', `bench-resync-${process.pid}`);
const src = join(work, 'src');
const KEY = 'bench-resync-root-key-0123456789';
const env = { ...process.env, SFX_CONFIG_DIR: join(work, 'config'), SFX_BENCH_KEY: KEY, SFX_CONNECTION: 'bench' };

// The peer: what any sync tool has to do at the least, list every folder and stat every file.
const STAT_WALK = `
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
let files = 0;
async function walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path);
    else { await stat(path); files++; }
  }
}
await walk(process.argv[1]);
process.stdout.write(String(files));
`;

async function makeFiles() {
  log(`writing ${FILES} files under ${src}`);
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `d${String(Math.floor(i / 100)).padStart(4, '0')}`);
    if (i % 100 === 0) await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `resync bench file ${i}\n`);
  }
}

function parseReport(run, what) {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`${what} printed no JSON report (exit ${run.code}): ${run.stderr.slice(-400)}`);
  }
}

let server;
let status = 2;
try {
  await rm(work, { recursive: true, force: true });
  await makeFiles();
  server = await startSfxServer(join(work, 'data'), KEY);
  const add = await runNode([CLI, 'connection', 'add', 'bench', '--endpoint', `${server.url}/demo`, '--api-key', 'env:SFX_BENCH_KEY'], { env });
  if (add.code !== 0) throw new Error(`connection add failed: ${add.stderr}`);

  log('first sync (uploads everything, fills the sha1 cache)...');
  const first = await runNode([CLI, 'sync', src, '/resync', '--json', '--quiet', '--concurrency', '16'], { env });
  const firstReport = parseReport(first, 'first sync');
  if (first.code !== 0 || firstReport.uploaded !== FILES) throw new Error(`first sync uploaded ${firstReport.uploaded} of ${FILES} (exit ${first.code})`);
  log(`first sync: ${FILES} files in ${first.seconds.toFixed(1)} s`);

  // The server's peak during the resyncs only (the first sync's uploads would dominate VmHWM).
  const serverMemory = peakTracker(server.pid, 50, false);
  const resyncSeconds = [];
  const walkSeconds = [];
  const problems = [];
  let uploadedMax = 0;
  let cliPeak = 0;
  let walkPeak = 0;
  for (let run = 1; run <= args.runs; run++) {
    // Alternate which goes first so a burst of background load does not always hit the same one.
    const order = run % 2 ? ['sfx', 'walk'] : ['walk', 'sfx'];
    for (const who of order) {
      if (who === 'walk') {
        const walk = await runNode(['--input-type=module', '-e', STAT_WALK, src]);
        if (walk.code !== 0 || Number(walk.stdout) !== FILES) throw new Error(`stat walk saw ${walk.stdout} files (exit ${walk.code}): ${walk.stderr}`);
        walkSeconds.push(walk.seconds);
        walkPeak = Math.max(walkPeak, walk.peakRss);
        continue;
      }
      const resync = await runNode([CLI, 'sync', src, '/resync', '--json', '--quiet'], { env });
      const report = parseReport(resync, 'resync');
      resyncSeconds.push(resync.seconds);
      cliPeak = Math.max(cliPeak, resync.peakRss);
      uploadedMax = Math.max(uploadedMax, (report.uploaded ?? 0) + (report.updated ?? 0));
      const seen = `run ${run}: exit ${resync.code}, ${report.uploaded} uploaded, ${report.updated} updated, ${report.skipped} skipped, ${report.cache?.hashed} hashed, ${report.planned?.remote} listed`;
      log(`resync ${seen}, ${resync.seconds.toFixed(2)} s`);
      if (resync.code !== 0 || report.uploaded !== 0 || report.updated !== 0 || report.skipped !== FILES || report.cache?.hashed !== 0 || report.planned?.remote !== FILES) problems.push(seen);
    }
  }

  const atTargetSize = FILES >= TARGET_FILES;
  const metrics = [
    metric({
      name: `resync of ${FILES} unchanged files`,
      unit: 's',
      values: resyncSeconds,
      peer: 'node stat walk',
      peerValues: walkSeconds,
      higherIsBetter: false,
      target: `< ${TARGET_SECONDS} s at ${TARGET_FILES / 1000}k files`,
      met: atTargetSize ? resyncSeconds.toSorted((a, b) => a - b)[Math.floor(resyncSeconds.length / 2)] < TARGET_SECONDS : null,
    }),
    metric({ name: 'files uploaded or updated by the resync', unit: 'files', values: [uploadedMax], target: '0', met: uploadedMax === 0 }),
  ];
  status = emitSummary({
    workload: WORKLOAD,
    quick: args.quick,
    metrics,
    rss: { 'sfx sync': cliPeak, 'node stat walk': walkPeak, 'sfx server': serverMemory.stop() },
    correctness: {
      ok: problems.length === 0,
      detail: problems.length ? `unexpected resync reports: ${problems.join('; ')}` : `${args.runs} resync(s): 0 uploaded, ${FILES} skipped, 0 hashed, ${FILES} assets listed each`,
    },
    notes: [`first sync (setup, concurrency 16): ${FILES} files in ${first.seconds.toFixed(1)} s`],
  });
} catch (error) {
  log(`${WORKLOAD} could not run: ${error instanceof Error ? error.stack : String(error)}`);
  status = 2;
} finally {
  await server?.stop();
  if (!args.keep) await rm(work, { recursive: true, force: true });
}
process.exitCode = status;
