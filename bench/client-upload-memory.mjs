#!/usr/bin/env node
// Client memory benchmark: does @sfx/client keep its own memory flat while it uploads a very large
// file from disk (multipart POST, streamed PUT, resumable tus) and downloads it again?
//
//   node bench/client-upload-memory.mjs [--bytes 2GiB] [--json] [--max-increase-mb 100] [--keep]
//
// The file is written once under .sfx/ (AES-128-CTR keystream of a fixed seed, so the same size
// always gives the same bytes) and its SHA-1 computed while writing. The server runs as a child
// (`sfx server`), so this process holds only the client. Its RSS is sampled every 100 ms and its
// VmHWM reset (via /proc/self/clear_refs) before each phase, so a spike between samples still
// counts. The peer is `curl -T` (streamed PUT of the same file to the same server), its peak RSS
// read by /usr/bin/time. Exit status: 0 all good, 1 a check failed, 2 the benchmark could not run.

import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
const CLIENT = join(ROOT, 'packages/client/dist/index.js');
const MB = 1e6;
const KEY = 'bench-root-key';

function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(String(text));
  if (!match) throw new Error(`cannot read size ${JSON.stringify(text)}; try 2GiB, 512MiB or 1e9`);
  const [, number, prefix, binary] = match;
  const power = ' kmgt'.indexOf(prefix.toLowerCase() || ' ');
  // "GiB" and a bare "G" are binary, "GB" decimal.
  return Math.round(Number(number) * (binary || !prefix ? 1024 : 1000) ** Math.max(0, power));
}

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: process.env.SFX_BENCH_BYTES ?? '2GiB' },
    json: { type: 'boolean', default: false },
    'max-increase-mb': { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: node bench/client-upload-memory.mjs [--bytes 2GiB] [--json] [--max-increase-mb 100] [--keep]\n');
  process.exit(0);
}
if (process.platform !== 'linux') {
  process.stderr.write('this benchmark reads /proc: Linux only\n');
  process.exit(2);
}
if (!existsSync(CLIENT) || !existsSync(join(ROOT, 'packages/cli/dist/main.js'))) {
  process.stderr.write('build first: npm run build\n');
  process.exit(2);
}
const bytes = parseSize(values.bytes);
const maxIncrease = Number(values['max-increase-mb']);
const work = join(ROOT, '.sfx', `bench-client-${process.pid}`);
const source = join(work, 'source.bin');
const { Filerobot } = await import(CLIENT);

const log = (text) => process.stderr.write(`${text}\n`);

function memoryOf(pid = 'self') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: read('VmRSS'), hwm: read('VmHWM') };
}

/** Runs `task` while sampling this process's memory; returns its result, peak increase and time. */
async function measured(task) {
  const samples = [];
  for (let i = 0; i < 5; i++) {
    samples.push(memoryOf().rss);
    await new Promise((r) => setTimeout(r, 80));
  }
  const baseline = samples.sort((a, b) => a - b)[2];
  writeFileSync('/proc/self/clear_refs', '5');
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf().rss)), 100);
  const started = performance.now();
  try {
    const result = await task();
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, memoryOf().hwm);
    return { result, seconds, increaseMb: (peak - baseline) / MB };
  } finally {
    clearInterval(timer);
  }
}

async function writeSource() {
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

async function startServer() {
  const args = [CLI, 'server', '--port', '0', '--data', join(work, 'data'), '--root-key', KEY, '--durability', 'relaxed'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      out += text;
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolvePromise(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

function curlPeer(serverUrl) {
  const started = performance.now();
  const url = `${serverUrl}/demo/v4/files?folder=/peer&filename=peer.bin`;
  const curl = spawnSync('/usr/bin/time', ['-f', '%M', 'curl', '-sS', '-T', source, '-H', `X-Filerobot-Key: ${KEY}`, '-o', '/dev/null', '-w', '%{http_code}', url], {
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  const peakKb = Number(curl.stderr.trim().split('\n').at(-1));
  return { phase: 'upload (PUT)', who: 'curl -T', mbPerS: bytes / MB / seconds, peakRssMb: (peakKb * 1024) / MB, ok: curl.stdout.trim() === '200' };
}

const rows = [];
let failed = false;
await mkdir(work, { recursive: true });
const server = await startServer();
try {
  log(`writing a ${(bytes / MB).toFixed(0)} MB source file ...`);
  const sha1 = await writeSource();
  const client = new Filerobot({ endpoint: `${server.url}/demo`, apiKey: KEY, timeoutMs: 120_000 });
  // Warm-up: load modules and open the connection pool before measuring.
  await client.files.upload(Buffer.from('warm-up'), { name: 'warm.txt', folder: '/warm' });

  for (const via of ['multipart', 'stream']) {
    log(`client upload via ${via} ...`);
    const run = await measured(() => client.files.upload(source, { folder: `/big-${via}`, via, streamThreshold: 0 }));
    const file = run.result.file;
    const ok = file.hash?.sha1 === sha1 && (file.size?.bytes ?? file.size) === bytes;
    failed ||= !ok || run.increaseMb > maxIncrease;
    rows.push({ phase: `upload (${via})`, who: 'sfx client', mbPerS: bytes / MB / run.seconds, rssIncreaseMb: run.increaseMb, ok });
    if (via === 'stream') {
      log('client download ...');
      const target = join(work, 'download.bin');
      const down = await measured(() => client.files.download(file, target));
      const downOk = down.result.sha1 === sha1 && down.result.bytes === bytes;
      failed ||= !downOk || down.increaseMb > maxIncrease;
      rows.push({ phase: 'download', who: 'sfx client', mbPerS: bytes / MB / down.seconds, rssIncreaseMb: down.increaseMb, ok: downOk });
      await rm(target, { force: true });
    }
    await client.files.delete(file.uuid);
  }
  log('client upload via tus (resumable, 5 MB chunks) ...');
  const tus = await measured(() => client.files.uploadResumable(source, { folder: '/big-tus' }));
  const tusFile = tus.result.file;
  const tusOk = tusFile.hash?.sha1 === sha1 && (tusFile.size?.bytes ?? tusFile.size) === bytes && tus.result.bytesSent === bytes;
  failed ||= !tusOk || tus.increaseMb > maxIncrease;
  rows.push({ phase: 'upload (tus, 5 MB chunks)', who: 'sfx client', mbPerS: bytes / MB / tus.seconds, rssIncreaseMb: tus.increaseMb, ok: tusOk });
  await client.files.delete(tusFile.uuid);
  await client.close();
  log('peer: curl -T ...');
  rows.push(curlPeer(server.url));
} finally {
  await server.stop();
  if (!values.keep) await rm(work, { recursive: true, force: true });
}

process.stdout.write(`\nclient memory, ${(bytes / MB).toFixed(0)} MB file (MB = 10^6 bytes)\n\n`);
process.stdout.write('| phase | who | MB/s | RSS increase MB | peak RSS MB | check |\n|---|---|--:|--:|--:|---|\n');
for (const row of rows) {
  const increase = row.rssIncreaseMb === undefined ? 'n/a' : row.rssIncreaseMb.toFixed(1);
  const peak = row.peakRssMb === undefined ? 'n/a' : row.peakRssMb.toFixed(1);
  process.stdout.write(`| ${row.phase} | ${row.who} | ${row.mbPerS.toFixed(0)} | ${increase} | ${peak} | ${row.ok ? 'ok' : 'FAIL'} |\n`);
}
if (values.json) process.stdout.write(`${JSON.stringify({ bench: 'client-upload-memory', bytes, rows, failed })}\n`);
process.exit(failed ? 1 : 0);
