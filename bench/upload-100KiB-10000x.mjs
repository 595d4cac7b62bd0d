#!/usr/bin/env node
// Workload upload-100KiB-10000x: many small uploads, 32 at once. Our client's `uploadMany` (a
// child process, so its memory is its own) against `curl --parallel --parallel-max 32` sending the
// same files as multipart POSTs, each against a fresh server and data dir. Checks the count and
// sha1 of every stored asset. Reports files/s, the server's CPU per upload and peak RSS of each
// process.
//
//   node bench/upload-100KiB-10000x.mjs [--quick] [--runs N] [--files N] [--concurrency 32]

import { Buffer } from 'node:buffer';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLIENT, ROOT, log, machine, requireBuilt, stats, summaryLine, workloadArgs } from './lib/contract.mjs';
import { cpuSecondsOf, peakTracker, runChild } from './lib/proc.mjs';
import { listFolder, startSfxServer } from './lib/servers.mjs';

const KEY = 'bench-root-key';
const NAME = 'upload-100KiB-10000x';
const SIZE = 100 * 1024;

if (process.argv[2] === '--as-client') {
  // Child mode: upload every file of a folder with uploadMany; report the time of the bulk call.
  const [, , , url, dir, concurrency] = process.argv;
  const { Filerobot } = await import(CLIENT);
  const client = new Filerobot({ endpoint: `${url}/demo`, apiKey: KEY, concurrency: Number(concurrency) });
  const paths = readdirSync(dir).map((name) => join(dir, name));
  const started = performance.now();
  // Only failures kept in the report: what a bulk upload of any size should do (docs/client.md).
  const report = await client.files.uploadMany(paths, { folder: '/client', concurrency: Number(concurrency), results: 'failures' });
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  const errors = report.results.filter((r) => !r.ok).slice(0, 3).map((r) => String(r.error?.message));
  process.stdout.write(JSON.stringify({ seconds, done: report.done, failed: report.failed, errors }) + '\n');
  process.exit(0);
}

requireBuilt('packages/client/dist/index.js');
const args = workloadArgs({ files: { type: 'string' }, concurrency: { type: 'string', default: '32' } });
const count = Number(args.files ?? (args.quick ? 500 : 10000));
const concurrency = Number(args.concurrency);
const work = join(ROOT, '.sfx', `bench-${NAME}-${process.pid}`);
const source = join(work, 'files');

/** Distinct deterministic content per file (AES-CTR keystream of its index), with its sha1. */
function writeFiles() {
  mkdirSync(source, { recursive: true });
  const expected = new Map();
  const zeros = Buffer.alloc(SIZE);
  for (let i = 0; i < count; i++) {
    const key = createHash('sha256').update(`sfx-bench-${i}`).digest().subarray(0, 16);
    const bytes = createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(zeros);
    const name = `f${String(i).padStart(6, '0')}.bin`;
    writeFileSync(join(source, name), bytes);
    expected.set(name, createHash('sha1').update(bytes).digest('hex'));
  }
  return expected;
}

async function check(url, folder, expected) {
  const files = await listFolder(url, folder, KEY);
  let wrong = 0;
  const seen = new Set();
  for (const f of files) {
    if (expected.get(f.name) !== f.sha1 || f.size !== SIZE || seen.has(f.name)) wrong++;
    seen.add(f.name);
  }
  const ok = files.length === expected.size && wrong === 0;
  return { ok, detail: `${folder}: ${files.length}/${expected.size} assets, ${wrong} wrong` };
}

async function phase(who, run, expected) {
  const dataDir = join(work, `data-${who}-${run}`);
  const server = await startSfxServer(dataDir, KEY);
  try {
    const serverPeak = peakTracker(server.pid);
    const cpuBefore = cpuSecondsOf(server.pid);
    let seconds;
    let child;
    if (who === 'client') {
      child = await runChild(process.execPath, [new URL(import.meta.url).pathname, '--as-client', server.url, source, String(concurrency)]);
      if (child.code !== 0) throw new Error(`client failed: ${child.stderr}`);
      const out = JSON.parse(child.stdout.trim().split('\n').at(-1));
      if (out.failed > 0) log(`client: ${out.failed} failed, e.g. ${out.errors.join('; ')}`);
      seconds = out.seconds;
    } else {
      const config = join(work, 'curl.conf');
      const url = `${server.url}/demo/v4/files?folder=/curl`;
      const names = readdirSync(source);
      writeFileSync(
        config,
        names
          .map((name) => `url = "${url}"\nform = "file=@${join(source, name)}"\nheader = "X-Filerobot-Key: ${KEY}"\noutput = "/dev/null"\nwrite-out = "%{http_code}\\n"\n`)
          .join('next\n'),
      );
      const started = performance.now();
      child = await runChild('curl', ['-sS', '--parallel', '--parallel-max', String(concurrency), '-K', config]);
      seconds = (performance.now() - started) / 1000;
      const codes = child.stdout.trim().split('\n');
      const bad = codes.filter((c) => c !== '200' && c !== '201').length;
      if (bad > 0 || child.code !== 0) log(`curl: exit ${child.code}, ${bad} replies not 2xx: ${child.stderr.slice(0, 300)}`);
    }
    const serverCpu = cpuSecondsOf(server.pid) - cpuBefore;
    const serverRss = serverPeak.stop();
    const verdict = await check(server.url, who === 'client' ? '/client' : '/curl', expected);
    return { filesPerS: count / seconds, serverCpuMsPerUpload: (serverCpu * 1000) / count, serverRss, rss: child.peakRss, ...verdict };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await rm(work, { recursive: true, force: true });
log(`${NAME}: writing ${count} files of 100 KiB ...`);
const expected = writeFiles();
const results = { client: [], curl: [] };
try {
  for (let run = 1; run <= args.runs; run++) {
    // Alternate which goes first, so a warming page cache or a busy neighbour favours neither.
    const order = run % 2 ? ['client', 'curl'] : ['curl', 'client'];
    for (const who of order) {
      log(`run ${run}/${args.runs}: ${who} ...`);
      const r = await phase(who, run, expected);
      log(`  ${r.filesPerS.toFixed(0)} files/s, server ${r.serverCpuMsPerUpload.toFixed(2)} ms CPU/upload, ${who} peak RSS ${(r.rss / 1e6).toFixed(0)} MB, ${r.detail}`);
      results[who].push(r);
    }
  }
} finally {
  if (!args.keep) await rm(work, { recursive: true, force: true });
}

const pick = (who, key) => stats(results[who].map((r) => r[key]));
const client = pick('client', 'filesPerS');
const curl = pick('curl', 'filesPerS');
const clientCpu = pick('client', 'serverCpuMsPerUpload');
const curlCpu = pick('curl', 'serverCpuMsPerUpload');
const clientRss = Math.max(...results.client.map((r) => r.rss));
const curlRss = Math.max(...results.curl.map((r) => r.rss));
const serverRss = Math.max(...results.client.map((r) => r.serverRss), ...results.curl.map((r) => r.serverRss));
const ratio = client.median / curl.median;
const metrics = [
  { name: 'client files/s', unit: 'files/s', ...client, peer: `curl --parallel --parallel-max ${concurrency}`, peerMedian: curl.median, ratio, target: '>= 1.0x curl', met: ratio >= 1.0 },
  { name: 'server CPU per upload (client run)', unit: 'ms', ...clientCpu, peer: 'server CPU per upload (curl run)', peerMedian: curlCpu.median, ratio: clientCpu.median / curlCpu.median, target: '<= half of before (issue 13)', met: null },
  { name: 'client peak RSS', unit: 'MB', median: clientRss / 1e6, min: clientRss / 1e6, max: clientRss / 1e6, peer: 'curl', peerMedian: curlRss / 1e6, ratio: clientRss / curlRss, target: '< 60 MB', met: clientRss < 60e6 },
];
const failures = [...results.client, ...results.curl].filter((r) => !r.ok);

process.stdout.write(`\n${NAME}: ${count} x 100 KiB, ${concurrency} at once, ${args.runs} run(s), fresh server each (median [min-max])\n\n`);
process.stdout.write('| metric | sfx | peer | peer median | ratio | target | met |\n|---|--:|---|--:|--:|---|---|\n');
for (const m of metrics) {
  process.stdout.write(`| ${m.name} | ${m.median.toFixed(2)} [${m.min.toFixed(2)}-${m.max.toFixed(2)}] ${m.unit} | ${m.peer} | ${m.peerMedian.toFixed(2)} | ${m.ratio.toFixed(2)} | ${m.target} | ${m.met ?? 'n/a'} |\n`);
}
process.stdout.write(`\npeak RSS: client ${(clientRss / 1e6).toFixed(0)} MB, curl ${(curlRss / 1e6).toFixed(0)} MB, server ${(serverRss / 1e6).toFixed(0)} MB\n`);
summaryLine({
  workload: NAME,
  quick: args.quick,
  machine: machine(),
  metrics,
  rss: { client: clientRss, curl: curlRss, server: serverRss },
  correctness: { ok: failures.length === 0, detail: [...results.client, ...results.curl].map((r) => r.detail).join('; ') },
});
process.exit(failures.length === 0 ? 0 : 1);
