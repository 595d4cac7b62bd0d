#!/usr/bin/env node
// Upload memory benchmark: does the sfx server keep its memory flat while a very large file is
// uploaded (streamed PUT, multipart POST, tus resumable PATCHes) and downloaded again?
//
//   node bench/upload-memory.mjs [--bytes 2GiB] [--json] [--peer both|node|cp|none]
//                                [--workloads put,multipart,tus] [--tus-chunk 5MiB]
//                                [--max-increase-mb 100] [--keep]
//
// The file is a deterministic pseudo-random stream (AES-128-CTR keystream of a fixed seed) made
// on the fly and hashed with SHA-1 while it is sent; it is never held in memory nor written by the
// client. Each workload gets a fresh server (own data dir under .sfx/, deleted afterwards) whose
// RSS is read from /proc/<pid>/status (VmRSS sampled every 100 ms, VmHWM reset before each phase
// through /proc/<pid>/clear_refs so spikes between samples still count). See bench/README.md.
//
// Exit status: 0 all good, 1 a check failed (server RSS increase over the limit, SHA-1 or byte
// count mismatch, HTTP error), 2 the benchmark itself could not run.

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CLI = join(ROOT, 'packages/cli/bin/sfx.js');
const PEER = join(HERE, 'peer-pipe-server.mjs');
const MB = 1e6;
const CHUNK = 1024 * 1024;
const SAMPLE_MS = 100;
const TOKEN = 'demo';
const TUS_VERSION = '1.0.0';
const WORKLOADS = ['put', 'multipart', 'tus'];
const LABELS = { put: 'PUT stream', multipart: 'POST multipart', tus: 'tus resumable' };

// ---- arguments -----------------------------------------------------------------------------

const USAGE = `usage: node bench/upload-memory.mjs [SIZE] [options]

  --bytes SIZE          file size: 2GiB (default, or env SFX_BENCH_BYTES), 512MiB, 1e9, 300MB
  --workloads LIST      comma list of put, multipart, tus (default: put,multipart,tus)
  --tus-chunk SIZE      bytes per tus PATCH request (default 5MiB)
  --peer WHICH          both (default), node (plain Node pipe-to-file server), cp, none
  --max-increase-mb N   fail when a server phase's RSS grows more than N MB (default 100)
  --seed TEXT           seed of the pseudo-random content (default sfx-bench)
  --json                also print one JSON line with every figure (last line of stdout)
  --keep                keep the data dirs under .sfx/ instead of deleting them
  -h, --help            this text
`;

function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)(i?)(b?)\s*$/i.exec(String(text));
  if (!match) throw new Error(`cannot read size ${JSON.stringify(text)}; try 2GiB, 512MiB, 1e9 or 300MB`);
  const [, number, prefix, binary, unit] = match;
  const power = ' kmgt'.indexOf(prefix.toLowerCase() || ' ');
  // "MB" is decimal, "MiB" and a bare "M" are binary (as dd and cp read them).
  const base = prefix && unit && !binary ? 1000 : 1024;
  const bytes = Math.round(Number(number) * base ** power);
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new Error(`size ${JSON.stringify(text)} is not a positive byte count`);
  return bytes;
}

function readOptions(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bytes: { type: 'string' },
      workloads: { type: 'string', default: WORKLOADS.join(',') },
      'tus-chunk': { type: 'string', default: '5MiB' },
      peer: { type: 'string', default: 'both' },
      'max-increase-mb': { type: 'string', default: '100' },
      seed: { type: 'string', default: 'sfx-bench' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const workloads = values.workloads
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  for (const w of workloads)
    if (!WORKLOADS.includes(w))
      throw new Error(`unknown workload ${JSON.stringify(w)} (${WORKLOADS.join(', ')})`);
  if (!['both', 'node', 'cp', 'none'].includes(values.peer))
    throw new Error(`--peer must be both, node, cp or none`);
  const maxIncreaseMb = Number(values['max-increase-mb']);
  if (!(maxIncreaseMb > 0)) throw new Error('--max-increase-mb must be a positive number');
  return {
    bytes: parseSize(values.bytes ?? positionals[0] ?? process.env.SFX_BENCH_BYTES ?? '2GiB'),
    workloads,
    tusChunk: parseSize(values['tus-chunk']),
    peer: values.peer,
    maxIncreaseBytes: maxIncreaseMb * MB,
    seed: values.seed,
    json: values.json,
    keep: values.keep,
  };
}

function log(line) {
  process.stderr.write(`[bench] ${line}\n`);
}

// ---- content -------------------------------------------------------------------------------

const ZEROS = Buffer.alloc(CHUNK);

/**
 * `bytes` of deterministic pseudo-random content as a byte stream, made chunk by chunk as the
 * consumer pulls and fed to `hash` on the way out. Same seed and size, same bytes and SHA-1.
 */
function* contentChunks(bytes, seed, hash) {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  let left = bytes;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    const chunk = cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n));
    hash.update(chunk);
    left -= n;
    yield chunk;
  }
}

function byteStream(chunks) {
  return Readable.from(chunks, { objectMode: false, highWaterMark: CHUNK });
}

/**
 * The same content cut into consecutive request bodies: `take(n)` yields the next `n` bytes, pulled
 * from one content stream as the socket takes them (at most one 1 MiB chunk is carried over).
 */
function contentSlicer(bytes, seed, hash) {
  const source = contentChunks(bytes, seed, hash);
  let carry = null;
  return function* take(n) {
    let left = n;
    while (left > 0) {
      let chunk = carry;
      carry = null;
      if (!chunk) {
        const step = source.next();
        if (step.done) throw new Error('asked for more bytes than the content has');
        chunk = step.value;
      }
      if (chunk.length > left) {
        carry = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  };
}

function emptyBody() {
  return { length: 0, stream: Readable.from([]) };
}

/** A body for one upload kind, counting and hashing only the file's bytes. */
function uploadBody(kind, bytes, seed, filename) {
  const hash = createHash('sha1');
  if (kind === 'put' || kind === 'peer') {
    return {
      hash,
      length: bytes,
      stream: byteStream(contentChunks(bytes, seed, hash)),
      contentType: 'application/octet-stream',
    };
  }
  const boundary = `----sfxbench${randomBytes(12).toString('hex')}`;
  const preamble = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`);
  function* parts() {
    yield preamble;
    yield* contentChunks(bytes, seed, hash);
    yield epilogue;
  }
  return {
    hash,
    length: preamble.length + bytes + epilogue.length,
    stream: byteStream(parts()),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

// ---- HTTP ----------------------------------------------------------------------------------

/** Sends `body` and returns the status, headers and JSON reply; the body is streamed with backpressure. */
async function send(method, url, headers, body) {
  const req = request(url, {
    method,
    agent: false,
    headers: {
      ...headers,
      ...(body.contentType ? { 'content-type': body.contentType } : {}),
      'content-length': String(body.length),
    },
  });
  const responded = new Promise((resolvePromise, reject) => {
    req.once('response', resolvePromise);
    req.once('error', reject);
  });
  const sent = pipeline(body.stream, req);
  sent.catch(() => {}); // an early error reply can cut the upload; judged below
  const response = await responded;
  let text = '';
  response.setEncoding('utf8');
  for await (const piece of response) text += piece;
  try {
    await sent;
  } catch (error) {
    if (response.statusCode < 400) throw error;
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text.slice(0, 500) };
  }
  return { status: response.statusCode, headers: response.headers, json };
}

/** Streams a download through SHA-1, keeping only the count and the hash. */
async function download(url) {
  const req = request(url, { agent: false });
  const response = await new Promise((resolvePromise, reject) => {
    req.once('response', resolvePromise);
    req.once('error', reject);
    req.end();
  });
  const hash = createHash('sha1');
  let bytes = 0;
  for await (const chunk of response) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { status: response.statusCode, bytes, sha1: hash.digest('hex') };
}

// ---- memory --------------------------------------------------------------------------------

function readStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : NaN;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Samples one process's VmRSS every 100 ms; VmHWM (reset at start) catches what falls between. */
class RssMeter {
  constructor(label, pid) {
    this.label = label;
    this.pid = pid;
  }

  /** Settled RSS: the median of five samples over 400 ms. */
  async baseline() {
    const values = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(SAMPLE_MS);
      values.push(readStatus(this.pid).rss);
    }
    values.sort((a, b) => a - b);
    return values[2];
  }

  start(baseline) {
    this.base = baseline;
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0, own processes).
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.maxRss = 0;
    this.samples = 0;
    this.maxGapMs = 0;
    this.last = performance.now();
    const tick = () => {
      const now = performance.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.last);
      this.last = now;
      try {
        this.maxRss = Math.max(this.maxRss, readStatus(this.pid).rss);
        this.samples++;
      } catch {
        // the process is gone; the phase will fail on its own
      }
    };
    tick();
    this.timer = setInterval(tick, SAMPLE_MS);
  }

  stop() {
    clearInterval(this.timer);
    let end = { rss: NaN, hwm: NaN };
    try {
      end = readStatus(this.pid);
    } catch {
      // gone
    }
    const sampled = Math.max(this.maxRss, Number.isNaN(end.rss) ? 0 : end.rss);
    const peak = this.hwmReset && !Number.isNaN(end.hwm) ? Math.max(sampled, end.hwm) : sampled;
    return {
      baseline: this.base,
      peak,
      peakSampled: sampled,
      hwm: end.hwm,
      increase: peak - this.base,
      samples: this.samples,
      maxGapMs: Math.round(this.maxGapMs),
      hwmReset: this.hwmReset,
    };
  }
}

/** Runs `fn` while metering the server and this client; returns timings and memory of both. */
async function phase(name, serverPid, bytes, fn) {
  await run('sync', []); // start with no dirty pages left by an earlier phase
  const server = new RssMeter('server', serverPid);
  const client = new RssMeter('client', 'self');
  const [serverBase, clientBase] = await Promise.all([server.baseline(), client.baseline()]);
  server.start(serverBase);
  client.start(clientBase);
  const t0 = performance.now();
  let result;
  let failure;
  try {
    result = await fn();
  } catch (error) {
    failure = error;
  }
  const seconds = (performance.now() - t0) / 1000;
  const serverMem = server.stop();
  const clientMem = client.stop();
  if (failure) throw failure;
  const row = {
    name,
    bytes,
    seconds,
    mbps: bytes / MB / seconds,
    server: serverMem,
    client: clientMem,
    ...result,
  };
  log(
    `${name}: ${fmt(row.mbps, 1)} MB/s, server ${mb(serverMem.baseline)} -> ${mb(serverMem.peak)} MB (+${mb(serverMem.increase)}), client +${mb(clientMem.increase)} MB`,
  );
  return row;
}

// ---- processes -----------------------------------------------------------------------------

function run(command, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}`)),
    );
  });
}

const children = new Set();

/** Spawns a Node server script and waits for its "listening on URL" line. */
async function startNode(label, args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => process.stderr.write(text.replace(/^(?=.)/gm, `[${label}] `)));
  const url = await new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s`)), 60_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      out += text;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before listening (${code ?? signal}); stdout: ${out.trim()}`));
    });
    child.once('error', reject);
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function largestFile(dir) {
  let best = null;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const size = (await stat(path)).size;
    if (!best || size > best.size) best = { path, size };
  }
  return best;
}

// ---- workloads -----------------------------------------------------------------------------

function fileOf(json) {
  return json?.file ?? (Array.isArray(json?.files) && json.files.length === 1 ? json.files[0] : undefined);
}

function uploadUrl(base, kind, folder, filename) {
  const url = new URL(`${base}/${TOKEN}/v5/files`);
  url.searchParams.set('folder', folder);
  if (kind === 'put') url.searchParams.set('filename', filename);
  return url;
}

/** One upload through the sfx API; throws on an HTTP error, returns what the reply said. */
async function sfxUpload(server, key, kind, bytes, seed, folder, filename, tusChunk) {
  if (kind === 'tus') return tusUpload(server, key, bytes, seed, folder, filename, tusChunk);
  const body = uploadBody(kind, bytes, seed, filename);
  const reply = await send(
    kind === 'put' ? 'PUT' : 'POST',
    uploadUrl(server.url, kind, folder, filename),
    { 'x-filerobot-key': key },
    body,
  );
  const file = fileOf(reply.json);
  if (reply.status >= 300 || reply.json?.status !== 'success' || !file) {
    throw new Error(
      `${kind} upload answered HTTP ${reply.status}: ${JSON.stringify(reply.json).slice(0, 400)}`,
    );
  }
  return {
    sentSha1: body.hash.digest('hex'),
    uuid: file.uuid,
    replyBytes: file.size?.bytes,
    replySha1: file.hash?.sha1,
  };
}

/**
 * One tus 1.0 upload at `{base}/connector/files`: POST (Upload-Length, Upload-Metadata), then one
 * PATCH per `chunkSize` bytes, each body streamed from the content as the socket takes it, then the
 * file from `GET {base}/connector/json/{id}`. Throws on an HTTP error or a wrong Upload-Offset.
 */
async function tusUpload(server, key, bytes, seed, folder, filename, chunkSize) {
  const headers = { 'tus-resumable': TUS_VERSION, 'x-filerobot-key': key, 'x-filerobot-token': TOKEN };
  const b64 = (text) => Buffer.from(text).toString('base64');
  const metadata = [
    `name ${b64(filename)}`,
    `type ${b64('application/octet-stream')}`,
    `filerobot-folder ${b64(folder)}`,
  ].join(',');
  const created = await send(
    'POST',
    `${server.url}/connector/files`,
    { ...headers, 'upload-length': String(bytes), 'upload-metadata': metadata },
    emptyBody(),
  );
  if (created.status !== 201 || !created.headers.location) {
    throw new Error(
      `tus creation answered HTTP ${created.status}: ${JSON.stringify(created.json).slice(0, 400)}`,
    );
  }
  const location = new URL(created.headers.location, server.url);
  const id = location.pathname.split('/').at(-1);
  const hash = createHash('sha1');
  const take = contentSlicer(bytes, seed, hash);
  let offset = 0;
  let patches = 0;
  while (offset < bytes) {
    const n = Math.min(chunkSize, bytes - offset);
    const reply = await send(
      'PATCH',
      location,
      { ...headers, 'upload-offset': String(offset) },
      { length: n, stream: byteStream(take(n)), contentType: 'application/offset+octet-stream' },
    );
    patches++;
    const acked = Number(reply.headers['upload-offset']);
    if (reply.status !== 204 || acked !== offset + n) {
      throw new Error(
        `tus PATCH ${patches} at offset ${offset} answered HTTP ${reply.status}, Upload-Offset ${reply.headers['upload-offset']} (expected ${offset + n}): ${JSON.stringify(reply.json).slice(0, 400)}`,
      );
    }
    offset = acked;
  }
  const done = await send('GET', `${server.url}/connector/json/${id}`, {}, emptyBody());
  const file = fileOf(done.json);
  if (done.status !== 200 || done.json?.status !== 'success' || !file) {
    throw new Error(
      `GET /connector/json/${id} answered HTTP ${done.status}: ${JSON.stringify(done.json).slice(0, 400)}`,
    );
  }
  return {
    sentSha1: hash.digest('hex'),
    sentBytes: offset,
    uploadId: id,
    patches,
    chunkBytes: chunkSize,
    uuid: file.uuid,
    replyBytes: file.size?.bytes,
    replySha1: file.hash?.sha1,
  };
}

async function sfxWorkload(kind, options, dataRoot, key, rows, failures, onServerIdle) {
  const dataDir = join(dataRoot, `sfx-${kind}`);
  const label = LABELS[kind];
  const server = await startNode(`sfx ${kind}`, [
    CLI,
    'server',
    '--port',
    '0',
    '--data',
    dataDir,
    '--root-key',
    key,
    '--durability',
    'relaxed',
    '--log',
    'warn',
  ]);
  try {
    log(`${label}: server pid ${server.pid} at ${server.url}, data ${dataDir}`);
    // Warm-up: one small upload and download of the same kind, so lazily loaded code is in.
    const warm = await sfxUpload(
      server,
      key,
      kind,
      256 * 1024,
      `${options.seed}-warmup`,
      '/warmup',
      'warmup.bin',
      64 * 1024, // tus: four PATCHes
    );
    await download(`${server.url}/${TOKEN}/v5/get/${warm.uuid}/download`);

    const up = await phase(`${label} upload`, server.pid, options.bytes, async () => {
      const result = await sfxUpload(
        server,
        key,
        kind,
        options.bytes,
        options.seed,
        '/big',
        'big.bin',
        options.tusChunk,
      );
      const sentAll = result.sentBytes === undefined || result.sentBytes === options.bytes;
      return {
        ...result,
        ok: result.replySha1 === result.sentSha1 && result.replyBytes === options.bytes && sentAll,
      };
    });
    up.kind = kind;
    up.direction = 'upload';
    rows.push(up);
    if (up.replySha1 !== up.sentSha1)
      failures.push(`${label}: server SHA-1 ${up.replySha1} differs from sent ${up.sentSha1}`);
    if (up.replyBytes !== options.bytes)
      failures.push(`${label}: server counted ${up.replyBytes} bytes, sent ${options.bytes}`);
    if (up.sentBytes !== undefined && up.sentBytes !== options.bytes)
      failures.push(`${label}: ${up.sentBytes} bytes acknowledged, expected ${options.bytes}`);
    if (kind === 'tus') log(`${label}: ${up.patches} PATCHes of up to ${up.chunkBytes} bytes`);

    const down = await phase(`${label} download`, server.pid, options.bytes, async () => {
      const got = await download(`${server.url}/${TOKEN}/v5/get/${up.uuid}/download`);
      return {
        status: got.status,
        gotBytes: got.bytes,
        gotSha1: got.sha1,
        ok: got.status === 200 && got.sha1 === up.sentSha1 && got.bytes === options.bytes,
      };
    });
    down.kind = kind;
    down.direction = 'download';
    rows.push(down);
    if (down.status !== 200) failures.push(`${label} download: HTTP ${down.status}`);
    if (down.gotSha1 !== up.sentSha1)
      failures.push(`${label} download: SHA-1 ${down.gotSha1} differs from sent ${up.sentSha1}`);
    if (down.gotBytes !== options.bytes)
      failures.push(`${label} download: ${down.gotBytes} bytes, sent ${options.bytes}`);

    for (const row of [up, down]) {
      if (row.server.increase > options.maxIncreaseBytes) {
        failures.push(
          `${row.name}: server RSS grew ${mb(row.server.increase)} MB, over the ${mb(options.maxIncreaseBytes)} MB limit`,
        );
      }
    }
    if (onServerIdle) await onServerIdle(dataDir);
  } finally {
    await server.stop();
    if (!options.keep) await rm(dataDir, { recursive: true, force: true });
  }
}

/** The plain Node server that pipes the body to a file, uploaded to with the same PUT. */
async function nodePeer(options, dataRoot) {
  const dir = join(dataRoot, 'peer-node');
  await mkdir(dir, { recursive: true });
  const peer = await startNode('peer', [PEER, dir]);
  try {
    const row = await phase('peer: node pipe-to-file PUT', peer.pid, options.bytes, async () => {
      const body = uploadBody('peer', options.bytes, options.seed, 'big.bin');
      const reply = await send('PUT', `${peer.url}/big.bin`, {}, body);
      if (reply.status !== 200 || reply.json.bytes !== options.bytes)
        throw new Error(`peer answered HTTP ${reply.status}: ${JSON.stringify(reply.json)}`);
      return { sentSha1: body.hash.digest('hex'), ok: true };
    });
    row.kind = 'peer-node';
    row.direction = 'upload';
    return row;
  } finally {
    await peer.stop();
    if (!options.keep) await rm(dir, { recursive: true, force: true });
  }
}

/** `cp` of the stored blob to a new file on the same disk: the copy ceiling of this disk. */
async function cpPeer(options, source, dataRoot) {
  const target = join(dataRoot, 'cp-copy.bin');
  await run('sync', []);
  const t0 = performance.now();
  await run('cp', ['--reflink=never', source.path, target]);
  const seconds = (performance.now() - t0) / 1000;
  const copied = (await stat(target)).size;
  await rm(target, { force: true });
  const row = {
    name: 'peer: cp same disk',
    kind: 'peer-cp',
    direction: 'copy',
    bytes: copied,
    seconds,
    mbps: copied / MB / seconds,
    ok: copied === source.size,
  };
  log(`${row.name}: ${fmt(row.mbps, 1)} MB/s`);
  return row;
}

// ---- report --------------------------------------------------------------------------------

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function mb(bytes) {
  return fmt(bytes / MB, 1);
}

function table(headers, lines) {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const row = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [row(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)].join('\n');
}

function tusNote(rows) {
  const tus = rows.find((r) => r.kind === 'tus' && r.direction === 'upload');
  return tus ? [`tus: ${tus.patches} PATCHes of up to ${tus.chunkBytes} bytes`] : [];
}

function report(options, rows, ratios, failures) {
  const headers = [
    'phase',
    'MB/s',
    'sec',
    'srv base MB',
    'srv peak MB',
    'srv +MB',
    'cli base MB',
    'cli peak MB',
    'cli +MB',
    'samples',
    'check',
  ];
  const lines = rows.map((r) => [
    r.name,
    fmt(r.mbps, 1),
    fmt(r.seconds, 2),
    r.server ? mb(r.server.baseline) : '-',
    r.server ? mb(r.server.peak) : '-',
    r.server ? mb(r.server.increase) : '-',
    r.client ? mb(r.client.baseline) : '-',
    r.client ? mb(r.client.peak) : '-',
    r.client ? mb(r.client.increase) : '-',
    r.server ? r.server.samples : '-',
    r.ok ? 'ok' : 'FAIL',
  ]);
  const out = [
    `sfx upload memory benchmark: ${options.bytes} bytes (${fmt(options.bytes / 1024 ** 3, 2)} GiB), node ${process.version}, ${new Date().toISOString()}`,
    `memory in MB (10^6 bytes); peak = max(VmRSS every ${SAMPLE_MS} ms, VmHWM after reset); limit +${mb(options.maxIncreaseBytes)} MB per server phase`,
    ...tusNote(rows),
    '',
    table(headers, lines),
  ];
  if (ratios.length > 0) {
    out.push(
      '',
      table(
        ['throughput ratio', 'sfx MB/s', 'peer MB/s', 'ratio'],
        ratios.map((r) => [r.name, fmt(r.sfx, 1), fmt(r.peer, 1), fmt(r.ratio, 2)]),
      ),
    );
  }
  out.push(
    '',
    failures.length === 0 ? 'result: PASS' : `result: FAIL\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    '',
  );
  process.stdout.write(out.join('\n'));
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  let options;
  try {
    options = readOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (process.platform !== 'linux' || !existsSync('/proc/self/status'))
    throw new Error('this benchmark reads /proc/<pid>/status and runs on Linux only');
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js')))
    throw new Error('the CLI is not built; run npm run build first');

  const dataRoot = join(ROOT, '.sfx', `bench-${Date.now()}-${randomBytes(3).toString('hex')}`);
  await mkdir(dataRoot, { recursive: true });
  const key = randomBytes(16).toString('hex');
  const rows = [];
  const failures = [];
  let cpRow = null;
  const stopping = () => {
    for (const child of children) child.kill('SIGKILL');
    const cleanup = options.keep ? Promise.resolve() : rm(dataRoot, { recursive: true, force: true });
    cleanup.finally(() => process.exit(130));
  };
  process.once('SIGINT', stopping);
  process.once('SIGTERM', stopping);
  log(`size ${options.bytes} bytes, data under ${dataRoot}`);
  try {
    for (const kind of options.workloads) {
      const wantCp = cpRow === null && (options.peer === 'both' || options.peer === 'cp');
      const copyBlob = async (dataDir) => {
        const blob = await largestFile(join(dataDir, 'blobs'));
        if (blob && blob.size === options.bytes) cpRow = await cpPeer(options, blob, dataRoot);
      };
      try {
        await sfxWorkload(kind, options, dataRoot, key, rows, failures, wantCp ? copyBlob : undefined);
      } catch (error) {
        failures.push(`${kind}: ${error.message}`);
        log(`${kind} failed: ${error.message}`);
      }
    }
    if (options.peer === 'both' || options.peer === 'node') {
      try {
        rows.push(await nodePeer(options, dataRoot));
      } catch (error) {
        failures.push(`node peer: ${error.message}`);
      }
    }
    if (cpRow) rows.push(cpRow);
  } finally {
    if (!options.keep) await rm(dataRoot, { recursive: true, force: true });
  }

  const ratios = [];
  const peerNode = rows.find((r) => r.kind === 'peer-node');
  for (const r of rows.filter((row) => row.direction === 'upload' && !row.kind.startsWith('peer'))) {
    if (cpRow)
      ratios.push({ name: `${r.name} / cp`, sfx: r.mbps, peer: cpRow.mbps, ratio: r.mbps / cpRow.mbps });
    if (peerNode)
      ratios.push({
        name: `${r.name} / node pipe`,
        sfx: r.mbps,
        peer: peerNode.mbps,
        ratio: r.mbps / peerNode.mbps,
      });
  }

  report(options, rows, ratios, failures);
  if (options.json) {
    const summary = {
      bench: 'upload-memory',
      date: new Date().toISOString(),
      node: process.version,
      bytes: options.bytes,
      tusChunkBytes: options.tusChunk,
      maxIncreaseBytes: options.maxIncreaseBytes,
      pass: failures.length === 0,
      failures,
      phases: rows,
      ratios,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  }
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
