#!/usr/bin/env node
// Sync memory benchmark: does `sfx sync` stay flat in memory as the number of files grows?
//
//   node bench/sync-memory.mjs [--files 100000] [--concurrency 8] [--heap-mb N] [--json] [--keep]
//
// Makes FILES small files (unique content, 100 per folder) under .sfx/bench-sync-*/src, starts a
// fresh `sfx server --durability relaxed`, and runs the built CLI three times against it:
//   first   sfx sync src /bench        every file uploaded
//   resync  sfx sync src /bench        every file skipped (one listing of FILES assets, sha1 cache)
//   dry     sfx sync src /other --dry-run --delete -v   (a plan of FILES rows printed, to /dev/null)
// Each run's peak RSS is the last VmHWM read from /proc/<pid>/status (sampled every 50 ms; VmHWM
// is the process's high-water mark, so peaks between samples count). Checks: the first run uploads
// FILES, the resync uploads 0 and hashes 0 files, and the DAM then holds FILES assets.
// See bench/README.md. Exit status: 0 good, 1 a check failed, 2 the benchmark could not run.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
const MB = 1e6;

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'heap-mb': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: node bench/sync-memory.mjs [--files 100000] [--concurrency 8] [--heap-mb N] [--json] [--keep]\n');
  process.exit(0);
}
const FILES = Number(args.files);
if (!Number.isInteger(FILES) || FILES < 1) {
  process.stderr.write('--files must be a whole number >= 1\n');
  process.exit(2);
}
if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) {
  process.stderr.write('build first: npm run build (or npx tsc -b)\n');
  process.exit(2);
}

const work = join(ROOT, '.sfx', `bench-sync-${process.pid}`);
const src = join(work, 'src');
const config = join(work, 'config');
const KEY = 'bench-sync-root-key-0123456789abcdef';

function status(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Runs the CLI; resolves its exit code, stdout (unless discarded), and peak RSS. */
function sfx(argv, { discardStdout = false } = {}) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      env: {
        ...process.env,
        SFX_CONFIG_DIR: config,
        SFX_BENCH_KEY: KEY,
        // A V8 heap cap: a sync that held per-file state would run out of heap and fail the checks.
        ...(args['heap-mb'] && { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${args['heap-mb']}`.trim() }),
      },
      stdio: ['ignore', discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setInterval(() => {
      const s = status(child.pid);
      if (s) peak = Math.max(peak, s.hwm, s.rss);
    }, 50);
    const started = performance.now();
    child.on('error', fail);
    child.on('close', (code) => {
      clearInterval(timer);
      done({ code, stdout, stderr, peak, seconds: (performance.now() - started) / 1000 });
    });
  });
}

async function makeFiles() {
  process.stderr.write(`writing ${FILES} files under ${src}\n`);
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `d${String(Math.floor(i / 100)).padStart(5, '0')}`);
    if (i % 100 === 0) await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `bench file ${i}\n`);
  }
}

async function startServer() {
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data', join(work, 'data'), '--durability', 'relaxed', '--root-key', KEY, '--log', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((done, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) done(m[1]);
    });
    child.on('exit', () => fail(new Error(`server exited: ${out}`)));
  });
  return { child, url };
}

const checks = [];
function check(ok, what) {
  checks.push({ ok, what });
  if (!ok) process.stderr.write(`CHECK FAILED: ${what}\n`);
}

let server;
try {
  await rm(work, { recursive: true, force: true });
  await makeFiles();
  server = await startServer();
  const add = await sfx(['connection', 'add', 'bench', '--endpoint', `${server.url}/demo`, '--api-key', 'env:SFX_BENCH_KEY']);
  if (add.code !== 0) throw new Error(`connection add failed: ${add.stderr}`);
  const baseline = await sfx(['sync', '--help'], { discardStdout: true });

  process.stderr.write('first sync (uploads everything)...\n');
  const first = await sfx(['sync', src, '/bench', '--json', '--concurrency', args.concurrency]);
  const firstReport = JSON.parse(first.stdout || '{}');
  check(first.code === 0 && firstReport.uploaded === FILES, `first sync uploads ${FILES} (got ${firstReport.uploaded}, exit ${first.code}) ${first.stderr.slice(-300)}`);

  process.stderr.write('resync (skips everything)...\n');
  const resync = await sfx(['sync', src, '/bench', '--json', '--concurrency', args.concurrency]);
  const resyncReport = JSON.parse(resync.stdout || '{}');
  check(resync.code === 0 && resyncReport.uploaded === 0 && resyncReport.skipped === FILES, `resync skips ${FILES} (got ${resyncReport.skipped} skipped, ${resyncReport.uploaded} uploaded)`);
  check(resyncReport.cache?.hashed === 0, `resync reads no file (hashed ${resyncReport.cache?.hashed})`);
  check(resyncReport.planned?.remote === FILES, `resync listed ${FILES} assets (got ${resyncReport.planned?.remote})`);

  process.stderr.write('dry run into another folder (a plan of every file, printed)...\n');
  const dry = await sfx(['sync', src, '/other', '--dry-run', '-v'], { discardStdout: true });
  check(dry.code === 0, `dry run exits 0 (${dry.stderr.slice(-200)})`);

  const rows = [
    ['node + CLI baseline (sync --help)', baseline],
    [`first sync, ${FILES} uploads`, first],
    [`resync, ${FILES} skipped`, resync],
    [`dry run, ${FILES}-row plan`, dry],
  ];
  process.stdout.write(`\nsfx sync, ${FILES} files (concurrency ${args.concurrency}${args['heap-mb'] ? `, V8 heap capped at ${args['heap-mb']} MB` : ''})\n`);
  process.stdout.write(`${'run'.padEnd(36)} ${'peak RSS MB'.padStart(12)} ${'seconds'.padStart(9)} ${'files/s'.padStart(9)}\n`);
  for (const [name, r] of rows) {
    const rate = name.startsWith('node') ? '' : String(Math.round(FILES / r.seconds));
    process.stdout.write(`${name.padEnd(36)} ${(r.peak / MB).toFixed(1).padStart(12)} ${r.seconds.toFixed(1).padStart(9)} ${rate.padStart(9)}\n`);
  }
  const failed = checks.filter((c) => !c.ok);
  process.stdout.write(`checks: ${checks.length - failed.length}/${checks.length} passed\n`);
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({ bench: 'sync-memory', files: FILES, concurrency: Number(args.concurrency), runs: Object.fromEntries(rows.map(([n, r]) => [n, { peakRssMB: +(r.peak / MB).toFixed(1), seconds: +r.seconds.toFixed(1) }])), checks })}\n`,
    );
  process.exitCode = failed.length ? 1 : 0;
} catch (error) {
  process.stderr.write(`benchmark could not run: ${error.stack ?? error}\n`);
  process.exitCode = 2;
} finally {
  server?.child.kill('SIGTERM');
  if (!args.keep) await rm(work, { recursive: true, force: true });
}
