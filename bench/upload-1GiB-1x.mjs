#!/usr/bin/env node
// Workload upload-1GiB-1x: one large file sent as a streamed PUT by our client (a child process,
// so its memory is its own), by `curl -T`, and written by `dd conv=fdatasync` (the disk ceiling),
// each run against a fresh server. Checks the stored sha1 and size. Target: client >= 0.9x the
// slower of curl and dd; client and server peak RSS < 150 MB. For flatness across sizes run
// bench/upload-memory.mjs and bench/client-upload-memory.mjs at 100 MB and 2 GiB.
//
//   node bench/upload-1GiB-1x.mjs [--quick] [--runs N] [--bytes 1GiB]

import { Buffer } from 'node:buffer';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLIENT, MB, ROOT, log, machine, requireBuilt, stats, summaryLine, workloadArgs } from './lib/contract.mjs';
import { peakTracker, runChild } from './lib/proc.mjs';
import { listFolder, startSfxServer } from './lib/servers.mjs';

const KEY = 'bench-root-key';
const NAME = 'upload-1GiB-1x';

if (process.argv[2] === '--as-client') {
  const [, , , url, path] = process.argv;
  const { Filerobot } = await import(CLIENT);
  const client = new Filerobot({ endpoint: `${url}/demo`, apiKey: KEY, timeoutMs: 600_000 });
  const started = performance.now();
  const { file } = await client.files.upload(path, { folder: '/client', via: 'stream', streamThreshold: 0 });
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  process.stdout.write(JSON.stringify({ seconds, sha1: file.hash?.sha1, size: file.size?.bytes ?? file.size }) + '\n');
  process.exit(0);
}

function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(String(text));
  if (!match) throw new Error(`cannot read size ${JSON.stringify(text)}; try 1GiB or 128MiB`);
  const [, number, prefix, binary] = match;
  const power = ' kmgt'.indexOf(prefix.toLowerCase() || ' ');
  return Math.round(Number(number) * (binary || !prefix ? 1024 : 1000) ** Math.max(0, power));
}

requireBuilt('packages/client/dist/index.js');
const args = workloadArgs({ bytes: { type: 'string' } });
const bytes = parseSize(args.bytes ?? (args.quick ? '128MiB' : '1GiB'));
const work = join(ROOT, '.sfx', `bench-${NAME}-${process.pid}`);
const source = join(work, 'source.bin');

async function writeSource() {
  mkdirSync(work, { recursive: true });
  const key = createHash('sha256').update('sfx-bench').digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1024 * 1024);
  const hash = createHash('sha1');
  const out = createWriteStream(source);
  for (let written = 0; written < bytes; written += zeros.length) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - written)));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return hash.digest('hex');
}

async function phase(who, run, sha1) {
  if (who === 'dd') {
    const target = join(work, 'dd.bin');
    const started = performance.now();
    const child = await runChild('dd', [`if=${source}`, `of=${target}`, 'bs=1M', 'conv=fdatasync', 'status=none']);
    const seconds = (performance.now() - started) / 1000;
    await rm(target, { force: true });
    return { mbPerS: bytes / MB / seconds, rss: child.peakRss, serverRss: 0, ok: child.code === 0, detail: `dd exit ${child.code}` };
  }
  const dataDir = join(work, `data-${who}-${run}`);
  const server = await startSfxServer(dataDir, KEY);
  try {
    const serverPeak = peakTracker(server.pid);
    let seconds;
    let child;
    if (who === 'client') {
      child = await runChild(process.execPath, [new URL(import.meta.url).pathname, '--as-client', server.url, source]);
      if (child.code !== 0) throw new Error(`client failed: ${child.stderr}`);
      seconds = JSON.parse(child.stdout.trim().split('\n').at(-1)).seconds;
    } else {
      const started = performance.now();
      child = await runChild('curl', ['-sS', '-T', source, '-H', `X-Filerobot-Key: ${KEY}`, '-o', '/dev/null', '-w', '%{http_code}', `${server.url}/demo/v4/files?folder=/curl&filename=big.bin`]);
      seconds = (performance.now() - started) / 1000;
    }
    const serverRss = serverPeak.stop();
    const files = await listFolder(server.url, who === 'client' ? '/client' : '/curl', KEY);
    const ok = files.length === 1 && files[0].sha1 === sha1 && files[0].size === bytes;
    return { mbPerS: bytes / MB / seconds, rss: child.peakRss, serverRss, ok, detail: `${who}: ${files.length} asset(s), sha1 ${ok ? 'ok' : 'WRONG'}` };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await rm(work, { recursive: true, force: true });
log(`${NAME}: writing a ${(bytes / MB).toFixed(0)} MB source file ...`);
const sha1 = await writeSource();
const results = { client: [], curl: [], dd: [] };
try {
  for (let run = 1; run <= args.runs; run++) {
    const order = run % 2 ? ['client', 'curl', 'dd'] : ['dd', 'curl', 'client'];
    for (const who of order) {
      log(`run ${run}/${args.runs}: ${who} ...`);
      const r = await phase(who, run, sha1);
      log(`  ${r.mbPerS.toFixed(0)} MB/s, peak RSS ${(r.rss / MB).toFixed(0)} MB, server ${(r.serverRss / MB).toFixed(0)} MB, ${r.detail}`);
      results[who].push(r);
    }
  }
} finally {
  if (!args.keep) await rm(work, { recursive: true, force: true });
}

const speed = (who) => stats(results[who].map((r) => r.mbPerS));
const client = speed('client');
const curl = speed('curl');
const dd = speed('dd');
const ceiling = curl.median <= dd.median ? { name: 'curl -T', median: curl.median } : { name: 'dd conv=fdatasync', median: dd.median };
const clientRss = Math.max(...results.client.map((r) => r.rss));
const serverRss = Math.max(...results.client.map((r) => r.serverRss));
const curlServerRss = Math.max(...results.curl.map((r) => r.serverRss));
const curlRss = Math.max(...results.curl.map((r) => r.rss));
const metrics = [
  { name: 'client streamed PUT', unit: 'MB/s', ...client, peer: ceiling.name, peerMedian: ceiling.median, ratio: client.median / ceiling.median, target: '>= 0.9x the slower of curl -T and dd', met: client.median / ceiling.median >= 0.9 },
  { name: 'curl -T', unit: 'MB/s', ...curl, peer: null, peerMedian: null, ratio: null, target: 'peer', met: null },
  { name: 'dd conv=fdatasync', unit: 'MB/s', ...dd, peer: null, peerMedian: null, ratio: null, target: 'disk ceiling', met: null },
  { name: 'client peak RSS', unit: 'MB', median: clientRss / MB, min: clientRss / MB, max: clientRss / MB, peer: 'curl', peerMedian: curlRss / MB, ratio: clientRss / curlRss, target: '< 150 MB', met: clientRss < 150e6 },
  { name: 'server peak RSS (client run)', unit: 'MB', median: serverRss / MB, min: serverRss / MB, max: serverRss / MB, peer: 'server (curl run)', peerMedian: curlServerRss / MB, ratio: serverRss / curlServerRss, target: '< 150 MB', met: serverRss < 150e6 },
];
const all = [...results.client, ...results.curl, ...results.dd];
process.stdout.write(`\n${NAME}: ${(bytes / MB).toFixed(0)} MB, ${args.runs} run(s), fresh server each (median [min-max])\n\n`);
process.stdout.write('| metric | value | peer | peer median | ratio | target | met |\n|---|--:|---|--:|--:|---|---|\n');
for (const m of metrics) {
  const fmt = (v) => (v === null ? 'n/a' : v.toFixed(2));
  process.stdout.write(`| ${m.name} | ${m.median.toFixed(1)} [${m.min.toFixed(1)}-${m.max.toFixed(1)}] ${m.unit} | ${m.peer ?? ''} | ${fmt(m.peerMedian)} | ${fmt(m.ratio)} | ${m.target} | ${m.met ?? 'n/a'} |\n`);
}
summaryLine({
  workload: NAME,
  quick: args.quick,
  machine: machine(),
  metrics,
  rss: { client: clientRss, curl: curlRss, server: Math.max(serverRss, curlServerRss) },
  correctness: { ok: all.every((r) => r.ok), detail: all.map((r) => r.detail).join('; ') },
});
process.exit(all.every((r) => r.ok) ? 0 : 1);
